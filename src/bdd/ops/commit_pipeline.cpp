#include "commit_pipeline.hpp"

#include <bdd/storage/reader.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <iterator>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bdd::ops {

namespace {

// Files the writing step remembers as it wrote them (see write_batch).
constexpr std::size_t k_files_remembered = 4096;

// Makes `into` the record of `into` followed by `next`, as if both were stored one after the
// other (State::finish_commit): ids, seams and quarantined items in order (a later seam at the
// same offset replaces an earlier one, a later item with the same id is ignored, as the state
// does), each file as the later one left it, the later cursor with the greater high water.
void merge_record(tracking::CommitRecord& into, tracking::CommitRecord&& next) {
  into.new_ids.insert(into.new_ids.end(),
                      std::make_move_iterator(next.new_ids.begin()),
                      std::make_move_iterator(next.new_ids.end()));
  into.new_digests.insert(into.new_digests.end(), next.new_digests.begin(), next.new_digests.end());
  if (next.forget_seams_from) {
    // Forgotten after `into`'s seams were stored: those at or after it go too.
    const std::uint64_t from = *next.forget_seams_from;
    std::erase_if(into.seams, [from](const tracking::Seam& seam) { return seam.offset >= from; });
    into.forget_seams_from = std::min(into.forget_seams_from.value_or(from), from);
  }
  into.seams.insert(into.seams.end(),
                    std::make_move_iterator(next.seams.begin()),
                    std::make_move_iterator(next.seams.end()));
  into.quarantined.insert(into.quarantined.end(),
                          std::make_move_iterator(next.quarantined.begin()),
                          std::make_move_iterator(next.quarantined.end()));
  // Reserved before the views below are taken: a reallocation moves the records, and a short
  // path lives inside its std::string (small-string optimisation), so its view would dangle.
  into.files.reserve(into.files.size() + next.files.size());
  std::unordered_map<std::string_view, std::size_t> position; // a deep layout has thousands
  position.reserve(into.files.size());
  for (std::size_t i = 0; i < into.files.size(); ++i) {
    position.emplace(into.files[i].path, i);
  }
  for (tracking::FileRecord& file : next.files) {
    if (const auto same = position.find(file.path); same != position.end()) {
      tracking::FileRecord& earlier = into.files[same->second]; // its path (the key) stays
      earlier.size = file.size;
      earlier.sha256 = std::move(file.sha256);
      earlier.midstate = std::move(file.midstate);
    } else {
      into.files.push_back(std::move(file));
    }
  }
  into.removed_files.insert(into.removed_files.end(),
                            std::make_move_iterator(next.removed_files.begin()),
                            std::make_move_iterator(next.removed_files.end()));
  const std::uint64_t high_water =
      std::max({into.cursor.high_water, into.cursor.offset, next.cursor.high_water});
  into.cursor = std::move(next.cursor);
  into.cursor.high_water = high_water;
  into.durable = into.durable || next.durable;
}

} // namespace

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
  std::shared_future<Result<Recorded>> earlier;
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
  // Also after a failure: these batches were written whole before it, and their record keeps
  // them through the roll-back that follows.
  if (m_unstored) {
    if (Result<Recorded> stored = store_unstored(); stored) {
      m_settled = stored->cursor;
    } else {
      note_failure(std::move(stored).error());
    }
    m_unstored_ids.clear();
  }
  return outcome();
}

Result<std::size_t> CommitPipeline::roll_back() {
  (void)wait(); // no commit may run while the files are rolled back; its failure is noted
  return roll_back_unfinished_commit(m_state, m_writer, m_options.remedy);
}

// One batch's thread: write it, say so, wait for the batch before to be recorded, record it.
Result<CommitPipeline::Recorded>
CommitPipeline::commit_batch(tracking::CommitRecord commit,
                             std::promise<Result<void>>& written,
                             const std::shared_future<Result<Recorded>>& earlier) {
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
    if (const Result<Recorded>& before = earlier.get(); !before) {
      return before.error(); // already noted; this batch stays unrecorded and is rolled back
    }
  }
  return record_batch(std::move(*files));
}

