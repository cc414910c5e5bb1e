// `resolve`: the one function that turns .env, the config files and the environment into a
// `Config`, and picks the API key.

#include "config.hpp"

#include "internal.hpp"

#include <algorithm>

namespace bdd::config {

namespace stdfs = std::filesystem;
using detail::display_path;
using detail::Environment;
using detail::FileKey;
using detail::quote;

namespace {

stdfs::path default_config_path(const stdfs::path& work_dir) {
  return work_dir / "settings" / "default_config.json";
}

stdfs::path study_config_path(const stdfs::path& work_dir, const std::string& name) {
  return work_dir / "study_configs" / (name + ".json");
}

// The study config to read: `sources.config` (which must exist) or study_configs/<study>.json
// if it exists, else nothing.
Result<std::optional<stdfs::path>> select_study_config(const std::string& study,
                                                       const Sources& sources) {
  const auto& work_dir = sources.work_dir;
  std::error_code ec;
  if (!sources.config) {
    auto path = study_config_path(work_dir, study);
    if (stdfs::exists(path, ec)) {
      return std::optional<stdfs::path>(path); // a directory there fails when it is read
    }
    return std::optional<stdfs::path>();
  }
  std::string value = sources.config->string();
  bool is_name = value.find('/') == std::string::npos && !value.ends_with(".json")
                 && validate_study_name(value).has_value();
  auto path = is_name ? study_config_path(work_dir, value)
                      : (sources.config->is_absolute() ? *sources.config : work_dir / value);
  auto type = stdfs::status(path, ec).type();
  if (type == stdfs::file_type::regular) {
    return std::optional<stdfs::path>(path);
  }
  std::string text = "--config " + quote(value) + ": ";
  if (type != stdfs::file_type::not_found && type != stdfs::file_type::none) {
    return Error(Errc::config, text + display_path(work_dir, path) + " is not a regular file");
  }
  if (!is_name) {
    std::string stem = sources.config->stem().string();
    std::string name = validate_study_name(stem).has_value() ? stem : study;
    return Error(Errc::config,
                 text + "no such file (to create a study config, run: bdd create-config " + name
                     + ")");
  }
  text += display_path(work_dir, path) + " does not exist (";
  if (auto suggestion = detail::nearest(value, list_study_configs(work_dir))) {
    text += "did you mean " + quote(*suggestion) + "? or ";
  }
  return Error(Errc::config, text + "create it with: bdd create-config " + value + ")");
}

// Read, validate and apply one config file. nullopt if it does not exist.
Result<std::optional<FileKey>> apply_file(const stdfs::path& path,
                                          const std::string& display,
                                          const Environment& environment,
                                          Config& config) {
  BDD_TRY_ASSIGN(auto text, detail::read_text_file_if_exists(path, display));
  if (!text) {
    return std::optional<FileKey>();
  }
  BDD_TRY_ASSIGN(auto document, detail::parse_config_json(*text, display));
  BDD_TRY_ASSIGN(auto key, detail::apply_config(document, display, environment, config));
  config.files_read.push_back(path);
  return std::optional<FileKey>(std::move(key));
}

// One place the API key may come from. `value` is empty when it gave no key, and `note` says
// why when that is not obvious.
struct KeyCandidate {
  std::string description;
  std::string value;
  std::string note;
  bool from_dotenv = false;
};

KeyCandidate key_from_variable(const Environment& environment,
                               const std::string& name,
                               const std::vector<std::string>& from_dotenv) {
  KeyCandidate candidate{name, {}, {}, false};
  auto found = environment.find(name);
  if (found == environment.end()) {
    return candidate;
  }
  std::string_view value = trim(found->second);
  if (detail::is_placeholder_key(value)) {
    candidate.note = "a placeholder";
  } else {
    candidate.value = value;
    candidate.from_dotenv =
        std::find(from_dotenv.begin(), from_dotenv.end(), name) != from_dotenv.end();
  }
  return candidate;
}

KeyCandidate key_from_file(const std::optional<FileKey>& key, const std::string& display) {
  if (!key) {
    return {display, {}, "not found", false};
  }
  KeyCandidate candidate{display + " api.api_key", {}, {}, false};
  std::string_view value = trim(key->value);
  if (!key->unset_variable.empty()) {
    candidate.note = "${" + key->unset_variable + "} is not set";
  } else if (detail::is_placeholder_key(value)) {
    candidate.note = "a placeholder";
  } else {
    candidate.value = value;
  }
  return candidate;
}

// A key goes into an HTTP header: a space or control character means a copy-paste accident.
bool is_plausible_key(std::string_view key) {
  return std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < '\x7f'; });
}

// Pick the first candidate with a key (highest priority first) and record where it came from.
Result<void> choose_key(const std::string& study,
                        const std::vector<KeyCandidate>& candidates,
                        bool require_key,
                        Config& config) {
  config.api_key.clear();
  config.api_key_origin = {};
  for (const auto& candidate : candidates) {
    if (!candidate.value.empty()) {
      if (!is_plausible_key(candidate.value)) {
        return Error(Errc::config,
                     candidate.description
                         + " holds an API key with spaces or control characters (check for a "
                           "stray quote or line break)");
      }
      config.api_key = candidate.value;
      config.api_key_origin.description =
          candidate.description + (candidate.from_dotenv ? " (from .env)" : "");
      return ok();
    }
    config.api_key_origin.tried.push_back(
        candidate.description + (candidate.note.empty() ? "" : " (" + candidate.note + ")"));
  }
  if (!require_key) {
    return ok();
  }
  std::string tried;
  for (const auto& source : config.api_key_origin.tried) {
    tried += (tried.empty() ? "" : ", ") + source;
  }
  return Error(Errc::config,
               "no API key for study " + quote(study) + ": tried " + tried + "; set "
                   + study_key_variable(study) + " in .env or the environment");
}

