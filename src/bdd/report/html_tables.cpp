#include "html_tables.hpp"

#include "html.hpp"

#include <bdd/core/text.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <vector>

namespace bdd::report {

namespace {

// Code points of a value in a table cell: a 10 kB user id must not make a row of ten screens.
constexpr std::size_t k_cell_text = 120;
constexpr std::size_t k_unsorted = static_cast<std::size_t>(-1);
// An index no range can hold (the document's counts are below 2^53).
constexpr std::uint64_t k_no_index = static_cast<std::uint64_t>(-1);

struct Column {
  std::string_view title;
  bool number = false;
};

struct Table {
  std::string_view id;
  std::vector<Column> columns;
  std::size_t sorted = k_unsorted; // the column the rows are in the order of
  bool descending = false;
  std::string_view what;  // "participants": what a row is, for the note of a cut
  std::string_view where; // "participants.csv": where all the rows are
};

// `table` of `rows`: a <tr> per row, the first `k_max_table_rows`, its cells written by
// `write_cells`, then the note of a cut. The sort glyph shows the order the rows are in; the
// other columns show that they could be sorted on, as a spreadsheet would after an import.
void write_table(HtmlOut& out,
                 const Table& table,
                 const std::vector<const Json*>& rows,
                 const std::function<void(const Json&)>& write_cells) {
  // Many columns: smaller type and headers that wrap, so that the table fits the page.
  out << "<div class=\"table-wrap\"><table id=\"" << table.id << "\""
      << (table.columns.size() > 6 ? " class=\"wide\"" : "") << "><thead><tr>";
  std::size_t index = 0;
  for (const auto& column : table.columns) {
    out << "<th scope=\"col\"" << (column.number ? " class=\"num\"" : "");
    if (index == table.sorted) {
      out << " aria-sort=\"" << (table.descending ? "descending" : "ascending") << "\">"
          << column.title << "<span class=\"sort\">" << (table.descending ? "\u25bc" : "\u25b2")
          << "</span></th>";
    } else {
      out << ">" << column.title << "<span class=\"sort\">\u2195</span></th>";
    }
    ++index;
  }
  out << "</tr></thead><tbody>\n";
  const std::size_t shown = std::min(rows.size(), k_max_table_rows);
  for (std::size_t i = 0; i < shown; ++i) {
    out << "<tr>";
    write_cells(*rows[i]);
    out << "</tr>\n";
  }
  out << "</tbody></table></div>";
  write_cut(out, shown, rows.size(), table.what, table.where);
}

// The elements of an array, to be sorted or filtered without copying them.
std::vector<const Json*> pointers(const Json& array) {
  std::vector<const Json*> out;
  out.reserve(array.size());
  for (const auto& element : array) {
    out.push_back(&element);
  }
  return out;
}

enum class Cell { text, number, time };

void cell(HtmlOut& out, std::string_view html, Cell kind = Cell::text) {
  out << (kind == Cell::number ? "<td class=\"num\">"
          : kind == Cell::time ? "<td class=\"time\">"
                               : "<td>")
      << html << "</td>";
}

// Opens the section `id` and says so when the document has no such table or an empty one;
// true when there are rows to show.
bool open_section(HtmlOut& out,
                  std::string_view id,
                  std::string_view title,
                  const Json* rows,
                  std::string_view when_empty) {
  out << "<section id=\"" << id << "\"><h2>" << title << "</h2>";
  if (rows == nullptr || !rows->is_array()) {
    out << "<p class=\"note\">Not in this report.</p></section>";
    return false;
  }
  if (rows->empty()) {
    out << "<p class=\"note\">" << when_empty << "</p></section>";
    return false;
  }
  return true;
}

std::uint64_t count_or_zero(const Json& row, std::string_view key) {
  return count_of(member(row, key)).value_or(0);
}

void write_event_types(const Json& report, HtmlOut& out) {
  const Json* rows = member(report, "event_types");
  if (!open_section(out, "event-types-details", "Event types", rows, "No events.")) {
    return;
  }
  std::vector<const Json*> sorted = pointers(*rows);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Json* a, const Json* b) {
    return count_or_zero(*a, "events") > count_or_zero(*b, "events");
  });
  const Json* overview = member(report, "overview");
  const auto all = count_of(overview == nullptr ? nullptr : member(*overview, "events"));
  const Table table{
      "event-types-table",
      {{"Event type"}, {"Events", true}, {"Share", true}, {"First event"}, {"Last event"}},
      1,
      true,
      "event types",
      "bdd report --json"};
  write_table(out, table, sorted, [&](const Json& row) {
    const auto events = count_of(member(row, "events"));
    cell(out, html_text(member(row, "event_type"), k_cell_text));
    cell(out, html_count(member(row, "events")), Cell::number);
    cell(out,
         events && all && *all > 0
             ? format_share(static_cast<double>(*events) / static_cast<double>(*all))
             : std::string(k_absent),
         Cell::number);
    cell(out, html_text(member(row, "first_event"), 40), Cell::time);
    cell(out, html_text(member(row, "last_event"), 40), Cell::time);
  });
  out << "</section>";
}

