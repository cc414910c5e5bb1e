#pragma once

#include <bdd/storage/writer.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bdd::storage {

// The machinery the text formats (json, jsonl, csv) share: events are grouped into one leaf
// file per `leaf_directory`, and `commit()` journals, appends, fsyncs and reports extents as the
// `Writer` contract requires. A format only says how its bytes look. Internal to storage/.
//
// Files are opened per commit and closed again, so any number of leaves works with a handful of
// file descriptors. Only bytes at or past the journaled size change, except the last
// `file_tail().size()` bytes before it, which `rollback()` writes back.
class LeafFileWriter : public Writer {
public:
  void prepare(model::Event& event) const final;

  // Serialise `event` into the batch for its leaf (or copy its prepared bytes). Fails only after
  // `close()`.
  Result<void> write(const model::Event& event) final;
  // The batch written so far becomes the one `commit()` writes; `write()` starts another.
  void seal_batch() final;
  std::uint64_t buffered_bytes() const final { return m_pending.kept_bytes; }

  // Journal every leaf of the batch, then append to each and make it durable before returning:
  // with few leaves, fdatasync each and fsync the parent of every directory or file created;
  // with many (16 or more), one syncfs() of the study's file system (Linux) covers all of them,
  // and from 128 leaves up to four threads (one per core) create and append to the files.
  // Checks first (before journaling) that each existing leaf ends with `required_ending()`
  // (a leaf this writer committed and still of that size is trusted after a stat), so a damaged
  // file is reported and not appended to. On failure the batch stays queued (roll back, then
  // commit again or close). Errc::storage names the file.
  Result<std::vector<FileExtent>> commit(const JournalFn& journal,
                                         const WrittenFn& written = {}) final;

  // Truncate the leaf to `extent.size` and write `file_tail()` back over its last bytes; size 0
  // removes the file and any directories left empty. Refuses paths outside the study directory,
  // files of another format, and files shorter than `extent.size` (Errc::storage). Idempotent.
  Result<void> rollback(const FileExtent& extent) final;

  // Drop the queued batch. Safe to call twice.
  Result<void> close() final;

protected:
  // `extension` names the leaf files: "events.<extension>".
  LeafFileWriter(WriterOptions options, std::string_view extension);

  const WriterOptions& options() const { return m_options; }

  // Bytes that open a new leaf file (CSV header, JSON document head); `first` is the first event
  // going into it, so the head can describe the leaf.
  virtual std::string file_head(const model::Event& first) const = 0;

  // Bytes that close every leaf file and that the next commit overwrites (JSON's "\n]}\n").
  virtual std::string_view file_tail() const { return {}; }

  // Bytes every complete, non-empty leaf file ends with, tail included.
  virtual std::string_view required_ending() const = 0;

  // Append `event` as this format's bytes.
  virtual void append_event(std::string& out, const model::Event& event) const = 0;

  // Leading bytes of `append_event`'s output that are dropped for the first event of a new file
  // (JSON's separating comma).
  virtual std::size_t separator_size() const { return 0; }

private:
  struct PendingLeaf {
    std::string relative_path; // "<leaf dir>/events.<ext>", '/'-separated
    std::string head;          // used only if the file turns out to be new
    // This batch's events for the leaf, in order, as pieces of the batch's chunks (adjacent
    // events are one piece); never empty.
    std::vector<std::string_view> body;
  };

  // Events written and not yet committed. Their bytes go into large chunks that all leaves
  // share: with a deep folder_structure a leaf's share of a batch is often one or two events,
  // and a buffer per leaf would waste about as much as it holds.
  struct Batch {
    std::deque<std::string> chunks; // each filled within its capacity: `body` views stay valid
    // Chunks of a committed batch, to fill again: the memory is already mapped and warm, and
    // the allocator's free lists do not fragment between the two threads.
    std::vector<std::string> spare;
    std::vector<PendingLeaf> leaves;
    std::unordered_map<std::string, std::size_t> index; // leaf dir -> slot in `leaves`
    std::uint64_t kept_bytes = 0;

    // Copy `bytes` into the current chunk (a new one if they do not fit) and view them there.
    std::string_view keep(std::string_view bytes);
  };

  WriterOptions m_options;
  std::string m_file_name;
  Batch m_pending; // written since the last seal_batch()
  // The batch `commit()` writes: touched only by commit() (on the committing thread) once
  // sealed, never by write(), so the two can run at the same time.
  Batch m_sealed;
  bool m_is_sealed = false;
  std::string m_scratch; // an event that was not prepared, formatted
  // Leaf -> size after this writer's last successful commit of it; cleared by a failed commit
  // and by rollback(). Lets commit() skip re-reading the end of a leaf it wrote itself.
  std::unordered_map<std::string, std::uint64_t> m_known_sizes;
  bool m_closed = false;
};

} // namespace bdd::storage
