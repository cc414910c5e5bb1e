// Study names and study config files: naming rules, listing, creating from the template.

#include "config.hpp"
#include "internal.hpp"

#include <bdd/core/fs.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>

namespace bdd::config {

namespace stdfs = std::filesystem;

namespace {

constexpr std::size_t k_max_study_name = 128;

// Used when settings/config_template.json is missing; keep in step with that file.
constexpr std::string_view k_builtin_template = R"({
  "_comment": "Settings of one study. Keep the API key out of this file: put it in .env or the environment under the variable named in api.api_key.",
  "study_name": "my-study",
  "api": {
    "base_url": "https://api.behaverse.org",
    "api_key": "${BEHAVERSE_API_KEY_STUDY}",
    "timeout": 30,
    "max_retries": 3,
    "retry_delay": 1,
    "verify_tls": true,
    "max_response_bytes": 268435456,
    "max_total_wait_seconds": 900
  },
  "download": {
    "default_page_size": 1000,
    "max_concurrent_requests": 3
  },
  "storage": {
    "data_directory": "data",
    "partition_naming": "plain"
  }
}
)";

bool is_study_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
}

// The template with the study filled in: `study_name` kept in place (or put first) and
// api.api_key pointing at the study's variable.
Result<detail::Json>
fill_template(detail::Json document, const std::string& display, const std::string& study) {
  if (document.contains("api") && !document["api"].is_object()) {
    return Error(Errc::config, display + ": api must be an object (a section of settings)");
  }
  if (!document.contains("study_name")) {
    detail::Json filled = detail::Json::object();
    filled["study_name"] = study;
    for (auto& [name, value] : document.items()) {
      filled[name] = std::move(value);
    }
    document = std::move(filled);
  }
  document["study_name"] = study;
  document["api"]["api_key"] = "${" + study_key_variable(study) + "}";
  return document;
}

Error already_exists(const std::string& display) {
  return Error(Errc::config, display + " already exists (edit it, or delete it to start again)");
}

// Move `temporary` to `path` unless `path` exists: link(2) fails with EEXIST instead of
// replacing, so a concurrent create cannot be overwritten.
Result<void> publish_no_clobber(const stdfs::path& temporary,
                                const stdfs::path& path,
                                const std::string& display) {
  if (::link(temporary.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (err == EEXIST) {
      ::unlink(temporary.c_str());
      return already_exists(display);
    }
    // Some file systems have no hard links: fall back to a checked rename.
    std::error_code ec;
    if (stdfs::exists(stdfs::symlink_status(path, ec))) {
      ::unlink(temporary.c_str());
      return already_exists(display);
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      int rename_err = errno;
      ::unlink(temporary.c_str());
      return Error(Errc::storage, fs::describe_errno("cannot create", path, rename_err));
    }
    return fs::sync_directory(path.parent_path());
  }
  ::unlink(temporary.c_str());
  return fs::sync_directory(path.parent_path());
}

} // namespace

std::string study_key_variable(const std::string& study) {
  std::string name(detail::k_key_prefix);
  name += '_';
  for (char c : study) {
    auto u = static_cast<unsigned char>(c);
    bool keep = (u < 0x80) && std::isalnum(u) != 0;
    name += keep ? static_cast<char>(std::toupper(u)) : '_';
  }
  return name;
}

Result<void> validate_study_name(const std::string& study) {
  bool valid = !study.empty() && study.size() <= k_max_study_name && study[0] != '.'
               && study[0] != '-' && std::all_of(study.begin(), study.end(), is_study_char);
  if (!valid) {
    return Error(Errc::usage,
                 "invalid study name " + detail::quote(study)
                     + " (use 1 to 128 letters, digits, '.', '_' or '-', not starting with '.' "
                       "or '-')");
  }
  return ok();
}

namespace detail {

Result<void> check_unconfigured_study(const std::string& study, const stdfs::path& work_dir) {
  const auto configured = list_study_configs(work_dir);
  std::optional<std::string> suggestion;
  const auto lower = [](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
      return static_cast<char>(std::tolower(c));
    });
    return text;
  };
  for (const auto& name : configured) {
    if (lower(name) == lower(study)) {
      suggestion = name; // "Small" for "small": the likeliest mistake, whatever the length
      break;
    }
  }
  if (!suggestion) {
    suggestion = nearest(study, configured);
  }
  const std::string config_display =
      display_path(work_dir, work_dir / "study_configs" / (study + ".json"));
  if (suggestion) {
    return Error(Errc::config,
                 "no config for study " + quote(study) + " (" + config_display
                     + " does not exist); did you mean " + quote(*suggestion) + "?");
  }
  // The user's explicit choice of host for studies without a config of their own.
  const auto default_path = work_dir / "settings" / "default_config.json";
  const auto default_display = display_path(work_dir, default_path);
  BDD_TRY_ASSIGN(auto text, read_text_file_if_exists(default_path, default_display));
  if (text) {
    BDD_TRY_ASSIGN(auto document, parse_config_json(*text, default_display));
    if (document.contains("api") && document["api"].is_object()
        && document["api"].contains("base_url")) {
      return ok();
    }
  }
  return Error(Errc::config,
               "no config for study " + quote(study) + " (" + config_display
                   + " does not exist) and no api.base_url in " + default_display
                   + ", so bdd will not send the API key to any host (create the config with: "
                     "bdd create-config "
                   + study + ")");
}

} // namespace detail

std::vector<std::string> list_study_configs(const stdfs::path& work_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  stdfs::directory_iterator it(work_dir / "study_configs", ec);
  for (; !ec && it != stdfs::directory_iterator(); it.increment(ec)) {
    const auto& path = it->path();
    std::error_code type_ec;
    if (path.extension() != ".json" || !stdfs::is_regular_file(path, type_ec)) {
      continue;
    }
    std::string stem = path.stem().string();
    if (validate_study_name(stem)) {
      names.push_back(std::move(stem));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<stdfs::path> create_study_config(const stdfs::path& work_dir, const std::string& study) {
  BDD_TRY(validate_study_name(study));
  auto directory = work_dir / "study_configs";
  auto path = directory / (study + ".json");
  auto display = detail::display_path(work_dir, path);
  std::error_code ec;
  if (stdfs::exists(stdfs::symlink_status(path, ec))) {
    return already_exists(display);
  }

  auto template_path = work_dir / "settings" / "config_template.json";
  auto template_display = detail::display_path(work_dir, template_path);
  BDD_TRY_ASSIGN(auto text, detail::read_text_file_if_exists(template_path, template_display));
  if (!text) {
    text = std::string(k_builtin_template);
  }
  BDD_TRY_ASSIGN(auto document, detail::parse_config_json(*text, template_display));
  BDD_TRY_ASSIGN(auto filled, fill_template(std::move(document), template_display, study));

  BDD_TRY(fs::create_directories(directory));
  auto temporary = directory / ("." + study + ".json.new-" + std::to_string(::getpid()));
  BDD_TRY(fs::write_file_atomic(temporary, filled.dump(2) + "\n"));
  BDD_TRY(publish_no_clobber(temporary, path, display));
  return path;
}

} // namespace bdd::config
