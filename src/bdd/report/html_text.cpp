#include "html_text.hpp"

#include <bdd/core/text.hpp>
#include <bdd/core/utf8.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace bdd::report {

namespace {

// Characters that would change how the text around them is displayed, or hide: shown as
// "[U+XXXX]" rather than obeyed.
bool shown_as_code(char32_t c) {
  return (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f) || c == 0x061c
         || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e)
         || (c >= 0x2066 && c <= 0x2069);
}

void append_code(std::string& out, char32_t c) {
  std::array<char, 16> buffer{};
  const int length =
      std::snprintf(buffer.data(), buffer.size(), "[U+%04X]", static_cast<unsigned>(c));
  out.append(buffer.data(), static_cast<std::size_t>(length));
}

void append_character(std::string& out, std::string_view bytes, char32_t c) {
  switch (c) {
  case '&':
    out += "&amp;";
    break;
  case '<':
    out += "&lt;";
    break;
  case '>':
    out += "&gt;";
    break;
  case '"':
    out += "&quot;";
    break;
  case '\'':
    out += "&#39;";
    break;
  default:
    if (shown_as_code(c)) {
      append_code(out, c);
    } else {
      out += bytes;
    }
  }
}

} // namespace

void append_html(std::string& out, std::string_view text, std::size_t max_code_points) {
  std::size_t written = 0;
  while (!text.empty()) {
    if (written == max_code_points) {
      out += "\u2026";
      return;
    }
    if (const auto code_point = decode_utf8(text)) {
      append_character(out, text.substr(0, code_point->length), code_point->value);
      text.remove_prefix(code_point->length);
    } else {
      out += "\uFFFD";
      text.remove_prefix(1);
    }
    ++written;
  }
}

std::string escape_html(std::string_view text, std::size_t max_code_points) {
  std::string out;
  append_html(out, text, max_code_points);
  return out;
}

std::string format_share(double share) {
  if (!std::isfinite(share)) {
    return "?";
  }
  std::array<char, 32> buffer{};
  const auto [end, error] = std::to_chars(
      buffer.data(), buffer.data() + buffer.size(), share * 100.0, std::chars_format::fixed, 1);
  if (error != std::errc{}) {
    return "?";
  }
  return std::string(buffer.data(), end) + " %";
}

std::string format_duration(double seconds) {
  // Past a million years a silence is a broken clock, not a length of time.
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 3.2e13) {
    return "?";
  }
  struct Unit {
    const char* name;
    double seconds;
  };
  static constexpr std::array<Unit, 4> k_units = {
      Unit{"d", 86400}, Unit{"h", 3600}, Unit{"min", 60}, Unit{"s", 1}};
  const double whole = std::floor(seconds);
  for (std::size_t i = 0; i < k_units.size(); ++i) {
    if (whole < k_units[i].seconds && i + 1 < k_units.size()) {
      continue;
    }
    const double major = std::floor(whole / k_units[i].seconds);
    std::string out = group_digits(static_cast<std::uint64_t>(major)) + " " + k_units[i].name;
    if (i + 1 < k_units.size() && major < 1000) {
      const double rest = whole - major * k_units[i].seconds;
      const double minor = std::floor(rest / k_units[i + 1].seconds);
      if (minor > 0) {
        out += " " + std::to_string(static_cast<int>(minor)) + " " + k_units[i + 1].name;
      }
    }
    return out;
  }
  return "?";
}

std::string format_coordinate(double value) {
  if (!std::isfinite(value)) {
    return "0";
  }
  const double rounded = std::round(value * 100.0) / 100.0;
  std::array<char, 48> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(),
                                          buffer.data() + buffer.size(),
                                          rounded == 0 ? 0.0 : rounded,
                                          std::chars_format::fixed,
                                          2);
  if (error != std::errc{}) {
    return "0";
  }
  std::string out(buffer.data(), end);
  while (out.back() == '0') {
    out.pop_back();
  }
  if (out.back() == '.') {
    out.pop_back();
  }
  return out;
}

namespace {

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

std::optional<unsigned> digits(std::string_view text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

} // namespace

std::optional<std::int64_t> parse_day(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-'
      || (text.size() > 10 && text[10] != 'T')) {
    return std::nullopt;
  }
  const auto year = digits(text.substr(0, 4));
  const auto month = digits(text.substr(5, 2));
  const auto day = digits(text.substr(8, 2));
  if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1) {
    return std::nullopt;
  }
  static constexpr std::array<unsigned, 12> k_month_days = {
      31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  const unsigned last = k_month_days.at(*month - 1) + (*month == 2 && leap ? 1 : 0);
  if (*day > last) {
    return std::nullopt;
  }
  return days_from_civil(*year, *month, *day);
}

std::string format_day(std::int64_t days) {
  // Hinnant's civil_from_days.
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year =
      static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  std::array<char, 32> buffer{};
  const int length = std::snprintf(
      buffer.data(), buffer.size(), "%04lld-%02u-%02u", static_cast<long long>(year), month, day);
  return std::string(buffer.data(), static_cast<std::size_t>(length));
}

} // namespace bdd::report
