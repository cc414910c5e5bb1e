#pragma once

#include <bdd/core/result.hpp>
#include <bdd/model/event.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::storage {

// One level of `storage.folder_structure`.
enum class Level { by_user_id, by_date, by_event_type };

// How the folders of `storage.partition_naming` are named: `plain` is the bare (escaped) value,
// `hive` is `<key>=<escaped value>` (`user_id=`, `date=`, `event_type=`), which DuckDB, Spark,
// Polars and pandas read as partition columns. See storage::folder_name.
enum class PartitionNaming { plain, hive };

struct WriterOptions {
  std::filesystem::path study_dir; // <data_directory>/<study>; exists before the writer is made
  std::string study_name;
  std::vector<Level> folder_structure; // outermost first; empty means one file for the study
  PartitionNaming naming = PartitionNaming::plain;
};

// A leaf file as it stands after a commit: its path relative to `study_dir` and its size in
// bytes. The download engine records these so that a crash can be rolled back.
struct FileExtent {
  std::string relative_path;
  std::uint64_t size = 0;
};

// Called by `Writer::commit` with the pre-commit extent of every file it is about to modify,
// before it modifies any. It must make that list durable (the rollback journal) and succeed, or
// the commit is abandoned.
using JournalFn = std::function<Result<void>(const std::vector<FileExtent>& before)>;

// Called by `Writer::commit`, on the thread that called it, for each file once this commit's
// bytes are written to it: `from` names the file and the offset the bytes start at, `pieces` are
// the bytes in order, valid only during the call. Lets the caller hash what was written without
// reading it back.
using WrittenFn =
    std::function<void(const FileExtent& from, const std::vector<std::string_view>& pieces)>;

// A destination for downloaded events in one format. Used from one thread, except that
// `prepare` may run on any thread and that, after `seal_batch`, one `commit` may run on another
// thread while this one goes on calling `write`.
//
// Crash safety works with the engine's journal: `commit()` first reports, through `journal`, the
// size of every file it will touch, then writes and fsyncs. If the process dies before the engine
// records the commit as done, the next run calls `rollback()` with those sizes and the files are
// exactly as after the previous commit.
class Writer {
public:
  virtual ~Writer() = default;

  // Fill `event.prepared` with the work `write` needs that depends on the event alone (its leaf
  // and its bytes in this format), so that `write` only appends them. Thread-safe, unlike the
  // rest of the writer: the engine calls it on the threads that fetch pages. Optional: `write`
  // prepares an event that was not. May release `event.raw` when the prepared bytes hold it
  // (the text formats do): a prepared event is for `write` only.
  virtual void prepare(model::Event& event) const = 0;

  // Queue `event` for the next commit. Events are written in the order given. The text formats
  // only buffer; sqlite inserts into a transaction that the commit ends. After a failed write
  // the batch may be lost: commit refuses, and the caller rolls back and closes.
  virtual Result<void> write(const model::Event& event) = 0;

  // The bytes this writer holds in memory for the events written since the last
  // `seal_batch`, which the engine bounds by committing.
  virtual std::uint64_t buffered_bytes() const = 0;

  // End the batch the next `commit` makes durable: events written from now on go into the one
  // after. The engine then commits on another thread while it goes on receiving and writing, so
  // the disk and the network work at the same time. Sealing again before that commit seals
  // nothing more: the events stay in the open batch. A writer whose batch cannot be committed while
  // the next one is written (sqlite: one connection, one transaction) makes `write` wait for that
  // commit, so a thread must not seal and then write without a commit running elsewhere.
  virtual void seal_batch() = 0;

  // Make the sealed batch durable, or every queued event if none is sealed. Returns the extent
  // of each file the commit changed, after the change. On failure files may hold part of the
  // batch; the caller rolls them back.
  virtual Result<std::vector<FileExtent>> commit(const JournalFn& journal,
                                                 const WrittenFn& written = {}) = 0;

  // The run is over and its last batch committed: do what is cheaper once at the end (sqlite
  // builds the indexes a first download deferred). Not called after a failure or an
  // interruption; the next run's writer completes the work when it opens.
  virtual Result<void> finish() { return ok(); }

  // Restore `file` to `extent.size` bytes as it was after a commit (size 0: remove the file).
  virtual Result<void> rollback(const FileExtent& extent) = 0;

  // Release open files. Queued events that were not committed are dropped.
  virtual Result<void> close() = 0;
};

// Create the writer for the format named `format` (core's format table; the writers are in
// backend.cpp). Fails with Errc::config for an unknown format, Errc::storage if the destination
// cannot be opened.
Result<std::unique_ptr<Writer>> make_writer(std::string_view format, const WriterOptions& options);

// The names `make_writer` accepts, in the order help texts list them.
std::vector<std::string_view> writer_formats();

// Parse a folder_structure level name ("by_user_id", ...). nullopt if unknown.
std::optional<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

// Parse a storage.partition_naming value ("plain", "hive"). nullopt if unknown.
std::optional<PartitionNaming> parse_partition_naming(std::string_view name);
std::string_view partition_naming_name(PartitionNaming naming);

} // namespace bdd::storage
