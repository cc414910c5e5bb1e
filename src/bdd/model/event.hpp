#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::model {

// One event as bdd stores it: the normalised fields derived from the raw API event (see
// shared/spec/behaverse-api.md, "Events") plus the raw event itself, unchanged.
struct Event {
  std::string id;         // API id, "<userId>_<index>", or "sha256:<hex>" of `raw`
  std::string user_id;    // "unknown" when the event has none; a present "" is kept as ""
  std::string event_type; // "unknown" when the event has none; a present "" is kept as ""
  std::optional<std::string> element_id; // non-string JSON values as their compact JSON text
  std::optional<std::string> timestamp;
  std::optional<std::string> stored_timestamp;
  std::optional<std::string> page_url;
  std::string raw; // the raw API event as compact JSON text (the research record)
  // Why this item of a page is not a usable event ("" for events): then `raw` holds its bytes
  // and `id` a stable id of them, and it is quarantined instead of stored.
  std::string unusable;
  // The first 8 bytes of the SHA-256 of `raw`, big-endian, set by the download engine before
  // the writer prepares the event (see content_digest): tells a changed event from a repeat.
  std::uint64_t digest = 0;

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

// The UTC calendar day ("YYYY-MM-DD") of an ISO-8601 timestamp such as
// "2025-11-18T23:30:00-02:00" (which is 2025-11-19), or of a number of epoch seconds or
// milliseconds. Accepted: "YYYY-MM-DD", optionally followed by 'T' or ' ', "HH:MM[:SS[.frac]]"
// and "Z", "±HH:MM", "±HHMM" or "±HH" (no offset is taken as UTC); a decimal number, read as
// seconds if its magnitude is below 1e11, else milliseconds. Returns nullopt when `timestamp` is
// not a recognisable time or falls outside years 0000-9999.
std::optional<std::string> utc_day(std::string_view timestamp);

// The first 8 bytes of the SHA-256 of `raw`, big-endian, as an integer: a stored event's
// fingerprint, to notice the server changing an event after bdd stored it.
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
