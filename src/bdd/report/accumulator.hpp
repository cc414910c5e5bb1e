#pragma once

// `bdd report`'s computation: one pass over a study's events, in export order, into the tables
// of the report. Memory grows with participants, event types, days and sequence gaps, never
// with the events (see `Accumulator::memory_estimate`).

#include <bdd/export/time.hpp>
#include <bdd/model/event.hpp>
#include <bdd/report/index_set.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bdd::report {

using exporting::Instant;

struct Limits {
  // A participant silent this many days while others are active, or an event type that has not
  // arrived for this many days before the study's last event, is a finding.
  int silence_days = 7;
  // An event stored more than this after its timestamp was "far before" it.
  Instant far_before = exporting::k_microseconds_per_day;
  // Distinct data paths counted per event type, and over all types; past them, a note and a
  // finding (`too_many_fields`).
  std::size_t max_paths_per_type = 2000;
  std::size_t max_paths = 20'000;
  // Distinct event types itemised; events of more types count everywhere else.
  std::size_t max_event_types = 10'000;
  // Index intervals held over all participants (about 64 bytes each): past it, the participant
  // whose set grew is no longer checked for gaps (their indexes are not a per-user sequence).
  std::size_t max_intervals = 200'000;
  // The activity matrix covers at most this many days (the last ones up to the last event).
  std::size_t max_activity_days = 1000;
  // Example event ids kept for a finding.
  std::size_t max_examples = 5;
};

// Events of one UTC day (days since 1970-01-01).
struct DayCount {
  std::int64_t day = 0;
  std::uint64_t events = 0;
};

// The normalised fields counted in the missing-fields table, in this order.
inline constexpr std::array<std::string_view, 7> k_normalised_fields = {
    "id", "user_id", "event_type", "element_id", "timestamp", "stored_timestamp", "page_url"};

struct Participant {
  std::uint64_t events = 0;
  std::optional<Instant> first;
  std::optional<Instant> last;
  // The largest step forward in time between an event and the latest one before it (in stored
  // order), and where it lay.
  std::optional<Instant> longest_silence;
  Instant silence_from = 0;
  Instant silence_to = 0;
  std::map<std::size_t, std::uint64_t> events_by_type; // by `Report::event_types` position
  std::vector<DayCount> days;                          // ascending, days with events
  IndexSet indexes;
  bool sequence_checked = true; // false once the index set was dropped (too fragmented)
  std::uint64_t events_without_index = 0;
  std::uint64_t duplicate_indexes = 0;
};

struct PathCount {
  std::uint64_t present = 0;   // events where the path holds a value other than null
  std::uint64_t last_seen = 0; // the event (its number in the pass) that last counted it
};

struct EventType {
  std::string name;
  std::uint64_t events = 0;
  std::optional<Instant> first;
  std::optional<Instant> last;
  std::array<std::uint64_t, k_normalised_fields.size()> fields_missing{};
  std::unordered_map<std::string, PathCount> paths; // data paths (export --flatten's names)
  bool paths_truncated = false;
};

// One thing that looks wrong. `kind` is one of the `k_finding_kinds`; `subject` is the user id
// or event type it is about, if any.
struct Finding {
  std::string kind;
  std::string severity; // "high", "medium" or "low"
  std::string message;
  std::string subject;
  std::uint64_t count = 0;           // events, indexes or days, as the kind says
  std::vector<std::string> examples; // event ids, at most Limits::max_examples
  std::optional<Instant> from;
  std::optional<Instant> to;
};

// In the order findings are listed (by severity, then kind).
inline constexpr std::array<std::string_view, 8> k_finding_kinds = {"sequence_gap",
                                                                    "duplicate_index",
                                                                    "unknown_user",
                                                                    "silent_participant",
                                                                    "stopped_event_type",
                                                                    "time_after_stored",
                                                                    "time_far_before_stored",
                                                                    "too_many_fields"};

struct Report {
  Limits limits;
  std::uint64_t events = 0;
  std::uint64_t untimed = 0; // events with neither time readable
  std::optional<Instant> first;
  std::optional<Instant> last;
  std::map<std::int64_t, std::uint64_t> events_per_day;
  std::vector<EventType> event_types;              // in first-seen order
  std::uint64_t other_type_events = 0;             // of types past Limits::max_event_types
  std::map<std::string, Participant> participants; // by user id
  std::uint64_t unknown_user_events = 0;
  std::vector<std::string> unknown_user_examples;
  std::uint64_t time_after_stored = 0;
  std::vector<std::string> time_after_examples;
  std::uint64_t far_before_stored = 0;
  std::vector<std::string> far_before_examples;
  std::size_t paths_counted = 0;
  std::size_t intervals = 0;                // over all participants
  std::uint64_t unchecked_participants = 0; // sequence_checked false

  // Filled by `Accumulator::finish`.
  std::vector<Finding> findings;
  std::vector<std::string> notes;
};

// Adds events one at a time, then `finish` derives the findings.
class Accumulator {
public:
  explicit Accumulator(Limits limits = {});

  // Counts `event`. Its time is `timestamp`, else `stored_timestamp`, when one is a time
  // `exporting::parse_instant` reads; its sequence index `base.index`, else `object.index`, of
  // its raw event, when that is an integer from 0 to 2^53.
  void add(const model::Event& event);

  // The report so far with its findings and notes; the accumulator is spent.
  Report finish();

  // About the bytes the accumulator holds now (its containers' elements and strings).
  std::size_t memory_estimate() const;

private:
  EventType* type_of(const std::string& name);
  void count_paths(EventType& type, const model::Event& event);
  void count_index(Participant& participant, const model::Event& event);

  Report m_report;
  std::unordered_map<std::string, std::size_t> m_type_index;
};

// `raw`'s sequence index (see `Accumulator::add`), or nullopt.
std::optional<std::uint64_t> sequence_index(std::string_view raw);

// The days `report`'s activity matrix covers: from the first day with an event to the last,
// at most `Limits::max_activity_days` (the last ones). Empty without timed events.
struct DaySpan {
  std::int64_t first = 0;
  std::size_t days = 0;
};
DaySpan activity_span(const Report& report);

// The share `missing / events` (0 when `events` is 0).
double share(std::uint64_t missing, std::uint64_t events);

} // namespace bdd::report
