// .env files: the only place most users put their API keys, so a line is never echoed back.

#include "internal.hpp"

#include <cctype>

namespace bdd::config {

namespace detail {

namespace {

constexpr std::string_view k_space = " \t";

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) != 0) {
    return false;
  }
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') {
      return false;
    }
  }
  return true;
}

// Only whitespace or a '#' comment may follow a closing quote.
bool only_comment_left(std::string_view rest) {
  auto next = rest.find_first_not_of(k_space);
  return next == std::string_view::npos || rest[next] == '#';
}

// Parse the value part of a line (after '='). Returns an error reason, or "" on success.
std::string parse_value(std::string_view raw, std::string& value) {
  std::string_view text = raw.substr(std::min(raw.size(), raw.find_first_not_of(k_space)));
  if (text.empty()) {
    return {};
  }
  if (text[0] == '\'') {
    auto close = text.find('\'', 1);
    if (close == std::string_view::npos) {
      return "unterminated single quote";
    }
    value = text.substr(1, close - 1);
    return only_comment_left(text.substr(close + 1)) ? ""
                                                     : "unexpected text after the quoted value";
  }
  if (text[0] == '"') {
    for (std::size_t i = 1; i < text.size(); ++i) {
      char c = text[i];
      if (c == '"') {
        return only_comment_left(text.substr(i + 1)) ? ""
                                                     : "unexpected text after the quoted value";
      }
      if (c == '\\' && i + 1 < text.size()) {
        char escaped = text[++i];
        switch (escaped) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case '"':
        case '\\':
          value += escaped;
          break;
        default: // unknown escapes are kept as written
          value += '\\';
          value += escaped;
        }
        continue;
      }
      value += c;
    }
    return "unterminated double quote";
  }
  // Unquoted: a '#' starts a comment only after whitespace, so "a#b" stays whole.
  std::size_t end = raw.size();
  for (std::size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && is_space(raw[i - 1])) {
      end = i;
      break;
    }
  }
  value = trim(raw.substr(0, end));
  return {};
}

} // namespace

Result<std::vector<std::pair<std::string, std::string>>> parse_dotenv(std::string_view text,
                                                                      const std::string& display) {
  if (text.starts_with("\xEF\xBB\xBF")) { // a UTF-8 byte order mark from some Windows editors
    text.remove_prefix(3);
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);

    line = trim(line);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line.starts_with("export") && line.size() > 6 && is_space(line[6])) {
      line = trim(line.substr(6));
    }
    auto fail = [&](const std::string& reason) {
      return Error(Errc::config, display + ":" + std::to_string(line_number) + ": " + reason);
    };
    auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      return fail("expected NAME=VALUE");
    }
    std::string_view name = trim(line.substr(0, equals));
    if (!is_valid_name(name)) {
      return fail("invalid variable name (use letters, digits and '_', not starting with a digit)");
    }
    std::string value;
    if (auto reason = parse_value(line.substr(equals + 1), value); !reason.empty()) {
      return fail(reason);
    }
    out.emplace_back(std::string(name), std::move(value));
  }
  return out;
}

Result<std::vector<std::string>> merge_dotenv(const std::filesystem::path& work_dir,
                                              Environment& environment) {
  auto path = work_dir / ".env";
  std::string display = display_path(work_dir, path);
  BDD_TRY_ASSIGN(auto text, read_text_file_if_exists(path, display));
  if (!text) {
    return std::vector<std::string>();
  }
  BDD_TRY_ASSIGN(auto pairs, parse_dotenv(*text, display));
  // Collect first so that the last of repeated names wins within the file.
  Environment from_file;
  for (auto& [name, value] : pairs) {
    from_file[name] = std::move(value);
  }
  std::vector<std::string> added;
  for (auto& [name, value] : from_file) {
    if (environment.emplace(name, std::move(value)).second) {
      added.push_back(name);
    }
  }
  return added;
}

} // namespace detail

Result<void> load_dotenv(const std::filesystem::path& work_dir,
                         std::map<std::string, std::string>& environment) {
  BDD_TRY(detail::merge_dotenv(work_dir, environment));
  return ok();
}

} // namespace bdd::config
