#pragma once

// The committing stage of a download: makes the batches the paging side hands it durable, in
// order, while the paging side goes on receiving the next one (the disk and the network then
// work at the same time).
//
// A commit has two steps: `write` journals, appends, fsyncs and hashes the files (the writer's
// sealed batch, Writer::commit), then `record` stores the ids, sizes, hashes and cursor in the
// state (State::finish_commit) and, when the commit is durable, describes it (`.metadata.json`).
// Each batch gets a thread that runs both; the steps of successive batches follow each other in
// order, so the files and the state grow in the server's order, but batch N+1 is written while
// batch N is recorded. At most two batches are in flight. A commit that failed is not tried
// again: its bytes may be partly in the files, and only `roll_back` (to the recorded sizes) makes
// the files and the state agree again.
//
// Records are stored for up to `k_batches_per_record` batches at once: the record step of a batch
// that is not durable adds it to the records not yet stored, and stores them all with the batch
// that makes them that many, with a durable one, or in `wait`. Inserting ids scattered over the
// state's index rewrites nearly the same pages whether a transaction adds 5,000 or 15,000 of
// them, so this divides what the state writes by about that factor. Files only grow and the
// journal holds their sizes before the first of those batches, so a crash before the store
// rolls them all back, as it rolls back one batch that was not recorded.
//
// Threads: every member function is for the one paging thread that owns the pipeline (the
// batches' threads use only what the pipeline gives them). The state (opened with
// tracking::StateAccess::exclusive) is shared with the batches' threads: the paging side reaches
// it only through `with_state`, which holds the state's mutex, or `lookup`, which needs none (the
// state's lookups read a snapshot of their own), except when no batch is in flight (after
// `wait`). The writer is shared as
// storage::Writer allows: the paging side writes the open batch while a batch's thread commits
// the sealed one (`hand_off` seals). `Options::describe` runs on a batch's thread, meanwhile.

#include <bdd/core/result.hpp>
#include <bdd/storage/writer.hpp>
#include <bdd/tracking/manifest.hpp>
#include <bdd/tracking/state.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bdd::ops {

// Undo what a run that did not end cleanly (a crash, a failed commit) left beyond the last
// commit (see tracking::State): the files the state journals are cut back to their recorded
// sizes, then the journal is cleared. A file that cannot be cut back (shorter than recorded:
// damaged) fails with `remedy` appended. Returns the number of files looked at. For when no
// commit runs (before a pipeline starts, or through CommitPipeline::roll_back).
Result<std::size_t> roll_back_unfinished_commit(tracking::State& state,
                                                storage::Writer& writer,
                                                const std::string& remedy);

class CommitPipeline {
public:
  // The ids of a batch with their content digests (model::content_digest).
  using Ids = std::unordered_map<std::string, std::uint64_t>;
  // Describes a durable commit's cursor (`.metadata.json`), on the batch's thread, once its
  // record is stored. A failure is logged, not a commit failure: the state is what resumes.
  using Describe = std::function<Result<void>(const tracking::Cursor&)>;

  struct Options {
    std::filesystem::path work_dir; // the writer's study_dir: where the files it commits are
    std::string format;             // the writer's (storage::rewritten_tail)
    Describe describe;              // may be empty
    std::string remedy;             // how to repair damaged files (roll_back_unfinished_commit)
    // For tests: called on a batch's thread before its write (a slow disk, say). May be empty.
    std::function<void()> before_write;
  };

  // `state` and `writer` outlive the pipeline; `cursor` is the state's, no batch handed off yet.
  CommitPipeline(tracking::State& state,
                 storage::Writer& writer,
                 tracking::Cursor cursor,
                 Options options);
  CommitPipeline(const CommitPipeline&) = delete;
  CommitPipeline& operator=(const CommitPipeline&) = delete;
  // Waits for the batches in flight (their threads use the pipeline); their outcome is dropped.
  ~CommitPipeline();

  // Before a hand-off: waits until the batch before the last is recorded (so that records do not
  // queue up) and the last one written (the writer holds one sealed batch). Returns the first
  // commit failure of the run: then nothing more may be handed off.
  Result<void> make_room();

  // Seals the writer's batch and commits it on a thread of its own, after every batch handed off
  // before. `commit.files` is filled by the write; `ids` are the batch's (its `new_ids`), which
  // `lookup` finds until the batch is recorded. Call after `make_room` succeeded.
  void hand_off(tracking::CommitRecord commit, Ids ids);

  // Waits until no batch is in flight. Returns the first commit failure of the run.
  Result<void> wait();

