#include "time.hpp"

#include <bdd/model/event.hpp>

#include <cstdio>
#include <string>

namespace bdd::exporting {

namespace {

// Floor division: days and seconds before 1970 round down, not toward zero.
std::int64_t floor_div(std::int64_t value, std::int64_t divisor) {
  const std::int64_t quotient = value / divisor;
  return quotient * divisor > value ? quotient - 1 : quotient;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// The proleptic Gregorian date of `days` since 1970-01-01 (H. Hinnant's civil_from_days).
Civil civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

} // namespace

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

std::int64_t day_of(Instant at) {
  return floor_div(at, k_microseconds_per_day);
}

std::string format_day(std::int64_t day) {
  const Civil date = civil_from_days(day);
  char text[32];
  std::snprintf(text,
                sizeof text,
                "%04lld-%02u-%02u",
                static_cast<long long>(date.year),
                date.month,
                date.day);
  return text;
}

std::string format_instant(Instant at) {
  const std::int64_t day = day_of(at);
  const std::int64_t in_day = at - day * k_microseconds_per_day;
  const std::int64_t seconds = in_day / 1'000'000;
  const std::int64_t micros = in_day % 1'000'000;
  // Milliseconds when that is exact, else microseconds.
  const bool millis = micros % 1000 == 0;
  char text[64];
  std::snprintf(text,
                sizeof text,
                "T%02lld:%02lld:%02lld.%0*lldZ",
                static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60),
                millis ? 3 : 6,
                static_cast<long long>(millis ? micros / 1000 : micros));
  return format_day(day) + text;
}

} // namespace bdd::exporting
