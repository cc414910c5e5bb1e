#pragma once

// The expected output of `bdd export`, computed from the fake server's events independently of
// bdd's export code: each event normalised as bdd stores it, filtered here, sorted here by
// stored_timestamp then id. The generated times are all "YYYY-MM-DDTHH:MM:SS.mmmZ", so their
// text order is their time order.

#include <bdd/model/event.hpp>
#include <bdd/model/json_text.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace bdd::test {

inline std::vector<model::Event> server_events_normalised(const std::vector<std::string>& texts) {
  std::vector<model::Event> events;
  for (const auto& text : texts) {
    std::string compact;
    if (!model::append_minified_json(text, compact)) {
      continue;
    }
    events.push_back(model::normalise_compact(std::move(compact)));
  }
  return events;
}

inline std::vector<model::Event>
expected_export(std::vector<model::Event> events,
                const std::function<bool(const model::Event&)>& keep = {}) {
  if (keep) {
    std::erase_if(events, [&](const model::Event& e) { return !keep(e); });
  }
  std::sort(events.begin(), events.end(), [](const model::Event& a, const model::Event& b) {
    const std::string sa = a.stored_timestamp.value_or("\x7f");
    const std::string sb = b.stored_timestamp.value_or("\x7f");
    if (sa != sb) {
      return sa < sb;
    }
    if (model::display_id(a.id) != model::display_id(b.id)) {
      return model::display_id(a.id) < model::display_id(b.id);
    }
    return a.id < b.id;
  });
  return events;
}

// The jsonl export of `events`, in their order.
inline std::string as_jsonl(const std::vector<model::Event>& events, const std::string& study) {
  std::string out;
  for (const auto& event : events) {
    out += model::to_normalised_json(event, study);
    out += '\n';
  }
  return out;
}

} // namespace bdd::test
