// Config files as JSON: parse errors located and phrased without echoing the file.

#include "internal.hpp"

#include <algorithm>

namespace bdd::config::detail {

namespace {

// The 1-based line and column of the last character nlohmann read before failing at byte count
// `byte`. (nlohmann's own numbers point past that character, often at "column 0".)
std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t byte) {
  std::size_t offending = std::min(byte == 0 ? 0 : byte - 1, text.size());
  std::string_view before = text.substr(0, offending);
  std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  auto last_newline = before.rfind('\n');
  std::size_t line_start = last_newline == std::string_view::npos ? 0 : last_newline + 1;
  return {line, offending - line_start + 1};
}

// nlohmann's reason without its prefix and without "last read: '...'", which echoes the file
// (and could echo a key).
std::string short_reason(std::string what) {
  auto start = what.find("] ");
  if (start != std::string::npos) {
    what.erase(0, start + 2);
  }
  if (what.starts_with("parse error")) {
    if (auto colon = what.find(": "); colon != std::string::npos) {
      what.erase(0, colon + 2);
    }
  }
  if (auto last_read = what.find("; last read: '"); last_read != std::string::npos) {
    auto expected = what.rfind("'; expected ");
    if (expected != std::string::npos && expected > last_read) {
      what.erase(last_read, expected + 1 - last_read);
    } else {
      what.erase(last_read);
    }
  }
  return what;
}

} // namespace

Result<Json> parse_config_json(std::string_view text, const std::string& display) {
  Json document;
  try {
    document = Json::parse(text);
  } catch (const Json::parse_error& error) {
    auto [line, column] = line_and_column(text, error.byte);
    return Error(Errc::config,
                 display + ": invalid JSON at line " + std::to_string(line) + ", column "
                     + std::to_string(column) + ": " + short_reason(error.what()));
  } catch (const Json::exception& error) {
    return Error(Errc::config, display + ": invalid JSON: " + short_reason(error.what()));
  }
  if (!document.is_object()) {
    return Error(Errc::config,
                 display + ": expected a JSON object ({...}) at the top level, got "
                     + describe_type(document));
  }
  return document;
}

} // namespace bdd::config::detail
