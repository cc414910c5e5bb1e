#pragma once

#include <bdd/core/result.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bdd::config {

// Where the API key came from, for `bdd config` and for error messages. Never holds the key.
struct KeyOrigin {
  std::string description; // e.g. "BEHAVERSE_API_KEY_DEMO_STUDY", "study_configs/demo.json api.api_key"
};

// Every setting of one study, resolved and validated. Plain data: no I/O.
struct Config {
  std::string study_name;
  // api
  std::string base_url = "https://api.behaverse.org"; // no trailing '/'
  std::string api_key;                                 // secret: never print, log or store
  KeyOrigin api_key_origin;
  std::chrono::milliseconds timeout{30'000};
  int max_retries = 3;
  std::chrono::milliseconds retry_delay{1'000};
  bool verify_tls = true; // api.verify_tls (default true); false only if the user opts out
  // download
  int page_size = 1000;
  int max_concurrent_requests = 3;
  // storage
  std::filesystem::path data_directory = "data"; // relative paths are relative to the work dir
  std::string format = "json";                    // json | jsonl | csv | sqlite
  std::vector<std::string> folder_structure = {"by_user_id", "by_date"};
  // Which files were read, lowest priority first (for messages and `bdd config`).
  std::vector<std::filesystem::path> files_read;
};

// What `resolve` reads. Built from the process by the CLI; built by hand in tests.
struct Sources {
  std::filesystem::path work_dir;                 // settings/ and study_configs/ live here
  std::optional<std::filesystem::path> config;    // --config: a file path or a study config name
  std::map<std::string, std::string> environment; // the process environment (after .env, see below)
};

// Resolve the configuration of `study`:
//  1. built-in defaults (the initialisers of `Config`);
//  2. `<work_dir>/settings/default_config.json`, if it exists;
//  3. the study config: `sources.config` if given (a path, or a name meaning
//     `study_configs/<name>.json`; it must exist), else `study_configs/<study>.json` if it exists.
// String values have `${VAR}` expanded from `sources.environment`. The API key is the first
// non-empty of: `BEHAVERSE_API_KEY_<STUDY>` (upper case, '-' and '.' to '_'), the study config's
// api.api_key, `BEHAVERSE_API_KEY`, the default config's api.api_key. With `require_key` and no key,
// fails with Errc::config listing every variable and file tried. Unknown keys, wrong types and
// invalid values fail with Errc::config naming the file, the key and what is allowed.
Result<Config> resolve(const std::string& study, const Sources& sources, bool require_key);

// The environment variable that holds the key of `study`: "BEHAVERSE_API_KEY_" + upper-cased
// study with every character outside [A-Z0-9] turned into '_'.
std::string study_key_variable(const std::string& study);

// Read `<work_dir>/.env` (KEY=VALUE lines, '#' comments, optional quotes, optional `export `) into
// `environment`, never overriding a variable already present. A missing file is not an error.
Result<void> load_dotenv(const std::filesystem::path& work_dir,
                         std::map<std::string, std::string>& environment);

// Validate a study name given on the command line: 1-128 characters from [A-Za-z0-9._-], not
// starting with '.' or '-'. Fails with Errc::usage explaining the rule.
Result<void> validate_study_name(const std::string& study);

// Study names that have a `study_configs/<name>.json` under `work_dir`, sorted.
std::vector<std::string> list_study_configs(const std::filesystem::path& work_dir);

// Create `study_configs/<study>.json` from `settings/config_template.json` (or a built-in
// template when that file is missing), with the study name and `${BEHAVERSE_API_KEY_<STUDY>}`
// filled in. Fails with Errc::config if the file already exists. Returns the path written.
Result<std::filesystem::path> create_study_config(const std::filesystem::path& work_dir,
                                                  const std::string& study);

} // namespace bdd::config
