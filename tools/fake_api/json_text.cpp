#include "json_text.hpp"

#include <array>
#include <chrono>

namespace bdd::fake_api {

namespace {

constexpr std::string_view k_hex_digits = "0123456789abcdef";

void append_padded(std::string& out, unsigned value, int width) {
  std::array<char, 8> digits{};
  for (int i = width - 1; i >= 0; --i) {
    digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits.data(), static_cast<std::size_t>(width));
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t clean_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') {
      continue;
    }
    // Copy runs of plain bytes in one go: most strings need no escaping at all.
    out.append(text.substr(clean_start, i - clean_start));
    clean_start = i + 1;
    switch (byte) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\u00";
      out += k_hex_digits[byte >> 4];
      out += k_hex_digits[byte & 0xf];
      break;
    }
  }
  out.append(text.substr(clean_start));
  out += '"';
}

void append_uint(std::string& out, std::uint64_t value) {
  std::array<char, 20> digits{};
  std::size_t used = 0;
  do {
    digits[digits.size() - 1 - used] = static_cast<char>('0' + value % 10);
    value /= 10;
    ++used;
  } while (value != 0);
  out.append(digits.data() + digits.size() - used, used);
}

void append_fixed(std::string& out, std::int64_t value, int decimals) {
  if (value < 0) {
    out += '-';
    value = -value;
  }
  std::uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) {
    scale *= 10;
  }
  const auto magnitude = static_cast<std::uint64_t>(value);
  append_uint(out, magnitude / scale);
  if (decimals > 0) {
    out += '.';
    append_padded(out, static_cast<unsigned>(magnitude % scale), decimals);
  }
}

void append_iso_time(std::string& out, std::int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds{ms}};
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const auto in_day = (time - day).count(); // milliseconds since midnight
  append_padded(out, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  out += '-';
  append_padded(out, static_cast<unsigned>(date.month()), 2);
  out += '-';
  append_padded(out, static_cast<unsigned>(date.day()), 2);
  out += 'T';
  append_padded(out, static_cast<unsigned>(in_day / 3'600'000), 2);
  out += ':';
  append_padded(out, static_cast<unsigned>(in_day / 60'000 % 60), 2);
  out += ':';
  append_padded(out, static_cast<unsigned>(in_day / 1000 % 60), 2);
  out += '.';
  append_padded(out, static_cast<unsigned>(in_day % 1000), 3);
  out += 'Z';
}

std::string detail_body(std::string_view text) {
  std::string body = "{\"detail\":";
  append_json_string(body, text);
  body += '}';
  return body;
}

} // namespace bdd::fake_api
