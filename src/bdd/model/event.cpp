#include "event.hpp"

#include <bdd/core/sha256.hpp>
#include <bdd/core/utf8.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace bdd::model {

namespace {

using nlohmann::json;

std::string dump_compact(const json& value) {
  // `replace` keeps dump() from throwing on invalid UTF-8 (only possible for hand-built values).
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The member `key` of `holder`, or nullptr when `holder` is not an object, lacks `key`, or holds
// null there: the spec's "first that exists" treats an explicit null as absent.
const json* member(const json& holder, const char* key) {
  if (!holder.is_object()) {
    return nullptr;
  }
  auto it = holder.find(key);
  if (it == holder.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

const json* nested_member(const json& event, const char* outer, const char* key) {
  const json* holder = member(event, outer);
  return holder ? member(*holder, key) : nullptr;
}

// Strings as they are, anything else as its compact JSON text.
std::string as_text(const json& value) {
  return value.is_string() ? value.get_ref<const std::string&>() : dump_compact(value);
}

std::optional<std::string> first_text(std::initializer_list<const json*> candidates) {
  for (const json* candidate : candidates) {
    if (candidate) {
      return as_text(*candidate);
    }
  }
  return std::nullopt;
}

// An `index` printed as an integer ("42", also for 42.0). nullopt for anything that is not an
// integral number: a string index could make "a_1" + "2" and "a" + "1_2" the same id.
std::optional<std::string> integer_text(const json& value) {
  if (value.is_number_integer()) {
    return value.dump();
  }
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (std::isfinite(number) && std::trunc(number) == number && std::fabs(number) < 9.0e15) {
      return std::to_string(static_cast<long long>(number));
    }
  }
  return std::nullopt;
}

// "<userId>_<index>" from `holder` (the event's `base` or `object`), if it carries both.
std::optional<std::string> composite_id(const json* holder) {
  if (!holder) {
    return std::nullopt;
  }
  const json* user = member(*holder, "userId");
  const json* index = member(*holder, "index");
  if (!user || !index || !(user->is_string() || user->is_number())) {
    return std::nullopt;
  }
  auto index_text = integer_text(*index);
  if (!index_text) {
    return std::nullopt;
  }
  return as_text(*user) + "_" + *index_text;
}

std::string derive_id(const json& event, const std::string& raw) {
  // 1. The API's own id. An empty string cannot identify anything, so it falls through.
  if (const json* id = member(event, "id")) {
    if (id->is_number() || (id->is_string() && !id->get_ref<const std::string&>().empty())) {
      return as_text(*id);
    }
  }
  // 2. Game-style events: user and per-user sequence number, only when there is no top-level
  // timestamp (web-style events carry one and an id of their own).
  if (!member(event, "timestamp")) {
    if (auto id = composite_id(member(event, "base"))) {
      return *id;
    }
    if (auto id = composite_id(member(event, "object"))) {
      return *id;
    }
  }
  // 3. Content address: identical events get identical ids, so re-downloads deduplicate.
  return "sha256:" + sha256_hex(raw);
}

std::string derive_event_type(const json& event) {
  if (const json* types = member(event, "types")) {
    if (types->is_array() && !types->empty() && (*types)[0].is_string()) {
      return (*types)[0].get<std::string>();
    }
  }
  if (const json* type = member(event, "event_type"); type && type->is_string()) {
    return type->get<std::string>();
  }
  return "unknown";
}

// Cursor over a timestamp string for the small ISO-8601 grammar utc_day accepts.
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
  bool skip_digits() {
    const std::size_t start = m_pos;
    while (!done() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
      ++m_pos;
    }
    return m_pos > start;
  }

private:
  std::string_view m_text;
  std::size_t m_pos = 0;
};

std::optional<std::string> format_day(std::chrono::sys_days day) {
  const std::chrono::year_month_day date{day};
  const int year = static_cast<int>(date.year());
  if (!date.ok() || year < 0 || year > 9999) {
    return std::nullopt;
  }
  std::array<char, 16> buffer{};
  std::snprintf(buffer.data(),
                buffer.size(),
                "%04d-%02u-%02u",
                year,
                static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()));
  return std::string(buffer.data());
}

std::optional<std::string> iso_day(std::string_view text) {
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
  if (in.done()) {
    return format_day(std::chrono::sys_days{date});
  }

  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!(in.accept('T') || in.accept('t') || in.accept(' ')) || !in.digits(2, hour)
      || !in.accept(':') || !in.digits(2, minute)) {
    return std::nullopt;
  }
  if (in.accept(':')) {
    if (!in.digits(2, second)) {
      return std::nullopt;
    }
    if ((in.accept('.') || in.accept(',')) && !in.skip_digits()) {
      return std::nullopt;
    }
  }
  if (hour > 23 || minute > 59 || second > 60) { // 60: a leap second
    return std::nullopt;
  }

