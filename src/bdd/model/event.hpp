#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace bdd::model {

// One event as bdd stores it: the normalised fields derived from the raw API event (see
// shared/spec/behaverse-api.md, "Events") plus the raw event itself, unchanged.
struct Event {
  std::string id;                        // API id, "<userId>_<index>", or "sha256:<hex>" of `raw`
  std::string user_id;                   // never empty: "unknown" when the event has none
  std::string event_type;                // never empty: "unknown" when the event has none
  std::optional<std::string> element_id; // non-string JSON values as their compact JSON text
  std::optional<std::string> timestamp;
  std::optional<std::string> stored_timestamp;
  std::optional<std::string> page_url;
  std::string raw; // the raw API event as compact JSON text (the research record)
};

// Derive an `Event` from one element of a page's `events` array. Never fails: missing or odd
// fields fall back as the spec says, and an event with no derivable id gets the SHA-256 of its
// compact JSON text.
Event normalise(const nlohmann::json& raw_event);

// The UTC calendar day ("YYYY-MM-DD") of an ISO-8601 timestamp such as
// "2025-11-18T23:30:00-02:00" (which is 2025-11-19), or of a number of epoch seconds or
// milliseconds. Returns nullopt when `timestamp` is not a recognisable time.
std::optional<std::string> utc_day(std::string_view timestamp);

// The normalised event as one compact JSON object with keys, in this order: id, study_name,
// user_id, event_type, element_id, timestamp, stored_timestamp, page_url, data. `data` is `raw`
// embedded verbatim. No trailing newline.
std::string to_normalised_json(const Event& event, std::string_view study_name);

} // namespace bdd::model
