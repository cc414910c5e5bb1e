#pragma once

// The per-user `index` values a report has seen, as merged intervals.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

namespace bdd::report {

// An inclusive range of indexes [first, last].
struct IndexRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;

  std::uint64_t count() const { return last - first + 1; }
  bool operator==(const IndexRange&) const = default;
};

// The distinct indexes seen so far, held as disjoint, non-adjacent intervals: events mostly come
// in index order, so a participant without gaps costs one interval whatever their events, and
// memory grows with the gaps, never with the events. Indexes are below 2^63.
class IndexSet {
public:
  // Adds `index`; false if it was already in the set (a duplicate).
  bool add(std::uint64_t index);

  std::size_t intervals() const { return m_intervals.size(); }
  std::uint64_t distinct() const { return m_distinct; }
  // The smallest and largest index seen; nullopt when empty.
  std::optional<IndexRange> span() const;
  // The indexes between the smallest and the largest that were not seen.
  std::uint64_t missing() const;
  // Every run of missing indexes, ascending.
  void for_each_gap(const std::function<void(const IndexRange&)>& visit) const;
  // Forgets everything (to release the memory of a set that grew too fragmented).
  void clear();

private:
  std::map<std::uint64_t, std::uint64_t> m_intervals; // first -> last
  std::uint64_t m_distinct = 0;
};

} // namespace bdd::report
