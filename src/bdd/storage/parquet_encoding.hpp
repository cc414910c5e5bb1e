#pragma once

// Parquet's value encodings that bdd uses (Encodings.md of apache/parquet-format): little-endian
// fixed-width numbers (PLAIN), and the RLE/bit-packed hybrid of definition levels and
// dictionary indexes.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::storage::parquet {

inline void append_u32_le(std::string& out, std::uint32_t value) {
  char bytes[4];
  for (int i = 0; i < 4; ++i) {
    bytes[i] = static_cast<char>(value >> (8 * i));
  }
  out.append(bytes, 4);
}

inline void append_u64_le(std::string& out, std::uint64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(value >> (8 * i));
  }
  out.append(bytes, 8);
}

// The little-endian number in the first 4 (8) bytes of `bytes`, which must hold them.
inline std::uint32_t load_u32_le(const char* bytes) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  }
  return value;
}

inline std::uint64_t load_u64_le(const char* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  }
  return value;
}

// The number of bits that hold every value below `count` (0 for count <= 1).
int bit_width_for(std::uint64_t count);

// `values` (each below 2^bit_width) in the RLE/bit-packed hybrid, appended to `out` (no length
// prefix): runs of 8 or more equal values as RLE runs, the rest bit-packed in groups of 8.
void append_rle_hybrid(std::string& out, std::span<const std::uint32_t> values, int bit_width);

// Decodes exactly `count` values of the hybrid in `bytes` into `out` (replaced). False when the
// runs need more bytes than `bytes` holds, a run reaches past `count` (more than a bit-packed
// group's padding), or a value is not below `limit`.
bool decode_rle_hybrid(std::string_view bytes,
                       int bit_width,
                       std::size_t count,
                       std::uint64_t limit,
                       std::vector<std::uint32_t>& out);

} // namespace bdd::storage::parquet
