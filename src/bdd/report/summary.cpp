#include "summary.hpp"

#include <bdd/report/tables.hpp>

#include <cstdio>

namespace bdd::report {

namespace {

std::string time_text(const std::optional<Instant>& at) {
  return at ? exporting::format_instant(*at) : std::string("-");
}

// A value from the server on one line of a terminal: control characters are escaped.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

void cut_note(std::string& out,
              std::size_t shown,
              std::size_t all,
              std::string_view what,
              bool tables_written,
              std::string_view file) {
  if (all <= shown) {
    return;
  }
  out += "  ... and " + std::to_string(all - shown) + " more " + std::string(what) + " ("
         + (tables_written ? "see " + std::string(file) : std::string("use --output DIR or --json"))
         + ")\n";
}

} // namespace

std::string summary(const Report& report, const Header& header, bool tables_written) {
  std::string out = "report of study " + printable(header.study) + "\n";
  out += "  events:        " + std::to_string(report.events) + "\n";
  out += "  participants:  " + std::to_string(report.participants.size()) + "\n";
  out += "  event types:   " + std::to_string(report.event_types.size()) + "\n";
  out += "  first event:   " + time_text(report.first) + "\n";
  out += "  last event:    " + time_text(report.last) + "\n";
  out += "  days:          " + std::to_string(report.events_per_day.size()) + " with events\n";

  const auto types = types_by_events(report);
  if (!types.empty()) {
    out += "\nevent types (events, first, last):\n";
    std::size_t shown = 0;
    for (const EventType* type : types) {
      if (shown == k_summary_rows) {
        break;
      }
      ++shown;
      out += "  " + printable(type->name) + ": " + std::to_string(type->events) + ", "
             + time_text(type->first) + ", " + time_text(type->last) + "\n";
    }
    cut_note(out, shown, types.size(), "event types", tables_written, "participants.csv");
  }

  if (!report.participants.empty()) {
    out += "\nparticipants (events, active days, missing indexes, duplicate indexes):\n";
    std::size_t shown = 0;
    for (const auto& [id, p] : report.participants) {
      if (shown == k_summary_rows) {
        break;
      }
      ++shown;
      out += "  " + printable(id) + ": " + std::to_string(p.events) + ", "
             + std::to_string(p.days.size()) + ", " + std::to_string(p.indexes.missing()) + ", "
             + std::to_string(p.duplicate_indexes) + "\n";
    }
    cut_note(
        out, shown, report.participants.size(), "participants", tables_written, "participants.csv");
  }

  out += "\nfindings:\n";
  if (report.findings.empty()) {
    out += "  none\n";
  }
  std::size_t shown = 0;
  for (const auto& finding : report.findings) {
    if (shown == k_summary_findings) {
      break;
    }
    ++shown;
    out += "  [" + finding.severity + "] " + printable(finding.message) + "\n";
  }
  if (report.findings.size() > shown) {
    out += "  ... and " + std::to_string(report.findings.size() - shown)
           + " more findings (use --json)\n";
  }
  if (!report.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& note : report.notes) {
      out += "  " + printable(note) + "\n";
    }
  }
  return out;
}

} // namespace bdd::report
