#include "verify.hpp"

#include "connection.hpp"
#include "study_paths.hpp"

#include <bdd/core/file_lock.hpp>
#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/model/event.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/tracking/id_index.hpp>
#include <bdd/tracking/manifest.hpp>
#include <bdd/tracking/records.hpp>
#include <bdd/tracking/state.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;

// Findings listed one by one per kind; beyond that, one finding gives the count. Keeps the
// report (and memory) small when a whole study is damaged the same way.
constexpr std::size_t k_listed_per_kind = 50;

// An identity key as users see it (model::display_id): findings and messages never show the
// key's internal prefix.
std::string shown(std::string_view id) {
  return std::string(model::display_id(id));
}

std::string place(const tracking::IdPlace& where) {
  return where.file.empty() ? std::string("the server")
                            : where.file + (where.line ? ":" + std::to_string(where.line) : "");
}

Error interrupted() {
  return {Errc::interrupted, "verify was interrupted before it read every file (run it again)"};
}

// One data file to read: its path relative to the study folder, whether it is a leaf file
// (sizes and hashes are checked, else it is a database) and what the state records of it.
struct FileJob {
  std::string relative;
  bool leaf_file = true;
  std::optional<tracking::FileRecord> recorded;
};

// Ids read from a file, in file order, with their lines: one buffer for all, so that a batch
// costs a few allocations rather than one per id.
struct IdBatch {
  static constexpr std::size_t k_ids = 4096;
  static constexpr std::size_t k_bytes = std::size_t{1} << 20;

  std::string bytes;
  std::vector<std::size_t> ends;
  std::vector<std::uint64_t> lines;

  void add(std::string_view id, std::uint64_t line) {
    bytes += id;
    ends.push_back(bytes.size());
    lines.push_back(line);
  }
  std::string_view id(std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(bytes).substr(begin, ends[i] - begin);
  }
  bool full() const { return lines.size() >= k_ids || bytes.size() >= k_bytes; }
  bool empty() const { return lines.empty(); }
};

// What the worker found in one file besides its ids: the manifest's findings ("untracked",
// "size", "checksum") and where it stopped parsing.
struct FileOutcome {
  std::vector<Finding> manifest;
  std::optional<Finding> parse;
};

class FilePipeline;

// The batches of one file as the consuming thread takes them, then the worker's outcome.
class FileStream {
public:
  FileStream(FilePipeline& pipeline, std::size_t file) : m_pipeline(pipeline), m_file(file) {}
  // The next batch (valid until the next call), or nullptr once the file is read or the
  // pipeline stopped.
  const IdBatch* next();
  // After `next()` returned nullptr: what the worker found, or its error.
  Result<FileOutcome> outcome();

private:
  FilePipeline& m_pipeline;
  std::size_t m_file;
  IdBatch m_current;
};

// Reads, hashes and parses the data files on worker threads (one per core, two to eight; files
// claimed in order, at most `m_ring` at a time, each with at most `k_queued` batches waiting),
// while the calling thread consumes their ids file by file in order: the work of one big file
// is split between its worker and the consumer, and memory stays flat.
class FilePipeline {
public:
  FilePipeline(stdfs::path dir,
               std::string format,
               std::vector<FileJob> jobs,
               const std::atomic<bool>* stop)
      : m_dir(std::move(dir)),
        m_format(std::move(format)),
        m_jobs(std::move(jobs)),
        m_stop(stop),
        m_workers(std::clamp(std::thread::hardware_concurrency(), 2U, k_max_workers)),
        m_ring(m_workers + 1),
        m_slots(m_ring) {}

  ~FilePipeline() { stop_workers(); }
  FilePipeline(const FilePipeline&) = delete;
  FilePipeline& operator=(const FilePipeline&) = delete;

