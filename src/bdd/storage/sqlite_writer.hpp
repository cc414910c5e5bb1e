#pragma once

#include <bdd/core/result.hpp>
#include <bdd/storage/writer.hpp>

#include <memory>

namespace bdd::storage {

// The "sqlite" format: one `<study_dir>/events.sqlite` per study (folder_structure does not
// apply), table `events` keyed by `id` with rows in server order, WAL mode, synchronous=FULL.
// Each batch is one SQLite transaction, opened by the first `write()` and ended by `commit()`
// (after `seal_batch()`, a `write()` waits for that commit to end the sealed transaction);
// re-inserting an id is ignored, so `commit()` journals no files, returns no extents, and
// `rollback()` does nothing. A failed write or commit loses the batch, and later commits fail
// until `close()`. A first download builds the query indexes in `finish()` (or, if it was
// interrupted, the next writer does on opening). Use through `make_writer`.
Result<std::unique_ptr<Writer>> make_sqlite_writer(const WriterOptions& options);

} // namespace bdd::storage
