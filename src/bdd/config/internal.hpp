#pragma once

// Helpers shared by the files of src/bdd/config/. Not part of the module's interface.

#include "config.hpp"

#include <bdd/core/text.hpp>

#include <nlohmann/json.hpp>

#include <string_view>
#include <utility>

namespace bdd::config::detail {

using Environment = std::map<std::string, std::string>;
using Json = nlohmann::ordered_json; // keeps the file's key order, so errors come in file order

inline constexpr std::string_view k_key_prefix = "BEHAVERSE_API_KEY";

// `path` relative to `work_dir` when it lies under it, else `path` made absolute and normal.
std::string display_path(const std::filesystem::path& work_dir, const std::filesystem::path& path);

// `text` as a JSON string literal ("a\"b"), cut to about 80 characters: safe on one line.
std::string quote(std::string_view text);

// A JSON value for "got ..." in messages: strings quoted, others as JSON, cut short.
std::string describe_value(const Json& value);

// "a string", "a number", "null"... for messages that must not show the value.
std::string describe_type(const Json& value);

// The candidate closest to `word` by edit distance, if close enough to be a plausible typo.
std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates);

// True for the example values shipped in the Python tool's files ("your-api-key-here",
// "your_default_api_key_here", "your_key_here"...): they are no key.
bool is_placeholder_key(std::string_view value);

// Read `path` (shown as `display`). nullopt if it does not exist; Errc::config if it exists but
// is not a regular file or cannot be read.
Result<std::optional<std::string>> read_text_file_if_exists(const std::filesystem::path& path,
                                                            const std::string& display);

// The `NAME=VALUE` pairs of a .env file in order (a name may repeat; the last one wins).
// Fails with Errc::config as "<display>:<line>: <reason>".
Result<std::vector<std::pair<std::string, std::string>>> parse_dotenv(std::string_view text,
                                                                      const std::string& display);

// Merge `<work_dir>/.env` into `environment` like `load_dotenv`; returns the names it added.
Result<std::vector<std::string>> merge_dotenv(const std::filesystem::path& work_dir,
                                              Environment& environment);

// `text` with every `${NAME}` replaced from `environment`. `unset` gets the names that are unset
// or empty (replaced by ""). `malformed` is set for a "${" not followed by NAME and '}'.
struct Expansion {
  std::string value;
  std::vector<std::string> unset;
  bool malformed = false;
};
Expansion expand_variables(std::string_view text, const Environment& environment);

// What one config file says about api.api_key. The key itself is chosen in config.cpp.
struct FileKey {
  std::string value;          // after expansion; empty if a variable was unset
  std::string unset_variable; // the first unset `${VAR}` in it, if any
};

// `check_key_destination` for a study with no config file. Implemented in study.cpp.
Result<void> check_unconfigured_study(const std::string& study,
                                      const std::filesystem::path& work_dir);

// Parse the JSON config file text (from `display`): must be an object. Errc::config on failure,
// e.g. "settings/default_config.json: invalid JSON at line 3, column 7: <reason>".
Result<Json> parse_config_json(std::string_view text, const std::string& display);

// Validate the parsed config file `document` (from `display`) and apply its settings on top of
// `config`, expanding `${VAR}` from `environment`. storage.data_directory is stored as written
// (after expansion). Returns what the file says about the API key.
Result<FileKey> apply_config(const Json& document,
                             const std::string& display,
                             const Environment& environment,
                             Config& config);

} // namespace bdd::config::detail
