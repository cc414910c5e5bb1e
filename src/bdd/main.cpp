#include <bdd/cli/app.hpp>

#include <cstdlib> // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // Pages are parsed by the fetching threads and freed by the consumer. glibc gives each thread
  // an arena of its own, each of which keeps freed memory for reuse: with four fetching threads
  // that is several megabytes held twice. Two arenas are enough for a handful of threads.
  mallopt(M_ARENA_MAX, 2);
#endif
  return bdd::cli::run(argc, argv);
}
