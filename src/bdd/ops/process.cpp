#include "process.hpp"

#include <bdd/tracking/sqlite_settings.hpp>

#include <csignal>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace bdd::ops {

void prepare_process() {
#if defined(__GLIBC__)
  // Two arenas are enough for a handful of threads (see the header).
  mallopt(M_ARENA_MAX, 2);
#endif
  tracking::disable_sqlite_memory_statistics();
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  sigaction(SIGXFSZ, &action, nullptr);
}

} // namespace bdd::ops
