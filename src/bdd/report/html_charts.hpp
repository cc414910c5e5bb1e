#pragma once

// The three charts of report.html, inline SVG drawn from the report document. Each writes one
// <svg> with a stable id and classes (see write_html in html.hpp), saying in the chart or in a
// note below it what was left out. A chart with nothing to draw says "no events".

#include "html_json.hpp"
#include "html_out.hpp"

namespace bdd::report {

// `svg#events-per-day`: a line over every day from the first to the last entry of
// `events_per_day` (days without an entry at zero), one `circle.point` per entry, dates and
// counts on the axes.
void write_events_per_day_chart(const Json& report, HtmlOut& out);

// `svg#event-types`: one `rect.bar` per event type of `event_types`, the `k_max_bars` with the
// most events, largest first, and "and N more" for the rest.
void write_event_types_chart(const Json& report, HtmlOut& out);

// `svg#activity`: the participant x day matrix of `activity`, one `rect.cell` per non-zero
// cell shaded by its count; the `k_max_heatmap_rows` most active participants (in the
// document's order), days in bins of 7 (or more) past `k_max_heatmap_columns` days.
void write_activity_chart(const Json& report, HtmlOut& out);

// Shared by the charts: the opening <svg> tag of the chart `id`, `width` x `height` pixels
// (scaled down by the CSS on a narrow page), named `label` for screen readers.
void open_svg(
    HtmlOut& out, std::string_view id, double width, double height, std::string_view label);

// The chart `id` with nothing to draw: an <svg> that says "no events".
void write_no_events(HtmlOut& out, std::string_view id, std::string_view label);

} // namespace bdd::report