// Does this config file hold a key in clear text (not a `${VAR}` reference or a placeholder)?
bool config_file_holds_key(const stdfs::path& path) {
  auto text = detail::read_text_file_if_exists(path, path.string());
  if (!text || !*text) {
    return false;
  }
  auto document = detail::parse_config_json(**text, path.string());
  if (!document || !document->contains("api") || !(*document)["api"].is_object()) {
    return false;
  }
  const auto& api = (*document)["api"];
  if (!api.contains("api_key") || !api["api_key"].is_string()) {
    return false;
  }
  // Expanding with no variables leaves only the literal text around any references.
  auto expansion = detail::expand_variables(api["api_key"].get<std::string>(), {});
  std::string_view literal = trim(expansion.value);
  return !literal.empty() && !detail::is_placeholder_key(literal);
}

bool dotenv_holds_key(const stdfs::path& path) {
  auto text = detail::read_text_file_if_exists(path, path.string());
  if (!text || !*text) {
    return false;
  }
  auto pairs = detail::parse_dotenv(**text, path.string());
  if (!pairs) {
    return false;
  }
  return std::any_of(pairs->begin(), pairs->end(), [](const auto& pair) {
    std::string_view value = trim(pair.second);
    return pair.first.starts_with(detail::k_key_prefix) && !value.empty()
           && !detail::is_placeholder_key(value);
  });
}

bool group_or_others_have_access(const stdfs::path& path) {
  std::error_code ec;
  auto status = stdfs::status(path, ec);
  if (ec) {
    return false;
  }
  constexpr auto k_shared = stdfs::perms::group_all | stdfs::perms::others_all;
  return (status.permissions() & k_shared) != stdfs::perms::none;
}

} // namespace

Result<Config> resolve(const std::string& study, const Sources& sources, bool require_key) {
  BDD_TRY(validate_study_name(study));
  const auto& work_dir = sources.work_dir;

  // 0. .env first, so that `${VAR}` below sees it; it never overrides the process environment.
  Environment environment = sources.environment;
  BDD_TRY_ASSIGN(auto from_dotenv, detail::merge_dotenv(work_dir, environment));

  // 1. Built-in defaults.
  Config config;
  config.study_name = study;

  // 2. settings/default_config.json, optional.
  auto default_path = default_config_path(work_dir);
  auto default_display = display_path(work_dir, default_path);
  BDD_TRY_ASSIGN(auto default_key, apply_file(default_path, default_display, environment, config));
  // The default config's layout is a default too: only the study config's binds a study.
  config.format_from_study_config = false;
  config.folder_structure_from_study_config = false;
  config.partition_naming_from_study_config = false;

  // 3. The study config, optional unless named by --config.
  BDD_TRY_ASSIGN(auto study_path, select_study_config(study, sources));
  std::optional<FileKey> study_key;
  std::string study_display =
      display_path(work_dir, study_path ? *study_path : study_config_path(work_dir, study));
  if (study_path) {
    BDD_TRY_ASSIGN(study_key, apply_file(*study_path, study_display, environment, config));
  }

  if (config.data_directory.is_relative() && !work_dir.empty()) {
    config.data_directory = work_dir / config.data_directory;
  }
  config.data_directory = config.data_directory.lexically_normal();
  if (!config.data_directory.has_filename() && config.data_directory.has_relative_path()) {
    config.data_directory = config.data_directory.parent_path(); // "data/" -> "data"
  }

  // The API key, highest priority first.
  std::vector<KeyCandidate> candidates = {
      key_from_variable(environment, study_key_variable(study), from_dotenv),
      key_from_file(study_key, study_display),
      key_from_variable(environment, std::string(detail::k_key_prefix), from_dotenv),
      key_from_file(default_key, default_display),
  };
  BDD_TRY(choose_key(study, candidates, require_key, config));
  return config;
}

Result<void> check_key_destination(const std::string& study, const Sources& sources) {
  BDD_TRY(validate_study_name(study));
  BDD_TRY_ASSIGN(auto study_path, select_study_config(study, sources));
  if (study_path) {
    return ok();
  }
  return detail::check_unconfigured_study(study, sources.work_dir);
}

std::string key_status(const Config& config) {
  if (!config.api_key.empty()) {
    return "set (from " + config.api_key_origin.description + ")";
  }
  std::string tried;
  for (const auto& source : config.api_key_origin.tried) {
    tried += (tried.empty() ? "" : ", ") + source;
  }
  return tried.empty() ? "not set" : "not set (tried " + tried + ")";
}

std::vector<std::string> world_readable_secret_files(const Sources& sources,
                                                     const std::string& study) {
  const auto& work_dir = sources.work_dir;
  std::vector<std::string> found;
  auto check = [&](const stdfs::path& path, bool holds_key) {
    auto shown = display_path(work_dir, path);
    if (holds_key && std::find(found.begin(), found.end(), shown) == found.end()) {
      found.push_back(std::move(shown));
    }
  };
  auto dotenv = work_dir / ".env";
  if (group_or_others_have_access(dotenv)) {
    check(dotenv, dotenv_holds_key(dotenv));
  }
  std::vector<stdfs::path> configs = {default_config_path(work_dir)};
  if (validate_study_name(study)) {
    if (auto selected = select_study_config(study, sources); selected && *selected) {
      configs.push_back(**selected);
    }
  }
  for (const auto& path : configs) {
    if (group_or_others_have_access(path)) {
      check(path, config_file_holds_key(path));
    }
  }
  return found;
}

} // namespace bdd::config
