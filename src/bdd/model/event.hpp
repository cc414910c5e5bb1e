#pragma once

#include <bdd/model/json_text.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::model {

// One event as bdd stores it: the normalised fields derived from the raw API event (see
// shared/spec/behaverse-api.md, "Events") plus the raw event itself, unchanged.
//
// `id` is the event's identity key: what de-duplication, the download state and `verify`
// compare. Distinct JSON tokens give distinct keys, and the keys of string ids are the strings
// themselves, as before keys were made exact:
//   - a string id: the decoded string;
//   - a number id: "\x1f" "n" + the number exactly as the server wrote it ("1", "1.0", "1e2",
//     "9007199254740993" are four ids, none equal to the string "1");
//   - "<userId>_<index>" (spec), or "sha256:<hex>" of the event's canonical JSON when it has no
//     id: the text itself;
//   - an unusable item (see `unusable`): "\x1f" "u" "unusable:sha256:<hex of its bytes>";
//   - any text above that would itself start with "\x1f" (a string id, a user id): "\x1f" "s"
//     + the text.
// So a key that starts with "\x1f" always has a kind letter after it, and no other key starts
// with "\x1f": the mapping is injective. What users see (the `id` field or column of every
// storage format, messages) is `display_id(id)`: the key without its two-byte prefix.
struct Event {
  std::string id;         // the identity key described above; show it with `display_id`
  std::string user_id;    // "unknown" when the event has none; a present "" is kept as ""
  std::string event_type; // "unknown" when the event has none; a present "" is kept as ""
  std::optional<std::string> element_id; // non-string JSON values as their compact JSON text
  std::optional<std::string> timestamp;
  std::optional<std::string> stored_timestamp;
  std::optional<std::string> page_url;
  std::string raw; // the raw API event as compact JSON text (the research record)
  // The first 8 bytes of the SHA-256 of `raw`, big-endian, set by the download engine before
  // the writer prepares the event (see content_digest): tells a changed event from a repeat.
  std::uint64_t digest = 0;

  // Empty for an event bdd can store. Otherwise the item of the page's `events` array is
  // unusable and this says why, in a few words: "not a JSON object", "invalid UTF-8", "starts
  // with a byte order mark", "nested deeper than 512 levels" or "not valid JSON", followed by
  // " (first 1048576 of <n> bytes kept)" when `raw` was cut. Then `raw` holds the item's bytes
  // as the server sent them (whitespace removed when it was valid JSON), at most
  // `k_max_unusable_bytes`; `id` is "\x1f" "u" "unusable:sha256:<hex>" of all of its bytes
  // (stable across runs, never equal to a real event's key); every other field is empty or
  // "unknown". Such an event keeps its place in `api::Page::events` (positions stay aligned) but
  // must never reach a `storage::Writer`: it belongs in the study's quarantine.
  std::string unusable;

  // What the destination writer computed ahead from the fields above (storage::Writer::prepare),
  // on the thread that fetched the event; empty until then. Not part of the record.
  struct Prepared {
    std::string leaf;  // the leaf directory, '/'-separated
    std::string bytes; // the event in the writer's format
  };
  std::optional<Prepared> prepared;
};

// Derive an `Event` from one element of a page's `events` array, given as compact JSON text
// (what `append_minified_json` in model/json_text.hpp makes of it; anything else is undefined
// behaviour). `raw` becomes that text unchanged: the event as the server sent it, keys in the
// server's order, minus insignificant whitespace. Never fails: missing or odd fields fall back as
// the spec says. An event with no derivable id gets "sha256:" and the SHA-256 of its canonical
// JSON text (keys sorted, numbers and escapes normalised as nlohmann::json::dump writes them), so
// the id does not depend on the order in which the server sent the keys.
Event normalise_compact(std::string compact_event);

// `normalise_compact` of `raw_event.dump()` (so `raw` has its keys sorted), for callers that
// already hold a document.
Event normalise(const nlohmann::json& raw_event);

// The identity key `normalise_compact(compact_event).id` would give, without deriving the other
// fields. The same preconditions.
std::string derive_event_id(std::string_view compact_event);

// At most this many bytes of an unusable item are kept in `Event::raw` (1 MiB).
constexpr std::size_t k_max_unusable_bytes = std::size_t{1} << 20;

