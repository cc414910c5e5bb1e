#include "event_generator.hpp"

#include "json_text.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

namespace bdd::fake_api {

namespace {

constexpr std::int64_t k_ms_per_day = 86'400'000;
constexpr std::string_view k_hex_digits = "0123456789abcdef";

// SplitMix64: tiny, fast and good enough for test data. Each event gets its own generator seeded
// from (seed, sequence number), so an event's content does not depend on the events before it.
class Rng {
public:
  explicit Rng(std::uint64_t seed) : m_state(seed) {}

  std::uint64_t next() {
    m_state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = m_state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); the modulo bias is irrelevant for test data.
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  int below_int(int n) { return static_cast<int>(below(static_cast<std::uint64_t>(n))); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  template <typename T, std::size_t N>
  const T& pick(const std::array<T, N>& items) {
    return items[below(N)];
  }

private:
  std::uint64_t m_state;
};

std::uint64_t mix(std::uint64_t value) {
  return Rng(value).next();
}

void append_hex(std::string& out, std::uint64_t value, int digits) {
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out += k_hex_digits[(value >> shift) & 0xf];
  }
}

// What a hostile event does differently. One quirk per event keeps each one easy to reason about
// when a downstream test fails on it.
enum class Quirk {
  none,
  hostile_user,       // a user id that is not safe as a file name
  hostile_type,       // an event type that is not safe as a file name
  types_null,         // "types": null
  types_missing,      // no "types" key
  types_empty,        // "types": []
  types_not_string,   // "types": [42]
  special_chars,      // commas, quotes, CR/LF, tabs, backslashes in string fields
  numeric_element_id, // "element_id": 4711
  null_fields,        // element_id, page_url and userId are null
  no_identity,        // neither a top-level id nor userId/index: identified by content hash
  no_stored,          // no "stored": web falls back to timestamp, game uses "stored_timestamp"
  numeric_user_id,    // "userId": 100042
  unicode_text,       // non-ASCII text in several fields
  extra_timestamp,    // web without id, game with a top-level timestamp: both need a hash id
  deep_nesting,       // a deeply nested object in the payload
  count_,
};

const std::string& long_name() {
  static const std::string name = "long_" + std::string(295, 'x');
  return name;
}

// clang-format off
constexpr std::array<std::string_view, 18> k_hostile_names = {
    "../../x", "a/b", "..", ".", "", "ユーザー", "😀🎮", "CON", "nul", ".hidden", "a\\b",
    "name with spaces", "tab\tuser", "line\nbreak", "C:\\temp", "%2F", "a:b*?<>|", "AUX.txt"};
constexpr std::array<std::string_view, 8> k_web_types = {
    "click", "click", "click", "pageview", "keydown", "input", "submit", "scroll"};
constexpr std::array<std::string_view, 8> k_game_types = {
    "TrialEnded", "TrialEnded", "TrialStarted", "StimulusShown", "ResponseMade", "LevelStarted",
    "LevelEnded", "SessionStarted"};
constexpr std::array<std::string_view, 8> k_element_ids = {
    "btn-start", "btn-next", "btn-submit", "input-age", "slider-confidence", "stimulus-left",
    "stimulus-right", "consent-checkbox"};
constexpr std::array<std::string_view, 3> k_conditions = {"congruent", "incongruent", "neutral"};
constexpr std::array<std::string_view, 4> k_shapes = {"circle", "square", "triangle", "star"};
constexpr std::array<std::string_view, 4> k_keys = {"f", "j", "space", "ArrowLeft"};
constexpr std::array<std::string_view, 3> k_scenes = {"NBack", "Stroop", "GoNoGo"};
constexpr std::array<std::string_view, 3> k_user_agents = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"};
constexpr std::string_view k_special_text = "a, b; \"quoted\"\nsecond line\r\n\ttabbed \\ back\\slash";
constexpr std::string_view k_unicode_text = "Größe, naïve café — 北京 — مرحبا — 😀 — ユーザー";
// clang-format on

std::string_view hostile_name(Rng& rng) {
  // The long name is not a literal, so it gets its own slot next to the table.
  const auto slot = rng.below(k_hostile_names.size() + 1);
  return slot == k_hostile_names.size() ? std::string_view(long_name()) : k_hostile_names[slot];
}

std::string make_user_id(std::uint64_t seed, int user) {
  std::string id;
  if (user % 2 == 0) {
    id = "user_";
    append_hex(id, mix(seed ^ (static_cast<std::uint64_t>(user) << 20)), 8);
  } else {
    id = "P-";
    std::string digits;
    append_uint(digits, static_cast<std::uint64_t>(user));
    id.append(digits.size() < 4 ? 4 - digits.size() : 0, '0');
    id += digits;
  }
  return id;
}

// Everything one event's writer needs.
struct EventContext {
  Rng& rng;
  std::uint64_t sequence; // makes ids unique
  std::uint64_t index;    // the event's `index`: the sequence number, or the user's own
  std::uint64_t seed;
  std::int64_t stored_ms;
  std::string_view user_id;
  Quirk quirk;
};

void append_user_id(std::string& out, const EventContext& event) {
  switch (event.quirk) {
  case Quirk::hostile_user:
    append_json_string(out, hostile_name(event.rng));
    break;
  case Quirk::numeric_user_id:
    append_uint(out, 100'000 + event.sequence % 1000);
    break;
  case Quirk::null_fields:
    out += "null";
    break;
  default:
    append_json_string(out, event.user_id);
    break;
  }
}

// Writes `"types":[...]` followed by a comma, or nothing for `types_missing`.
void append_types(std::string& out, EventContext& event, std::string_view type) {
  switch (event.quirk) {
  case Quirk::types_missing:
    return;
  case Quirk::types_null:
    out += "\"types\":null,";
    return;
  case Quirk::types_empty:
    out += "\"types\":[],";
    return;
  case Quirk::types_not_string:
    out += "\"types\":[42],";
    return;
  case Quirk::hostile_type:
    out += "\"types\":[";
    append_json_string(out, hostile_name(event.rng));
    out += "],";
    return;
  default:
    out += "\"types\":[";
    append_json_string(out, type);
    if (event.rng.chance(0.1)) {
      out += ",\"Scored\"";
    }
    out += "],";
    return;
  }
}

void append_deep_nesting(std::string& out) {
  out += ",\"deep\":";
  constexpr int k_depth = 24;
  for (int i = 0; i < k_depth; ++i) {
    out += "{\"level\":";
    append_uint(out, static_cast<std::uint64_t>(i));
    out += ",\"child\":";
  }
  out += "null";
  out.append(k_depth, '}');
}

void write_web_event(std::string& out, EventContext& event) {
  Rng& rng = event.rng;
  const std::string_view type = rng.pick(k_web_types);
  const bool has_id = event.quirk != Quirk::no_identity && event.quirk != Quirk::extra_timestamp;
  out += '{';
  if (has_id) {
    // Shaped like a MongoDB ObjectId: seconds, then a per-seed part, then the sequence number,
    // which alone makes it unique.
    out += "\"id\":\"";
    append_hex(out, static_cast<std::uint64_t>(event.stored_ms / 1000), 8);
    append_hex(out, mix(event.seed), 6);
    append_hex(out, event.sequence, 10);
    out += "\",";
  }
  if (event.quirk != Quirk::no_stored) {
    out += "\"stored\":\"";
    append_iso_time(out, event.stored_ms);
    out += "\",";
  }
  out += "\"timestamp\":\"";
  append_iso_time(out, event.stored_ms - 20 - static_cast<std::int64_t>(rng.below(900)));
  out += "\",";
  append_types(out, event, type);

  out += "\"element_id\":";
  if (event.quirk == Quirk::numeric_element_id) {
    out += "4711";
  } else if (event.quirk == Quirk::null_fields || type == "pageview") {
    out += "null";
  } else if (event.quirk == Quirk::special_chars) {
    append_json_string(out, k_special_text);
  } else if (event.quirk == Quirk::unicode_text) {
    append_json_string(out, "ボタン-開始");
  } else {
    append_json_string(out, rng.pick(k_element_ids));
  }
  out += ",\"page_url\":";
  if (event.quirk == Quirk::null_fields) {
    out += "null";
  } else if (event.quirk == Quirk::special_chars) {
    append_json_string(out, "https://tasks.example.org/p?a=1,2&q=\"x\"&path=C:\\tmp");
  } else {
    out += "\"https://tasks.example.org/stroop/page";
    append_uint(out, rng.below(12) + 1);
    out += '"';
  }

  out += ",\"base\":{";
  if (event.quirk != Quirk::no_identity) {
    out += "\"userId\":";
    append_user_id(out, event);
    out += ",\"index\":";
    append_uint(out, event.index);
    out += ',';
  }
  out += "\"sessionId\":\"s-";
  append_hex(out, mix(event.sequence / 40 + event.seed), 8);
  out += "\",\"userAgent\":";
  append_json_string(out, rng.pick(k_user_agents));
  out += ",\"locale\":\"en-US\"}";

  const auto trial = rng.below(120);
  out += ",\"data\":{\"trial\":";
  append_uint(out, trial);
  out += ",\"block\":";
  append_uint(out, trial / 30 + 1);
  out += ",\"condition\":";
  append_json_string(out, rng.pick(k_conditions));
  out += ",\"stimulus\":{\"shape\":";
  append_json_string(out, rng.pick(k_shapes));
  out += ",\"color\":\"#";
  append_hex(out, rng.below(0x1000000), 6);
  out += "\",\"position\":{\"x\":";
  append_fixed(out, static_cast<std::int64_t>(rng.below(1000)), 3);
  out += ",\"y\":";
  append_fixed(out, static_cast<std::int64_t>(rng.below(1000)), 3);
  out += "}},\"response\":{\"key\":";
  append_json_string(out, rng.pick(k_keys));
  out += ",\"rt_ms\":";
  append_fixed(out, 180'000 + static_cast<std::int64_t>(rng.below(1'200'000)), 3);
  out += ",\"correct\":";
  out += rng.chance(0.85) ? "true" : "false";
  out += "},\"history\":[";
  for (int i = 0; i < 4; ++i) {
    out += i == 0 ? "" : ",";
    append_uint(out, rng.below(10));
  }
  out += "],\"viewport\":{\"w\":1920,\"h\":1080,\"dpr\":";
  out += rng.chance(0.5) ? "1" : "2";
  out += '}';
  if (event.quirk == Quirk::special_chars) {
    out += ",\"comment\":";
    append_json_string(out, k_special_text);
  } else if (event.quirk == Quirk::unicode_text) {
    out += ",\"label\":";
    append_json_string(out, k_unicode_text);
  } else if (event.quirk == Quirk::deep_nesting) {
    append_deep_nesting(out);
  }
  out += "}}";
}

void write_game_event(std::string& out, EventContext& event) {
  Rng& rng = event.rng;
  const std::string_view type = rng.pick(k_game_types);
  out += '{';
  if (event.quirk == Quirk::no_stored) {
    out += "\"stored_timestamp\":\"";
  } else {
    out += "\"stored\":\"";
  }
  append_iso_time(out, event.stored_ms);
  out += "\",";
  if (event.quirk == Quirk::extra_timestamp) {
    out += "\"timestamp\":\"";
    append_iso_time(out, event.stored_ms - 5);
    out += "\",";
  }
  append_types(out, event, type);

  out += "\"object\":{";
  if (event.quirk != Quirk::no_identity) {
    out += "\"userId\":";
    append_user_id(out, event);
    out += ",\"index\":";
    append_uint(out, event.index);
    out += ',';
  }
  out += "\"tsGenerated\":\"";
  append_iso_time(out, event.stored_ms - 30 - static_cast<std::int64_t>(rng.below(600)));
  out += "\",\"sessionId\":\"g-";
  append_hex(out, mix(event.sequence / 60 + event.seed + 1), 8);
  out += "\",\"scene\":";
  append_json_string(out, event.quirk == Quirk::unicode_text ? "ステージ①" : rng.pick(k_scenes));
  out += ",\"gameVersion\":\"1.4.2\",\"platform\":\"WebGL\"}";

  out += ",\"payload\":{\"trial\":{\"number\":";
  append_uint(out, rng.below(200));
  out += ",\"stimuli\":[";
  for (int i = 0; i < 6; ++i) {
    out += i == 0 ? "" : ",";
    append_uint(out, rng.below(9) + 1);
  }
  out += "],\"target\":";
  append_uint(out, rng.below(9) + 1);
  out += ",\"responses\":[";
  const int responses = rng.below_int(3) + 1;
  for (int i = 0; i < responses; ++i) {
    out += i == 0 ? "{\"key\":" : ",{\"key\":";
    append_json_string(out, rng.pick(k_keys));
    out += ",\"rt\":";
    append_fixed(out, 150 + static_cast<std::int64_t>(rng.below(1500)), 3);
    out += ",\"correct\":";
    out += rng.chance(0.8) ? "true" : "false";
    out += '}';
  }
  out += "],\"accuracy\":";
  append_fixed(out, static_cast<std::int64_t>(rng.below(1001)), 3);
  out += "},\"score\":";
  append_uint(out, rng.below(5000));
  out += ",\"level\":";
  append_uint(out, rng.below(12) + 1);
  out += ",\"lives\":";
  append_uint(out, rng.below(4));
  out += ",\"device\":{\"fps\":";
  append_fixed(out, 300 + static_cast<std::int64_t>(rng.below(300)), 1);
  out += ",\"screen\":[1920,1080],\"memoryMb\":";
  append_uint(out, 1024 * (rng.below(8) + 1));
  out += "},\"flags\":";
  out += rng.chance(0.1) ? "[\"practice\"]" : "[]";
  if (event.quirk == Quirk::special_chars) {
    out += ",\"note\":";
    append_json_string(out, k_special_text);
  } else if (event.quirk == Quirk::unicode_text) {
    out += ",\"label\":";
    append_json_string(out, k_unicode_text);
  } else if (event.quirk == Quirk::deep_nesting) {
    append_deep_nesting(out);
  }
  out += "}}";
}

} // namespace

std::int64_t generated_end_time_ms(const GeneratorOptions& options) {
  return options.start_time_ms
         + static_cast<std::int64_t>(std::ceil(std::max(options.days, 0.0) * k_ms_per_day));
}

std::vector<std::string> generate_events(const GeneratorOptions& options) {
  std::vector<std::string> events;
  events.reserve(options.count);
  const int users = std::max(options.users, 1);
  std::vector<std::string> user_ids;
  user_ids.reserve(static_cast<std::size_t>(users));
  for (int user = 0; user < users; ++user) {
    user_ids.push_back(make_user_id(options.seed, user));
  }
  const double span_ms =
      static_cast<double>(generated_end_time_ms(options) - options.start_time_ms);
  const double step_ms = options.count == 0 ? 0.0 : span_ms / static_cast<double>(options.count);
  const std::uint64_t seed_hash = mix(options.seed);

  // One scratch buffer, copied out at exact size: events kept for the life of a study should not
  // carry spare capacity.
  std::string buffer;
  buffer.reserve(4096);
  std::int64_t previous_stored = options.start_time_ms;
  std::vector<std::uint64_t> next_user_index(static_cast<std::size_t>(users), 1);
  for (std::size_t i = 0; i < options.count; ++i) {
    const std::uint64_t sequence = options.start_index + i;
    Rng rng(seed_hash ^ mix(sequence));
    // Event i lands in [i, i + 1) steps: increasing without any state, and inside the span.
    auto stored = options.start_time_ms
                  + static_cast<std::int64_t>((static_cast<double>(i) + rng.unit()) * step_ms);
    if (i > 0 && rng.chance(0.02)) {
      stored = previous_stored;
    }
    stored = std::max(stored, previous_stored);
    previous_stored = stored;

    auto quirk = Quirk::none;
    if (options.nasty && rng.chance(options.nasty_rate)) {
      quirk = static_cast<Quirk>(1 + rng.below(static_cast<std::uint64_t>(Quirk::count_) - 1));
    }
    const auto user = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(users)));
    // An event whose user id a quirk replaces keeps the global number, unique among those ids.
    const bool own_user = quirk != Quirk::hostile_user && quirk != Quirk::numeric_user_id
                          && quirk != Quirk::null_fields;
    std::uint64_t index = sequence;
    if (options.per_user_index && own_user) {
      index = next_user_index[user];
      for (const auto& range : options.drop) {
        if (static_cast<std::size_t>(range.user) == user && index >= range.first
            && index <= range.last) {
          index = range.last + 1;
        }
      }
      next_user_index[user] = index + 1;
    }
    EventContext context{rng, sequence, index, options.seed, stored, user_ids[user], quirk};
    buffer.clear();
    if (rng.chance(options.game_fraction)) {
      write_game_event(buffer, context);
    } else {
      write_web_event(buffer, context);
    }
    events.emplace_back(buffer);
  }
  return events;
}

} // namespace bdd::fake_api