std::string html_duration(const Json* value) {
  if (value == nullptr || value->is_null()) {
    return std::string(k_absent);
  }
  const auto seconds = number_of(value);
  return seconds ? format_duration(*seconds) : std::string(k_wrong_type);
}

// "3–5, 9" from [[3, 5], [9, 9]]; "?" for a range that is no pair of counts.
std::string html_ranges(const Json* value) {
  if (value == nullptr || value->is_null()) {
    return std::string(k_absent);
  }
  const Json& ranges = elements(value);
  std::string out;
  for (std::size_t i = 0; i < std::min<std::size_t>(ranges.size(), 10); ++i) {
    const Json& range = elements(&ranges[i]);
    out += i > 0 ? ", " : "";
    const std::uint64_t first =
        range.size() == 2 ? count_of(&range[0]).value_or(k_no_index) : k_no_index;
    const std::uint64_t last =
        range.size() == 2 ? count_of(&range[1]).value_or(k_no_index) : k_no_index;
    if (first == k_no_index || last == k_no_index) {
      out += k_wrong_type;
    } else if (first == last) {
      out += std::to_string(first);
    } else {
      out += std::to_string(first) + "\u2013" + std::to_string(last);
    }
  }
  if (ranges.size() > 10) {
    out += ", \u2026";
  }
  return out;
}

void write_participants(const Json& report, HtmlOut& out) {
  const Json* rows = member(report, "participants");
  if (!open_section(out, "participants", "Participants", rows, "No participants.")) {
    return;
  }
  const Table table{"participants-table",
                    {{"User id"},
                     {"Events", true},
                     {"Days active", true},
                     {"First event"},
                     {"Last event"},
                     {"Longest silence", true},
                     {"Missing indexes", true},
                     {"Duplicate indexes", true},
                     {"No index", true},
                     {"Missing ranges"}},
                    0,
                    false,
                    "participants",
                    "participants.csv"};
  write_table(out, table, pointers(*rows), [&](const Json& row) {
    cell(out, html_text(member(row, "user_id"), k_cell_text));
    cell(out, html_count(member(row, "events")), Cell::number);
    cell(out, html_count(member(row, "active_days")), Cell::number);
    cell(out, html_text(member(row, "first_event"), 40), Cell::time);
    cell(out, html_text(member(row, "last_event"), 40), Cell::time);
    cell(out, html_duration(member(row, "longest_silence_seconds")), Cell::number);
    cell(out, html_count(member(row, "missing_indexes")), Cell::number);
    cell(out, html_count(member(row, "duplicate_indexes")), Cell::number);
    cell(out, html_count(member(row, "events_without_index")), Cell::number);
    cell(out, html_ranges(member(row, "missing_ranges")));
  });
  out << "</section>";
}

void write_missing_fields(const Json& report, HtmlOut& out) {
  const Json* rows = member(report, "missing_fields");
  std::vector<const Json*> missing;
  for (const auto& row : elements(rows)) {
    if (count_or_zero(row, "missing") > 0) {
      missing.push_back(&row);
    }
  }
  static const Json k_none = Json::array();
  if (!open_section(out,
                    "missing-fields",
                    "Missing fields",
                    missing.empty() && rows != nullptr && rows->is_array() ? &k_none : rows,
                    "No field is missing from any event of its type.")) {
    return;
  }
  std::stable_sort(missing.begin(), missing.end(), [](const Json* a, const Json* b) {
    return number_of(member(*a, "share")).value_or(0) > number_of(member(*b, "share")).value_or(0);
  });
  const Table table{
      "missing-fields-table",
      {{"Event type"}, {"Field"}, {"Events", true}, {"Missing", true}, {"Share", true}},
      4,
      true,
      "fields missing somewhere",
      "missing_fields.csv"};
  write_table(out, table, missing, [&](const Json& row) {
    const auto share = number_of(member(row, "share"));
    cell(out, html_text(member(row, "event_type"), k_cell_text));
    cell(out, html_text(member(row, "field"), k_cell_text));
    cell(out, html_count(member(row, "events")), Cell::number);
    cell(out, html_count(member(row, "missing")), Cell::number);
    cell(out, share ? format_share(*share) : std::string(k_wrong_type), Cell::number);
  });
  out << "<p class=\"note\">Fields present in every event of their type are not listed.</p>"
      << "</section>";
}