  // Calls `consume(job, stream)` for every file in order on this thread; stops at its first
  // error.
  template <typename Consume>
  Result<void> run(Consume&& consume) {
    const std::size_t workers = std::min(m_workers, m_jobs.size());
    for (std::size_t i = 0; i < workers; ++i) {
      m_threads.emplace_back([this] { work(); });
    }
    for (std::size_t i = 0; i < m_jobs.size(); ++i) {
      FileStream stream(*this, i);
      auto consumed = consume(m_jobs[i], stream);
      if (!consumed) {
        stop_workers();
        return consumed;
      }
      release(i);
    }
    stop_workers();
    return ok();
  }

private:
  friend class FileStream;
  static constexpr std::size_t k_queued = 4;
  // One consumer indexes what about two workers parse: more would only hold more memory.
  static constexpr unsigned k_max_workers = 8;

  struct Slot {
    std::size_t file = std::numeric_limits<std::size_t>::max();
    std::deque<IdBatch> batches;
    bool done = false;
    std::optional<Error> error;
    FileOutcome outcome;
  };

  Slot& slot_of(std::size_t file) { return m_slots[file % m_ring]; }

  void stop_workers() {
    {
      std::lock_guard lock(m_mutex);
      m_cancelled = true;
      m_cancelled_flag = true;
    }
    m_changed.notify_all();
    for (auto& thread : m_threads) {
      thread.join();
    }
    m_threads.clear();
  }

  bool stopping() const {
    return m_cancelled_flag.load(std::memory_order_relaxed) || (m_stop && m_stop->load());
  }

  // The consumer is done with `file`: its slot can take the file `m_ring` places on.
  void release(std::size_t file) {
    {
      std::lock_guard lock(m_mutex);
      slot_of(file) = Slot();
      m_released = file + 1;
    }
    m_changed.notify_all();
  }

  void work() {
    for (;;) {
      std::size_t file = 0;
      {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] {
          return m_cancelled || m_next >= m_jobs.size() || m_next < m_released + m_ring;
        });
        if (m_cancelled || m_next >= m_jobs.size()) {
          return;
        }
        file = m_next++;
        slot_of(file).file = file;
      }
      auto outcome = read_file(file);
      {
        std::lock_guard lock(m_mutex);
        Slot& slot = slot_of(file);
        slot.done = true;
        if (outcome) {
          slot.outcome = std::move(*outcome);
        } else {
          slot.error = std::move(outcome).error();
        }
      }
      m_changed.notify_all();
    }
  }

  // Hands `batch` to the consumer, waiting while `k_queued` wait already. False if the
  // pipeline stopped.
  bool push(std::size_t file, IdBatch&& batch) {
    {
      std::unique_lock lock(m_mutex);
      Slot& slot = slot_of(file);
      m_changed.wait(lock, [&] { return m_cancelled || slot.batches.size() < k_queued; });
      if (m_cancelled) {
        return false;
      }
      slot.batches.push_back(std::move(batch));
    }
    m_changed.notify_all();
    return true;
  }

  // On a worker: the file's size against the manifest, then every record, hashed as read when
  // the size matches.
  Result<FileOutcome> read_file(std::size_t file) {
    const FileJob& job = m_jobs[file];
    const stdfs::path path = m_dir / job.relative;
    FileOutcome out;
    storage::ReadOptions options;
    if (job.leaf_file && !job.recorded) {
      out.manifest.push_back(
          {"untracked", job.relative, 0, "", "a data file that no download recorded"});
    } else if (job.leaf_file) {
      const std::uint64_t size = fs::file_size_or_zero(path);
      if (size != job.recorded->size) {
        out.manifest.push_back({"size",
                                job.relative,
                                0,
                                "",
                                std::to_string(size) + " bytes instead of the "
                                    + std::to_string(job.recorded->size)
                                    + " committed (appended to, cut short or edited)"});
      } else {
        // Empty: recorded before bdd kept hashes; the next commit to it adds one.
        options.hash = !job.recorded->sha256.empty();
      }
    }
    auto reader = storage::open_reader(m_format, path, options);
    if (!reader && options.hash) {
      return std::move(reader).error(); // a file that cannot be hashed stops the check
    }
    if (!reader) {
      out.parse = Finding{"parse", job.relative, 0, "", reader.error().message};
      return out;
    }
    IdBatch batch;
    for (;;) {
      auto record = (*reader)->next();
      if (!record) {
        out.parse =
            Finding{"parse", job.relative, (*reader)->error_line(), "", record.error().message};
        break;
      }
      if (!*record) {
        break;
      }
      batch.add((*record)->id, (*record)->line);
      if (batch.full()) {
        if (stopping() || !push(file, std::move(batch))) {
          return interrupted();
        }
        batch = IdBatch();
      }
    }
    if (!batch.empty() && !push(file, std::move(batch))) {
      return interrupted();
    }
    if (options.hash) {
      BDD_TRY_ASSIGN(const std::string sha256, (*reader)->file_sha256());
      if (sha256 != job.recorded->sha256) {
        out.manifest.push_back({"checksum",
                                job.relative,
                                0,
                                "",
                                "SHA-256 " + sha256 + " instead of the committed "
                                    + job.recorded->sha256 + " (edited or corrupted on disk)"});
      }
    }
    return out;
  }

  const stdfs::path m_dir;
  const std::string m_format;
  const std::vector<FileJob> m_jobs;
  const std::atomic<bool>* m_stop;
  const std::size_t m_workers;
  const std::size_t m_ring;

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<Slot> m_slots;
  std::size_t m_next = 0;     // the next file to claim
  std::size_t m_released = 0; // files the consumer is done with
  bool m_cancelled = false;
  std::atomic<bool> m_cancelled_flag{false};
  std::vector<std::thread> m_threads;
};

