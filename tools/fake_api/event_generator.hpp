#pragma once

// Deterministic, realistic Behaverse events for the fake API, its tests and the demo server.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bdd::fake_api {

// 2025-10-01T00:00:00Z in milliseconds since the Unix epoch: where generated studies start.
inline constexpr std::int64_t k_default_start_time_ms = 1759276800000;

// Indexes [first, last] of generated user number `user` that no event gets (the user's counter
// skips them; the count of events is unchanged): events lost before they reached the server,
// which `bdd report` finds as sequence gaps.
struct DroppedIndexes {
  int user = 0;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

struct GeneratorOptions {
  std::size_t count = 1000; // events to generate
  int users = 300;          // distinct participants; values below 1 count as 1
  // `stored` times are spread over [start_time_ms, start_time_ms + days * 24 h).
  double days = 30;
  // Sequence number of the first event. Every event's `index` is its sequence number, and web ids
  // embed it, so batches with disjoint sequence ranges never share an id or a (userId, index).
  std::uint64_t start_index = 0;
  std::int64_t start_time_ms = k_default_start_time_ms;
  std::uint64_t seed = 1;
  double game_fraction = 0.3; // share of game (Unity) shaped events; the rest are web shaped
  // Each user's events carry their own `index` (1, 2, 3, ... per user, as real Behaverse clients
  // number them) instead of the global sequence number. The counters start at 1 in each call:
  // for studies generated in one batch (the demo server).
  bool per_user_index = false;
  // With `per_user_index`: indexes no event gets. Ranges of one user must not overlap.
  std::vector<DroppedIndexes> drop;
  // Mix hostile values into about `nasty_rate` of the events (see `generate_events`).
  bool nasty = false;
  double nasty_rate = 0.05;
};

// Returns `options.count` events, each one compact JSON object text, the same for the same options.
//
// Web events look like {"id": "<24 hex>", "stored", "timestamp", "types": [...], "element_id",
// "page_url", "base": {"userId", "index", ...}, "data": {...}}; game events like {"stored",
// "types": [...], "object": {"userId", "index", "tsGenerated", ...}, "payload": {...}} with no
// top-level `id` or `timestamp`, so their id is "<userId>_<index>". Ids are unique as long as
// sequence numbers are below 2^40. `stored` times never decrease in list order; about 2% of events
// repeat the previous event's `stored` on purpose, to exercise ties at a sync boundary.
//
// With `nasty`, some events carry hostile user ids and event types (`../../x`, `a/b`, `..`, empty,
// 300 characters, Japanese, emoji, `CON`, `.hidden`), strings with commas, quotes, CR/LF, tabs and
// backslashes, null or missing or empty `types`, numeric `element_id` or `userId`, a missing
// `stored`, or no derivable id at all. Every event stays valid JSON (valid UTF-8 included).
std::vector<std::string> generate_events(const GeneratorOptions& options);

// The exclusive upper bound of the `stored` times `generate_events(options)` produces: where a
// later batch must start for `stored` to keep ascending.
std::int64_t generated_end_time_ms(const GeneratorOptions& options);

} // namespace bdd::fake_api
