// One JSON config file: parse it, check every key against the key table, apply the values.

#include "internal.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/redact.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace bdd::config::detail {

namespace {

// The settings being applied from one file, and where errors are reported.
struct Context {
  const std::string& display;
  const Environment& environment;
  Config& config;
  FileKey& key;
  std::string name; // the dotted key being applied, e.g. "api.timeout"

  Error fail(const std::string& text) const { return Error(Errc::config, display + ": " + text); }
};

using Apply = Result<void> (*)(Context&, const Json&);

struct KeySpec {
  std::string_view name; // "section.key", or "key" at the top level
  Apply apply;
};

constexpr std::string_view k_levels = "by_user_id, by_date or by_event_type";
constexpr double k_max_timeout_seconds = 86'400;
constexpr double k_max_retry_delay_seconds = 3'600;
constexpr double k_max_total_wait_seconds = 86'400;
constexpr std::uint64_t k_min_response_bytes = std::uint64_t{1} << 20U;
constexpr std::uint64_t k_max_response_bytes = std::uint64_t{16} << 30U;

std::string malformed_reference(const std::string& key) {
  return key
         + " has a \"${\" that does not start a ${NAME} reference (NAME made of letters, "
           "digits and '_')";
}

// `value` as a string with `${VAR}` expanded; `expected` describes the allowed values.
Result<std::string> expanded_string(Context& ctx, const Json& value, std::string_view expected) {
  if (!value.is_string()) {
    return ctx.fail(ctx.name + " must be " + std::string(expected) + ", got "
                    + describe_value(value));
  }
  Expansion expansion = expand_variables(value.get_ref<const std::string&>(), ctx.environment);
  if (expansion.malformed) {
    return ctx.fail(malformed_reference(ctx.name));
  }
  if (!expansion.unset.empty()) {
    return ctx.fail(ctx.name + " uses ${" + expansion.unset.front()
                    + "}, which is not set or is empty (set it in .env or the environment)");
  }
  return std::move(expansion.value);
}

Result<int> integer_in(Context& ctx, const Json& value, std::int64_t low, std::int64_t high) {
  bool in_range = false;
  std::int64_t number = 0;
  if (value.is_number_unsigned()) {
    auto unsigned_number = value.get<std::uint64_t>();
    in_range = unsigned_number <= static_cast<std::uint64_t>(high);
    number = static_cast<std::int64_t>(unsigned_number);
  } else if (value.is_number_integer()) {
    number = value.get<std::int64_t>();
    in_range = true;
  }
  if (!in_range || number < low || number > high) {
    return ctx.fail(ctx.name + " must be an integer from " + std::to_string(low) + " to "
                    + std::to_string(high) + ", got " + describe_value(value));
  }
  return static_cast<int>(number);
}

std::chrono::milliseconds to_milliseconds(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

// A number of seconds from 0 to `max_seconds` (a whole number), as milliseconds.
Result<std::chrono::milliseconds> seconds_in(Context& ctx, const Json& value, double max_seconds) {
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0
      || value.get<double>() > max_seconds) {
    return ctx.fail(ctx.name + " must be a number of seconds from 0 to "
                    + std::to_string(std::llround(max_seconds)) + ", got " + describe_value(value));
  }
  return to_milliseconds(value.get<double>());
}

Result<void> apply_study_name(Context& ctx, const Json& value) {
  // The study on the command line names the data folder and the API path; a file that says
  // another study was copied or picked by mistake, and its settings (its key above all) are
  // probably not this study's.
  BDD_TRY_ASSIGN(std::string name, expanded_string(ctx, value, "a string"));
  if (!ctx.config.study_name.empty() && name != ctx.config.study_name) {
    return ctx.fail("study_name is " + quote(name) + " but the study is "
                    + quote(ctx.config.study_name) + " (set study_name to "
                    + quote(ctx.config.study_name) + " or remove it, or run bdd with the study "
                    + quote(name) + ")");
  }
  return ok();
}

Result<void> apply_base_url(Context& ctx, const Json& value) {
  constexpr std::string_view k_expected = "a string starting with http:// or https://";
  BDD_TRY_ASSIGN(std::string url, expanded_string(ctx, value, k_expected));
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  // A password written into the URL must not reach the message.
  const auto shown = [&value] {
    return value.is_string() ? quote(redact(value.get_ref<const std::string&>(), ""))
                             : describe_value(value);
  };
  std::string_view rest = url;
  bool has_scheme = rest.starts_with("http://") || rest.starts_with("https://");
  if (!has_scheme || rest.substr(rest.find("//") + 2).empty()) {
    return ctx.fail(ctx.name + " must be " + std::string(k_expected) + ", got " + shown());
  }
  // bdd appends "/v1/studies/..." and its own query: a query or fragment in the base would end up
  // in the middle of the path or swallow the parameters.
  if (const std::size_t at = url.find_first_of("?#"); at != std::string::npos) {
    const bool query = url[at] == '?';
    return ctx.fail(ctx.name + " must not have a " + (query ? "query string" : "fragment")
                    + " (the part from '" + url[at] + "'), got " + shown()
                    + " (remove it: bdd adds the path and the query of each request itself)");
  }
  ctx.config.base_url = std::move(url);
  return ok();
}

Result<void> apply_api_key(Context& ctx, const Json& value) {
  // Never show the value: it may be a key.
  if (!value.is_string()) {
    return ctx.fail(ctx.name + " must be a string, got " + describe_type(value));
  }
  const auto& text = value.get_ref<const std::string&>();
  if (trim(text).empty()) {
    return ok();
  }
  Expansion expansion = expand_variables(text, ctx.environment);
  if (expansion.malformed) {
    return ctx.fail(malformed_reference(ctx.name));
  }
  if (!expansion.unset.empty()) {
    ctx.key.unset_variable = expansion.unset.front(); // "no key from this source"
    return ok();
  }
  ctx.key.value = std::move(expansion.value);
  return ok();
}

Result<void> apply_timeout(Context& ctx, const Json& value) {
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() <= 0) {
    return ctx.fail(ctx.name + " must be a number of seconds greater than 0, got "
                    + describe_value(value));
  }
  double seconds = value.get<double>();
  if (seconds > k_max_timeout_seconds) {
    return ctx.fail(ctx.name + " must be at most 86400 seconds (one day), got "
                    + describe_value(value));
  }
  ctx.config.timeout = std::max(to_milliseconds(seconds), std::chrono::milliseconds(1));
  return ok();
}

