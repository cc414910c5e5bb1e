#include "bloom_filter.hpp"

#include <algorithm>
#include <bit>
#include <functional>

namespace bdd {

namespace {

// Bits set per key: four keeps false positives near their minimum for the densities bdd sees
// (up to a few bits per key) while costing only four cache misses.
constexpr int k_probes = 4;

// A second, independent-enough hash from the first (a 64-bit finaliser), so that the probes
// are h1 + i * h2 (Kirsch and Mitzenmacher) from one pass over the key.
std::uint64_t mix(std::uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdULL;
  value ^= value >> 33;
  value *= 0xc4ceb9fe1a85ec53ULL;
  value ^= value >> 33;
  return value;
}

} // namespace

BloomFilter::BloomFilter(std::size_t bytes) {
  const std::size_t words = std::bit_floor(std::max<std::size_t>(bytes, 64) / 8);
  m_words.assign(words, 0);
  m_bit_mask = words * 64 - 1;
}

void BloomFilter::add(std::string_view key) {
  const std::uint64_t first = std::hash<std::string_view>{}(key);
  const std::uint64_t step = mix(first) | 1;
  for (int i = 0; i < k_probes; ++i) {
    const std::uint64_t bit = (first + static_cast<std::uint64_t>(i) * step) & m_bit_mask;
    m_words[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
}

bool BloomFilter::maybe_contains(std::string_view key) const {
  const std::uint64_t first = std::hash<std::string_view>{}(key);
  const std::uint64_t step = mix(first) | 1;
  for (int i = 0; i < k_probes; ++i) {
    const std::uint64_t bit = (first + static_cast<std::uint64_t>(i) * step) & m_bit_mask;
    if ((m_words[bit / 64] & (std::uint64_t{1} << (bit % 64))) == 0) {
      return false;
    }
  }
  return true;
}

} // namespace bdd
