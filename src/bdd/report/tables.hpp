#pragma once

// The rows of the report's tables, shared by its JSON document and its CSV files.

#include <bdd/report/accumulator.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bdd::report {

struct MissingField {
  std::string event_type;
  std::string field; // a normalised field, or a data path ("data.a.b")
  std::uint64_t events = 0;
  std::uint64_t missing = 0;
};

// Per event type (by name), the normalised fields in `k_normalised_fields` order, then the
// data paths seen, sorted.
std::vector<MissingField> missing_fields(const Report& report);

struct SequenceGap {
  std::string user_id;
  IndexRange range;
};

// Every run of missing indexes, by user id then index; `on_gap` sees each one.
void for_each_sequence_gap(
    const Report& report, const std::function<void(const std::string&, const IndexRange&)>& on_gap);

// `participant`'s events on each day of `span`, in order (0 on days without any).
std::vector<std::uint64_t> activity_row(const Participant& participant, const DaySpan& span);

// The event types by events (most first), then name.
std::vector<const EventType*> types_by_events(const Report& report);

// The report's tables as CSV files (RFC 4180, CRLF, a header row, UTF-8). A text from the
// server (a user id, an event type, a field name) that a spreadsheet would run as a formula
// (it starts with '=', '+', '-', '@', a tab or a CR) is written with a leading "'", as OWASP
// advises, so Excel shows it as text.
std::string participants_csv(const Report& report); // one row per participant
std::string activity_csv(const Report& report);     // one row per participant, a column per day
std::string missing_fields_csv(const Report& report);
std::string sequence_gaps_csv(const Report& report); // one row per gap

} // namespace bdd::report
