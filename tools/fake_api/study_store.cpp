#include "study_store.hpp"

#include "json_text.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <stdexcept>

namespace bdd::fake_api {

namespace {

std::invalid_argument unknown_study(std::string_view name) {
  return std::invalid_argument("fake_api: no study named \"" + std::string(name) + "\"");
}

void check_index(std::size_t index, std::size_t size) {
  if (index > size) {
    throw std::out_of_range("fake_api: index " + std::to_string(index) + " is past the end ("
                            + std::to_string(size) + " events)");
  }
}

} // namespace

StudyStore::Study& StudyStore::find(std::string_view name) {
  const auto it = m_studies.find(name);
  if (it == m_studies.end()) {
    throw unknown_study(name);
  }
  return it->second;
}

const StudyStore::Study& StudyStore::find(std::string_view name) const {
  const auto it = m_studies.find(name);
  if (it == m_studies.end()) {
    throw unknown_study(name);
  }
  return it->second;
}

void StudyStore::add(StudyOptions study) {
  const std::unique_lock lock(m_mutex);
  std::string name = study.name;
  if (m_studies.contains(name)) {
    throw std::invalid_argument("fake_api: study \"" + name + "\" already exists");
  }
  m_studies.emplace(std::move(name), Study{std::move(study), {}});
}

void StudyStore::set_key(std::string_view study, std::string key) {
  const std::unique_lock lock(m_mutex);
  find(study).options.key = std::move(key);
}

bool StudyStore::contains(std::string_view study) const {
  const std::shared_lock lock(m_mutex);
  return m_studies.find(study) != m_studies.end();
}

StudyStore::Access StudyStore::check_access(std::string_view study, std::string_view key) const {
  const std::shared_lock lock(m_mutex);
  const auto it = m_studies.find(study);
  if (it == m_studies.end()) {
    return Access::unknown_study;
  }
  if (it->second.options.key != key) {
    return it->second.options.forbidden_status_403 ? Access::wrong_key_forbidden
                                                   : Access::wrong_key;
  }
  return Access::granted;
}

std::optional<StudyStore::Page> StudyStore::render_page(std::string_view study,
                                                        std::uint64_t offset,
                                                        std::size_t limit,
                                                        bool include_total) const {
  const std::shared_lock lock(m_mutex);
  const auto it = m_studies.find(study);
  if (it == m_studies.end()) {
    return std::nullopt;
  }
  const auto& events = it->second.events;
  const std::size_t first =
      offset < events.size() ? static_cast<std::size_t>(offset) : events.size();
  const std::size_t last = first + std::min(limit, events.size() - first);

  // Size the body exactly first: one allocation, then plain copies, is what lets a single
  // thread serve pages at memory speed.
  std::size_t size = 64;
  for (std::size_t i = first; i < last; ++i) {
    size += events[i].size() + 1;
  }
  Page page;
  page.event_count = last - first;
  page.body.reserve(size);
  page.body += "{\"events\":[";
  for (std::size_t i = first; i < last; ++i) {
    if (i != first) {
      page.body += ',';
    }
    page.body += events[i];
  }
  page.body += ']';
  if (include_total) {
    page.body += ",\"total\":";
    append_uint(page.body, events.size());
  }
  // Keys the spec does not mention: clients must ignore them.
  page.body += ",\"offset\":";
  append_uint(page.body, offset);
  page.body += ",\"limit\":";
  append_uint(page.body, limit);
  page.body += '}';
  return page;
}

GeneratorOptions StudyStore::claim_generation(std::string_view study, GeneratorOptions options) {
  const std::unique_lock lock(m_mutex);
  Study& target = find(study);
  options.start_index = target.next_sequence;
  options.start_time_ms = target.next_time_ms;
  target.next_sequence += options.count;
  target.next_time_ms = generated_end_time_ms(options);
  return options;
}

void StudyStore::append(std::string_view study, std::vector<std::string> events) {
  const std::unique_lock lock(m_mutex);
  auto& target = find(study).events;
  target.insert(
      target.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
}

void StudyStore::insert(std::string_view study,
                        std::size_t index,
                        std::vector<std::string> events) {
  const std::unique_lock lock(m_mutex);
  auto& target = find(study).events;
  check_index(index, target.size());
  target.insert(target.begin() + static_cast<std::ptrdiff_t>(index),
                std::make_move_iterator(events.begin()),
                std::make_move_iterator(events.end()));
}

void StudyStore::remove(std::string_view study, std::size_t index, std::size_t count) {
  const std::unique_lock lock(m_mutex);
  auto& target = find(study).events;
  check_index(index, target.size());
  const auto first = target.begin() + static_cast<std::ptrdiff_t>(index);
  const auto removed = static_cast<std::ptrdiff_t>(std::min(count, target.size() - index));
  target.erase(first, first + removed);
}

void StudyStore::swap_ranges(std::string_view study,
                             std::size_t first,
                             std::size_t first_count,
                             std::size_t second,
                             std::size_t second_count) {
  const std::unique_lock lock(m_mutex);
  auto& target = find(study).events;
  if (first > second) {
    std::swap(first, second);
    std::swap(first_count, second_count);
  }
  if (first + first_count > second || second > target.size()
      || second_count > target.size() - second) {
    throw std::out_of_range("fake_api: swap_ranges needs two disjoint ranges inside the study");
  }
  // A M B -> B M A in two rotations: bring B to the front (B A M), then move A behind M.
  const auto begin = target.begin();
  const auto a = begin + static_cast<std::ptrdiff_t>(first);
  const auto b = begin + static_cast<std::ptrdiff_t>(second);
  const auto end = b + static_cast<std::ptrdiff_t>(second_count);
  std::rotate(a, b, end);
  const auto moved_a = a + static_cast<std::ptrdiff_t>(second_count);
  std::rotate(moved_a, moved_a + static_cast<std::ptrdiff_t>(first_count), end);
}

void StudyStore::edit(std::string_view study,
                      const std::function<void(std::vector<std::string>&)>& edit) {
  const std::unique_lock lock(m_mutex);
  edit(find(study).events);
}

std::size_t StudyStore::total(std::string_view study) const {
  const std::shared_lock lock(m_mutex);
  return find(study).events.size();
}

std::vector<std::string> StudyStore::events(std::string_view study) const {
  const std::shared_lock lock(m_mutex);
  return find(study).events;
}

std::vector<std::string> StudyStore::names() const {
  const std::shared_lock lock(m_mutex);
  std::vector<std::string> names;
  names.reserve(m_studies.size());
  for (const auto& entry : m_studies) {
    names.push_back(entry.first);
  }
  return names;
}

} // namespace bdd::fake_api