// The unusable event for an item of a page's `events` array whose bytes are `bytes`, unusable
// for `reason` (see `Event::unusable`).
Event unusable_event(std::string_view bytes, std::string_view reason);

// What users see of the identity key `id` (see `Event`): the string, the number as the server
// wrote it, the derived id, "unusable:sha256:<hex>". A view into `id`.
std::string_view display_id(std::string_view id);

// `display_id(id)` as a JSON string literal, for messages: one line whatever the server put in it.
std::string quoted_id(std::string_view id);

// True if `id` is the key of a number id (its `display_id` is the number's JSON text).
bool is_number_id(std::string_view id);

// The identity key of an id that was stored as the text `shown` (a `display_id`), when that text
// alone says which key it is; nullopt when it is ambiguous (the text of a JSON number, which may
// have been a number or a string id, or a text that starts with "\x1f") and the key must be
// derived again from the stored event with `derive_event_id`.
std::optional<std::string> key_of_displayed_id(std::string_view shown);

// `text` parsed into `out` by nlohmann with no value nested deeper than `max_depth` levels
// (counted as `append_minified_json` counts them). False, with `out` unspecified, if `text` is not
// valid JSON or nests deeper: the one way bdd should build a document from bytes it did not write
// itself, since a deep document makes nlohmann's recursive `dump` and comparisons overflow the
// stack.
bool parse_bounded(std::string_view text,
                   nlohmann::json& out,
                   std::size_t max_depth = k_max_json_depth);

// The UTC calendar day ("YYYY-MM-DD") of an ISO-8601 timestamp such as
// "2025-11-18T23:30:00-02:00" (which is 2025-11-19), or of a number of epoch seconds or
// milliseconds. Accepted: "YYYY-MM-DD", optionally followed by 'T' or ' ', "HH:MM[:SS[.frac]]"
// and "Z", "±HH:MM", "±HHMM" or "±HH" (no offset is taken as UTC); a decimal number, read as
// seconds if its magnitude is below 1e11, else milliseconds. Returns nullopt when `timestamp` is
// not a recognisable time or falls outside years 0000-9999.
std::optional<std::string> utc_day(std::string_view timestamp);

// An ISO-8601 time of the grammar `utc_day` accepts (not its epoch numbers): "YYYY-MM-DD",
// optionally 'T', 't' or ' ' and "HH:MM[:SS[.frac]]" ('.' or ',' before the fraction, digits past
// the sixth dropped), then "Z", "±HH:MM", "±HHMM" or "±HH". No zone is UTC, a date alone that
// day's start, a leap second (":60") the last microsecond of its minute, so that the instant
// falls in the UTC day `utc_day` gives.
struct IsoTime {
  std::int64_t utc_microseconds = 0; // since 1970-01-01T00:00:00Z
  bool has_time = false;             // a time of day was written
  bool has_zone = false;             // "Z" or an offset was written
};
std::optional<IsoTime> parse_iso_time(std::string_view text);

// A fast 64-bit non-cryptographic hash of `raw` (multiply-mix over 8-byte little-endian words,
// the same on every machine): a stored event's fingerprint, to notice the server changing an
// event after bdd stored it. States before schema 4 held the first 8 bytes of the SHA-256
// instead (see tracking/state.cpp). Changing this function needs a schema bump.
std::uint64_t content_digest(std::string_view raw);

// The normalised event as one compact JSON object with keys, in this order: id, study_name,
// user_id, event_type, element_id, timestamp, stored_timestamp, page_url, data. `data` is `raw`
// embedded verbatim (null if `raw` is empty). No trailing newline. Invalid UTF-8 in the string
// fields is replaced by U+FFFD so the output is always valid JSON.
std::string to_normalised_json(const Event& event, std::string_view study_name);

// `to_normalised_json` appended to `out`, for writers that build large buffers without a
// temporary string per event.
void append_normalised_json(std::string& out, const Event& event, std::string_view study_name);

// `text` as a JSON string literal (quotes included) appended to `out`; invalid UTF-8 becomes
// U+FFFD.
void append_json_string(std::string& out, std::string_view text);

} // namespace bdd::model
