#pragma once

#include <bdd/core/result.hpp>
#include <bdd/storage/writer.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

namespace bdd::storage {

// The "sqlite" format: one `<study_dir>/events.sqlite` per study (folder_structure does not
// apply), table `events` keyed by `id` with rows in server order, WAL mode, synchronous=FULL.
// Each batch is one SQLite transaction, opened by the first `write()` and ended by `commit()`
// (after `seal_batch()`, a `write()` waits for that commit to end the sealed transaction);
// re-inserting an id is ignored, so `commit()` journals no files, returns no extents, and
// `rollback()` does nothing. A failed write or commit loses the batch, and later commits fail
// until `close()`. A first download builds the query indexes in `finish()` (or, if it was
// interrupted, the next writer does on opening). Use through `make_writer`.
// The database (or its -wal or -shm file) being a symbolic link fails with Errc::storage: SQLite
// would write through it, outside the study.
//
// The number of rows is kept in table `bdd_event_count` (one row): each commit adds the rows it
// inserted, and a trigger subtracts every row deleted by hand, so `sqlite_event_count` is O(1)
// and a count below the state's id count shows a deletion. A database without that table (made
// by an older bdd) gets it, counted once, when a writer opens it.
Result<std::unique_ptr<Writer>> make_sqlite_writer(const WriterOptions& options);

// The rows of `<study_dir>/events.sqlite` as `bdd_event_count` says (counted, O(n), for a
// database an older bdd made); nullopt if there is no database. Writes nothing. Fails with
// Errc::storage if the database is a link or cannot be read.
Result<std::optional<std::uint64_t>> sqlite_event_count(const std::filesystem::path& study_dir);

} // namespace bdd::storage
