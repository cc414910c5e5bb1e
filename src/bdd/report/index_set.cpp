#include "index_set.hpp"

#include <iterator>

namespace bdd::report {

bool IndexSet::add(std::uint64_t index) {
  auto next = m_intervals.upper_bound(index); // the first interval starting after `index`
  const bool joins_next = next != m_intervals.end() && next->first == index + 1;
  if (next != m_intervals.begin()) {
    const auto previous = std::prev(next);
    if (previous->second >= index) {
      return false;
    }
    if (previous->second + 1 == index) {
      previous->second = joins_next ? next->second : index;
      if (joins_next) {
        m_intervals.erase(next);
      }
      ++m_distinct;
      return true;
    }
  }
  if (joins_next) {
    const std::uint64_t last = next->second;
    next = m_intervals.erase(next);
    m_intervals.emplace_hint(next, index, last);
  } else {
    m_intervals.emplace_hint(next, index, index);
  }
  ++m_distinct;
  return true;
}

std::optional<IndexRange> IndexSet::span() const {
  if (m_intervals.empty()) {
    return std::nullopt;
  }
  return IndexRange{m_intervals.begin()->first, m_intervals.rbegin()->second};
}

std::uint64_t IndexSet::missing() const {
  const auto range = span();
  return range ? range->count() - m_distinct : 0;
}

void IndexSet::for_each_gap(const std::function<void(const IndexRange&)>& visit) const {
  auto it = m_intervals.begin();
  if (it == m_intervals.end()) {
    return;
  }
  std::uint64_t previous_last = it->second;
  for (++it; it != m_intervals.end(); ++it) {
    visit(IndexRange{previous_last + 1, it->first - 1});
    previous_last = it->second;
  }
}

void IndexSet::clear() {
  m_intervals.clear();
  m_distinct = 0;
}

} // namespace bdd::report
