#include "commit_pipeline.hpp"

#include <bdd/storage/reader.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <vector>

namespace bdd::ops {

Result<std::size_t> roll_back_unfinished_commit(tracking::State& state,
                                                storage::Writer& writer,
                                                const std::string& remedy) {
  BDD_TRY_ASSIGN(auto pending, state.pending());
  for (const auto& file : pending) {
    if (auto rolled_back = writer.rollback({file.path, file.size}); !rolled_back) {
      // A file shorter than recorded was edited or cut short: the same advice as any damage.
      return Error(rolled_back.error().code, rolled_back.error().message + "; " + remedy);
    }
  }
  BDD_TRY(state.clear_pending());
  return pending.size();
}

CommitPipeline::CommitPipeline(tracking::State& state,
                               storage::Writer& writer,
                               tracking::Cursor cursor,
                               Options options)
    : m_state(state),
      m_writer(writer),
      m_options(std::move(options)),
      m_settled(cursor),
      m_handed_off(std::move(cursor)) {}

CommitPipeline::~CommitPipeline() {
  for (const InFlight& batch : m_in_flight) {
    batch.recorded.wait();
  }
}

Result<void> CommitPipeline::make_room() {
  // In this order, the failure noted first is the one that happened first.
  while (m_in_flight.size() > 1) {
    settle_oldest();
  }
  if (!m_in_flight.empty() && m_in_flight.back().written.valid()) {
    if (Result<void> written = m_in_flight.back().written.get(); !written) {
      note_failure(std::move(written).error());
    }
  }
  return outcome();
}

void CommitPipeline::hand_off(tracking::CommitRecord commit, Ids ids) {
  m_handed_off = commit.cursor;
  const std::uint64_t bytes = m_writer.buffered_bytes(); // for the -v line below
  const std::size_t events = commit.new_ids.size();
  m_writer.seal_batch();
  std::promise<Result<void>> written;
  InFlight batch;
  batch.written = written.get_future();
  std::shared_future<Result<tracking::Cursor>> earlier;
  if (!m_in_flight.empty()) {
    earlier = m_in_flight.back().recorded;
  }
  batch.recorded =
      std::async(std::launch::async,
                 [this,
                  commit = std::move(commit),
                  written = std::move(written),
                  earlier = std::move(earlier),
                  bytes,
                  events]() mutable {
                   const auto start = std::chrono::steady_clock::now();
                   auto recorded = commit_batch(std::move(commit), written, earlier);
                   spdlog::debug("commit: {} event{}, {} bytes written and recorded in {} ms{}",
                                 events,
                                 events == 1 ? "" : "s",
                                 bytes,
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count(),
                                 recorded ? "" : " (failed)");
                   return recorded;
                 })
          .share();
  // Until the batch is recorded its ids are not in the state, but they are stored.
  batch.ids = std::move(ids);
  m_in_flight.push_back(std::move(batch));
}

Result<void> CommitPipeline::wait() {
  while (!m_in_flight.empty()) {
    settle_oldest();
  }
  return outcome();
}

Result<std::size_t> CommitPipeline::roll_back() {
  (void)wait(); // no commit may run while the files are rolled back; its failure is noted
  return roll_back_unfinished_commit(m_state, m_writer, m_options.remedy);
}

// One batch's thread: write it, say so, wait for the batch before to be recorded, record it.
Result<tracking::Cursor>
CommitPipeline::commit_batch(tracking::CommitRecord commit,
                             std::promise<Result<void>>& written,
                             const std::shared_future<Result<tracking::Cursor>>& earlier) {
  Result<tracking::CommitRecord> files = Error(Errc::internal, "commit not written");
  try {
    if (m_options.before_write) {
      m_options.before_write();
    }
    files = write_batch(std::move(commit));
  } catch (...) {
    written.set_exception(std::current_exception());
    throw;
  }
  if (!files) {
    written.set_value(files.error());
    return std::move(files).error();
  }
  written.set_value(ok());
  if (earlier.valid()) {
    if (const Result<tracking::Cursor>& before = earlier.get(); !before) {
      return before.error(); // already noted; this batch stays unrecorded and is rolled back
    }
  }
  return record_batch(std::move(*files));
}

// The oldest batch in flight is recorded (or failed): its cursor becomes the settled one.
void CommitPipeline::settle_oldest() {
  const Result<tracking::Cursor>& recorded = m_in_flight.front().recorded.get();
  if (recorded) {
    m_settled = *recorded;
  } else {
    note_failure(recorded.error());
  }
  m_in_flight.pop_front();
}

void CommitPipeline::note_failure(Error error) {
  if (!m_failure) {
    m_failure = std::move(error);
  }
}

Result<void> CommitPipeline::outcome() const {
  if (m_failure) {
    return *m_failure;
  }
  return ok();
}

// The writing step: uses the writer's sealed batch and, under m_state_mutex, the state; touches
// nothing the paging thread changes. Returns `commit` with its files.
Result<tracking::CommitRecord> CommitPipeline::write_batch(tracking::CommitRecord commit) {
  auto journal = [this](const std::vector<storage::FileExtent>& before) -> Result<void> {
    // A file the batch before changed is journaled already, whether its record is stored (the
    // recorded size) or not yet (that batch's own journal entry, or the recorded size before
    // it): skipping it spares waiting for the state while that record is stored.
    std::vector<tracking::FileRecord> files;
    for (const auto& extent : before) {
      if (m_last_written.count(extent.relative_path) == 0) {
        files.push_back({extent.relative_path, extent.size, {}, {}});
      }
    }
    if (files.empty() && m_journal_open) {
      return ok();
    }
    const std::lock_guard lock(m_state_mutex);
    BDD_TRY(m_state.begin_commit(files));
    m_journal_open = true;
    return ok();
  };
  // Hash what the writer wrote as it writes it, instead of reading it back afterwards.
  m_hashed.clear();
  auto written = [this](const storage::FileExtent& from,
                        const std::vector<std::string_view>& pieces) {
    auto previous = previous_file(from.relative_path);
    if (!previous) {
      return; // hashed_file() reads the file instead, and reports the error if it recurs
    }
    auto hash = tracking::extend_hash_in_memory(*previous ? (*previous)->midstate : "",
                                                from.size,
                                                pieces,
                                                storage::rewritten_tail(m_options.format).size());
    if (hash) {
      m_hashed.insert_or_assign(from.relative_path, std::move(*hash));
    }
  };
  BDD_TRY_ASSIGN(auto extents, m_writer.commit(journal, written));
  for (const auto& extent : extents) {
    BDD_TRY_ASSIGN(auto file, hashed_file(extent));
    commit.files.push_back(std::move(file));
  }
  m_last_written.clear();
  for (const auto& file : commit.files) {
    m_last_written.emplace(file.path, file);
  }
  return commit;
}

// The recording step: uses the state under m_state_mutex and, when the commit is durable, the
// description. Returns the cursor it recorded.
Result<tracking::Cursor> CommitPipeline::record_batch(tracking::CommitRecord commit) {
  {
    const std::lock_guard lock(m_state_mutex);
    BDD_TRY(m_state.finish_commit(commit));
  }
  // The commit is done whatever happens to `.metadata.json`, which is for people and status
  // (the state is what resumes): say why it is behind, and the end of the run tries again.
  if (commit.durable && m_options.describe) {
    if (auto described = m_options.describe(commit.cursor); !described) {
      spdlog::warn("{}", described.error().message);
    }
  }
  return std::move(commit.cursor);
}

// A file as the last commit left it: as the batch before wrote it (its record may not be stored
// yet), else as the state records it (nullopt if it records none).
Result<std::optional<tracking::FileRecord>> CommitPipeline::previous_file(const std::string& path) {
  if (auto found = m_last_written.find(path); found != m_last_written.end()) {
    return std::optional<tracking::FileRecord>(found->second);
  }
  return state_file(path);
}

Result<std::optional<tracking::FileRecord>> CommitPipeline::state_file(const std::string& path) {
  const std::lock_guard lock(m_state_mutex);
  return m_state.file(path);
}

// The manifest entry of a file the writer just committed: hashed from memory as it was written,
// or else by reading only its new bytes.
Result<tracking::FileRecord> CommitPipeline::hashed_file(const storage::FileExtent& extent) {
  if (auto found = m_hashed.find(extent.relative_path); found != m_hashed.end()) {
    return tracking::FileRecord{extent.relative_path,
                                extent.size,
                                std::move(found->second.sha256),
                                std::move(found->second.midstate)};
  }
  BDD_TRY_ASSIGN(auto previous, previous_file(extent.relative_path));
  BDD_TRY_ASSIGN(auto hash,
                 tracking::extend_file_hash(m_options.work_dir / extent.relative_path,
                                            previous ? previous->midstate : std::string(),
                                            extent.size,
                                            storage::rewritten_tail(m_options.format).size()));
  return tracking::FileRecord{
      extent.relative_path, extent.size, std::move(hash.sha256), std::move(hash.midstate)};
}

} // namespace bdd::ops