Result<void> apply_max_retries(Context& ctx, const Json& value) {
  BDD_TRY_ASSIGN(ctx.config.max_retries, integer_in(ctx, value, 0, 100));
  return ok();
}

Result<void> apply_retry_delay(Context& ctx, const Json& value) {
  BDD_TRY_ASSIGN(ctx.config.retry_delay, seconds_in(ctx, value, k_max_retry_delay_seconds));
  return ok();
}

Result<void> apply_max_response_bytes(Context& ctx, const Json& value) {
  const bool in_range = value.is_number_unsigned()
                        && value.get<std::uint64_t>() >= k_min_response_bytes
                        && value.get<std::uint64_t>() <= k_max_response_bytes;
  if (!in_range) {
    return ctx.fail(ctx.name + " must be an integer number of bytes from "
                    + std::to_string(k_min_response_bytes) + " (1 MiB) to "
                    + std::to_string(k_max_response_bytes) + " (16 GiB), got "
                    + describe_value(value));
  }
  ctx.config.max_response_bytes = value.get<std::uint64_t>();
  return ok();
}

Result<void> apply_max_total_wait(Context& ctx, const Json& value) {
  BDD_TRY_ASSIGN(ctx.config.max_total_wait, seconds_in(ctx, value, k_max_total_wait_seconds));
  return ok();
}

