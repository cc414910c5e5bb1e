#pragma once

#include <bdd/core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bdd::tracking {

// A data file as recorded in the state: relative path (with '/'), bytes, and its manifest entry.
// The rollback journal (`pending()`, `begin_commit()`) uses only `path` and `size`.
struct FileRecord {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;   // hex SHA-256 of the committed file; "" if not hashed (sqlite, schema v1)
  std::string midstate; // `Sha256::export_state()` of the leading bytes no later commit changes
};

// Where the last commit left the study: enough to resume without re-downloading.
struct Cursor {
  std::uint64_t offset = 0;                  // server list positions consumed so far
  std::string last_id;                       // id of the event at position offset-1 ("" if none)
  std::uint64_t events_stored = 0;           // distinct events in the local files
  std::optional<std::uint64_t> remote_total; // the server's total at the last commit
  std::string newest_stored;                 // greatest stored_timestamp seen ("" if none)
  // The furthest position any run has read to: positions from here on were never read, so an
  // event already stored that the server lists there was moved (the cursor moves back below it
  // when a run reads part of the list again). Kept by finish_commit as the greatest offset seen.
  std::uint64_t high_water = 0;
};

// Where a page ended: the id of the event at position `offset - 1` when bdd read it. Seams are
// the checkpoints against which a later request shows whether the server's list shifted, and
// where it shifted (see ops/seams.hpp).
struct Seam {
  std::uint64_t offset = 0;
  std::string id;
};

// An item of a page that is not a usable event (not an object, invalid UTF-8, too deep, ...),
// kept verbatim so that nothing the server sent is silently lost.
struct QuarantinedItem {
  std::string id; // stable for the same bytes (see model::Event::unusable)
  std::uint64_t offset = 0;
  std::string reason;
  std::string raw;
};

// What one commit adds to the state, applied in a single transaction.
struct CommitRecord {
  Cursor cursor;                    // the new cursor
  std::vector<std::string> new_ids; // ids of the events this commit stored
  // Their content digests (model::content_digest), in the same order; may be empty (none known).
  std::vector<std::uint64_t> new_digests;
  std::vector<Seam> seams; // where the pages this commit consumed ended
  // Seams at or after this offset are forgotten first: the list was re-read from there.
  std::optional<std::uint64_t> forget_seams_from;
  std::vector<QuarantinedItem> quarantined;
  std::vector<FileRecord> files; // every file the commit changed: new size and hashes
  // Files the commit replaces (the part files a compaction merged): no longer counted, and
  // listed in `State::doomed` until they are deleted. In the same transaction as `files`.
  std::vector<std::string> removed_files;
  // Wait for the disk before returning. Otherwise, while the study is marked open, the record
  // may be lost to a power cut (the next run then rolls the files back to the one before).
  bool durable = false;
};

// The durable per-study download state: `<study_dir>/.bdd/state.sqlite` (SQLite, schema version
// in PRAGMA user_version). It holds the cursor, the id of every stored event (for
// de-duplication without keeping ids in memory), each data file's committed size, and the
// rollback journal of the commits in progress. Used from one thread at a time, except that with
// StateAccess::exclusive `lookup` (and `contains`, `end_reads`) may run on one thread while
// another runs any other member.
//
// Commit protocol, with `storage::Writer`:
//  1. `begin_commit(before)` makes the pre-commit sizes of the files about to change durable:
//     it marks the study open (the first time in a run) and journals the files `files()` does
//     not already record at that size (new ones, mostly), so that for most commits it writes
//     nothing;
//  2. the writer appends and fsyncs;
//  3. `finish_commit(record)` stores ids, cursor and sizes and clears the journal entries of
//     the record's files, atomically but without waiting for the disk: losing it to a power cut
//     is covered by the mark. The next commit may begin (1, 2) before this one finishes, since
//     files only grow: a file it changes is recorded or journaled at a size no later than now.
//  4. At the end of a run whose files match the state, `clear_pending()` removes the mark.
// A crash before 4 leaves the mark: the next run reads `pending()` (the journal plus every
// recorded file at its recorded size) and rolls the files back to those sizes, so the files
// match the cursor again and nothing is stored twice.
class State {
public:
  virtual ~State() = default;

