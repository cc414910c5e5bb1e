#pragma once

// Which events an export keeps.

#include <bdd/core/result.hpp>
#include <bdd/export/time.hpp>
#include <bdd/model/event.hpp>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bdd::exporting {

enum class TimeField { timestamp, stored_timestamp };

// AND across kinds, OR within a kind; an empty kind keeps everything.
struct Filter {
  std::optional<Instant> since; // inclusive
  std::optional<Instant> until; // exclusive
  TimeField time_field = TimeField::timestamp;
  std::set<std::string> users;       // user_id equal to one of these
  std::set<std::string> event_types; // event_type equal to one of these

  bool has_time() const { return since || until; }

  // True if `event` passes. With a time bound, an event whose time field is missing or is no
  // time `parse_instant` reads is left out.
  bool matches(const model::Event& event) const;

  // True if an instant `at` passes the time bounds.
  bool in_range(Instant at) const { return (!since || at >= *since) && (!until || at < *until); }
};

// The most bytes a users file may hold (16 MiB): it is read whole.
inline constexpr std::size_t k_max_users_file_bytes = std::size_t{16} << 20;

// The user ids of a `--users-file`: one per line, or a CSV file whose first column is the id
// (a field in double quotes may hold commas and doubled quotes). A first line whose first field
// is `user_id`, `userId`, `user` or `id` (any case) is a header and skipped; a UTF-8 byte order
// mark, CR before LF, surrounding blanks of an unquoted field and empty lines are ignored.
// Fails with Errc::usage naming the file if it cannot be read, is larger than
// `k_max_users_file_bytes` or holds no id.
Result<std::vector<std::string>> read_users_file(const std::filesystem::path& path);

} // namespace bdd::exporting
