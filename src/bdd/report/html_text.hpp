#pragma once

// Text as report.html writes it: escaped for HTML, numbers and durations in words a reader
// takes in at a glance. Every string of the report document goes through `append_html`.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::report {

inline constexpr std::size_t k_whole_text = std::numeric_limits<std::size_t>::max();

// Append `text` to `out` so that it reads as the same text in HTML element content and in a
// quoted attribute value, whatever it holds: & < > " ' as character references; a byte that is
// no well-formed UTF-8 as U+FFFD; control characters (C0 but tab and newline, DEL, C1) and the
// bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A..U+202E,
// U+2066..U+2069) as a visible "[U+202E]", so that none can reorder or hide the page around
// it. At most `max_code_points` code points of `text` are written; a longer text ends in "…".
void append_html(std::string& out,
                 std::string_view text,
                 std::size_t max_code_points = k_whole_text);

// `append_html` into a new string.
std::string escape_html(std::string_view text, std::size_t max_code_points = k_whole_text);

// A share in [0, 1] as a percentage with one decimal: 0.125 -> "12.5 %".
std::string format_share(double share);

// A length of time in the two largest units that matter: "3 d 4 h", "5 h 12 min", "42 min",
// "17 s". Negative, not finite or over a million years: "?".
std::string format_duration(double seconds);

// A number for an SVG attribute: at most two decimals, no trailing zeros, never exponent
// notation or a locale's comma ("12.5", "3", "-0.25").
std::string format_coordinate(double value);

// Days since 1970-01-01 of a date "YYYY-MM-DD" (a time after it is ignored, so that
// "2026-01-02T10:00:00Z" is that day too); nullopt for anything else or an impossible date.
std::optional<std::int64_t> parse_day(std::string_view text);

// The date "YYYY-MM-DD" of `days` since 1970-01-01 (proleptic Gregorian, years 0..9999).
std::string format_day(std::int64_t days);

} // namespace bdd::report
