#include "time.hpp"

#include <chrono>
#include <string>

namespace bdd::exporting {

namespace {

// What one parse found, for the command line's stricter rule.
struct Parsed {
  Instant instant = 0;
  bool has_time = false;
  bool has_zone = false;
};

class Scanner {
public:
  explicit Scanner(std::string_view text) : m_text(text) {}

  bool done() const { return m_pos == m_text.size(); }
  bool accept(char c) {
    if (!done() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  bool digits(std::size_t count, int& out) {
    if (m_text.size() - m_pos < count) {
      return false;
    }
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = m_text[m_pos + i];
      if (c < '0' || c > '9') {
        return false;
      }
      value = value * 10 + (c - '0');
    }
    m_pos += count;
    out = value;
    return true;
  }
  // A fraction's digits as microseconds (the first six; the rest are read and dropped).
  bool fraction(Instant& micros) {
    std::size_t count = 0;
    micros = 0;
    while (!done() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
      if (count < 6) {
        micros = micros * 10 + (m_text[m_pos] - '0');
      }
      ++count;
      ++m_pos;
    }
    for (std::size_t i = count; i < 6; ++i) {
      micros *= 10;
    }
    return count > 0;
  }

private:
  std::string_view m_text;
  std::size_t m_pos = 0;
};

std::optional<Parsed> parse(std::string_view text) {
  Scanner in(text);
  int year = 0;
  int month = 0;
  int day = 0;
  if (!in.digits(4, year) || !in.accept('-') || !in.digits(2, month) || !in.accept('-')
      || !in.digits(2, day)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) {
    return std::nullopt;
  }
  Parsed out;
  const Instant day_start =
      static_cast<Instant>(std::chrono::sys_days{date}.time_since_epoch().count())
      * k_microseconds_per_day;
  out.instant = day_start;
  if (in.done()) {
    return out;
  }
  int hour = 0;
  int minute = 0;
  int second = 0;
  Instant micros = 0;
  if (!(in.accept('T') || in.accept('t') || in.accept(' ')) || !in.digits(2, hour)
      || !in.accept(':') || !in.digits(2, minute)) {
    return std::nullopt;
  }
  if (in.accept(':')) {
    if (!in.digits(2, second)) {
      return std::nullopt;
    }
    if ((in.accept('.') || in.accept(',')) && !in.fraction(micros)) {
      return std::nullopt;
    }
  }
  if (hour > 23 || minute > 59 || second > 60) { // 60: a leap second
    return std::nullopt;
  }
  out.has_time = true;
  int offset_minutes = 0;
  if (in.accept('Z') || in.accept('z')) {
    out.has_zone = true;
  } else if (const bool plus = in.accept('+'); plus || in.accept('-')) {
    int offset_hour = 0;
    int offset_minute = 0;
    if (!in.digits(2, offset_hour)) {
      return std::nullopt;
    }
    if (!in.done()) {
      in.accept(':');
      if (!in.digits(2, offset_minute)) {
        return std::nullopt;
      }
    }
    if (offset_hour > 23 || offset_minute > 59) {
      return std::nullopt;
    }
    offset_minutes = (plus ? 1 : -1) * (offset_hour * 60 + offset_minute);
    out.has_zone = true;
  }
  if (!in.done()) {
    return std::nullopt;
  }
  if (second == 60) {
    // A leap second is read as the last microsecond of its minute: it stays in its UTC day, as
    // model::utc_day (and so the by_date folder) has it.
    second = 59;
    micros = 999'999;
  }
  const Instant seconds =
      Instant{hour} * 3600 + Instant{minute} * 60 + second - Instant{offset_minutes} * 60;
  out.instant = day_start + seconds * 1'000'000 + micros;
  return out;
}

} // namespace

std::optional<Instant> parse_instant(std::string_view text) {
  if (auto parsed = parse(text)) {
    return parsed->instant;
  }
  return std::nullopt;
}

Result<Instant> parse_time_bound(std::string_view flag, std::string_view text) {
  const auto parsed = parse(text);
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
  return parsed->instant;
}

std::optional<Instant> folder_day(std::string_view name) {
  if (name.size() != 10) {
    return std::nullopt;
  }
  return parse_instant(name);
}

} // namespace bdd::exporting
