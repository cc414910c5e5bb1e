#include "sha256.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BDD_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace bdd {

namespace {

// First 32 bits of the fractional parts of the cube roots of the first 64 primes (FIPS 180-4
// section 4.2.2).
constexpr std::array<std::uint32_t, 64> k_round_constants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// First 32 bits of the fractional parts of the square roots of the first 8 primes.
constexpr std::array<std::uint32_t, 8> k_initial_state = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr std::uint32_t rotr(std::uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

// The portable compression function, for one 64-byte block.
void compress_portable(std::array<std::uint32_t, 8>& state, const std::uint8_t* block) {
  std::array<std::uint32_t, 64> w{};
  for (std::size_t i = 0; i < 16; ++i) {
    w[i] = (std::uint32_t{block[4 * i]} << 24) | (std::uint32_t{block[4 * i + 1]} << 16)
           | (std::uint32_t{block[4 * i + 2]} << 8) | std::uint32_t{block[4 * i + 3]};
  }
  for (std::size_t i = 16; i < 64; ++i) {
    std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }

  std::uint32_t a = state[0];
  std::uint32_t b = state[1];
  std::uint32_t c = state[2];
  std::uint32_t d = state[3];
  std::uint32_t e = state[4];
  std::uint32_t f = state[5];
  std::uint32_t g = state[6];
  std::uint32_t h = state[7];
  for (std::size_t i = 0; i < 64; ++i) {
    std::uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    std::uint32_t choice = (e & f) ^ (~e & g);
    std::uint32_t t1 = h + s1 + choice + k_round_constants[i] + w[i];
    std::uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    std::uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
    std::uint32_t t2 = s0 + majority;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

#ifdef BDD_SHA256_X86
// The same compression with the SHA extensions (two rounds per instruction), several times
// faster than the portable code: the manifest hashes every byte bdd stores.
__attribute__((target("sha,sse4.1,ssse3"))) void compress_sha_ni(
    std::array<std::uint32_t, 8>& state, const std::uint8_t* blocks, std::size_t count) {
  // The instructions keep the state as ABEF and CDGH (A in the highest lane).
  __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state.data()));
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state.data() + 4));
  const __m128i badc = _mm_shuffle_epi32(abcd, 0xB1);
  const __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);
  __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);
  __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);
  // Message words are big endian.
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

  for (; count > 0; --count, blocks += 64) {
    const __m128i saved_abef = abef;
    const __m128i saved_cdgh = cdgh;
    // w[i % 4] holds message words 4i .. 4i+3 of group i.
    __m128i w[4];
#pragma GCC unroll 16
    for (int group = 0; group < 16; ++group) {
      __m128i& words = w[group % 4];
      if (group < 4) {
        words = _mm_shuffle_epi8(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks + 16 * group)), byte_swap);
      } else {
        // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time.
        const __m128i& previous = w[(group + 3) % 4];
        const __m128i sevens = _mm_alignr_epi8(previous, w[(group + 2) % 4], 4);
        words = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(words, w[(group + 1) % 4]), sevens), previous);
      }
      __m128i schedule = _mm_add_epi32(
          words, _mm_loadu_si128(reinterpret_cast<const __m128i*>(&k_round_constants[4 * group])));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, schedule);
      schedule = _mm_shuffle_epi32(schedule, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, schedule);
    }
    abef = _mm_add_epi32(abef, saved_abef);
    cdgh = _mm_add_epi32(cdgh, saved_cdgh);
  }

  const __m128i abef_reversed = _mm_shuffle_epi32(abef, 0x1B);
  const __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xB1);
  abcd = _mm_blend_epi16(abef_reversed, ghcd, 0xF0);
  efgh = _mm_alignr_epi8(ghcd, abef_reversed, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state.data()), abcd);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state.data() + 4), efgh);
}

bool cpu_has_sha_ni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) {
    return false;
  }
  const bool ssse3 = (ecx & (1U << 9)) != 0;
  const bool sse41 = (ecx & (1U << 19)) != 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) {
    return false;
  }
  const bool sha = (ebx & (1U << 29)) != 0;
  return ssse3 && sse41 && sha;
}
#endif

} // namespace

void Sha256::reset() {
  m_state = k_initial_state;
  m_block_used = 0;
  m_total_bytes = 0;
}

namespace {
#ifdef BDD_SHA256_X86
std::atomic<bool> g_use_sha_ni{cpu_has_sha_ni()};
#endif
} // namespace

bool Sha256::use_cpu_extensions(bool enable) {
#ifdef BDD_SHA256_X86
  const bool possible = enable && cpu_has_sha_ni();
  g_use_sha_ni.store(possible, std::memory_order_relaxed);
  return possible;
#else
  (void)enable;
  return false;
#endif
}

void Sha256::compress(const std::uint8_t* blocks, std::size_t count) {
#ifdef BDD_SHA256_X86
  if (g_use_sha_ni.load(std::memory_order_relaxed)) {
    compress_sha_ni(m_state, blocks, count);
    return;
  }
#endif
  for (; count > 0; --count, blocks += 64) {
    compress_portable(m_state, blocks);
  }
}

