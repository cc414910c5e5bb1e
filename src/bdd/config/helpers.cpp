#include "internal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace bdd::config::detail {

namespace stdfs = std::filesystem;

namespace {

constexpr std::size_t k_max_shown = 80;

std::string errno_text(int err) {
  std::string reason = std::strerror(err);
  if (!reason.empty()) {
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  }
  return reason;
}

// Lexical only: a study config that is a symlink is still shown under study_configs/.
stdfs::path normal_absolute(const stdfs::path& path) {
  std::error_code ec;
  stdfs::path out = stdfs::absolute(path, ec);
  return (ec ? path : out).lexically_normal();
}

std::string_view leaf(std::string_view key) {
  auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

} // namespace

std::string display_path(const stdfs::path& work_dir, const stdfs::path& path) {
  stdfs::path full = normal_absolute(path);
  stdfs::path base = normal_absolute(work_dir.empty() ? stdfs::path(".") : work_dir);
  stdfs::path relative = full.lexically_relative(base);
  if (!relative.empty() && *relative.begin() != ".." && relative != ".") {
    return relative.string();
  }
  return full.string();
}

std::string quote(std::string_view text) {
  std::string shown(text.substr(0, k_max_shown));
  if (text.size() > k_max_shown) {
    shown += "...";
  }
  return Json(shown).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string describe_value(const Json& value) {
  if (value.is_string()) {
    return quote(value.get_ref<const std::string&>());
  }
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > k_max_shown) {
    text = text.substr(0, k_max_shown) + "...";
  }
  return text;
}

std::string describe_type(const Json& value) {
  if (value.is_string()) {
    return "a string";
  }
  if (value.is_boolean()) {
    return "a boolean";
  }
  if (value.is_number()) {
    return "a number";
  }
  if (value.is_array()) {
    return "an array";
  }
  if (value.is_object()) {
    return "an object";
  }
  return "null";
}

std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    std::size_t distance = edit_distance(word, candidate);
    // A known key put in the wrong section ("timeout" at the top level) is one step away.
    if (leaf(word) == leaf(candidate)) {
      distance = std::min<std::size_t>(distance, 1);
    }
    std::size_t limit = std::clamp<std::size_t>(candidate.size() / 4, 1, 3);
    if (distance <= limit && (!best || distance < best_distance)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

bool is_placeholder_key(std::string_view value) {
  std::string lower;
  for (char c : trim(value)) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower.size() >= 2 && lower.front() == '<' && lower.back() == '>') {
    lower = lower.substr(1, lower.size() - 2);
  }
  bool starts_with_your = lower.starts_with("your-") || lower.starts_with("your_");
  return starts_with_your && lower.find("key") != std::string::npos;
}

Result<std::optional<std::string>> read_text_file_if_exists(const stdfs::path& path,
                                                            const std::string& display) {
  std::error_code ec;
  auto status = stdfs::status(path, ec);
  if (status.type() == stdfs::file_type::not_found) {
    return std::optional<std::string>();
  }
  if (ec) {
    return Error(Errc::config, "cannot read " + quote(display) + ": " + errno_text(ec.value()));
  }
  if (status.type() != stdfs::file_type::regular) {
    return Error(Errc::config, quote(display) + " is not a regular file");
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error(Errc::config, "cannot read " + quote(display) + ": " + errno_text(errno));
  }
  std::string out;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Error(Errc::config, "cannot read " + quote(display) + ": " + errno_text(err));
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

Expansion expand_variables(std::string_view text, const Environment& environment) {
  Expansion out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto start = text.find("${", pos);
    if (start == std::string_view::npos) {
      out.value.append(text.substr(pos));
      break;
    }
    out.value.append(text.substr(pos, start - pos));
    std::size_t name_begin = start + 2;
    std::size_t name_end = name_begin;
    while (name_end < text.size() && is_name_char(text[name_end])) {
      ++name_end;
    }
    if (name_end == name_begin || !is_name_start(text[name_begin]) || name_end >= text.size()
        || text[name_end] != '}') {
      out.malformed = true;
      out.value.append(text.substr(start, 2));
      pos = start + 2;
      continue;
    }
    std::string name(text.substr(name_begin, name_end - name_begin));
    auto found = environment.find(name);
    if (found == environment.end() || found->second.empty()) {
      out.unset.push_back(std::move(name));
    } else {
      out.value += found->second;
    }
    pos = name_end + 1;
  }
  return out;
}

} // namespace bdd::config::detail
