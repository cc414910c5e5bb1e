#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bdd {

// Incremental SHA-256 (FIPS 180-4). Feed bytes with `update()` in any number of pieces, then
// read the digest once with `finish()` or `finish_hex()`; either resets the object so it can
// hash a new message. Not thread-safe; cheap to construct.
class Sha256 {
public:
  Sha256() { reset(); }

  // Append `data` to the message.
  void update(std::string_view data);

  // The 32-byte digest of everything passed to `update()` since construction or the last
  // finish; then reset.
  std::array<std::uint8_t, 32> finish();

  // `finish()` as 64 lower-case hexadecimal digits.
  std::string finish_hex();

  // The number of bytes passed to `update()` since construction or the last finish.
  std::uint64_t size() const { return m_total_bytes; }

  // The midstate (chaining values, byte count and the bytes of the unfinished block) as an
  // opaque byte string of 40 to 103 bytes, so that hashing can resume later in another process
  // with `import_state()` without reading the message again.
  std::string export_state() const;

  // Resume from `export_state()`'s output. Returns false, leaving the object reset, if `state`
  // is not such a string.
  bool import_state(std::string_view state);

  // Whether blocks are hashed with the CPU's SHA extensions when it has them (the default) or
  // with portable code; returns whether the extensions are now in use. For tests, which check
  // that both give the same digests.
  static bool use_cpu_extensions(bool enable);

private:
  void reset();
  // Hash `count` whole 64-byte blocks into the chaining values.
  void compress(const std::uint8_t* blocks, std::size_t count);

  std::array<std::uint32_t, 8> m_state{};
  std::array<std::uint8_t, 64> m_block{};
  std::size_t m_block_used = 0;
  std::uint64_t m_total_bytes = 0;
};

// The SHA-256 of `data` as 64 lower-case hexadecimal digits.
std::string sha256_hex(std::string_view data);

// HMAC-SHA256 (RFC 2104) of `message` under `key` (any length: a key longer than the 64-byte
// block is hashed first, as the RFC says).
std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);

// `hmac_sha256` as 64 lower-case hexadecimal digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

} // namespace bdd
