#include "accumulator.hpp"

#include <bdd/export/flatten.hpp>
#include <bdd/model/json_text.hpp>

#include <algorithm>
#include <charconv>

namespace bdd::report {

namespace {

constexpr std::uint64_t k_max_index = std::uint64_t{1} << 53;

// The time an event is counted at: its timestamp (the participant's clock), else when it was
// stored.
std::optional<Instant> event_time(const model::Event& event) {
  if (event.timestamp) {
    if (auto at = exporting::parse_instant(*event.timestamp)) {
      return at;
    }
  }
  if (event.stored_timestamp) {
    return exporting::parse_instant(*event.stored_timestamp);
  }
  return std::nullopt;
}

void keep_example(std::vector<std::string>& examples, std::size_t max, std::string_view id) {
  if (examples.size() < max) {
    examples.emplace_back(model::display_id(id));
  }
}

void widen(std::optional<Instant>& first, std::optional<Instant>& last, Instant at) {
  first = first ? std::min(*first, at) : at;
  last = last ? std::max(*last, at) : at;
}

void count_day(std::vector<DayCount>& days, std::int64_t day) {
  if (days.empty() || days.back().day < day) {
    days.push_back({day, 1});
    return;
  }
  const auto it = std::lower_bound(
      days.begin(), days.end(), day, [](const DayCount& a, std::int64_t d) { return a.day < d; });
  if (it != days.end() && it->day == day) {
    ++it->events;
  } else {
    days.insert(it, {day, 1});
  }
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string quoted(std::string_view text) {
  return model::quoted_id(text);
}

std::string ranges_text(const IndexSet& indexes, std::size_t max) {
  std::string out;
  std::size_t shown = 0;
  std::size_t total = 0;
  indexes.for_each_gap([&](const IndexRange& gap) {
    ++total;
    if (shown == max) {
      return;
    }
    ++shown;
    out += out.empty() ? "" : ", ";
    out += std::to_string(gap.first);
    if (gap.last != gap.first) {
      out += "-" + std::to_string(gap.last);
    }
  });
  if (total > shown) {
    out += ", and " + plural(total - shown, "more range", "more ranges");
  }
  return out;
}

std::string_view severity_of(std::string_view kind) {
  if (kind == "sequence_gap" || kind == "duplicate_index") {
    return "high";
  }
  if (kind == "time_far_before_stored" || kind == "too_many_fields") {
    return "low";
  }
  return "medium";
}

std::size_t kind_rank(std::string_view kind) {
  return static_cast<std::size_t>(std::find(k_finding_kinds.begin(), k_finding_kinds.end(), kind)
                                  - k_finding_kinds.begin());
}

// True if someone had an event on a day strictly between the days of `from` and `to`.
bool others_active_between(const Report& report, Instant from, Instant to) {
  const auto it = report.events_per_day.upper_bound(exporting::day_of(from));
  return it != report.events_per_day.end() && it->first < exporting::day_of(to);
}

std::string days_text(Instant duration) {
  const double days = static_cast<double>(duration) / exporting::k_microseconds_per_day;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", days);
  return text;
}

} // namespace

std::optional<std::uint64_t> sequence_index(std::string_view raw) {
  model::CompactReader top(raw);
  std::string_view key;
  std::string_view value;
  std::string_view base;
  std::string_view object;
  while (top.next(key, value)) {
    if (base.empty() && model::string_equals(key, "base")) {
      base = value;
    } else if (object.empty() && model::string_equals(key, "object")) {
      object = value;
    }
  }
  for (const std::string_view holder : {base, object}) {
    if (holder.empty() || holder[0] != '{') {
      continue;
    }
    model::CompactReader members(holder);
    while (members.next(key, value)) {
      if (!model::string_equals(key, "index")) {
        continue;
      }
      std::uint64_t index = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), index);
      const bool leading_zero = value.size() > 1 && value[0] == '0';
      if (error == std::errc() && end == value.data() + value.size() && !leading_zero
          && index <= k_max_index) {
        return index;
      }
      return std::nullopt; // an index that is no such integer: not a sequence number
    }
  }
  return std::nullopt;
}

