#include "bloom_filter.hpp"

#include <algorithm>
#include <bit>
#include <functional>

namespace bdd {

namespace {

// Each key sets `k_probes` bits inside one 64-byte block (a cache line), chosen by the key's
// hash: a lookup costs one cache miss however many bits it tests, for slightly more false
// positives than bits spread over the whole array.
constexpr int k_probes = 6;
constexpr std::size_t k_block_words = 8; // 512 bits

// A second hash from the first (a 64-bit finaliser), sliced into the probes' bit positions.
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
  m_block_mask = words / k_block_words - 1;
}

void BloomFilter::add(std::string_view key) {
  const std::uint64_t hash = std::hash<std::string_view>{}(key);
  std::uint64_t* block = &m_words[(hash & m_block_mask) * k_block_words];
  std::uint64_t positions = mix(hash);
  for (int i = 0; i < k_probes; ++i, positions >>= 9) {
    const unsigned bit = positions & 511U;
    block[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
}

bool BloomFilter::maybe_contains(std::string_view key) const {
  const std::uint64_t hash = std::hash<std::string_view>{}(key);
  const std::uint64_t* block = &m_words[(hash & m_block_mask) * k_block_words];
  std::uint64_t positions = mix(hash);
  for (int i = 0; i < k_probes; ++i, positions >>= 9) {
    const unsigned bit = positions & 511U;
    if ((block[bit / 64] & (std::uint64_t{1} << (bit % 64))) == 0) {
      return false;
    }
  }
  return true;
}

} // namespace bdd
