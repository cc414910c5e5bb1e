#include "event.hpp"

#include <bdd/core/sha256.hpp>
#include <bdd/core/utf8.hpp>
#include <bdd/model/json_text.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace bdd::model {

namespace {

using nlohmann::json;

std::string dump_compact(const json& value) {
  // `replace` keeps dump() from throwing on invalid UTF-8 (only possible for hand-built values).
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The first byte of every identity key that is not plain text, followed by its kind (see Event).
constexpr char k_key_mark = '\x1f';
constexpr char k_number_kind = 'n';
constexpr char k_text_kind = 's';
constexpr char k_unusable_kind = 'u';

std::string marked_key(char kind, std::string_view text) {
  std::string key;
  key.reserve(text.size() + 2);
  key += k_key_mark;
  key += kind;
  key += text;
  return key;
}

// The key of an id that is text (a string id, a derived id): the text, unless it starts with the
// mark that number keys start with.
std::string text_key(std::string text) {
  if (!text.empty() && text[0] == k_key_mark) {
    return marked_key(k_text_kind, text);
  }
  return text;
}

// The values normalisation looks at in one object (the event, its `base` or its `object`),
// found in one pass over its members. Empty views are absent members; an explicit null counts as
// absent too (the spec's "first that exists"). A repeated key keeps its last value, as JSON
// parsers that build objects do.
struct Members {
  std::string_view id, timestamp, base, object, user_id, types, event_type, element_id, page_url,
      stored, stored_timestamp, index, ts_generated;
};

Members find_members(std::string_view compact) {
  Members found;
  if (compact.empty() || compact[0] != '{') {
    return found;
  }
  CompactReader reader(compact);
  std::string_view key;
  std::string_view value;
  while (reader.next(key, value)) {
    const bool null = value == "null";
    const auto take = [&](std::string_view& slot) { slot = null ? std::string_view() : value; };
    // Keys are compared decoded, but nearly all are plain: check the cheap first byte first.
    if (key.size() < 3) {
      continue;
    }
    switch (key[1]) {
    case 'i':
      if (string_equals(key, "id")) {
        take(found.id);
      } else if (string_equals(key, "index")) {
        take(found.index);
      }
      break;
    case 't':
      if (string_equals(key, "timestamp")) {
        take(found.timestamp);
      } else if (string_equals(key, "types")) {
        take(found.types);
      } else if (string_equals(key, "tsGenerated")) {
        take(found.ts_generated);
      }
      break;
    case 'b':
      if (string_equals(key, "base")) {
        take(found.base);
      }
      break;
    case 'o':
      if (string_equals(key, "object")) {
        take(found.object);
      }
      break;
    case 'u':
      if (string_equals(key, "userId")) {
        take(found.user_id);
      }
      break;
    case 'e':
      if (string_equals(key, "event_type")) {
        take(found.event_type);
      } else if (string_equals(key, "element_id")) {
        take(found.element_id);
      }
      break;
    case 'p':
      if (string_equals(key, "page_url")) {
        take(found.page_url);
      }
      break;
    case 's':
      if (string_equals(key, "stored")) {
        take(found.stored);
      } else if (string_equals(key, "stored_timestamp")) {
        take(found.stored_timestamp);
      }
      break;
    case '\\': // an escaped first character: compare every key of interest
      for (auto [name, slot] : {std::pair<std::string_view, std::string_view*>{"id", &found.id},
                                {"index", &found.index},
                                {"timestamp", &found.timestamp},
                                {"types", &found.types},
                                {"tsGenerated", &found.ts_generated},
                                {"base", &found.base},
                                {"object", &found.object},
                                {"userId", &found.user_id},
                                {"event_type", &found.event_type},
                                {"element_id", &found.element_id},
                                {"page_url", &found.page_url},
                                {"stored", &found.stored},
                                {"stored_timestamp", &found.stored_timestamp}}) {
        if (string_equals(key, name)) {
          take(*slot);
        }
      }
      break;
    default:
      break;
    }
  }
  return found;
}

bool is_string(std::string_view value) {
  return !value.empty() && value[0] == '"';
}

bool is_number(std::string_view value) {
  return !value.empty() && (value[0] == '-' || (value[0] >= '0' && value[0] <= '9'));
}

// Strings decoded; anything else as the compact JSON text nlohmann writes for it (keys sorted,
// numbers in their shortest form), as before the page was read without a document. Only odd
// events take the second path. A value nlohmann cannot read within the depth bound (not reached
// from a page: the minifier bounds it first) is kept as it is.
std::string as_text(std::string_view value) {
  std::string out;
  if (is_string(value)) {
    append_decoded_string(value, out);
    return out;
  }
  json document;
  if (!parse_bounded(value, document)) {
    return std::string(value);
  }
  return dump_compact(document);
}

std::optional<std::string> first_text(std::initializer_list<std::string_view> candidates) {
  for (std::string_view candidate : candidates) {
    if (!candidate.empty()) {
      return as_text(candidate);
    }
  }
  return std::nullopt;
}

// An `index` printed as an integer ("42", also for 42.0). nullopt for anything that is not an
// integral number: a string index could make "a_1" + "2" and "a" + "1_2" the same id.
std::optional<std::string> integer_text(std::string_view value) {
  if (!is_number(value)) {
    return std::nullopt;
  }
  const char* first = value.data();
  const char* last = value.data() + value.size();
  if (value.find_first_of(".eE") == std::string_view::npos) {
    // Integers that fit 64 bits print as themselves ("-0" as "0"); bigger ones are floats.
    if (value[0] == '-') {
      long long number = 0;
      if (const auto [end, error] = std::from_chars(first, last, number);
          error == std::errc() && end == last) {
        return std::to_string(number);
      }
    } else {
      unsigned long long number = 0;
      if (const auto [end, error] = std::from_chars(first, last, number);
          error == std::errc() && end == last) {
        return std::to_string(number);
      }
    }
  }
  double number = 0;
  const auto [end, error] = std::from_chars(first, last, number);
  if (error == std::errc() && end == last && std::isfinite(number) && std::trunc(number) == number
      && std::fabs(number) < 9.0e15) {
    return std::to_string(static_cast<long long>(number));
  }
  return std::nullopt;
}

// "<userId>_<index>" from `holder` (the event's `base` or `object`), if it carries both.
std::optional<std::string> composite_id(const Members& holder) {
  if (holder.user_id.empty() || holder.index.empty()
      || !(is_string(holder.user_id) || is_number(holder.user_id))) {
    return std::nullopt;
  }
  auto index_text = integer_text(holder.index);
  if (!index_text) {
    return std::nullopt;
  }
  return as_text(holder.user_id) + "_" + *index_text;
}

std::string
derive_id(const Members& event, const Members& base, const Members& object, std::string_view raw) {
  // 1. The API's own id, as the exact token: a number keeps its spelling (no round trip through
  // a double) and never meets a string. An empty string cannot identify anything, so it falls
  // through.
  if (is_number(event.id)) {
    return marked_key(k_number_kind, event.id);
  }
  if (is_string(event.id) && event.id != "\"\"") {
    return text_key(as_text(event.id));
  }
  // 2. Game-style events: user and per-user sequence number, only when there is no top-level
  // timestamp (web-style events carry one and an id of their own).
  if (event.timestamp.empty()) {
    if (auto id = composite_id(base)) {
      return text_key(std::move(*id));
    }
    if (auto id = composite_id(object)) {
      return text_key(std::move(*id));
    }
  }
  // 3. Content address: identical events get identical ids, so re-downloads deduplicate. The
  // hash is of the canonical text (keys sorted, numbers and escapes normalised, as nlohmann
  // writes it), not of `raw`: the same event sent with its keys in another order keeps its id.
  // Text that nlohmann cannot read within the depth bound (never from a page) is hashed as it is.
  json document;
  if (!parse_bounded(raw, document)) {
    return "sha256:" + sha256_hex(raw);
  }
  return "sha256:" + sha256_hex(dump_compact(document));
}

std::string derive_event_type(const Members& event) {
  if (!event.types.empty() && event.types[0] == '[') {
    CompactReader reader(event.types);
    std::string_view key;
    std::string_view first;
    if (reader.next(key, first) && is_string(first)) {
      return as_text(first);
    }
  }
  if (is_string(event.event_type)) {
    return as_text(event.event_type);
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
  // A fraction's digits as microseconds (the first six; the rest are read and dropped). False
  // if there is no digit.
  bool fraction(std::int64_t& micros) {
    std::size_t count = 0;
    micros = 0;
    for (; !done() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9'; ++m_pos, ++count) {
      if (count < 6) {
        micros = micros * 10 + (m_text[m_pos] - '0');
      }
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

constexpr std::int64_t k_microseconds_per_day = 86'400'000'000;

std::optional<std::string> iso_day(std::string_view text) {
  const auto time = parse_iso_time(text);
  if (!time) {
    return std::nullopt;
  }
  const std::int64_t at = time->utc_microseconds;
  const std::int64_t days = at / k_microseconds_per_day - (at % k_microseconds_per_day < 0 ? 1 : 0);
  return format_day(std::chrono::sys_days{std::chrono::days{days}});
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
  return normalise_compact(dump_compact(raw_event));
}

std::string derive_event_id(std::string_view compact_event) {
  const Members top = find_members(compact_event);
  const Members base = find_members(top.base);
  const Members object = find_members(top.object);
  return derive_id(top, base, object, compact_event);
}

Event unusable_event(std::string_view bytes, std::string_view reason) {
  Event event;
  event.id = marked_key(k_unusable_kind, "unusable:sha256:" + sha256_hex(bytes));
  event.user_id = "unknown";
  event.event_type = "unknown";
  event.unusable = reason.empty() ? std::string("unusable") : std::string(reason);
  if (bytes.size() > k_max_unusable_bytes) {
    event.unusable += " (first " + std::to_string(k_max_unusable_bytes) + " of "
                      + std::to_string(bytes.size()) + " bytes kept)";
    bytes = bytes.substr(0, k_max_unusable_bytes);
  }
  event.raw = std::string(bytes);
  return event;
}

std::string_view display_id(std::string_view id) {
  if (id.size() >= 2 && id[0] == k_key_mark) {
    return id.substr(2);
  }
  return id;
}

std::string quoted_id(std::string_view id) {
  std::string out;
  append_json_string(out, display_id(id));
  return out;
}

bool is_number_id(std::string_view id) {
  return id.size() >= 2 && id[0] == k_key_mark && id[1] == k_number_kind;
}

std::optional<std::string> key_of_displayed_id(std::string_view shown) {
  if (!shown.empty() && shown[0] == k_key_mark) {
    return std::nullopt;
  }
  // Only the text of a JSON number can be a number id; anything else was text.
  std::string scratch;
  if (is_number(shown) && append_minified_json(shown, scratch, 1) && scratch == shown) {
    return std::nullopt;
  }
  return std::string(shown);
}

bool parse_bounded(std::string_view text, json& out, std::size_t max_depth) {
  bool too_deep = false;
  const json::parser_callback_t refuse_deep = [&too_deep, max_depth](int depth,
                                                                     json::parse_event_t event,
                                                                     json& /*parsed*/) {
    // `depth` counts the containers around the one that starts; discarding what is too
    // deep keeps nlohmann from building (and later recursing through) it.
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start)
        && static_cast<std::size_t>(depth) >= max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  out = json::parse(text.begin(), text.end(), refuse_deep, /*allow_exceptions=*/false);
  return !too_deep && !out.is_discarded();
}

Event normalise_compact(std::string compact_event) {
  Event event;
  event.raw = std::move(compact_event);
  const Members top = find_members(event.raw);
  const Members base = find_members(top.base);
  const Members object = find_members(top.object);
  event.id = derive_id(top, base, object, event.raw);
  event.user_id = first_text({base.user_id, object.user_id, top.user_id}).value_or("unknown");
  event.event_type = derive_event_type(top);
  event.element_id = first_text({top.element_id});
  event.page_url = first_text({top.page_url});
  event.timestamp = first_text({top.timestamp, object.ts_generated, base.ts_generated, top.stored});
  event.stored_timestamp = first_text({top.stored, top.stored_timestamp, top.timestamp});
  return event;
}

std::optional<IsoTime> parse_iso_time(std::string_view text) {
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
  IsoTime out;
  const std::int64_t day_start =
      static_cast<std::int64_t>(std::chrono::sys_days{date}.time_since_epoch().count())
      * k_microseconds_per_day;
  out.utc_microseconds = day_start;
  if (in.done()) {
    return out;
  }
  int hour = 0;
  int minute = 0;
  int second = 0;
  std::int64_t micros = 0;
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
  // No offset: the local zone is unknown, and the API's own times are UTC.
  if (!in.done()) {
    return std::nullopt;
  }
  if (second == 60) {
    // The last microsecond of its minute: a leap second stays in its minute and UTC day.
    second = 59;
    micros = 999'999;
  }
  const std::int64_t seconds = std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second
                               - std::int64_t{offset_minutes} * 60;
  out.utc_microseconds = day_start + seconds * 1'000'000 + micros;
  return out;
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
  append_json_string(out, display_id(event.id));
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

namespace {

// Four lanes of 8-byte words, each lane a multiply-mix (xor the word in, rotate, multiply by an
// odd constant), then a murmur-style avalanche of the lanes and the length. Words are read
// little-endian whatever the machine, so that a state moved to another machine keeps its
// digests. Not cryptographic: it tells a changed event from a repeat, which nobody forges.
constexpr std::uint64_t k_prime_1 = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t k_prime_2 = 0xc2b2ae3d27d4eb4fULL;
constexpr std::uint64_t k_prime_3 = 0x165667b19e3779f9ULL;

std::uint64_t load_le64(const unsigned char* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | bytes[i];
  }
  return value;
}

std::uint64_t lane(std::uint64_t state, std::uint64_t word) {
  return std::rotl(state ^ (word * k_prime_2), 29) * k_prime_1;
}

std::uint64_t avalanche(std::uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdULL;
  value ^= value >> 29;
  value *= 0xc4ceb9fe1a85ec53ULL;
  value ^= value >> 32;
  return value;
}

} // namespace

std::uint64_t content_digest(std::string_view raw) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::size_t left = raw.size();
  std::array<std::uint64_t, 4> lanes = {k_prime_1, k_prime_2, k_prime_3, ~k_prime_1};
  for (; left >= 32; left -= 32, bytes += 32) {
    for (std::size_t i = 0; i < 4; ++i) {
      lanes[i] = lane(lanes[i], load_le64(bytes + 8 * i));
    }
  }
  std::uint64_t hash = static_cast<std::uint64_t>(raw.size()) * k_prime_3;
  for (std::size_t i = 0; i < 4; ++i) {
    hash = (hash ^ avalanche(lanes[i])) * k_prime_1 + static_cast<std::uint64_t>(i);
  }
  for (; left >= 8; left -= 8, bytes += 8) {
    hash = lane(hash, load_le64(bytes));
  }
  // The last 0-7 bytes, zero-padded; the length above keeps "a" and "a\0" apart.
  std::array<unsigned char, 8> tail{};
  if (left > 0) { // memcpy from the null data() of an empty view is undefined
    std::memcpy(tail.data(), bytes, left);
  }
  hash = lane(hash, load_le64(tail.data()) ^ (static_cast<std::uint64_t>(left) << 59));
  return avalanche(hash);
}

} // namespace bdd::model
