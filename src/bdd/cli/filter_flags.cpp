#include "filter_flags.hpp"

#include <CLI/CLI.hpp>

namespace bdd::cli {

using json = nlohmann::ordered_json;

void FilterFlags::configure(CLI::App& app) {
  app.add_option("--since",
                 m_since,
                 "only events at or after T: a date YYYY-MM-DD (the UTC day's start) or an "
                 "ISO-8601 time with Z or an offset (2025-01-15T10:00:00+01:00)");
  app.add_option("--until", m_until, "only events before T (same forms as --since)");
  app.add_option("--time-field",
                 m_time_field,
                 "the field --since/--until compare: timestamp (default, when the event "
                 "happened) or stored (stored_timestamp, when the server stored it)")
      ->check(CLI::IsMember({"timestamp", "stored"}));
  app.add_option("--user", m_users, "only this participant (user_id); repeatable")
      ->allow_extra_args(false);
  app.add_option("--users-file",
                 m_users_file,
                 "only the participants listed in this file: one user id per line, or a CSV "
                 "file whose first column is the id (a first line user_id, userId, user or id "
                 "is a header)");
  app.add_option("--event-type", m_event_types, "only events of this type; repeatable")
      ->allow_extra_args(false);
}

ops::ExportFilterArgs FilterFlags::args() const {
  ops::ExportFilterArgs filters;
  filters.since = m_since;
  filters.until = m_until;
  filters.stored_time = m_time_field == "stored";
  filters.users = m_users;
  if (m_users_file) {
    filters.users_file = *m_users_file;
  }
  filters.event_types = m_event_types;
  return filters;
}

json FilterFlags::to_json() const {
  return {{"since", m_since ? json(*m_since) : json(nullptr)},
          {"until", m_until ? json(*m_until) : json(nullptr)},
          {"time_field", m_time_field},
          {"users", m_users},
          {"users_file", m_users_file ? json(*m_users_file) : json(nullptr)},
          {"event_types", m_event_types}};
}

} // namespace bdd::cli
