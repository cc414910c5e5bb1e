#include "filter.hpp"

#include <bdd/core/fs.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace bdd::exporting {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// The first CSV field of `line` (without its line end).
std::string first_field(std::string_view line) {
  const std::string_view trimmed = trim(line);
  if (trimmed.empty() || trimmed.front() != '"') {
    return std::string(trim(line.substr(0, line.find(','))));
  }
  std::string out;
  for (std::size_t i = 1; i < trimmed.size(); ++i) {
    if (trimmed[i] == '"') {
      if (i + 1 < trimmed.size() && trimmed[i + 1] == '"') {
        out += '"';
        ++i;
        continue;
      }
      break;
    }
    out += trimmed[i];
  }
  return out;
}

bool is_header(std::string_view field) {
  std::string lower(field);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return lower == "user_id" || lower == "userid" || lower == "user" || lower == "id";
}

Result<std::string> read_bounded(const std::filesystem::path& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Error(Errc::usage, fs::describe_errno("--users-file: cannot open", path, errno));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return Error(Errc::usage, "--users-file \"" + path.string() + "\" is not a regular file");
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error(Errc::usage, fs::describe_errno("--users-file: cannot read", path, errno));
    }
    if (n == 0) {
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > k_max_users_file_bytes) {
      return Error(Errc::usage,
                   "--users-file \"" + path.string() + "\" is larger than "
                       + std::to_string(k_max_users_file_bytes >> 20) + " MiB");
    }
  }
}

} // namespace

bool Filter::matches(const model::Event& event) const {
  if (!users.empty() && !users.contains(event.user_id)) {
    return false;
  }
  if (!event_types.empty() && !event_types.contains(event.event_type)) {
    return false;
  }
  if (!has_time()) {
    return true;
  }
  const auto& field = time_field == TimeField::timestamp ? event.timestamp : event.stored_timestamp;
  if (!field) {
    return false;
  }
  const auto at = parse_instant(*field);
  return at && in_range(*at);
}

Result<std::vector<std::string>> read_users_file(const std::filesystem::path& path) {
  BDD_TRY_ASSIGN(std::string text, read_bounded(path));
  std::string_view rest = text;
  if (rest.starts_with("\xEF\xBB\xBF")) {
    rest.remove_prefix(3);
  }
  std::vector<std::string> ids;
  bool first = true;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (trim(line).empty()) {
      continue;
    }
    std::string id = first_field(line);
    const bool header = first && is_header(id);
    first = false;
    if (!header && !id.empty()) {
      ids.push_back(std::move(id));
    }
  }
  if (ids.empty()) {
    return Error(Errc::usage,
                 "--users-file \"" + path.string()
                     + "\" holds no user id (one per line, or a CSV file with the id first)");
  }
  return ids;
}

} // namespace bdd::exporting