const IdBatch* FileStream::next() {
  FilePipeline& p = m_pipeline;
  {
    std::unique_lock lock(p.m_mutex);
    FilePipeline::Slot& slot = p.slot_of(m_file);
    p.m_changed.wait(lock, [&] {
      return p.m_cancelled || (slot.file == m_file && (!slot.batches.empty() || slot.done));
    });
    if (p.m_cancelled || slot.batches.empty()) {
      return nullptr;
    }
    m_current = std::move(slot.batches.front());
    slot.batches.pop_front();
  }
  p.m_changed.notify_all();
  return &m_current;
}

Result<FileOutcome> FileStream::outcome() {
  FilePipeline& p = m_pipeline;
  std::lock_guard lock(p.m_mutex);
  FilePipeline::Slot& slot = p.slot_of(m_file);
  if (p.m_cancelled || slot.file != m_file || !slot.done) {
    return interrupted();
  }
  if (slot.error) {
    return std::move(*slot.error);
  }
  return std::move(slot.outcome);
}

class Verifier {
public:
  Verifier(const config::Config& config, const VerifyOptions& options, stdfs::path study_dir)
      : m_config(config),
        m_options(options),
        m_dir(std::move(study_dir)) {
    m_report.study_dir = m_dir;
  }

  Result<VerifyReport> run() {
    BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(m_dir));
    if (!metadata) {
      return Error(Errc::usage,
                   "no local data for study \"" + m_config.study_name + "\" in \"" + m_dir.string()
                       + "\" (run `bdd download " + m_config.study_name + "`)");
    }
    m_format = metadata->format;
    BDD_TRY_ASSIGN(m_state, tracking::open_state(m_dir));
    BDD_TRY_ASSIGN(auto pending, m_state->pending());
    if (!pending.empty()) {
      add({"unfinished_commit",
           "",
           0,
           "",
           "an interrupted download left an unfinished commit (" + std::to_string(pending.size())
               + " files to check; the next download cuts each back to its recorded size)"});
    }
    // Other verifies and exports may read the study at the same time (the lock is shared):
    // each verify keeps its indexes in a folder of its own.
    BDD_TRY_ASSIGN(auto scratch, tracking::ScratchFolder::create(m_dir / ".bdd", "verify"));
    m_scratch.emplace(std::move(scratch));
    // What a verify of a bdd before the shared lock left when killed (it held the lock alone,
    // so none of those runs now).
    for (const char* legacy : {"verify-ids.sqlite", "verify-remote.sqlite"}) {
      tracking::remove_id_index(m_dir / ".bdd" / legacy);
    }
    BDD_TRY_ASSIGN(m_ids, tracking::make_id_index(m_scratch->path() / "ids.sqlite"));
    BDD_TRY(check_files());
    BDD_TRY(check_counts(metadata->events_stored));
    BDD_TRY(check_quarantine());
    if (m_options.remote) {
      BDD_TRY(check_remote());
    }
    m_ids.reset();
    summarise_overflow();
    return std::move(m_report);
  }

