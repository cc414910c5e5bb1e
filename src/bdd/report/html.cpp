#include "html.hpp"

#include "html_charts.hpp"
#include "html_json.hpp"
#include "html_out.hpp"
#include "html_style.hpp"
#include "html_tables.hpp"

#include <bdd/core/text.hpp>

#include <algorithm>
#include <array>
#include <ostream>

namespace bdd::report {

void HtmlOut::flush() {
  if (m_stream != nullptr && !m_buffer.empty()) {
    m_stream->write(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
    m_buffer.clear();
  }
}

namespace {

// Names shown at most in a list of the filters (`--user` from a file of thousands).
constexpr std::size_t k_max_listed = 20;
// Code points of a short value (a study name, a time) in the header and the figures.
constexpr std::size_t k_short_value = 200;

// Nothing may be fetched, whatever the page holds: no script, font, frame, connection or
// style sheet; inline style only, images only as data: URLs (the page has none).
constexpr std::string_view k_content_security_policy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

// The strings of `list`, comma separated, the first `k_max_listed`; `none` for an empty list.
void write_list(HtmlOut& out, const Json* list, std::string_view none) {
  const Json& items = elements(list);
  if (items.empty()) {
    out << none;
    return;
  }
  for (std::size_t i = 0; i < std::min(items.size(), k_max_listed); ++i) {
    out << (i > 0 ? ", " : "") << html_text(&items[i], 60);
  }
  if (items.size() > k_max_listed) {
    out << " and " << group_digits(items.size() - k_max_listed) << " more";
  }
}

void write_header(const Json& report, HtmlOut& out) {
  const Json* filters = member(report, "filters");
  const auto filter = [&](std::string_view key) {
    return filters == nullptr ? nullptr : member(*filters, key);
  };
  const auto bound = [&](std::string_view key) {
    const Json* value = filter(key);
    return value == nullptr || value->is_null() ? std::string("any")
                                                : html_text(value, k_short_value);
  };
  out << "<header><p class=\"kicker\">bdd report</p><h1 id=\"study\">"
      << html_text(member(report, "study"), k_short_value) << "</h1><dl class=\"meta\">"
      << "<dt>Since</dt><dd id=\"filter-since\">" << bound("since") << "</dd>"
      << "<dt>Until</dt><dd id=\"filter-until\">" << bound("until") << "</dd>"
      << "<dt>Times from</dt><dd id=\"filter-time-field\">"
      << html_text(filter("time_field"), k_short_value) << "</dd>"
      << "<dt>Participants</dt><dd id=\"filter-users\">";
  write_list(out, filter("users"), "all");
  if (const auto file = text_of(filter("users_file"))) {
    out << " (from " << escape_html(*file, k_short_value) << ")";
  }
  out << "</dd><dt>Event types</dt><dd id=\"filter-event-types\">";
  write_list(out, filter("event_types"), "all");
  out << "</dd><dt>Generated</dt><dd id=\"generated-at\">"
      << html_text(member(report, "generated_at"), k_short_value) << "</dd>"
      << "<dt>bdd version</dt><dd id=\"bdd-version\">"
      << html_text(member(report, "bdd_version"), k_short_value) << "</dd></dl></header>";
}

void write_overview(const Json& report, HtmlOut& out) {
  const Json* overview = member(report, "overview");
  const auto value = [&](std::string_view key) {
    return overview == nullptr ? nullptr : member(*overview, key);
  };
  struct Figure {
    std::string_view key;
    std::string_view label;
    bool count;
  };
  static constexpr std::array<Figure, 6> k_figures = {Figure{"events", "events", true},
                                                      Figure{"participants", "participants", true},
                                                      Figure{"event_types", "event types", true},
                                                      Figure{"days", "days with events", true},
                                                      Figure{"first_event", "first event", false},
                                                      Figure{"last_event", "last event", false}};
  out << "<section id=\"overview\"><h2>Overview</h2><div class=\"figures\">";
  for (const auto& figure : k_figures) {
    out << "<div class=\"figure" << (figure.count ? "" : " time") << "\" id=\"overview-"
        << figure.key << "\"><span class=\"value\">"
        << (figure.count ? html_count(value(figure.key)) : html_text(value(figure.key), 40))
        << "</span><span class=\"label\">" << figure.label << "</span></div>";
  }
  // Events whose times do not read count in the totals but on no day: say how many.
  if (const auto untimed = count_of(value("events_without_time")); untimed && *untimed > 0) {
    out << "<div class=\"figure\" id=\"overview-events_without_time\"><span class=\"value\">"
        << group_digits(*untimed)
        << "</span><span class=\"label\">events without a time</span></div>";
  }
  out << "</div></section>";
}

void write_chart(HtmlOut& out,
                 std::string_view id,
                 std::string_view title,
                 void (*chart)(const Json&, HtmlOut&),
                 const Json& report) {
  out << "<section class=\"chart-section\" id=\"" << id << "-section\"><h2>" << title << "</h2>";
  chart(report, out);
  out << "</section>";
}

void write_notes(const Json& report, HtmlOut& out) {
  const Json& notes = elements(member(report, "notes"));
  if (notes.empty()) {
    return;
  }
  out << "<section id=\"notes\"><h2>Notes</h2><ul>";
  for (std::size_t i = 0; i < std::min(notes.size(), k_max_table_rows); ++i) {
    out << "<li>" << html_text(&notes[i], 2000) << "</li>";
  }
  out << "</ul>";
  write_cut(
      out, std::min(notes.size(), k_max_table_rows), notes.size(), "notes", "bdd report --json");
  out << "</section>";
}

void write_page(const Json& report, HtmlOut& out) {
  const std::string study = html_text(member(report, "study"), k_short_value);
  const std::string version = html_text(member(report, "bdd_version"), k_short_value);
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"" << k_content_security_policy
      << "\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      << "<meta name=\"generator\" content=\"bdd " << version << "\"><title>bdd report: " << study
      << "</title><style>" << k_page_style << "</style></head><body><main>\n";
  write_header(report, out);
  write_overview(report, out);
  write_chart(out, "events-per-day", "Events per day", &write_events_per_day_chart, report);
  write_chart(out, "activity", "Activity of participants", &write_activity_chart, report);
  write_chart(out, "event-types", "Events per event type", &write_event_types_chart, report);
  out << "\n";
  write_findings(report, out);
  write_tables(report, out);
  write_notes(report, out);
  out << "<footer>Made by bdd " << version << " at "
      << html_text(member(report, "generated_at"), k_short_value)
      << ". This page is self-contained: it loads nothing, from the network or elsewhere."
      << "</footer></main></body></html>\n";
}

} // namespace

void write_html(const nlohmann::ordered_json& report, std::ostream& out) {
  HtmlOut html(&out);
  write_page(report, html);
}

std::string render_html(const nlohmann::ordered_json& report) {
  HtmlOut html(nullptr);
  write_page(report, html);
  return html.take();
}

} // namespace bdd::report
