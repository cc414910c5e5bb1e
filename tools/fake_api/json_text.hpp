#pragma once

// Small helpers that write JSON text straight into a string. The fake API renders events and pages
// by hand because building nlohmann::json trees for hundreds of thousands of events is too slow
// for the demo server's start-up.

#include <cstdint>
#include <string>
#include <string_view>

namespace bdd::fake_api {

// Appends `text` as a JSON string literal, quotes included. `"`, `\` and control characters are
// escaped; other bytes are copied unchanged, so valid UTF-8 in gives valid JSON out.
void append_json_string(std::string& out, std::string_view text);

// Appends the decimal digits of `value`.
void append_uint(std::string& out, std::uint64_t value);

// Appends `value / 10^decimals` as a decimal number with exactly `decimals` digits after the point
// (none and no point when `decimals` is 0); `value` may be negative.
void append_fixed(std::string& out, std::int64_t value, int decimals);

// Appends `ms` (milliseconds since the Unix epoch) as UTC ISO-8601 with milliseconds and `Z`,
// e.g. 2025-10-01T00:00:01.532Z.
void append_iso_time(std::string& out, std::int64_t ms);

// Returns the FastAPI-style error body {"detail": "<text>"}.
std::string detail_body(std::string_view text);

} // namespace bdd::fake_api