double share(std::uint64_t missing, std::uint64_t events) {
  return events == 0 ? 0.0 : static_cast<double>(missing) / static_cast<double>(events);
}

DaySpan activity_span(const Report& report) {
  if (report.events_per_day.empty()) {
    return {};
  }
  const std::int64_t first = report.events_per_day.begin()->first;
  const std::int64_t last = report.events_per_day.rbegin()->first;
  const auto all = static_cast<std::uint64_t>(last - first) + 1;
  const std::size_t days = all > report.limits.max_activity_days ? report.limits.max_activity_days
                                                                 : static_cast<std::size_t>(all);
  return {last - static_cast<std::int64_t>(days) + 1, days};
}

Accumulator::Accumulator(Limits limits) {
  m_report.limits = limits;
}

EventType* Accumulator::type_of(const std::string& name) {
  const auto found = m_type_index.find(name);
  if (found != m_type_index.end()) {
    return &m_report.event_types[found->second];
  }
  if (m_report.event_types.size() == m_report.limits.max_event_types) {
    return nullptr;
  }
  m_type_index.emplace(name, m_report.event_types.size());
  m_report.event_types.push_back(EventType{});
  m_report.event_types.back().name = name;
  return &m_report.event_types.back();
}

void Accumulator::count_paths(EventType& type, const model::Event& event) {
  const std::uint64_t serial = m_report.events;
  exporting::visit_data_paths(event.raw, [&](const std::string& path, exporting::Cell::Kind kind) {
    auto found = type.paths.find(path);
    if (found == type.paths.end()) {
      if (type.paths.size() == m_report.limits.max_paths_per_type
          || m_report.paths_counted == m_report.limits.max_paths) {
        type.paths_truncated = true;
        return;
      }
      found = type.paths.emplace(path, PathCount{}).first;
      ++m_report.paths_counted;
    }
    PathCount& count = found->second;
    if (count.last_seen == serial) {
      return; // a key repeated in one object: one event
    }
    count.last_seen = serial;
    if (kind != exporting::Cell::Kind::empty) {
      ++count.present;
    }
  });
}

void Accumulator::count_index(Participant& participant, const model::Event& event) {
  const auto index = sequence_index(event.raw);
  if (!index) {
    ++participant.events_without_index;
    return;
  }
  if (!participant.sequence_checked) {
    return;
  }
  const std::size_t before = participant.indexes.intervals();
  if (!participant.indexes.add(*index)) {
    ++participant.duplicate_indexes;
    return;
  }
  const std::size_t after = participant.indexes.intervals();
  m_report.intervals = m_report.intervals + after - before;
  if (m_report.intervals > m_report.limits.max_intervals) {
    m_report.intervals -= after;
    participant.indexes.clear();
    participant.sequence_checked = false;
    ++m_report.unchecked_participants;
  }
}

