#include "clock.hpp"

#include <cstdio>
#include <ctime>

namespace bdd {

std::string format_utc(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  auto millis = duration_cast<milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[64];
  std::snprintf(text,
                sizeof text,
                "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                parts.tm_year + 1900,
                parts.tm_mon + 1,
                parts.tm_mday,
                parts.tm_hour,
                parts.tm_min,
                parts.tm_sec,
                static_cast<int>(millis % 1000));
  return text;
}

std::string utc_now() {
  return format_utc(std::chrono::system_clock::now());
}

} // namespace bdd