Result<void> apply_verify_tls(Context& ctx, const Json& value) {
  if (!value.is_boolean()) {
    return ctx.fail(ctx.name + " must be true or false, got " + describe_value(value));
  }
  ctx.config.verify_tls = value.get<bool>();
  return ok();
}

Result<void> apply_page_size(Context& ctx, const Json& value) {
  BDD_TRY_ASSIGN(ctx.config.page_size, integer_in(ctx, value, 1, 100'000));
  return ok();
}

Result<void> apply_max_concurrent_requests(Context& ctx, const Json& value) {
  BDD_TRY_ASSIGN(ctx.config.max_concurrent_requests, integer_in(ctx, value, 1, 32));
  return ok();
}

Result<void> apply_data_directory(Context& ctx, const Json& value) {
  constexpr std::string_view k_expected = "a non-empty string (a directory path)";
  BDD_TRY_ASSIGN(std::string directory, expanded_string(ctx, value, k_expected));
  if (directory.empty()) {
    return ctx.fail(ctx.name + " must be " + std::string(k_expected) + ", got "
                    + describe_value(value));
  }
  ctx.config.data_directory = directory; // joined to the work dir by `resolve`
  return ok();
}

Result<void> apply_format(Context& ctx, const Json& value) {
  std::string expected = "one of " + format_list();
  BDD_TRY_ASSIGN(std::string format, expanded_string(ctx, value, expected));
  if (!find_format(format)) {
    return ctx.fail(ctx.name + " " + quote(format) + " is not supported (use " + format_list()
                    + ")");
  }
  ctx.config.format = std::move(format);
  ctx.config.format_from_study_config = true; // `resolve` clears it after the default config
  return ok();
}

Result<void> apply_folder_structure(Context& ctx, const Json& value) {
  if (!value.is_array()) {
    return ctx.fail(ctx.name + " must be an array of distinct values from " + std::string(k_levels)
                    + ", got " + describe_value(value));
  }
  std::vector<std::string> levels;
  std::string array_name = ctx.name;
  for (std::size_t i = 0; i < value.size(); ++i) {
    ctx.name = array_name + "[" + std::to_string(i) + "]";
    BDD_TRY_ASSIGN(std::string level,
                   expanded_string(ctx, value[i], "one of " + std::string(k_levels)));
    if (level != "by_user_id" && level != "by_date" && level != "by_event_type") {
      return ctx.fail(ctx.name + " " + quote(level) + " is not supported (use "
                      + std::string(k_levels) + ")");
    }
    if (std::find(levels.begin(), levels.end(), level) != levels.end()) {
      return ctx.fail(array_name + " lists " + quote(level) + " twice");
    }
    levels.push_back(std::move(level));
  }
  ctx.config.folder_structure = std::move(levels);
  ctx.config.folder_structure_from_study_config = true; // as in apply_format
  return ok();
}

Result<void> apply_partition_naming(Context& ctx, const Json& value) {
  BDD_TRY_ASSIGN(std::string naming, expanded_string(ctx, value, "\"plain\" or \"hive\""));
  if (naming != "plain" && naming != "hive") {
    return ctx.fail(ctx.name + " " + quote(naming)
                    + " is not supported (use \"plain\" for bare folder names or \"hive\" for "
                      "user_id=... folders)");
  }
  ctx.config.partition_naming = std::move(naming);
  ctx.config.partition_naming_from_study_config = true; // as in apply_format
  return ok();
}

// The one table of keys: everything a config file may hold. Sections are the parts before '.'.
// clang-format off
constexpr std::array k_keys = {
    KeySpec{"study_name",                       &apply_study_name},
    KeySpec{"api.base_url",                     &apply_base_url},
    KeySpec{"api.api_key",                      &apply_api_key},
    KeySpec{"api.timeout",                      &apply_timeout},
    KeySpec{"api.max_retries",                  &apply_max_retries},
    KeySpec{"api.retry_delay",                  &apply_retry_delay},
    KeySpec{"api.verify_tls",                   &apply_verify_tls},
    KeySpec{"api.max_response_bytes",           &apply_max_response_bytes},
    KeySpec{"api.max_total_wait_seconds",       &apply_max_total_wait},
    KeySpec{"download.default_page_size",       &apply_page_size},
    KeySpec{"download.max_concurrent_requests", &apply_max_concurrent_requests},
    KeySpec{"storage.data_directory",           &apply_data_directory},
    KeySpec{"storage.default_format",           &apply_format},
    KeySpec{"storage.folder_structure",         &apply_folder_structure},
    KeySpec{"storage.partition_naming",         &apply_partition_naming},
};
// clang-format on

const KeySpec* find_key(std::string_view name) {
  for (const auto& key : k_keys) {
    if (key.name == name) {
      return &key;
    }
  }
  return nullptr;
}

std::string_view section_of(std::string_view name) {
  auto dot = name.find('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(0, dot);
}

bool is_section(std::string_view name) {
  for (const auto& key : k_keys) {
    if (section_of(key.name) == name) {
      return true;
    }
  }
  return false;
}

// The names allowed directly in `section` ("" for the top level), in table order.
std::vector<std::string> names_in(std::string_view section) {
  std::vector<std::string> names;
  for (const auto& key : k_keys) {
    std::string_view key_section = section_of(key.name);
    std::string_view name;
    if (section.empty()) {
      name = key_section.empty() ? key.name : key_section;
    } else if (key_section == section) {
      name = key.name.substr(section.size() + 1);
    }
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) {
      names.emplace_back(name);
    }
  }
  return names;
}

Error unknown_key(const Context& ctx, const std::string& name, std::string_view section) {
  std::vector<std::string> candidates;
  for (const auto& key : k_keys) {
    candidates.emplace_back(key.name);
    if (!section_of(key.name).empty()) {
      candidates.emplace_back(section_of(key.name));
    }
  }
  std::string text = "unknown key " + quote(name);
  if (auto suggestion = nearest(name, candidates)) {
    return ctx.fail(text + " (did you mean " + quote(*suggestion) + "?)");
  }
  std::string known;
  for (const auto& known_name : names_in(section)) {
    known += (known.empty() ? "" : ", ") + known_name;
  }
  std::string where = section.empty() ? "" : " in " + std::string(section);
  return ctx.fail(text + " (known keys" + where + ": " + known + ")");
}

Result<void> apply_member(Context& ctx, const std::string& name, const Json& value) {
  const KeySpec* key = find_key(name);
  if (key == nullptr) {
    return unknown_key(ctx, name, section_of(name));
  }
  ctx.name = name;
  return key->apply(ctx, value);
}

} // namespace

Result<FileKey> apply_config(const Json& document,
                             const std::string& display,
                             const Environment& environment,
                             Config& config) {
  FileKey key;
  Context ctx{display, environment, config, key, {}};
  for (const auto& [name, value] : document.items()) {
    if (name.starts_with('_')) {
      continue; // a comment
    }
    if (name.find('.') != std::string::npos) {
      return ctx.fail("unknown key " + quote(name) + " (nest it instead: \""
                      + std::string(section_of(name)) + "\": {...})");
    }
    if (!is_section(name)) {
      BDD_TRY(apply_member(ctx, name, value));
      continue;
    }
    if (!value.is_object()) {
      return ctx.fail(name + " must be an object (a section of settings), got "
                      + describe_value(value));
    }
    for (const auto& [member, member_value] : value.items()) {
      if (!member.starts_with('_')) {
        BDD_TRY(apply_member(ctx, name + "." + member, member_value));
      }
    }
  }
  return key;
}

} // namespace bdd::config::detail