void Accumulator::add(const model::Event& event) {
  ++m_report.events; // also this event's number in the pass, from 1
  const auto at = event_time(event);
  Participant& participant = m_report.participants[event.user_id];
  ++participant.events;
  if (at) {
    widen(m_report.first, m_report.last, *at);
    ++m_report.events_per_day[exporting::day_of(*at)];
    count_day(participant.days, exporting::day_of(*at));
    if (participant.last && *at > *participant.last) {
      const Instant step = *at - *participant.last;
      if (!participant.longest_silence || step > *participant.longest_silence) {
        participant.longest_silence = step;
        participant.silence_from = *participant.last;
        participant.silence_to = *at;
      }
    }
    widen(participant.first, participant.last, *at);
  } else {
    ++m_report.untimed;
  }
  count_index(participant, event);
  if (event.user_id == "unknown") {
    ++m_report.unknown_user_events;
    keep_example(m_report.unknown_user_examples, m_report.limits.max_examples, event.id);
  }
  if (event.timestamp && event.stored_timestamp) {
    const auto happened = exporting::parse_instant(*event.timestamp);
    const auto stored = exporting::parse_instant(*event.stored_timestamp);
    if (happened && stored && *happened > *stored) {
      ++m_report.time_after_stored;
      keep_example(m_report.time_after_examples, m_report.limits.max_examples, event.id);
    } else if (happened && stored && *stored - *happened > m_report.limits.far_before) {
      ++m_report.far_before_stored;
      keep_example(m_report.far_before_examples, m_report.limits.max_examples, event.id);
    }
  }

  EventType* type = type_of(event.event_type);
  if (!type) {
    ++m_report.other_type_events;
    return;
  }
  ++type->events;
  ++participant.events_by_type[static_cast<std::size_t>(type - m_report.event_types.data())];
  if (at) {
    widen(type->first, type->last, *at);
  }
  const std::array<bool, k_normalised_fields.size()> missing = {event.id.empty(),
                                                                event.user_id == "unknown",
                                                                event.event_type == "unknown",
                                                                !event.element_id,
                                                                !event.timestamp,
                                                                !event.stored_timestamp,
                                                                !event.page_url};
  for (std::size_t i = 0; i < missing.size(); ++i) {
    type->fields_missing[i] += missing[i] ? 1 : 0;
  }
  count_paths(*type, event);
}

std::size_t Accumulator::memory_estimate() const {
  // Per container element, about what libstdc++ allocates for it (node, key, value).
  constexpr std::size_t k_map_node = 48;
  constexpr std::size_t k_hash_node = 64;
  std::size_t bytes = m_report.events_per_day.size() * (k_map_node + 16);
  for (const auto& [id, participant] : m_report.participants) {
    bytes += k_map_node + sizeof(Participant) + id.capacity();
    bytes += participant.days.capacity() * sizeof(DayCount);
    bytes += participant.events_by_type.size() * (k_map_node + 16);
    bytes += participant.indexes.intervals() * (k_map_node + 16);
  }
  for (const auto& type : m_report.event_types) {
    bytes += sizeof(EventType) + type.name.capacity() + k_hash_node;
    for (const auto& [path, count] : type.paths) {
      bytes += k_hash_node + path.capacity() + sizeof(PathCount);
    }
  }
  return bytes;
}