void Sha256::update(std::string_view data) {
  if (data.empty()) {
    return; // its data() may be null, which memcpy must not get even for 0 bytes
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t size = data.size();
  m_total_bytes += size;

  // Top up a partial block first; then hash whole blocks straight from the caller's buffer so
  // large inputs (file manifests) are not copied.
  if (m_block_used > 0) {
    std::size_t take = std::min(size, m_block.size() - m_block_used);
    std::memcpy(m_block.data() + m_block_used, bytes, take);
    m_block_used += take;
    bytes += take;
    size -= take;
    if (m_block_used < m_block.size()) {
      return;
    }
    compress(m_block.data(), 1);
    m_block_used = 0;
  }
  const std::size_t whole_blocks = size / m_block.size();
  if (whole_blocks > 0) {
    compress(bytes, whole_blocks);
    bytes += whole_blocks * m_block.size();
    size -= whole_blocks * m_block.size();
  }
  if (size > 0) {
    std::memcpy(m_block.data(), bytes, size);
    m_block_used = size;
  }
}

std::array<std::uint8_t, 32> Sha256::finish() {
  const std::uint64_t bit_length = m_total_bytes * 8;

  // Padding: a 1 bit, zeros up to 56 bytes mod 64, then the message length as 64-bit big endian.
  m_block[m_block_used++] = 0x80;
  if (m_block_used > 56) {
    std::memset(m_block.data() + m_block_used, 0, m_block.size() - m_block_used);
    compress(m_block.data(), 1);
    m_block_used = 0;
  }
  std::memset(m_block.data() + m_block_used, 0, 56 - m_block_used);
  for (std::size_t i = 0; i < 8; ++i) {
    m_block[56 + i] = static_cast<std::uint8_t>(bit_length >> (56 - 8 * i));
  }
  compress(m_block.data(), 1);

  std::array<std::uint8_t, 32> digest{};
  for (std::size_t i = 0; i < 8; ++i) {
    digest[4 * i] = static_cast<std::uint8_t>(m_state[i] >> 24);
    digest[4 * i + 1] = static_cast<std::uint8_t>(m_state[i] >> 16);
    digest[4 * i + 2] = static_cast<std::uint8_t>(m_state[i] >> 8);
    digest[4 * i + 3] = static_cast<std::uint8_t>(m_state[i]);
  }
  reset();
  return digest;
}

namespace {

std::string to_hex(const std::array<std::uint8_t, 32>& digest) {
  constexpr std::string_view k_hex = "0123456789abcdef";
  std::string out(digest.size() * 2, '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = k_hex[digest[i] >> 4];
    out[2 * i + 1] = k_hex[digest[i] & 0x0f];
  }
  return out;
}

} // namespace

std::string Sha256::finish_hex() {
  return to_hex(finish());
}

std::string Sha256::export_state() const {
  // Big endian: 8 chaining values, the 64-bit byte count, then the buffered bytes.
  std::string out;
  out.reserve(40 + m_block_used);
  auto put = [&out](std::uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
      out += static_cast<char>((value >> (8 * i)) & 0xff);
    }
  };
  for (std::uint32_t word : m_state) {
    put(word, 4);
  }
  put(m_total_bytes, 8);
  out.append(reinterpret_cast<const char*>(m_block.data()), m_block_used);
  return out;
}

bool Sha256::import_state(std::string_view state) {
  reset();
  if (state.size() < 40 || state.size() >= 40 + m_block.size()) {
    return false;
  }
  auto get = [&state](std::size_t at, int bytes) {
    std::uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) {
      value = (value << 8) | static_cast<std::uint8_t>(state[at + static_cast<std::size_t>(i)]);
    }
    return value;
  };
  const std::uint64_t total = get(32, 8);
  const std::size_t buffered = state.size() - 40;
  if (total % m_block.size() != buffered) {
    return false;
  }
  for (std::size_t i = 0; i < m_state.size(); ++i) {
    m_state[i] = static_cast<std::uint32_t>(get(4 * i, 4));
  }
  m_total_bytes = total;
  m_block_used = buffered;
  std::memcpy(m_block.data(), state.data() + 40, buffered);
  return true;
}

std::string sha256_hex(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.finish_hex();
}

std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message) {
  constexpr std::size_t k_block = 64;
  std::array<std::uint8_t, k_block> padded{};
  Sha256 hasher;
  if (key.size() > k_block) {
    hasher.update(key);
    const auto hashed = hasher.finish();
    std::copy(hashed.begin(), hashed.end(), padded.begin());
  } else {
    std::copy(key.begin(), key.end(), padded.begin());
  }
  std::array<char, k_block> pad{};
  auto with_pad = [&](std::uint8_t byte) {
    for (std::size_t i = 0; i < k_block; ++i) {
      pad[i] = static_cast<char>(padded[i] ^ byte);
    }
    return std::string_view(pad.data(), pad.size());
  };
  hasher.update(with_pad(0x36));
  hasher.update(message);
  const auto inner = hasher.finish();
  hasher.update(with_pad(0x5c));
  hasher.update(std::string_view(reinterpret_cast<const char*>(inner.data()), inner.size()));
  return hasher.finish();
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return to_hex(hmac_sha256(key, message));
}

} // namespace bdd