  virtual Result<Cursor> cursor() = 0;
  // The sizes to roll the files back to after a run that did not end cleanly (empty after a
  // clean run).
  virtual Result<std::vector<FileRecord>> pending() = 0;
  virtual Result<void> begin_commit(const std::vector<FileRecord>& before) = 0;
  virtual Result<void> finish_commit(const CommitRecord& record) = 0;
  // Forget the journal and the open mark: the files match the state (rolled back, or a run
  // ended cleanly).
  virtual Result<void> clear_pending() = 0;
  // True if an event with `id` is stored.
  virtual Result<bool> contains(const std::string& id) = 0;
  // Whether an event with `id` is stored and, if it was stored with one, its content digest.
  struct Stored {
    bool found = false;
    std::optional<std::uint64_t> digest;
  };
  virtual Result<Stored> lookup(const std::string& id) = 0;
  // Ends the read transaction that lookups keep open (StateAccess::exclusive), so that the
  // write-ahead log can be checkpointed past it; the next lookup begins a new one. From the
  // thread that calls `lookup`.
  virtual void end_reads() {}
  // Every data file with its committed size and hashes, sorted by path.
  virtual Result<std::vector<FileRecord>> files() = 0;
  // The records of those of `paths` that the state has (in any order), read in one
  // transaction: a commit of a deep folder_structure asks for thousands of new files, and each
  // read of its own takes and releases the database's file locks.
  virtual Result<std::vector<FileRecord>> files_at(const std::vector<std::string>& paths) = 0;
  // The number of stored ids.
  virtual Result<std::uint64_t> id_count() = 0;
  // The seam with the lowest offset at or after `offset` and below `before`, if any.
  virtual Result<std::optional<Seam>> seam_in(std::uint64_t offset, std::uint64_t before) = 0;
  // True if the quarantine holds an item with `id`.
  virtual Result<bool> quarantined(const std::string& id) = 0;
  // Every quarantined item, by offset.
  virtual Result<std::vector<QuarantinedItem>> quarantine() = 0;
  // Forget every id, file, the journal and the cursor, in one transaction: `bdd download
  // --repair` then rebuilds them from what the files hold.
  virtual Result<void> reset() = 0;
  // Files a commit removed from the record (`CommitRecord::removed_files`) that may still be on
  // disk: nothing counts them, and the next run deletes them (tolerating files already gone)
  // before it looks at the study, then forgets them. Sorted. Kept by `reset`.
  virtual Result<std::vector<std::string>> doomed() = 0;
  virtual Result<void> forget_doomed(const std::vector<std::string>& paths) = 0;
  // When (Unix seconds) a walk of the whole study folder last found only files the state
  // describes (see ops/state_check.hpp); nullopt if never, or since a reset.
  virtual Result<std::optional<std::int64_t>> tree_checked_at() = 0;
  virtual Result<void> set_tree_checked_at(std::int64_t unix_seconds) = 0;
};

// How the state database is shared while open.
enum class StateAccess {
  // Other connections (verify's id index attaches the database) may read it too.
  shared,
  // For downloads, which may run a lookup per event and hold the study lock: lookups go through
  // a connection of their own that keeps one read transaction (one snapshot) until a commit of
  // this state makes it stale or `end_reads` ends it, so that a lookup takes no file lock and
  // never waits for a commit being recorded on another thread.
  exclusive,
};

// Open (creating if needed) the state of the study stored in `study_dir`, migrating an older
// schema. Fails with Errc::storage if the database cannot be opened or was written by a newer
// bdd.
Result<std::unique_ptr<State>> open_state(const std::filesystem::path& study_dir,
                                          StateAccess access = StateAccess::shared);

// The state database's path inside `study_dir`.
std::filesystem::path state_path(const std::filesystem::path& study_dir);

} // namespace bdd::tracking