  // Waits, then rolls back what a failed commit left in the files (roll_back_unfinished_commit).
  Result<std::size_t> roll_back();

  // The cursor of the last batch recorded (the state's when none is).
  const tracking::Cursor& settled() const { return m_settled; }
  // The cursor of the last batch handed off (what the next batch extends).
  const tracking::Cursor& handed_off() const { return m_handed_off; }
  // The first commit that failed, as seen by the paging thread (make_room, wait).
  const std::optional<Error>& failure() const { return m_failure; }

  // Whether `id` is stored: by a batch in flight or whose record is not stored yet (with the
  // digest it was handed off with), else as the state says. Never waits for a batch being
  // recorded: a batch's ids stay here until its record is stored, and the state's lookups then
  // read a snapshot that holds them.
  Result<tracking::State::Stored> lookup(const std::string& id) {
    for (const InFlight& batch : m_in_flight) {
      if (const auto found = batch.ids.find(id); found != batch.ids.end()) {
        return tracking::State::Stored{true, found->second};
      }
    }
    for (const Ids& ids : m_unstored_ids) {
      if (const auto found = ids.find(id); found != ids.end()) {
        return tracking::State::Stored{true, found->second};
      }
    }
    return m_state.lookup(id);
  }

  // Ends the state's read snapshot (tracking::State::end_reads): call it when a burst of
  // lookups is over (after a page), so that no snapshot keeps the state's write-ahead log from
  // being checkpointed and restarted while the paging side waits for the network.
  void end_reads() { m_state.end_reads(); }

  // Runs `use(state)` under the state's mutex, for the paging thread while batches are in flight.
  template <typename Use>
  decltype(auto) with_state(Use&& use) {
    const std::lock_guard lock(m_state_mutex);
    return std::forward<Use>(use)(m_state);
  }

  // See the top of this file. No more: the ids of each batch not stored yet stay in memory
  // twice (here and in its record), about 1 MB a batch of 5,000, within the download's 64 MiB.
  static constexpr std::size_t k_batches_per_record = 3;

private:
  // What a batch's record step did: `stored` if its record (with those of the batches before
  // it not stored yet) is in the state now, with the cursor stored; else it waits for a later
  // batch's.
  struct Recorded {
    tracking::Cursor cursor;
    bool stored = false;
  };
  // A batch handed to its thread.
  struct InFlight {
    std::future<Result<void>> written;             // its files are written
    std::shared_future<Result<Recorded>> recorded; // its record step is done
    Ids ids;
  };

  Result<Recorded> commit_batch(tracking::CommitRecord commit,
                                std::promise<Result<void>>& written,
                                const std::shared_future<Result<Recorded>>& earlier);
  Result<tracking::CommitRecord> write_batch(tracking::CommitRecord commit);
  Result<Recorded> record_batch(tracking::CommitRecord commit);
  Result<Recorded> store_unstored();
  void settle_oldest();
  void note_failure(Error error);
  Result<void> outcome() const;
  Result<std::optional<tracking::FileRecord>> previous_file(const std::string& path);
  Result<std::optional<tracking::FileRecord>> state_file(const std::string& path);
  Result<tracking::FileRecord> hashed_file(const storage::FileExtent& extent);

  tracking::State& m_state;
  storage::Writer& m_writer;
  Options m_options;

  // Paging thread only.
  tracking::Cursor m_settled;
  tracking::Cursor m_handed_off;
  std::optional<Error> m_failure;
  std::deque<InFlight> m_in_flight; // oldest first
  std::vector<Ids> m_unstored_ids;  // of the batches settled whose record is not stored yet

  // The writing step only (one batch's thread at a time): the files the last written batch
  // changed, with their hashes; whether the state's journal is open for this run
  // (begin_commit() succeeded once); the hashes of the files the batch being written changed;
  // the state's records of the files it changes that the last batch did not.
  std::unordered_map<std::string, tracking::FileRecord> m_last_written;
  bool m_journal_open = false;
  std::unordered_map<std::string, tracking::FileHash> m_hashed;
  // The state's records (nullopt: none) of the files the batch being written changes that
  // m_last_written does not hold, read before the write (see write_batch's journal).
  std::unordered_map<std::string, std::optional<tracking::FileRecord>> m_from_state;

  // The record steps only (one batch's thread at a time, in order; the paging thread in `wait`
  // once none is in flight): the records of the batches not stored yet, as one, and how many.
  std::optional<tracking::CommitRecord> m_unstored;
  std::size_t m_unstored_batches = 0;

  // The state is used by the paging thread (lookup, with_state) and the batches' threads.
  std::mutex m_state_mutex;
};

} // namespace bdd::ops