// The oldest batch in flight is recorded (or failed): once its record is stored, its cursor
// becomes the settled one; until then its ids are looked up here.
void CommitPipeline::settle_oldest() {
  InFlight& oldest = m_in_flight.front();
  const Result<Recorded>& recorded = oldest.recorded.get();
  if (!recorded) {
    note_failure(recorded.error());
  } else if (recorded->stored) {
    m_settled = recorded->cursor;
    m_unstored_ids.clear();
  } else {
    m_unstored_ids.push_back(std::move(oldest.ids));
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
    // The same files are those whose state records the hashing below starts from: read them
    // all at once (one read transaction per commit, not one per file).
    std::vector<std::string> paths;
    paths.reserve(files.size());
    for (const auto& file : files) {
      paths.push_back(file.path);
      m_from_state.emplace(file.path, std::nullopt);
    }
    BDD_TRY_ASSIGN(auto recorded, m_state.files_at(paths));
    for (auto& file : recorded) {
      std::string path = file.path;
      m_from_state.insert_or_assign(std::move(path), std::move(file));
    }
    BDD_TRY(m_state.begin_commit(files));
    m_journal_open = true;
    return ok();
  };
  // Hash what the writer wrote as it writes it, instead of reading it back afterwards.
  m_hashed.clear();
  m_from_state.clear();
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
  // Kept across batches (previous_file): the batches before may not be recorded yet. Bounded:
  // a file not found here is taken from the state, and hashed from its bytes if that is older.
  if (m_last_written.size() + commit.files.size() > k_files_remembered) {
    m_last_written.clear();
  }
  for (const auto& file : commit.files) {
    m_last_written.insert_or_assign(file.path, file);
  }
  return commit;
}

// The recording step: adds the batch's record to those not stored yet and stores them when
// they are k_batches_per_record or the batch is durable (see the header).
Result<CommitPipeline::Recorded> CommitPipeline::record_batch(tracking::CommitRecord commit) {
  // Digests pair with ids by position: records without one for each id are stored on their own.
  const bool aligned = commit.new_digests.size() == commit.new_ids.size();
  if (m_unstored && !(aligned && m_unstored->new_digests.size() == m_unstored->new_ids.size())) {
    BDD_TRY(store_unstored());
  }
  if (m_unstored) {
    merge_record(*m_unstored, std::move(commit));
  } else {
    m_unstored = std::move(commit);
  }
  ++m_unstored_batches;
  if (m_unstored_batches < k_batches_per_record && m_unstored->durable == false && aligned) {
    return Recorded{m_unstored->cursor, false};
  }
  return store_unstored();
}

// Stores the records not stored yet (under m_state_mutex) and, when one of them was durable,
// describes them. Forgets them whatever the outcome: a failed store is rolled back.
Result<CommitPipeline::Recorded> CommitPipeline::store_unstored() {
  tracking::CommitRecord commit = std::move(*m_unstored);
  m_unstored.reset();
  m_unstored_batches = 0;
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
  return Recorded{std::move(commit.cursor), true};
}

// A file as the last commit left it: as the batch before wrote it (its record may not be stored
// yet), else as the state records it (nullopt if it records none).
Result<std::optional<tracking::FileRecord>> CommitPipeline::previous_file(const std::string& path) {
  if (auto found = m_last_written.find(path); found != m_last_written.end()) {
    return std::optional<tracking::FileRecord>(found->second);
  }
  if (auto found = m_from_state.find(path); found != m_from_state.end()) {
    return found->second;
  }
  return state_file(path);
}

Result<std::optional<tracking::FileRecord>> CommitPipeline::state_file(const std::string& path) {
  const std::lock_guard lock(m_state_mutex);
  BDD_TRY_ASSIGN(auto found, m_state.files_at({path}));
  if (found.empty()) {
    return std::optional<tracking::FileRecord>();
  }
  return std::optional<tracking::FileRecord>(std::move(found.front()));
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
