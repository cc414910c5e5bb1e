#pragma once

// The report as one JSON document: what `bdd report --json` prints and report.html is drawn
// from. Its keys are an interface (README.md, "Reporting"): add keys, never rename them.

#include <bdd/report/accumulator.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bdd::report {

// What the document says about how it was made.
struct Header {
  std::string study;
  std::string bdd_version;
  std::string generated_at;         // UTC ISO-8601 with Z
  std::optional<std::string> since; // as given
  std::optional<std::string> until;
  std::string time_field = "timestamp"; // or "stored_timestamp"
  std::vector<std::string> users;       // --user
  std::optional<std::string> users_file;
  std::vector<std::string> event_types;
};

// Participants list at most this many missing ranges each; `sequence_gaps` at most
// `k_max_gap_rows` rows (sequence_gaps.csv has them all; a note says so).
inline constexpr std::size_t k_max_participant_ranges = 10;
inline constexpr std::size_t k_max_gap_rows = 10'000;

// The document of `report`: study, bdd_version, generated_at, filters, overview,
// events_per_day, event_types, participants, activity, missing_fields, sequence_gaps, findings,
// notes (see README.md).
nlohmann::ordered_json document(const Report& report, const Header& header);

} // namespace bdd::report
