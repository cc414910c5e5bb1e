#pragma once

#include <chrono>
#include <string>

namespace bdd {

// `time` as UTC ISO-8601 with milliseconds and a `Z`, e.g. "2025-11-18T10:00:01.532Z".
std::string format_utc(std::chrono::system_clock::time_point time);

// The current time, formatted by `format_utc`.
std::string utc_now();

} // namespace bdd
