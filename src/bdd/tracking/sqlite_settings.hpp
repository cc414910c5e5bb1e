#pragma once

namespace bdd::tracking {

// SQLite counts every allocation under one process-wide mutex unless told not to, and Debian's
// build has no lookaside, so every small allocation is one: a download's two threads that use
// SQLite (the one storing events in the sqlite format, the one committing the state) would take
// turns on it. bdd never reads those statistics. Call before SQLite is first used; later it is a
// harmless no-op. Part of ops::prepare_process.
void disable_sqlite_memory_statistics();

} // namespace bdd::tracking