void write_sequence_gaps(const Json& report, HtmlOut& out) {
  const Json* rows = member(report, "sequence_gaps");
  if (!open_section(out,
                    "sequence-gaps",
                    "Sequence gaps",
                    rows,
                    "No gaps in any participant's sequence of event indexes.")) {
    return;
  }
  const Table table{
      "sequence-gaps-table",
      {{"User id"}, {"From index", true}, {"To index", true}, {"Missing events", true}},
      k_unsorted,
      false,
      "gaps",
      "sequence_gaps.csv"};
  write_table(out, table, pointers(*rows), [&](const Json& row) {
    cell(out, html_text(member(row, "user_id"), k_cell_text));
    cell(out, html_count(member(row, "from")), Cell::number);
    cell(out, html_count(member(row, "to")), Cell::number);
    cell(out, html_count(member(row, "count")), Cell::number);
  });
  out << "</section>";
}

struct Kind {
  std::string_view kind;
  std::string_view label;
  std::string_view severity; // when the finding does not say
};

// The kinds of the report document's findings, in words, and how serious each is: "high" is
// what lost data looks like, "low" is worth a look.
constexpr std::array<Kind, 8> k_kinds = {
    Kind{"sequence_gap", "Sequence gap", "high"},
    Kind{"duplicate_index", "Duplicate index", "high"},
    Kind{"unknown_user", "Unknown user", "medium"},
    Kind{"stopped_event_type", "Event type stopped", "medium"},
    Kind{"time_after_stored", "Time after stored time", "medium"},
    Kind{"silent_participant", "Silent participant", "medium"},
    Kind{"time_far_before_stored", "Time long before stored time", "low"},
    Kind{"too_many_fields", "Too many fields", "low"},
};

// The CSS class of a finding: its `severity` if it is one of ours (the document's text never
// becomes markup), else its kind's, else "low".
std::string_view severity_class(const Json& finding, const Kind* known) {
  const auto severity = text_of(member(finding, "severity"));
  for (const std::string_view ours : {"high", "medium", "low"}) {
    if (severity && *severity == ours) {
      return ours;
    }
  }
  return known != nullptr ? known->severity : "low";
}

} // namespace

void write_cut(HtmlOut& out,
               std::size_t shown,
               std::size_t total,
               std::string_view what,
               std::string_view where) {
  if (shown < total) {
    out << "<p class=\"note cut\">The first " << group_digits(shown) << " of "
        << group_digits(total) << " " << what << "; " << where << " has them all.</p>";
  }
}

void write_findings(const Json& report, HtmlOut& out) {
  const Json* findings = member(report, "findings");
  if (!open_section(out, "findings", "Findings", findings, "No findings: nothing looks wrong.")) {
    return;
  }
  out << "<ul class=\"findings\">";
  const std::size_t shown = std::min(findings->size(), k_max_table_rows);
  for (std::size_t i = 0; i < shown; ++i) {
    const Json& finding = (*findings)[i];
    const auto kind = text_of(member(finding, "kind"));
    const auto found = std::find_if(
        k_kinds.begin(), k_kinds.end(), [&](const Kind& k) { return kind && k.kind == *kind; });
    const Kind* known = found == k_kinds.end() ? nullptr : &*found;
    out << "<li class=\"finding " << severity_class(finding, known) << "\"><span class=\"kind\">";
    if (known != nullptr) {
      out << known->label;
    } else {
      out << html_text(member(finding, "kind"), 60);
    }
    out << "</span>" << html_text(member(finding, "message"), 2000) << "</li>\n";
  }
  out << "</ul>";
  write_cut(out, shown, findings->size(), "findings", "bdd report --json");
  out << "</section>";
}

void write_tables(const Json& report, HtmlOut& out) {
  write_event_types(report, out);
  write_participants(report, out);
  write_missing_fields(report, out);
  write_sequence_gaps(report, out);
}

} // namespace bdd::report
