#pragma once

namespace bdd::ops {

// Settle the process-wide settings a download depends on. Call once, first thing in `main` (or
// when a binding loads bdd), before any thread starts, SQLite is used or a file is written:
// - glibc keeps at most two malloc arenas: pages are parsed by the fetching threads and freed by
//   the consumer, and one arena per thread would hold several megabytes of freed memory twice;
// - SQLite's memory statistics are off (tracking::disable_sqlite_memory_statistics);
// - SIGXFSZ is ignored, so that a write past `ulimit -f` fails with EFBIG, which the writers
//   report as a storage error naming the file (exit code 8), instead of killing the process
//   mid-commit with no message.
void prepare_process();

} // namespace bdd::ops
