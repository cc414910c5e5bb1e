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
  // The source that won, e.g. "BEHAVERSE_API_KEY_DEMO_STUDY", "BEHAVERSE_API_KEY (from .env)",
  // "study_configs/demo.json api.api_key"; empty when there is no key.
  std::string description;
  // The sources looked at before the winner (all four when there is no key), highest priority
  // first, each with why it gave no key when that is not obvious, e.g.
  // "study_configs/demo.json api.api_key (a placeholder)".
  std::vector<std::string> tried;
};

// Every setting of one study, resolved and validated. Plain data: no I/O.
struct Config {
  std::string study_name;
  // api
  std::string base_url = "https://api.behaverse.org"; // no trailing '/'
  std::string api_key;                                // secret: never print, log or store
  KeyOrigin api_key_origin;
  std::chrono::milliseconds timeout{30'000};
  int max_retries = 3;
  std::chrono::milliseconds retry_delay{1'000};
  bool verify_tls = true; // api.verify_tls (default true); false only if the user opts out
  // api.max_response_bytes: the largest response body accepted, decoded.
  std::uint64_t max_response_bytes = std::uint64_t{256} << 20U;
  // api.max_total_wait_seconds: what one run may spend waiting between retries, in all.
  std::chrono::milliseconds max_total_wait{900'000};
  // download
  int page_size = 1000;
  int max_concurrent_requests = 3;
  // storage
  // `resolve` joins a relative storage.data_directory to `Sources::work_dir`, so this is usable
  // as is; an absolute one is kept as given.
  std::filesystem::path data_directory = "data";
  // One file per study that every loader reads in one line (see README "Loading the data").
  std::string format = "json"; // json | jsonl | csv | sqlite
  std::vector<std::string> folder_structure = {};
  // storage.partition_naming: "plain" (folders named by the bare value) or "hive"
  // (`user_id=<value>`, ...: see storage::folder_name).
  std::string partition_naming = "plain";
  // Whether the study config set storage.default_format / storage.folder_structure /
  // storage.partition_naming. When it did
  // not (the value is a built-in default or comes from settings/default_config.json), a study
  // that already holds data keeps the format and folders it was downloaded with, so a changed
  // default never re-lays out or refuses an existing study (`ops::download`).
  bool format_from_study_config = false;
  bool folder_structure_from_study_config = false;
  bool partition_naming_from_study_config = false;
  // The JSON config files that were read, lowest priority first (for messages and `bdd config`).
  // `.env` is not listed.
  std::vector<std::filesystem::path> files_read;
};

// What `resolve` reads. Built from the process by the CLI; built by hand in tests.
struct Sources {
  std::filesystem::path work_dir; // .env, settings/ and study_configs/ live here
  // --config: a path to a JSON file (relative paths are relative to `work_dir`) when it contains
  // '/' or ends in ".json", else a study config name meaning `study_configs/<name>.json`.
  std::optional<std::filesystem::path> config;
  std::map<std::string, std::string> environment; // the process environment
};

// Resolve the configuration of `study` (which must pass `validate_study_name`):
//  0. `<work_dir>/.env` is merged into a copy of `sources.environment` (see `load_dotenv`), so
//     callers need not load it first;
//  1. built-in defaults (the initialisers of `Config`);
//  2. `<work_dir>/settings/default_config.json`, if it exists;
//  3. the study config: `sources.config` if given (it must exist; if not, the error suggests
//     `bdd create-config <name>`), else `study_configs/<study>.json` if it exists.
// Later files override earlier ones key by key. `Config::study_name` is `study`; a file's
// `study_name`, if present, must equal it (else Errc::config naming both values). String values
// have `${VAR}` (only that form) expanded from the environment; an unset or empty variable is an
// error naming the file, the key and the variable, except in api.api_key where it means "no key
// here". The API key is the first usable of: `BEHAVERSE_API_KEY_<STUDY>` (see
// `study_key_variable`), the study config's api.api_key, `BEHAVERSE_API_KEY`, the default config's
// api.api_key; empty values and placeholders such as "your-api-key-here" are skipped. With
// `require_key` and no key, fails with Errc::config listing every source tried and how to set one.
// Invalid JSON, a file that is not an object, unknown keys (with a "did you mean"), wrong types and
// invalid values fail with Errc::config as "<file>: <key> ...", the file shown relative to
// `work_dir` when under it. No message ever contains the key.
Result<Config> resolve(const std::string& study, const Sources& sources, bool require_key);

// Before a command sends the API key of `study`: succeed if a study config is selected (as
// `resolve` selects it), or if `settings/default_config.json` names `api.base_url` (the user's
// explicit host for studies without a config) and no configured study's name differs from
// `study` only in case or by a typo. Otherwise Errc::config, with "did you mean" when such a
// study exists: bdd never sends a key to the built-in default host because a name was mistyped.
Result<void> check_key_destination(const std::string& study, const Sources& sources);

// The environment variable that holds the key of `study`: "BEHAVERSE_API_KEY_" + upper-cased
// study with every character outside [A-Z0-9] turned into '_' ("my-new.study" gives
// "BEHAVERSE_API_KEY_MY_NEW_STUDY").
std::string study_key_variable(const std::string& study);

// Read `<work_dir>/.env` into `environment`, never overriding a variable already present.
// Syntax: `NAME=VALUE` lines with an optional `export ` prefix; blank lines and lines starting
// with '#' are skipped; values may be 'single quoted' (literal) or "double quoted" (with \n, \t,
// \r, \" and \\ escapes); unquoted values are trimmed and lose a ` #` comment. `${VAR}` is not
// expanded inside .env. A missing file is not an error; a malformed line fails with Errc::config
// naming the file and the line number (never the line, which may hold a key).
Result<void> load_dotenv(const std::filesystem::path& work_dir,
                         std::map<std::string, std::string>& environment);

// Validate a study name given on the command line: 1-128 characters from [A-Za-z0-9._-], not
// starting with '.' or '-'. Fails with Errc::usage explaining the rule.
Result<void> validate_study_name(const std::string& study);

// Study names that have a `study_configs/<name>.json` under `work_dir`, sorted. Files whose stem
// is not a valid study name are skipped; a missing directory gives an empty list.
std::vector<std::string> list_study_configs(const std::filesystem::path& work_dir);

// Create `study_configs/<study>.json` (and the directory if missing) from
// `settings/config_template.json`, or a built-in template when that file is missing, with
// `study_name` set to `study` and `api.api_key` set to "${BEHAVERSE_API_KEY_<STUDY>}". Writes
// atomically and never overwrites: fails with Errc::config if the file already exists or the
// template is not a JSON object, Errc::usage if `study` is invalid, Errc::storage if the file
// cannot be written. Returns the path written.
Result<std::filesystem::path> create_study_config(const std::filesystem::path& work_dir,
                                                  const std::string& study);

// How `bdd config` shows the key of a resolved `config`, never the key itself:
// "set (from BEHAVERSE_API_KEY_DEMO)" or "not set (tried BEHAVERSE_API_KEY_DEMO, ...)".
std::string key_status(const Config& config);

// The files among `<work_dir>/.env`, `settings/default_config.json` and the study config of
// `study` (selected as `resolve` does) that hold an API key in clear (not only `${VAR}`
// references or placeholders) and have any group or other permission bit set (mode & 077), for a
// security warning. Shown relative to `work_dir` when under it. Never fails: unreadable or invalid
// files are skipped.
std::vector<std::string> world_readable_secret_files(const Sources& sources,
                                                     const std::string& study);

} // namespace bdd::config
