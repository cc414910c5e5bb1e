#include "time.hpp"

#include <bdd/model/event.hpp>

#include <string>

namespace bdd::exporting {

std::optional<Instant> parse_instant(std::string_view text) {
  if (auto parsed = model::parse_iso_time(text)) {
    return parsed->utc_microseconds;
  }
  return std::nullopt;
}

Result<Instant> parse_time_bound(std::string_view flag, std::string_view text) {
  const auto parsed = model::parse_iso_time(text);
  if (!parsed) {
    return Error(Errc::usage,
                 std::string(flag) + " \"" + std::string(text)
                     + "\" is not a date (YYYY-MM-DD) or an ISO-8601 time with a zone "
                       "(2025-01-15T10:00:00Z, 2025-01-15T11:00:00+01:00)");
  }
  if (parsed->has_time && !parsed->has_zone) {
    return Error(Errc::usage,
                 std::string(flag) + " \"" + std::string(text)
                     + "\" has no time zone: add Z for UTC or an offset such as +01:00");
  }
  return parsed->utc_microseconds;
}

std::optional<Instant> folder_day(std::string_view name) {
  if (name.size() != 10) {
    return std::nullopt;
  }
  return parse_instant(name);
}

} // namespace bdd::exporting
