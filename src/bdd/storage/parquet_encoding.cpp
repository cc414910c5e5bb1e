#include <bdd/storage/parquet_encoding.hpp>

#include <algorithm>

namespace bdd::storage::parquet {

namespace {

void append_uleb128(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool read_uleb128(std::string_view bytes, std::size_t& pos, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 35; shift += 7) { // run headers are 32-bit numbers
    if (pos >= bytes.size()) {
      return false;
    }
    const auto byte = static_cast<std::uint8_t>(bytes[pos++]);
    value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      return value <= 0xFFFF'FFFFu;
    }
  }
  return false;
}

// Bit-packs `values` (a multiple of 8, or fewer at the end, padded with zeros) LSB first.
void append_bit_packed(std::string& out, std::span<const std::uint32_t> values, int bit_width) {
  const std::size_t groups = (values.size() + 7) / 8;
  const std::size_t start = out.size();
  out.resize(start + groups * static_cast<std::size_t>(bit_width), '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data() + start);
  std::size_t bit = 0;
  for (const std::uint32_t value : values) {
    for (int b = 0; b < bit_width; ++b, ++bit) {
      if ((value >> b) & 1U) {
        bytes[bit / 8] |= static_cast<unsigned char>(1U << (bit % 8));
      }
    }
  }
}

} // namespace

int bit_width_for(std::uint64_t count) {
  int width = 0;
  while (count > 1 && (std::uint64_t{1} << width) < count) {
    ++width;
  }
  return width;
}

void append_rle_hybrid(std::string& out, std::span<const std::uint32_t> values, int bit_width) {
  const std::size_t value_bytes = (static_cast<std::size_t>(bit_width) + 7) / 8;
  constexpr std::size_t k_max_literal_groups = 63; // a one-byte run header
  std::size_t i = 0;
  const std::size_t n = values.size();
  auto run_length = [&](std::size_t at) {
    std::size_t end = at + 1;
    while (end < n && values[end] == values[at]) {
      ++end;
    }
    return end - at;
  };
  while (i < n) {
    const std::size_t run = run_length(i);
    if (run >= 8 || bit_width == 0) {
      append_uleb128(out, static_cast<std::uint64_t>(run) << 1);
      for (std::size_t b = 0; b < value_bytes; ++b) {
        out.push_back(static_cast<char>(values[i] >> (8 * b)));
      }
      i += run;
      continue;
    }
    // Literal groups of 8 until a run of 8 starts at a group boundary (or the values end).
    const std::size_t start = i;
    std::size_t groups = 0;
    while (i < n && groups < k_max_literal_groups && (i == start || run_length(i) < 8)) {
      i = std::min(n, i + 8);
      ++groups;
    }
    append_uleb128(out, (static_cast<std::uint64_t>(groups) << 1) | 1U);
    append_bit_packed(out, values.subspan(start, i - start), bit_width);
  }
}

bool decode_rle_hybrid(std::string_view bytes,
                       int bit_width,
                       std::size_t count,
                       std::uint64_t limit,
                       std::vector<std::uint32_t>& out) {
  out.clear();
  if (bit_width < 0 || bit_width > 32) {
    return false;
  }
  out.reserve(count);
  const std::size_t value_bytes = (static_cast<std::size_t>(bit_width) + 7) / 8;
  std::size_t pos = 0;
  while (out.size() < count) {
    std::uint64_t header = 0;
    if (!read_uleb128(bytes, pos, header)) {
      return false;
    }
    const std::size_t wanted = count - out.size();
    if ((header & 1U) == 0) {
      const std::uint64_t run = header >> 1;
      if (run == 0 || run > wanted || bytes.size() - pos < value_bytes) {
        return false;
      }
      std::uint64_t value = 0;
      for (std::size_t b = 0; b < value_bytes; ++b) {
        value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[pos + b])) << (8 * b);
      }
      pos += value_bytes;
      if (value >= limit) {
        return false;
      }
      out.insert(out.end(), run, static_cast<std::uint32_t>(value));
      continue;
    }
    const std::uint64_t groups = header >> 1;
    const std::uint64_t packed = groups * 8;
    const std::uint64_t packed_bytes = groups * static_cast<std::uint64_t>(bit_width);
    if (groups == 0 || packed_bytes > bytes.size() - pos || packed >= wanted + 8) {
      return false;
    }
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const std::size_t take = std::min<std::uint64_t>(packed, wanted);
    std::size_t bit = 0;
    for (std::size_t v = 0; v < take; ++v) {
      std::uint64_t value = 0;
      for (int b = 0; b < bit_width; ++b, ++bit) {
        value |= static_cast<std::uint64_t>((data[bit / 8] >> (bit % 8)) & 1U) << b;
      }
      if (value >= limit) {
        return false;
      }
      out.push_back(static_cast<std::uint32_t>(value));
    }
    pos += packed_bytes;
  }
  return true;
}

} // namespace bdd::storage::parquet
