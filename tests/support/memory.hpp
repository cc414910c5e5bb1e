#pragma once

// Peak memory of the test process, for tests that bound what the code under test holds.
// Header-only: unit tests use it too.

#include <sys/resource.h>

#include <cstddef>

namespace bdd::test {

// The peak resident set of this process so far, in bytes (getrusage).
inline std::size_t peak_rss_bytes() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;
}

// Whether the resident set follows what the code allocates. Not under AddressSanitizer
// (scripts/sanitize.sh): it pads every block and keeps freed ones in quarantine, so a bound that
// holds in the plain build (which every suite run has) would measure ASan itself.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool k_rss_follows_allocations = false;
#else
inline constexpr bool k_rss_follows_allocations = true;
#endif

} // namespace bdd::test