Report Accumulator::finish() {
  Report& r = m_report;
  const Limits& limits = r.limits;
  const Instant silence =
      static_cast<Instant>(limits.silence_days) * exporting::k_microseconds_per_day;
  auto add = [&r](std::string_view kind, std::string message) -> Finding& {
    Finding finding;
    finding.kind = kind;
    finding.severity = severity_of(kind);
    finding.message = std::move(message);
    r.findings.push_back(std::move(finding));
    return r.findings.back();
  };

  for (const auto& [id, p] : r.participants) {
    const std::string who = "participant " + quoted(id);
    if (p.indexes.missing() > 0) {
      const auto span = *p.indexes.span();
      Finding& f = add("sequence_gap",
                       who + " is missing " + plural(p.indexes.missing(), "event", "events")
                           + " of their own sequence (indexes " + ranges_text(p.indexes, 5)
                           + "; seen " + std::to_string(span.first) + " to "
                           + std::to_string(span.last) + "): lost before or on the server");
      f.subject = id;
      f.count = p.indexes.missing();
    }
    if (p.duplicate_indexes > 0) {
      Finding& f = add("duplicate_index",
                       who + " has " + plural(p.duplicate_indexes, "event", "events")
                           + " whose index was already seen: the same event stored twice under "
                             "different ids, or a counter that restarted");
      f.subject = id;
      f.count = p.duplicate_indexes;
    }
    if (p.last && r.last && *r.last - *p.last > silence) {
      Finding& f =
          add("silent_participant",
              who + " has sent nothing for " + days_text(*r.last - *p.last) + " days, since "
                  + exporting::format_instant(*p.last) + ", while others were active until "
                  + exporting::format_instant(*r.last));
      f.subject = id;
      f.from = p.last;
      f.to = r.last;
      f.count = static_cast<std::uint64_t>((*r.last - *p.last) / exporting::k_microseconds_per_day);
    } else if (p.longest_silence && *p.longest_silence > silence
               && others_active_between(r, p.silence_from, p.silence_to)) {
      Finding& f =
          add("silent_participant",
              who + " was silent for " + days_text(*p.longest_silence) + " days, from "
                  + exporting::format_instant(p.silence_from) + " to "
                  + exporting::format_instant(p.silence_to) + ", while others were active");
      f.subject = id;
      f.from = p.silence_from;
      f.to = p.silence_to;
      f.count = static_cast<std::uint64_t>(*p.longest_silence / exporting::k_microseconds_per_day);
    }
  }
  if (r.unknown_user_events > 0) {
    Finding& f = add("unknown_user",
                     plural(r.unknown_user_events, "event has", "events have")
                         + " no user id (counted as the participant \"unknown\")");
    f.count = r.unknown_user_events;
    f.examples = r.unknown_user_examples;
  }
  for (const auto& type : r.event_types) {
    if (type.last && r.last && *r.last - *type.last > silence) {
      Finding& f =
          add("stopped_event_type",
              "event type " + quoted(type.name) + " stopped arriving: the last one is from "
                  + exporting::format_instant(*type.last) + ", " + days_text(*r.last - *type.last)
                  + " days before the study's last event");
      f.subject = type.name;
      f.from = type.last;
      f.to = r.last;
      f.count =
          static_cast<std::uint64_t>((*r.last - *type.last) / exporting::k_microseconds_per_day);
    }
    if (type.paths_truncated) {
      Finding& f = add("too_many_fields",
                       "event type " + quoted(type.name)
                           + " has more distinct data fields than the report counts ("
                           + std::to_string(type.paths.size())
                           + " counted): missing_fields lists only those");
      f.subject = type.name;
      f.count = type.paths.size();
    }
  }
  if (r.time_after_stored > 0) {
    Finding& f = add("time_after_stored",
                     plural(r.time_after_stored, "event has", "events have")
                         + " a timestamp after their stored_timestamp: the device's clock runs "
                           "ahead of the server's");
    f.count = r.time_after_stored;
    f.examples = r.time_after_examples;
  }
  if (r.far_before_stored > 0) {
    Finding& f = add("time_far_before_stored",
                     plural(r.far_before_stored, "event was", "events were") + " stored more than "
                         + std::to_string(limits.far_before / 3'600'000'000)
                         + " hours after their timestamp: sent late, or the device's clock is "
                           "behind");
    f.count = r.far_before_stored;
    f.examples = r.far_before_examples;
  }
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const Finding& a, const Finding& b) {
    return kind_rank(a.kind) < kind_rank(b.kind);
  });

  r.notes.push_back("times are each event's timestamp (the participant's clock), or its "
                    "stored_timestamp when it has none that reads as a time; days are UTC dates");
  if (r.untimed > 0) {
    r.notes.push_back(plural(r.untimed, "event has", "events have")
                      + " no readable time: counted, but on no day");
  }
  if (r.other_type_events > 0) {
    r.notes.push_back(plural(r.other_type_events, "event is", "events are") + " of more than "
                      + std::to_string(limits.max_event_types)
                      + " distinct event types: counted, but not by type");
  }
  if (r.unchecked_participants > 0) {
    r.notes.push_back(plural(r.unchecked_participants, "participant's", "participants'")
                      + " indexes were too fragmented to check for gaps (more than "
                      + std::to_string(limits.max_intervals)
                      + " runs in all): their indexes are probably not a per-participant sequence");
  }
  const DaySpan span = activity_span(r);
  if (!r.events_per_day.empty()) {
    const auto all = r.events_per_day.rbegin()->first - r.events_per_day.begin()->first + 1;
    if (static_cast<std::uint64_t>(all) > span.days) {
      r.notes.push_back("the activity matrix shows the last " + std::to_string(span.days) + " of "
                        + std::to_string(all) + " days");
    }
  }
  return std::move(m_report);
}

} // namespace bdd::report