  int offset_minutes = 0;
  if (in.accept('Z') || in.accept('z')) {
    // UTC
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
  }
  // No offset: the local zone is unknown, and the API's own times are UTC.
  if (!in.done()) {
    return std::nullopt;
  }

  const int utc_minutes = hour * 60 + minute - offset_minutes;
  const int day_shift = utc_minutes < 0 ? -1 : utc_minutes / (24 * 60);
  return format_day(std::chrono::sys_days{date} + std::chrono::days{day_shift});
}

std::optional<std::string> epoch_day(std::string_view text) {
  if (text.empty() || !(text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  const double seconds = std::fabs(value) < 1e11 ? value : value / 1000.0;
  const double days = std::floor(seconds / 86400.0);
  if (std::fabs(days) > 4.0e6) { // far outside years 0000-9999: avoid overflowing the cast
    return std::nullopt;
  }
  return format_day(std::chrono::sys_days{std::chrono::days{static_cast<int>(days)}});
}

} // namespace

Event normalise(const json& raw_event) {
  Event event;
  event.raw = dump_compact(raw_event);
  event.id = derive_id(raw_event, event.raw);
  event.user_id = first_text({nested_member(raw_event, "base", "userId"),
                              nested_member(raw_event, "object", "userId"),
                              member(raw_event, "userId")})
                      .value_or("unknown");
  event.event_type = derive_event_type(raw_event);
  event.element_id = first_text({member(raw_event, "element_id")});
  event.page_url = first_text({member(raw_event, "page_url")});
  event.timestamp = first_text({member(raw_event, "timestamp"),
                                nested_member(raw_event, "object", "tsGenerated"),
                                nested_member(raw_event, "base", "tsGenerated"),
                                member(raw_event, "stored")});
  event.stored_timestamp = first_text({member(raw_event, "stored"),
                                       member(raw_event, "stored_timestamp"),
                                       member(raw_event, "timestamp")});
  return event;
}

std::optional<std::string> utc_day(std::string_view timestamp) {
  if (auto day = iso_day(timestamp)) {
    return day;
  }
  return epoch_day(timestamp);
}

void append_json_string(std::string& out, std::string_view text) {
  constexpr std::string_view k_hex = "0123456789abcdef";
  out += '"';
  std::size_t run_start = 0; // bytes [run_start, i) need no escaping and are copied in one go
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\' && byte < 0x80) {
      ++i;
      continue;
    }
    if (byte >= 0x80) {
      if (auto code_point = decode_utf8(text.substr(i))) {
        i += code_point->length;
        continue;
      }
    }
    out.append(text.data() + run_start, i - run_start);
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
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (byte < 0x20) {
        out += "\\u00";
        out += k_hex[byte >> 4];
        out += k_hex[byte & 0x0f];
      } else {
        out += "\xEF\xBF\xBD"; // U+FFFD for a byte that starts no valid UTF-8 sequence
      }
    }
    ++i;
    run_start = i;
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out += '"';
}

void append_normalised_json(std::string& out, const Event& event, std::string_view study_name) {
  const auto optional_field = [&out](const char* key, const std::optional<std::string>& value) {
    out += key;
    if (value) {
      append_json_string(out, *value);
    } else {
      out += "null";
    }
  };
  out += "{\"id\":";
  append_json_string(out, event.id);
  out += ",\"study_name\":";
  append_json_string(out, study_name);
  out += ",\"user_id\":";
  append_json_string(out, event.user_id);
  out += ",\"event_type\":";
  append_json_string(out, event.event_type);
  optional_field(",\"element_id\":", event.element_id);
  optional_field(",\"timestamp\":", event.timestamp);
  optional_field(",\"stored_timestamp\":", event.stored_timestamp);
  optional_field(",\"page_url\":", event.page_url);
  out += ",\"data\":";
  // `raw` is already compact JSON from normalise(); embedding it avoids a parse per event.
  out += event.raw.empty() ? std::string_view("null") : std::string_view(event.raw);
  out += '}';
}

std::string to_normalised_json(const Event& event, std::string_view study_name) {
  std::string out;
  out.reserve(event.raw.size() + event.id.size() + event.user_id.size() + 256);
  append_normalised_json(out, event, study_name);
  return out;
}

} // namespace bdd::model
