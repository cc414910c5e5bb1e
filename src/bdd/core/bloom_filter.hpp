#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace bdd {

// A set of strings that answers "certainly absent" or "maybe present" in a fixed amount of
// memory, however many strings go in: membership tests against a large on-disk set can skip
// the disk for the strings that are certainly absent. False positives grow with the number of
// strings added (measured in 4 MiB: 1 in 30000 at a million strings, 1 in 3 at ten million);
// there are no false negatives.
class BloomFilter {
public:
  // A filter of `bytes` bytes (rounded down to a power of two, at least 64).
  explicit BloomFilter(std::size_t bytes);

  void add(std::string_view key);
  // False only if `key` was never added.
  bool maybe_contains(std::string_view key) const;

private:
  std::vector<std::uint64_t> m_words;
  std::uint64_t m_block_mask; // number of 512-bit blocks - 1
};

} // namespace bdd
