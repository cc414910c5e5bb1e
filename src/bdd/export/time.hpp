#pragma once

// Times as `bdd export` compares them: instants in UTC microseconds.

#include <bdd/core/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::exporting {

// Microseconds since 1970-01-01T00:00:00Z.
using Instant = std::int64_t;

inline constexpr Instant k_microseconds_per_day = 86'400'000'000;

// A stored time read as an instant: model::parse_iso_time (the grammar of model::utc_day's
// ISO-8601 times, so that an instant falls in the by_date folder of its day; utc_day's epoch
// numbers are not read). nullopt when `text` is no such time.
std::optional<Instant> parse_instant(std::string_view text);

// The value of `--since`/`--until` (`flag`, for the message): a date "YYYY-MM-DD" (the start
// of that UTC day) or an ISO-8601 time with "Z" or an offset. A time without a zone is
// refused: on the command line it would silently mean UTC to bdd and local time to the user.
// Fails with Errc::usage naming the flag and the value.
Result<Instant> parse_time_bound(std::string_view flag, std::string_view text);

// The start of the UTC day of a by_date folder named `name` ("YYYY-MM-DD"); nullopt for any
// other name (`unknown-date`).
std::optional<Instant> folder_day(std::string_view name);

// The UTC day of `at`, as days since 1970-01-01 (negative before it).
std::int64_t day_of(Instant at);

// Day `day` (days since 1970-01-01) as "YYYY-MM-DD".
std::string format_day(std::int64_t day);

// `at` as UTC ISO-8601 with a `Z`: milliseconds when `at` has no finer part
// ("2025-11-18T10:00:01.532Z"), else microseconds. `parse_instant` reads it back as `at`.
std::string format_instant(Instant at);

} // namespace bdd::exporting
