#pragma once

#include <bdd/ops/export.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace bdd::cli {

// The filter flags `bdd export` and `bdd report` share (--since, --until, --time-field, --user,
// --users-file, --event-type), with one meaning everywhere.
class FilterFlags {
public:
  // Declares the flags on `app`, bound to this object.
  void configure(CLI::App& app);
  // The filters as given, for ops::make_export_filter.
  ops::ExportFilterArgs args() const;
  // The filters as given, for --json and manifests: since, until, time_field, users,
  // users_file, event_types.
  nlohmann::ordered_json to_json() const;

private:
  std::optional<std::string> m_since;
  std::optional<std::string> m_until;
  std::string m_time_field = "timestamp";
  std::vector<std::string> m_users;
  std::optional<std::string> m_users_file;
  std::vector<std::string> m_event_types;
};

} // namespace bdd::cli