private:
  void add(Finding finding) {
    if (list(finding.kind, finding.error)) {
      m_report.findings.push_back(std::move(finding));
    }
  }

  // Counts one finding of `kind`: whether it is to be listed (the first k_listed_per_kind).
  bool list(const std::string& kind, bool error) {
    std::size_t& count = m_per_kind[kind];
    if (++count <= k_listed_per_kind) {
      return true;
    }
    if (error) {
      m_overflow_is_error[kind] = true;
    }
    return false;
  }

  // `count` findings of `kind` beyond the `listed` ones already added.
  void add_unlisted(const std::string& kind, std::uint64_t count, std::size_t listed, bool error) {
    if (count > listed) {
      m_per_kind[kind] += count - listed;
      m_overflow_is_error[kind] = m_overflow_is_error[kind] || error;
    }
  }

  void summarise_overflow() {
    for (const auto& [kind, count] : m_per_kind) {
      if (count > k_listed_per_kind) {
        Finding more{kind,
                     "",
                     0,
                     "",
                     std::to_string(count - k_listed_per_kind) + " more findings of this kind"};
        more.error = m_overflow_is_error[kind];
        m_report.findings.push_back(std::move(more));
      }
    }
  }

  // Sizes and hashes against the state's manifest, then every event of every file: the files
  // are read, hashed and parsed by `FilePipeline`'s workers, and their ids entered here, in file
  // order, into the one id index.
  Result<void> check_files() {
    BDD_TRY_ASSIGN(auto on_disk, storage::list_data_files(m_dir, m_format));
    // Part files a compaction replaced, which the next download deletes: not data any more.
    BDD_TRY_ASSIGN(const auto doomed, m_state->doomed());
    std::erase_if(on_disk, [&doomed](const std::string& path) {
      return std::binary_search(doomed.begin(), doomed.end(), path);
    });
    std::map<std::string, tracking::FileRecord> recorded;
    const bool leaf_files = has_leaf_files(format_info(m_format));
    if (!leaf_files) {
      BDD_TRY(check_database(on_disk));
    } else {
      BDD_TRY_ASSIGN(auto files, m_state->files());
      for (auto& file : files) {
        recorded.emplace(file.path, std::move(file));
      }
    }
    for (const auto& [path, file] : recorded) {
      if (!std::binary_search(on_disk.begin(), on_disk.end(), path)) {
        add({"missing",
             path,
             0,
             "",
             "the data file is missing (" + std::to_string(file.size) + " bytes committed)"});
      }
    }
    std::vector<FileJob> jobs;
    jobs.reserve(on_disk.size());
    for (auto& path : on_disk) {
      FileJob job{std::move(path), leaf_files, std::nullopt};
      if (auto it = recorded.find(job.relative); it != recorded.end()) {
        job.recorded = std::move(it->second);
      }
      jobs.push_back(std::move(job));
    }
    FilePipeline pipeline(m_dir, m_format, std::move(jobs), m_options.stop);
    return pipeline.run([this](const FileJob& job, FileStream& stream) -> Result<void> {
      return index_file(job, stream);
    });
  }

  // The ids of one file as its worker hands them over, then what the worker found. The
  // findings come out as a single thread reading the files one by one would make them: the
  // file's manifest findings, its duplicates by line, then where it stopped parsing.
  Result<void> index_file(const FileJob& job, FileStream& stream) {
    m_report.files += 1;
    std::vector<Finding> duplicates; // listed ones only: `list` counts the others
    tracking::IdPlace where{job.relative, 0};
    while (const IdBatch* batch = stream.next()) {
      if (m_options.stop && m_options.stop->load()) {
        return interrupted();
      }
      for (std::size_t i = 0; i < batch->lines.size(); ++i) {
        const std::string_view id = batch->id(i);
        where.line = batch->lines[i];
        m_report.events += 1;
        BDD_TRY_ASSIGN(auto first, m_ids->add(id, where));
        if (first && list("duplicate", true)) {
          duplicates.push_back(
              {"duplicate",
               job.relative,
               where.line,
               shown(id),
               "event " + model::quoted_id(id) + " is also stored at " + place(*first)});
        }
      }
    }
    BDD_TRY_ASSIGN(FileOutcome outcome, stream.outcome());
    for (auto& finding : outcome.manifest) {
      add(std::move(finding));
    }
    for (auto& finding : duplicates) {
      m_report.findings.push_back(std::move(finding));
    }
    if (outcome.parse) {
      add(std::move(*outcome.parse));
    }
    return ok();
  }

  Result<void> check_database(const std::vector<std::string>& on_disk) {
    BDD_TRY_ASSIGN(auto cursor, m_state->cursor());
    if (on_disk.empty() && cursor.events_stored > 0) {
      add({"missing", "events.sqlite", 0, "", "the database is missing"});
    }
    for (const auto& path : on_disk) {
      for (auto& problem : storage::sqlite_integrity_problems(m_dir / path)) {
        add({"integrity", path, 0, "", "integrity check: " + problem});
      }
    }
    return ok();
  }

  Result<void> check_counts(std::uint64_t metadata_events) {
    BDD_TRY_ASSIGN(auto cursor, m_state->cursor());
    BDD_TRY_ASSIGN(auto recorded_ids, m_state->id_count());
    const std::uint64_t events = m_report.events;
    auto compare = [&](std::uint64_t value, const std::string& source) {
      if (value != events) {
        add({"count",
             "",
             0,
             "",
             "the data files hold " + std::to_string(events) + " events but " + source + " says "
                 + std::to_string(value)});
      }
    };
    compare(metadata_events, ".metadata.json");
    compare(cursor.events_stored, "the download state");
    compare(recorded_ids, "the download state's id list");

    BDD_TRY_ASSIGN(auto compared,
                   m_ids->compare_with_state(tracking::state_path(m_dir), k_listed_per_kind));
    for (const auto& id : compared.not_added_first) {
      add({"lost",
           "",
           0,
           shown(id),
           "event " + model::quoted_id(id) + " was stored but is in no data file"});
    }
    add_unlisted("lost", compared.not_added, compared.not_added_first.size(), true);
    for (const auto& [id, where] : compared.missing_first) {
      add({"unrecorded",
           where.file,
           where.line,
           shown(id),
           "event " + model::quoted_id(id)
               + " is not in the download state (not downloaded by bdd?)"});
    }
    add_unlisted("unrecorded", compared.missing, compared.missing_first.size(), true);
    return ok();
  }

  // Items the server sent that are not usable events: kept in the state's quarantine, not in
  // the data files. Listed so that nobody has to wonder where they went; not an error.
  Result<void> check_quarantine() {
    BDD_TRY_ASSIGN(const auto items, m_state->quarantine());
    for (const auto& item : items) {
      Finding finding{"quarantined",
                      "",
                      item.offset,
                      shown(item.id),
                      "the item the server sent at offset " + std::to_string(item.offset)
                          + " is not a usable event (" + item.reason + "); its "
                          + std::to_string(item.raw.size())
                          + " bytes are kept in the quarantine of .bdd/state.sqlite, not stored"};
      finding.error = false;
      add(std::move(finding));
    }
    return ok();
  }

  // Every server id must be stored; stored ids the server lost are only reported: bdd never
  // deletes local data because the server did.
  Result<void> check_remote() {
    BDD_TRY_ASSIGN(auto server_ids, tracking::make_id_index(m_scratch->path() / "remote.sqlite"));
    auto stream = open_event_stream(m_config, 0, m_options.stop);
    std::uint64_t position = 0;
    for (;;) {
      BDD_TRY_ASSIGN(auto page, stream->next());
      if (!page) {
        break;
      }
      if (page->total) {
        m_report.remote_total = page->total;
      }
      for (const auto& event : page->events) {
        position += 1;
        BDD_TRY_ASSIGN(auto seen, server_ids->add(event.id, {"", position}));
        if (seen) {
          continue; // the server lists it twice; stored once is right
        }
        if (!event.unusable.empty()) {
          BDD_TRY_ASSIGN(const bool kept, m_state->quarantined(event.id));
          if (!kept) {
            add({"not_downloaded",
                 "",
                 position,
                 shown(event.id),
                 "the item at server position " + std::to_string(position)
                     + " is not a usable event (" + event.unusable
                     + ") and is not in the quarantine yet (run bdd download)"});
          }
          continue;
        }
        BDD_TRY_ASSIGN(const tracking::State::Stored stored, m_state->lookup(event.id));
        if (stored.found && stored.digest && *stored.digest != model::content_digest(event.raw)) {
          Finding finding{"changed_on_server",
                          "",
                          position,
                          shown(event.id),
                          "event " + model::quoted_id(event.id)
                              + " differs on the server from the version stored (kept)"};
          finding.error = false;
          add(std::move(finding));
        }
        if (!stored.found) {
          add({"not_downloaded",
               "",
               position,
               shown(event.id),
               "event " + model::quoted_id(event.id) + " at server position "
                   + std::to_string(position) + " is not stored locally"});
        }
      }
    }
    BDD_TRY_ASSIGN(auto compared,
                   server_ids->compare_with_state(tracking::state_path(m_dir), k_listed_per_kind));
    for (const auto& id : compared.not_added_first) {
      Finding finding{"deleted_on_server",
                      "",
                      0,
                      shown(id),
                      "event " + model::quoted_id(id)
                          + " is stored locally but no longer on the server (kept)"};
      finding.error = false;
      add(std::move(finding));
    }
    add_unlisted("deleted_on_server", compared.not_added, compared.not_added_first.size(), false);
    BDD_TRY_ASSIGN(auto server_count, server_ids->size());
    if (m_report.remote_total && *m_report.remote_total != server_count) {
      Finding finding{"count",
                      "",
                      0,
                      "",
                      "the server's total is " + std::to_string(*m_report.remote_total)
                          + " but it listed " + std::to_string(server_count) + " distinct events"};
      finding.error = false;
      add(std::move(finding));
    }
    return ok();
  }

  const config::Config& m_config;
  const VerifyOptions& m_options;
  stdfs::path m_dir;
  std::string m_format;
  std::unique_ptr<tracking::State> m_state;
  std::optional<tracking::ScratchFolder> m_scratch; // outlives the indexes in it
  std::unique_ptr<tracking::IdIndex> m_ids;
  VerifyReport m_report;
  std::map<std::string, std::size_t> m_per_kind;
  std::map<std::string, bool> m_overflow_is_error;
};

} // namespace

bool VerifyReport::ok() const {
  return std::none_of(
      findings.begin(), findings.end(), [](const Finding& finding) { return finding.error; });
}

Result<VerifyReport> verify(const config::Config& config, const VerifyOptions& options) {
  const StudyPaths paths = study_paths(config);
  std::error_code ec;
  if (!stdfs::is_directory(paths.study_dir, ec)) {
    return Error(Errc::usage,
                 "no local data for study \"" + config.study_name + "\" in \""
                     + paths.study_dir.string() + "\" (run `bdd download " + config.study_name
                     + "`)");
  }
  // Shared: a download (which takes it alone) cannot change the files while they are read, and
  // an export or another verify does not wait for this one.
  BDD_TRY_ASSIGN(FileLock lock,
                 FileLock::acquire_shared(paths.lock, options.on_wait, options.stop));
  return Verifier(config, options, paths.study_dir).run();
}

} // namespace bdd::ops
