#include "tables.hpp"

#include <bdd/storage/csv_writer.hpp>

#include <algorithm>
#include <cstdio>

namespace bdd::report {

namespace {

void text_cell(std::string& out, std::string_view text) {
  if (!text.empty()
      && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t'
          || text[0] == '\r')) {
    storage::append_csv_field(out, "'" + std::string(text));
  } else {
    storage::append_csv_field(out, text);
  }
}

void number_cell(std::string& out, std::uint64_t value) {
  out += std::to_string(value);
}

void time_cell(std::string& out, const std::optional<Instant>& at) {
  if (at) {
    out += exporting::format_instant(*at);
  }
}

void end_row(std::string& out) {
  out += "\r\n";
}

std::string share_text(std::uint64_t missing, std::uint64_t events) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", share(missing, events));
  return text;
}

} // namespace

std::vector<std::uint64_t> activity_row(const Participant& participant, const DaySpan& span) {
  std::vector<std::uint64_t> counts(span.days, 0);
  auto day = std::lower_bound(participant.days.begin(),
                              participant.days.end(),
                              span.first,
                              [](const DayCount& a, std::int64_t d) { return a.day < d; });
  for (; day != participant.days.end(); ++day) {
    const auto offset = static_cast<std::uint64_t>(day->day - span.first);
    if (offset < span.days) {
      counts[offset] = day->events;
    }
  }
  return counts;
}

std::vector<const EventType*> types_by_events(const Report& report) {
  std::vector<const EventType*> types;
  types.reserve(report.event_types.size());
  for (const auto& type : report.event_types) {
    types.push_back(&type);
  }
  std::sort(types.begin(), types.end(), [](const EventType* a, const EventType* b) {
    return a->events != b->events ? a->events > b->events : a->name < b->name;
  });
  return types;
}

std::vector<MissingField> missing_fields(const Report& report) {
  std::vector<const EventType*> types;
  for (const auto& type : report.event_types) {
    types.push_back(&type);
  }
  std::sort(types.begin(), types.end(), [](const EventType* a, const EventType* b) {
    return a->name < b->name;
  });
  std::vector<MissingField> rows;
  for (const EventType* type : types) {
    for (std::size_t i = 0; i < k_normalised_fields.size(); ++i) {
      rows.push_back(
          {type->name, std::string(k_normalised_fields[i]), type->events, type->fields_missing[i]});
    }
    std::vector<const std::pair<const std::string, PathCount>*> paths;
    paths.reserve(type->paths.size());
    for (const auto& entry : type->paths) {
      paths.push_back(&entry);
    }
    std::sort(paths.begin(), paths.end(), [](const auto* a, const auto* b) {
      return a->first < b->first;
    });
    for (const auto* path : paths) {
      rows.push_back({type->name, path->first, type->events, type->events - path->second.present});
    }
  }
  return rows;
}

void for_each_sequence_gap(
    const Report& report,
    const std::function<void(const std::string&, const IndexRange&)>& on_gap) {
  for (const auto& entry : report.participants) {
    const std::string& id = entry.first;
    entry.second.indexes.for_each_gap([&](const IndexRange& gap) { on_gap(id, gap); });
  }
}

std::string participants_csv(const Report& report) {
  const auto types = types_by_events(report);
  std::string out = "user_id,events,first_event,last_event,active_days,longest_silence_seconds,"
                    "events_without_index,missing_indexes,duplicate_indexes,sequence_checked,"
                    "missing_ranges";
  for (const EventType* type : types) {
    out += ',';
    text_cell(out, "events." + type->name);
  }
  end_row(out);
  for (const auto& [id, p] : report.participants) {
    text_cell(out, id);
    out += ',';
    number_cell(out, p.events);
    out += ',';
    time_cell(out, p.first);
    out += ',';
    time_cell(out, p.last);
    out += ',';
    number_cell(out, p.days.size());
    out += ',';
    if (p.longest_silence) {
      char text[32];
      std::snprintf(text, sizeof text, "%.6f", static_cast<double>(*p.longest_silence) / 1e6);
      out += text;
    }
    out += ',';
    number_cell(out, p.events_without_index);
    out += ',';
    number_cell(out, p.indexes.missing());
    out += ',';
    number_cell(out, p.duplicate_indexes);
    out += ',';
    out += p.sequence_checked ? "true" : "false";
    out += ',';
    std::string ranges;
    p.indexes.for_each_gap([&ranges](const IndexRange& gap) {
      ranges += ranges.empty() ? "" : " ";
      ranges += std::to_string(gap.first) + "-" + std::to_string(gap.last);
    });
    storage::append_csv_field(out, ranges);
    for (const EventType* type : types) {
      out += ',';
      const auto position = static_cast<std::size_t>(type - report.event_types.data());
      const auto found = p.events_by_type.find(position);
      number_cell(out, found == p.events_by_type.end() ? 0 : found->second);
    }
    end_row(out);
  }
  return out;
}

std::string activity_csv(const Report& report) {
  const DaySpan span = activity_span(report);
  std::string out = "user_id";
  for (std::size_t i = 0; i < span.days; ++i) {
    out += ',' + exporting::format_day(span.first + static_cast<std::int64_t>(i));
  }
  end_row(out);
  for (const auto& [id, p] : report.participants) {
    text_cell(out, id);
    for (const std::uint64_t count : activity_row(p, span)) {
      out += ',';
      number_cell(out, count);
    }
    end_row(out);
  }
  return out;
}

std::string missing_fields_csv(const Report& report) {
  std::string out = "event_type,field,events,missing,share";
  end_row(out);
  for (const auto& row : missing_fields(report)) {
    text_cell(out, row.event_type);
    out += ',';
    text_cell(out, row.field);
    out += ',';
    number_cell(out, row.events);
    out += ',';
    number_cell(out, row.missing);
    out += ',' + share_text(row.missing, row.events);
    end_row(out);
  }
  return out;
}

std::string sequence_gaps_csv(const Report& report) {
  std::string out = "user_id,from,to,count";
  end_row(out);
  for_each_sequence_gap(report, [&out](const std::string& id, const IndexRange& gap) {
    text_cell(out, id);
    out += ',' + std::to_string(gap.first) + ',' + std::to_string(gap.last) + ','
           + std::to_string(gap.count());
    end_row(out);
  });
  return out;
}

} // namespace bdd::report
