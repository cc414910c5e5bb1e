#include "document.hpp"

#include <bdd/report/tables.hpp>

#include <algorithm>

namespace bdd::report {

namespace {

using json = nlohmann::ordered_json;

json time_or_null(const std::optional<Instant>& at) {
  return at ? json(exporting::format_instant(*at)) : json(nullptr);
}

json text_or_null(const std::optional<std::string>& text) {
  return text ? json(*text) : json(nullptr);
}

json filters(const Header& header) {
  return {{"since", text_or_null(header.since)},
          {"until", text_or_null(header.until)},
          {"time_field", header.time_field},
          {"users", header.users},
          {"users_file", text_or_null(header.users_file)},
          {"event_types", header.event_types}};
}

json participant(const Report& report,
                 const std::vector<const EventType*>& types,
                 const std::string& id,
                 const Participant& p) {
  json by_type = json::object();
  for (const EventType* type : types) {
    const auto position = static_cast<std::size_t>(type - report.event_types.data());
    if (const auto found = p.events_by_type.find(position); found != p.events_by_type.end()) {
      by_type[type->name] = found->second;
    }
  }
  json ranges = json::array();
  p.indexes.for_each_gap([&ranges](const IndexRange& gap) {
    if (ranges.size() < k_max_participant_ranges) {
      ranges.push_back({gap.first, gap.last});
    }
  });
  const auto span = p.indexes.span();
  return {{"user_id", id},
          {"events", p.events},
          {"first_event", time_or_null(p.first)},
          {"last_event", time_or_null(p.last)},
          {"active_days", p.days.size()},
          {"longest_silence_seconds",
           p.longest_silence ? json(static_cast<double>(*p.longest_silence) / 1e6) : json(nullptr)},
          {"events_by_type", std::move(by_type)},
          {"events_without_index", p.events_without_index},
          {"missing_indexes", p.indexes.missing()},
          {"duplicate_indexes", p.duplicate_indexes},
          {"missing_ranges", std::move(ranges)},
          {"sequence_checked", p.sequence_checked},
          {"first_index", span ? json(span->first) : json(nullptr)},
          {"last_index", span ? json(span->last) : json(nullptr)}};
}

json activity(const Report& report) {
  const DaySpan span = activity_span(report);
  json days = json::array();
  for (std::size_t i = 0; i < span.days; ++i) {
    days.push_back(exporting::format_day(span.first + static_cast<std::int64_t>(i)));
  }
  json rows = json::array();
  for (const auto& [id, p] : report.participants) {
    json counts = activity_row(p, span);
    rows.push_back({{"user_id", id}, {"counts", std::move(counts)}});
  }
  return {{"days", std::move(days)}, {"rows", std::move(rows)}};
}

json finding(const Finding& f) {
  json out = {{"kind", f.kind}, {"severity", f.severity}, {"message", f.message}};
  if (f.kind == "sequence_gap" || f.kind == "duplicate_index" || f.kind == "silent_participant") {
    out["user_id"] = f.subject;
  } else if (f.kind == "stopped_event_type" || f.kind == "too_many_fields") {
    out["event_type"] = f.subject;
  }
  out["count"] = f.count;
  if (f.from) {
    out["from"] = exporting::format_instant(*f.from);
  }
  if (f.to) {
    out["to"] = exporting::format_instant(*f.to);
  }
  if (!f.examples.empty()) {
    out["examples"] = f.examples;
  }
  return out;
}

} // namespace

json document(const Report& report, const Header& header) {
  json notes = report.notes;
  json per_day = json::array();
  for (const auto& [day, events] : report.events_per_day) {
    per_day.push_back({{"date", exporting::format_day(day)}, {"events", events}});
  }
  const auto sorted_types = types_by_events(report);
  json types = json::array();
  for (const EventType* type : sorted_types) {
    types.push_back({{"event_type", type->name},
                     {"events", type->events},
                     {"first_event", time_or_null(type->first)},
                     {"last_event", time_or_null(type->last)}});
  }
  json participants = json::array();
  for (const auto& [id, p] : report.participants) {
    participants.push_back(participant(report, sorted_types, id, p));
  }
  json missing = json::array();
  for (const auto& row : missing_fields(report)) {
    missing.push_back({{"event_type", row.event_type},
                       {"field", row.field},
                       {"events", row.events},
                       {"missing", row.missing},
                       {"share", share(row.missing, row.events)}});
  }
  json gaps = json::array();
  std::uint64_t all_gaps = 0;
  for_each_sequence_gap(report, [&](const std::string& id, const IndexRange& gap) {
    ++all_gaps;
    if (gaps.size() < k_max_gap_rows) {
      gaps.push_back(
          {{"user_id", id}, {"from", gap.first}, {"to", gap.last}, {"count", gap.count()}});
    }
  });
  if (all_gaps > gaps.size()) {
    notes.push_back("sequence_gaps lists the first " + std::to_string(gaps.size()) + " of "
                    + std::to_string(all_gaps) + " gaps (sequence_gaps.csv has them all)");
  }
  json findings = json::array();
  for (const auto& f : report.findings) {
    findings.push_back(finding(f));
  }
  return {{"study", header.study},
          {"bdd_version", header.bdd_version},
          {"generated_at", header.generated_at},
          {"filters", filters(header)},
          {"overview",
           {{"events", report.events},
            {"participants", report.participants.size()},
            {"event_types", report.event_types.size()},
            {"first_event", time_or_null(report.first)},
            {"last_event", time_or_null(report.last)},
            {"days", report.events_per_day.size()},
            {"events_without_time", report.untimed}}},
          {"events_per_day", std::move(per_day)},
          {"event_types", std::move(types)},
          {"participants", std::move(participants)},
          {"activity", activity(report)},
          {"missing_fields", std::move(missing)},
          {"sequence_gaps", std::move(gaps)},
          {"findings", std::move(findings)},
          {"notes", std::move(notes)}};
}

} // namespace bdd::report
