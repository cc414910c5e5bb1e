#pragma once

// report.html: the report document (what `bdd report --json` prints) drawn as one
// self-contained HTML page for a browser or an e-mail attachment. No script, no font, no
// image or style sheet from anywhere: the charts are inline SVG computed here, the CSS is
// inline, and a Content-Security-Policy forbids every fetch, so that even a bug cannot make the
// page load anything.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <iosfwd>
#include <string>

namespace bdd::report {

// What the page shows at most, so that its size stays bounded whatever the study holds; each
// cut is said on the page, with where the whole table is.
inline constexpr std::size_t k_max_bars = 30;             // event types in the bar chart
inline constexpr std::size_t k_max_heatmap_rows = 200;    // the most active participants
inline constexpr std::size_t k_max_heatmap_columns = 120; // days, else weeks, else longer bins
inline constexpr std::size_t k_max_table_rows = 200;      // rows of each table, findings, notes

// Write report.html for `report` to `out`. The page states the study, the filters, the bdd
// version and the time in the document; shows the overview, a line chart of events per day
// (`svg#events-per-day`, one `circle.point` per entry of `events_per_day`), a participant x
// day heatmap (`svg#activity`, one `rect.cell` per non-zero cell: the `k_max_heatmap_rows`
// most active participants, days binned into weeks past `k_max_heatmap_columns` days), a bar
// chart of event types (`svg#event-types`, one `rect.bar` per type, the `k_max_bars` largest),
// the findings and the tables (event types, participants, missing fields, sequence gaps).
// `report` is untrusted: every string is escaped (see append_html), a missing key or a value
// of the wrong type shows as "—" or "?" and never throws. Memory beyond `out`'s own buffer is
// bounded by the caps above (a few hundred kB), not by the document's size; a study of no
// events draws charts that say "no events". Never fails; a stream error is `out`'s state.
void write_html(const nlohmann::ordered_json& report, std::ostream& out);

// `write_html` into a string, for fs::write_file_atomic (report.html of 2,000 participants x
// 365 days is about 1 MB).
std::string render_html(const nlohmann::ordered_json& report);

} // namespace bdd::report
