#include "download.hpp"

#include "commit_pipeline.hpp"
#include "compaction.hpp"
#include "connection.hpp"
#include "repair.hpp"
#include "seams.hpp"
#include "state_check.hpp"
#include "study_paths.hpp"

#include <bdd/api/client.hpp>
#include <bdd/core/bloom_filter.hpp>
#include <bdd/core/clock.hpp>
#include <bdd/core/file_lock.hpp>
#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/model/event.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/writer.hpp>
#include <bdd/tracking/manifest.hpp>
#include <bdd/tracking/state.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A commit makes a batch durable; smaller batches lose less on a crash, larger ones cost fewer
// fsyncs. Commit when any limit is reached. The writer holds a batch until its commit (the
// text formats in memory, the next batch too while a commit runs), so the byte limit, on what
// the writer holds, bounds memory however large the events are: limits are checked after each
// page, so the writer holds at most two batches of k_commit_bytes plus one page each (see
// tests/unit/ops/test_ops_memory.cpp for the whole download's bound).
constexpr std::uint64_t k_commit_events = 20'000;
constexpr std::uint64_t k_commit_bytes = std::uint64_t{4} << 20;
constexpr auto k_commit_interval = std::chrono::seconds(2);
constexpr auto k_metadata_interval = std::chrono::seconds(5);
// At most 4 MiB: about 1 false "maybe" in 30000 lookups at a million ids, 1 in 3 at ten million.
// A study the server says is smaller gets 4 bytes an event (rounded down to a power of two: 16
// to 32 bits an id, 1 false "maybe" in 1000 or fewer), so that small and mid-sized downloads do
// not pay the whole of it in memory.
constexpr std::size_t k_id_filter_bytes = std::size_t{4} << 20;
constexpr std::size_t k_id_filter_bytes_per_event = 4;
constexpr std::size_t k_min_id_filter_bytes = std::size_t{64} << 10;

std::size_t id_filter_bytes(std::optional<std::uint64_t> total) {
  if (!total || *total >= k_id_filter_bytes / k_id_filter_bytes_per_event) {
    return k_id_filter_bytes;
  }
  return std::max(k_min_id_filter_bytes,
                  static_cast<std::size_t>(*total) * k_id_filter_bytes_per_event);
}
// A list that keeps changing under a run (or a server that answers at random) must not keep it
// busy forever: after this many reconciliations the run stops, with everything it stored exact.
constexpr int k_max_reconciliations = 4;
// Changed events named in the run's warning (the count is always given).
constexpr std::uint64_t k_changed_ids_shown = 5;

Result<void> rename_path(const stdfs::path& from, const stdfs::path& to) {
  std::error_code ec;
  stdfs::rename(from, to, ec);
  if (ec) {
    return Error(Errc::storage, fs::describe_errno("cannot rename", from, ec.value()));
  }
  return ok();
}

// A `--fresh` swap renames the study to `.<study>.old`, the rebuilt folder to `<study>`, then
// deletes the old one. Finish or undo a swap that a crash cut short.
Result<void> repair_interrupted_swap(const config::Config& config) {
  const StudyPaths paths = study_paths(config);
  const stdfs::path& study_dir = paths.study_dir;
  const stdfs::path& old_dir = paths.old_dir;
  std::error_code ec;
  if (!stdfs::exists(old_dir, ec)) {
    return ok();
  }
  if (stdfs::exists(study_dir, ec)) {
    return fs::remove_tree(old_dir); // the swap completed; only the clean-up was lost
  }
  spdlog::warn("restoring \"{}\" from an interrupted --fresh download", study_dir.string());
  return rename_path(old_dir, study_dir);
}

Result<std::vector<storage::Level>> parse_levels(const std::vector<std::string>& names) {
  std::vector<storage::Level> levels;
  for (const auto& name : names) {
    auto level = storage::parse_level(name);
    if (!level) {
      return Error(Errc::config, "storage.folder_structure: unknown level \"" + name + "\"");
    }
    levels.push_back(*level);
  }
  return levels;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out = "[";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i ? ", " : "") + parts[i];
  }
  return out + "]";
}

Result<storage::PartitionNaming> parse_naming(const std::string& name) {
  const auto naming = storage::parse_partition_naming(name);
  if (!naming) {
    return Error(Errc::config, "storage.partition_naming: unknown value \"" + name + "\"");
  }
  return *naming;
}

// "jsonl [by_user_id]", with " in hive folders" when the folders are named `key=value`.
std::string describe_layout(const std::string& format,
                            const std::vector<std::string>& folders,
                            const std::string& naming) {
  return format + " " + join(folders)
         + (folders.empty() || naming == "plain" ? "" : " in " + naming + " folders");
}

// Data laid out one way cannot be extended in another: refuse instead of mixing layouts.
Result<void> check_layout(const config::Config& config,
                          const std::optional<tracking::Metadata>& metadata) {
  if (!metadata || metadata->events_stored == 0) {
    return ok();
  }
  bool same_format = metadata->format == config.format;
  // The naming matters only where there are folders to name.
  bool same_folders = !format_info(config.format).folder_structure
                      || (metadata->folder_structure == config.folder_structure
                          && (config.folder_structure.empty()
                              || metadata->partition_naming == config.partition_naming));
  if (same_format && same_folders) {
    return ok();
  }
  return Error(
      Errc::config,
      "study \"" + config.study_name + "\" is stored as "
          + describe_layout(
              metadata->format, metadata->folder_structure, metadata->partition_naming)
          + " but the config now asks for "
          + describe_layout(config.format, config.folder_structure, config.partition_naming)
          + "; run `bdd download " + config.study_name
          + " --fresh` to rebuild it in the new layout");
}

// The layout to download `config`'s study in: a study that holds data keeps the format and
// folder_structure it records unless its study config names them, so changing bdd's defaults
// (or settings/default_config.json) never re-lays out an existing study, nor makes
// `check_layout` refuse it. --fresh keeps them too.
Result<config::Config> with_recorded_layout(const config::Config& config,
                                            const stdfs::path& study_dir) {
  config::Config out = config;
  if (config.format_from_study_config && config.folder_structure_from_study_config
      && config.partition_naming_from_study_config) {
    return out;
  }
  BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(study_dir));
  if (!metadata || metadata->events_stored == 0) {
    return out;
  }
  if (!config.format_from_study_config) {
    out.format = metadata->format;
  }
  if (!config.folder_structure_from_study_config) {
    out.folder_structure = metadata->folder_structure;
  }
  if (!config.partition_naming_from_study_config) {
    out.partition_naming = metadata->partition_naming;
  }
  return out;
}

// What to do about damaged local data: find out, then repair (or start over).
std::string remedy(const config::Config& config) {
  const std::string& study = config.study_name;
  return "run `bdd verify " + study + "` to list the problems, then `bdd download " + study
         + " --repair` to fix them and download what is missing (or `bdd download " + study
         + " --fresh` to download the study again)";
}

// Files must be exactly as the last commit left them: a shorter, longer or missing file means
// someone edited or deleted it, and appending to it would build on data we cannot vouch for.
Result<void>
check_files(const config::Config& config, const stdfs::path& dir, tracking::State& state) {
  BDD_TRY_ASSIGN(auto files, state.files());
  for (const auto& file : files) {
    stdfs::path path = dir / file.path;
    // One system call per file: a deep folder_structure has thousands.
    const auto found = fs::regular_file_size(path);
    const bool exists = found.has_value();
    const std::uint64_t size = found.value_or(0);
    if (exists && size == file.size) {
      continue;
    }
    std::string what = exists ? "changed since bdd wrote it (" + std::to_string(file.size)
                                    + " bytes expected, " + std::to_string(size) + " found)"
                              : "missing";
    return Error(Errc::storage,
                 "data file \"" + path.string() + "\" is " + what + "; " + remedy(config));
  }
  return ok();
}

// SQLite commits are atomic on their own, so the sqlite writer journals no files and
// `check_files` has nothing to compare. A database deleted since the last commit must not be
// silently recreated and extended from the cursor: that would drop every event stored before.
// Runs before the writer is made, because opening the database creates it.
Result<void>
check_database(const config::Config& config, const stdfs::path& dir, tracking::State& state) {
  if (format_info(config.format).storage != FormatStorage::database) {
    return ok();
  }
  BDD_TRY_ASSIGN(auto cursor, state.cursor());
  const stdfs::path path = dir / "events.sqlite";
  std::error_code ec;
  if (cursor.events_stored == 0 || stdfs::exists(path, ec)) {
    return ok();
  }
  return Error(Errc::storage, "data file \"" + path.string() + "\" is missing; " + remedy(config));
}

std::string make_run_id() {
  return utc_now() + "-" + std::to_string(::getpid());
}

// Runs recorded as "running" whose process is gone (we hold the lock) were interrupted.
Result<void> close_stale_runs(const stdfs::path& study_dir) {
  BDD_TRY_ASSIGN(auto runs, tracking::read_history(study_dir));
  bool changed = false;
  for (auto& run : runs) {
    if (run.status == "running") {
      run.status = "interrupted";
      run.error = "the process ended before the run finished (killed or power loss)";
      changed = true;
    }
  }
  if (!changed) {
    return ok();
  }
  return tracking::write_history(study_dir, runs);
}

// One download run: the state it works on and the counters it reports.
class Run {
public:
  Run(const config::Config& config, const DownloadOptions& options, stdfs::path work_dir)
      : m_config(config),
        m_options(options),
        m_work_dir(std::move(work_dir)) {}
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  Result<void> prepare(tracking::RunRecord& record) {
    BDD_TRY_ASSIGN(m_state, tracking::open_state(m_work_dir, tracking::StateAccess::exclusive));
    BDD_TRY(finish_deletions(*m_state, m_work_dir)); // of a compaction a crash cut short
    if (!m_options.repair) { // a repair has just rebuilt the state from the files
      BDD_TRY(check_state_describes_files(m_config, m_work_dir, *m_state));
    }
    BDD_TRY(check_database(m_config, m_work_dir, *m_state));
    BDD_TRY_ASSIGN(auto levels, parse_levels(m_config.folder_structure));
    BDD_TRY_ASSIGN(auto naming, parse_naming(m_config.partition_naming));
    BDD_TRY_ASSIGN(
        m_writer,
        storage::make_writer(m_config.format,
                             {m_work_dir, m_config.study_name, std::move(levels), naming}));
    BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(m_work_dir));
    BDD_TRY(check_layout(m_config, metadata));
    m_described = metadata;
    if (metadata) {
      m_first_download = metadata->first_download;
      m_deleted_on_server = metadata->deleted_on_server;
      m_quarantined = metadata->quarantined;
    }
    BDD_TRY_ASSIGN(std::size_t rolled_back,
                   roll_back_unfinished_commit(*m_state, *m_writer, remedy(m_config)));
    if (rolled_back > 0) {
      warn("rolled back an unfinished commit of an interrupted run (" + std::to_string(rolled_back)
           + " files checked); its events will be downloaded again");
    }
    if (has_leaf_files(format_info(m_config.format))) {
      BDD_TRY(check_files(m_config, m_work_dir, *m_state));
    }
    BDD_TRY_ASSIGN(const tracking::Cursor cursor, m_state->cursor());
    // Stored events with no position (a state rebuilt by --repair) say nothing about where runs
    // have read: then no position counts as fresh.
    const bool positions_known =
        !m_options.repair && (cursor.offset > 0 || cursor.events_stored == 0);
    m_fresh_from = positions_known ? std::max(cursor.offset, cursor.high_water) : UINT64_MAX;
    m_events_stored_before = cursor.events_stored;
    BDD_TRY_ASSIGN(std::uint64_t stored_ids, m_state->id_count());
    m_wants_id_filter = stored_ids == 0; // made at the first page, sized by its total
    record.start_offset = cursor.offset;
    if (record.type != "fresh" && record.type != "repair") {
      record.type = cursor.offset == 0 && cursor.events_stored == 0 ? "full" : "incremental";
    }
    CommitPipeline::Options commits;
    commits.work_dir = m_work_dir;
    commits.format = m_config.format;
    commits.describe = [this](const tracking::Cursor& described) {
      return write_metadata(described);
    };
    commits.remedy = remedy(m_config);
    commits.before_write = m_options.before_commit_write;
    m_commits = std::make_unique<CommitPipeline>(*m_state, *m_writer, cursor, std::move(commits));
    return ok();
  }

  // Page through the server from the cursor, committing as we go. On error, what was consumed
  // before it is committed first, so progress is never thrown away.
  Result<void> transfer(tracking::RunRecord& record) {
    Result<void> outcome = page_all(record);
    count_transfer(record);
    Result<void> committed = commit();
    // Also after a failure: no commit may run while the files are rolled back.
    if (Result<void> drained = m_commits->wait(); committed) {
      committed = std::move(drained);
    }
    // The files match the state again: after a commit that worked, as they are; after one that
    // failed (a full disk), once its bytes are cut off, so that what was stored before stays
    // intact and verifiable without another run.
    Result<void> settled = ok();
    if (committed) {
      settled = compact() ? m_state->clear_pending() : Result<void>(ok());
    } else if (auto rolled_back = m_commits->roll_back(); !rolled_back) {
      settled = std::move(rolled_back).error();
    }
    if (!committed && !settled) {
      spdlog::warn("{}", settled.error().message);
    }
    tracking::Cursor cursor = m_commits->settled();
    if (m_remote_total) {
      cursor.remote_total = m_remote_total; // also when nothing new was committed
    }
    record.remote_total = cursor.remote_total;
    // Every event the server lists is stored (or quarantined) once a run read to the end: what
    // is stored beyond its total was deleted there.
    if (outcome && committed && m_read_to_end && cursor.remote_total) {
      const std::uint64_t held = cursor.events_stored + m_quarantined;
      m_deleted_on_server = held > *cursor.remote_total ? held - *cursor.remote_total : 0;
    }
    record.deleted_on_server = m_deleted_on_server;
    // Also after a run that committed nothing: a crash may have cut the last metadata write.
    // Commits write it only now and then, so it is due after a failed one too.
    Result<void> described = settled ? write_metadata(cursor) : ok();
    if (described && settled) {
      described = write_manifest();
    }
    // What was counted as it arrived, less what a failed commit took back.
    record.events_added = cursor.events_stored - m_events_stored_before;
    report_changes(record);
    // A commit that failed is the cause: the paging thread may only have seen it later, as an
    // interruption or a network error that came first, or as a write refused because of it.
    if (const auto& failure = m_commits->failure()) {
      return *failure;
    }
    if (!outcome) {
      return outcome;
    }
    BDD_TRY(committed);
    BDD_TRY(settled);
    BDD_TRY(described);
    BDD_TRY(m_writer->finish());
    if (m_options.strict && record.unusable_events > 0) {
      return Error(Errc::unusable_data,
                   "the server sent " + tracking::counted(record.unusable_events, "item")
                       + (record.unusable_events == 1 ? " that is not a usable event"
                                                      : " that are not usable events")
                       + " (--strict); they are kept in the quarantine and every other event was "
                         "stored (`bdd verify "
                       + m_config.study_name + "` lists them)");
    }
    return ok();
  }

  std::uint64_t events_stored() const { return m_commits->settled().events_stored; }
  const std::vector<std::string>& warnings() const { return m_warnings; }

private:
  std::unique_ptr<api::PageStream> open_stream(std::uint64_t from) {
    const storage::Writer* writer = m_writer.get();
    return open_event_stream(
        m_config,
        from,
        m_options.stop,
        [writer](model::Event& event) {
          if (!event.unusable.empty()) {
            return; // quarantined, never written
          }
          event.digest = model::content_digest(event.raw); // before prepare may release raw
          writer->prepare(event);
        },
        m_make_client,
        m_wait_budget);
  }

  // Page through the server from the cursor, committing as we go, until a response shows the
  // list ends where the run is. Each page's seam (the event before it, re-read by the same
  // request) must be the event the run last consumed or, for the first page, the cursor's last
  // event: otherwise the server's list changed before that point, and the run reconciles.
  Result<void> page_all(tracking::RunRecord& record) {
    std::uint64_t from = m_commits->settled().offset;
    m_last_id = m_commits->settled().last_id;
    m_last_commit = now();
    int reconciliations = 0;
    for (;;) {
      auto stream = open_stream(from);
      m_next_offset = from;
      std::optional<std::uint64_t> drift_at;
      bool first_page = true;
      for (;;) {
        BDD_TRY_ASSIGN(auto page, stream->next());
        if (!page) {
          break;
        }
        if (page->seam_id && !m_last_id.empty() && *page->seam_id != m_last_id) {
          drift_at = page->offset;
          break;
        }
        if (!page->seam_id && std::exchange(first_page, false)) {
          // Pages of one event carry no seam: check where the stream starts, at least.
          BDD_TRY_ASSIGN(const bool holds, seam_holds_at(page->offset));
          if (!holds) {
            drift_at = page->offset;
            break;
          }
        }
        report_shrink(page->total);
        BDD_TRY(consume(*page, record));
        if (m_options.on_progress) {
          m_options.on_progress({record.events_received,
                                 record.events_added,
                                 record.start_offset,
                                 m_next_offset,
                                 m_remote_total,
                                 record.bytes});
        }
        if (m_batch_received >= k_commit_events || m_writer->buffered_bytes() >= k_commit_bytes
            || now() - m_last_commit >= k_commit_interval) {
          BDD_TRY(commit());
        }
        if (m_options.stop && m_options.stop->load()) {
          return Error(Errc::interrupted, "interrupted");
        }
      }
      if (!drift_at) {
        report_stream_oddities(*stream);
        const api::StreamEnd end = stream->end();
        if (end.kind == api::StreamEnd::Kind::by_total) {
          // The total says the list ends here, but no response showed it: ask (one request,
          // which also brings whatever was appended meanwhile).
          from = end.offset;
          continue;
        }
        bool seam_holds = end.kind == api::StreamEnd::Kind::confirmed
                          && (!end.seam_id || m_last_id.empty() || *end.seam_id == m_last_id);
        if (seam_holds && !end.seam_id && !stream->overlapping()) {
          // Without seams in the pages, check where the stream ends (one request).
          BDD_TRY_ASSIGN(seam_holds, seam_holds_at(end.offset));
        }
        if (seam_holds && m_moved_behind && !m_reconciled) {
          // No seam shows where: read it all again (once), the only way to find what moved.
          m_reconciled = true;
          warn("the server listed event " + model::quoted_id(m_moved_behind_id) + " at offset "
               + std::to_string(*m_moved_behind)
               + " although it was stored before: its list was reordered; reading it again from "
                 "the start to add what moved behind this run");
          from = 0;
          m_last_id.clear();
          m_forget_seams_from = 1;
          m_consumed_page = true;
          m_next_offset = from;
          continue;
        }
        if (seam_holds) {
          if (const auto total = stream->latest_total()) {
            m_remote_total = total;
          }
          m_read_to_end = true;
          return ok();
        }
        drift_at = end.offset;
        report_shrink(stream->latest_total());
      }
      if (++reconciliations > k_max_reconciliations) {
        return Error(Errc::protocol,
                     "the server's event list changed " + std::to_string(k_max_reconciliations)
                         + " times while this run read it (events inserted, deleted or "
                           "reordered, or empty pages where events were before); stopped, what "
                           "was stored is kept and exact (run bdd download again later)");
      }
      stream.reset();
      m_reconciled = true;
      BDD_TRY_ASSIGN(const tracking::Seam resume, find_resume_point(*drift_at));
      warn("the server's event list changed before offset " + std::to_string(*drift_at)
           + " (events inserted, deleted or reordered); reading it again from offset "
           + std::to_string(resume.offset) + " to add what is missing");
      from = resume.offset;
      m_last_id = resume.id;
      m_forget_seams_from = resume.offset + 1;
      m_consumed_page = true; // the cursor moves back to `from` at the next commit
      m_next_offset = from;
    }
  }

  // Where to read the list again from after a seam at `drift_at` did not match: the last seam
  // recorded before it that the server still holds (the commits in flight are waited for, so
  // that their seams are recorded too).
  Result<tracking::Seam> find_resume_point(std::uint64_t drift_at) {
    BDD_TRY(commit());
    BDD_TRY(m_commits->wait());
    const SeamLookup lookup = [this](std::uint64_t from, std::uint64_t before) {
      return m_commits->with_state(
          [&](tracking::State& state) { return state.seam_in(from, before); });
    };
    const IdProbe probe = [this](std::uint64_t position) { return server_id_at(position); };
    return find_divergence(drift_at, lookup, probe);
  }

  // The id of the server's event at `position` now (one request for one event), or nullopt if
  // its list is shorter.
  Result<std::optional<std::string>> server_id_at(std::uint64_t position) {
    if (!m_probe_client) {
      m_probe_client = m_make_client();
    }
    BDD_TRY_ASSIGN(auto page, m_probe_client->fetch_page(position, 1));
    if (page.events.empty()) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(page.events.front().id);
  }

  // Whether the server still holds the event this run last consumed just before `position`:
  // the seam check a server with pages of one event leaves to the caller.
  Result<bool> seam_holds_at(std::uint64_t position) {
    if (position == 0 || m_last_id.empty()) {
      return true;
    }
    BDD_TRY_ASSIGN(const auto id, server_id_at(position - 1));
    return id && *id == m_last_id;
  }

  // What the server changed that bdd keeps as it was: said once per run, with the count.
  void report_changes(const tracking::RunRecord& record) {
    if (record.changed_on_server > 0) {
      std::string ids;
      for (const auto& id : m_changed_ids) {
        ids += (ids.empty() ? "" : ", ") + model::quoted_id(id);
      }
      warn(std::to_string(record.changed_on_server)
           + (record.changed_on_server == 1 ? " event" : " events")
           + " changed on the server since they were stored; the stored versions are kept (`bdd "
             "verify "
           + m_config.study_name + " --remote` lists them): " + ids
           + (record.changed_on_server > m_changed_ids.size() ? ", ..." : ""));
    }
    if (record.unusable_events > 0) {
      warn(std::to_string(record.unusable_events)
           + (record.unusable_events == 1 ? " item" : " items")
           + " sent by the server are not usable events; they are kept in the quarantine, not "
             "stored (`bdd verify "
           + m_config.study_name + "` lists them)");
    }
  }

  // Inconsistencies of the server that lose nothing but are worth knowing.
  void report_stream_oddities(const api::PageStream& stream) {
    if (stream.ended_before_total()) {
      warn("the server sent an empty page at offset " + std::to_string(m_next_offset)
           + " although its total is " + std::to_string(stream.latest_total().value_or(0))
           + "; stopping there (the next run will ask again)");
    }
    if (const auto total = stream.inconsistent_total(); total && !m_reported_inconsistent_total) {
      m_reported_inconsistent_total = true;
      warn("the server reported a total of " + tracking::counted(*total, "event")
           + " but sent more; its totals are ignored in this run (every event it sent is "
             "kept)");
    }
  }

  // A total below what was already downloaded means events were deleted on the server: said
  // once per run; local data is never deleted because of it.
  void report_shrink(std::optional<std::uint64_t> total) {
    const std::uint64_t downloaded = m_commits->settled().offset;
    if (total && *total < downloaded && !m_reported_shrink) {
      m_reported_shrink = true;
      warn("the server now holds " + tracking::counted(*total, "event") + ", fewer than the "
           + std::to_string(downloaded)
           + " already downloaded: events were deleted on the server (local data is kept)");
    }
  }

  // What the run's clients received so far, into `record`.
  void count_transfer(tracking::RunRecord& record) const {
    record.pages = m_transfer->pages;
    record.bytes = m_transfer->bytes;
    record.retries = m_transfer->retries;
    record.retry_wait_seconds = static_cast<double>(m_transfer->waited_ms) / 1000.0;
  }

  Result<void> consume(const api::Page& page, tracking::RunRecord& record) {
    count_transfer(record);
    if (page.total) {
      m_remote_total = page.total;
    }
    if (m_wants_id_filter && !m_id_filter) {
      m_id_filter.emplace(id_filter_bytes(page.total));
    }
    for (std::size_t i = 0; i < page.events.size(); ++i) {
      const model::Event& event = page.events[i];
      record.events_received += 1;
      m_batch_received += 1;
      if (!event.unusable.empty()) {
        BDD_TRY(quarantine(event, page.offset + i, record));
        continue;
      }
      BDD_TRY_ASSIGN(const tracking::State::Stored stored, is_stored(event.id));
      if (stored.found) {
        record.duplicates_skipped += 1;
        if (!m_reconciled && page.offset + i >= m_fresh_from && !m_moved_behind) {
          // Where no run has read yet, an event already stored means the list was reordered:
          // whatever took its old place came from ahead of the run, unread (see page_all).
          m_moved_behind = page.offset + i;
          m_moved_behind_id = event.id;
        }
        if (stored.digest && *stored.digest != event.digest) {
          note_changed(event.id, record);
        }
        continue;
      }
      BDD_TRY(m_writer->write(event));
      if (event.stored_timestamp && *event.stored_timestamp > m_newest_stored) {
        m_newest_stored = *event.stored_timestamp;
      }
      if (m_id_filter) {
        m_id_filter->add(event.id);
      }
      m_batch_ids.emplace(event.id, event.digest);
      m_batch_order.push_back(event.id);
      m_batch_digests.push_back(event.digest);
      record.events_added += 1;
    }
    m_commits->end_reads();
    if (!page.events.empty()) {
      m_last_id = page.events.back().id;
    }
    m_next_offset = page.offset + page.events.size();
    m_batch_seams.push_back({m_next_offset, m_last_id});
    m_consumed_page = true;
    return ok();
  }

  // Keeps an item that is not a usable event in the state's quarantine (once, whatever how
  // often it is read), so that the rest of its page is stored and no run is stuck on it.
  Result<void>
  quarantine(const model::Event& item, std::uint64_t position, tracking::RunRecord& record) {
    // Also the batches in flight, whose items the state does not list yet.
    if (m_quarantined_this_run.count(item.id) != 0) {
      return ok();
    }
    BDD_TRY_ASSIGN(const bool known, m_commits->with_state([&](tracking::State& state) {
      return state.quarantined(item.id);
    }));
    if (known) {
      return ok();
    }
    m_batch_quarantine.push_back({item.id, position, item.unusable, item.raw});
    m_quarantined_this_run.insert(item.id);
    record.unusable_events += 1;
    if (record.unusable_events <= k_changed_ids_shown) {
      spdlog::warn("the server sent an item at offset {} that is not a usable event ({}); it is "
                   "kept in the quarantine and the rest of the page is stored",
                   position,
                   item.unusable);
    }
    return ok();
  }

  // Whether `id` is stored (or being stored by this run), with the digest it was stored with.
  Result<tracking::State::Stored> is_stored(const std::string& id) {
    if (m_id_filter && !m_id_filter->maybe_contains(id)) {
      return tracking::State::Stored{};
    }
    if (const auto found = m_batch_ids.find(id); found != m_batch_ids.end()) {
      return tracking::State::Stored{true, found->second};
    }
    return m_commits->lookup(id);
  }

  // An event already stored came again with other content: the stored version is kept (it is
  // what the researcher may have analysed already); the run says how many, and which.
  void note_changed(const std::string& id, tracking::RunRecord& record) {
    record.changed_on_server += 1;
    if (record.changed_on_server <= k_changed_ids_shown) {
      m_changed_ids.push_back(id);
    }
  }

  // Hand the batch consumed so far to the committing stage (see commit_pipeline.hpp) and go on
  // paging meanwhile.
  Result<void> commit() {
    BDD_TRY(m_commits->make_room());
    const tracking::Cursor& handed_off = m_commits->handed_off();
    // Something to record: new events, or pages that moved the cursor (duplicates only, or the
    // same offset reached again by a re-read with another last event), or a re-read that moved
    // it back.
    const bool moved = m_next_offset != handed_off.offset
                       || (!m_last_id.empty() && m_last_id != handed_off.last_id);
    if (m_batch_order.empty() && m_batch_quarantine.empty() && !(m_consumed_page && moved)) {
      return ok();
    }
    m_consumed_page = false;
    tracking::CommitRecord commit;
    commit.cursor = handed_off;
    commit.cursor.offset = m_next_offset;
    if (!m_last_id.empty()) {
      commit.cursor.last_id = m_last_id;
    }
    commit.cursor.events_stored += m_batch_order.size();
    commit.cursor.remote_total = m_remote_total ? m_remote_total : handed_off.remote_total;
    if (m_newest_stored > commit.cursor.newest_stored) {
      commit.cursor.newest_stored = m_newest_stored;
    }
    commit.new_ids = std::move(m_batch_order);
    m_batch_order.clear();
    commit.new_digests = std::move(m_batch_digests);
    m_batch_digests.clear();
    commit.seams = std::move(m_batch_seams);
    m_batch_seams.clear();
    m_quarantined += m_batch_quarantine.size();
    commit.quarantined = std::move(m_batch_quarantine);
    m_batch_quarantine.clear();
    commit.forget_seams_from = std::exchange(m_forget_seams_from, std::nullopt);
    // `.metadata.json` is for people and `status`; the state is what resumes. Rewriting it
    // (two fsyncs) at every commit would cost more than the commit. When it is due, the commit
    // record is synced first, so the metadata never runs ahead of the state.
    commit.durable = now() - m_last_metadata >= k_metadata_interval;
    if (commit.durable) {
      m_last_metadata = now();
    }
    m_batch_received = 0;
    m_last_commit = now();
    m_commits->hand_off(std::move(commit), std::move(m_batch_ids));
    m_batch_ids.clear();
    return ok();
  }

  // The committing stage's timing: the test clock if one is given.
  Clock::time_point now() const { return m_options.clock ? m_options.clock() : Clock::now(); }

  // `.metadata.json` for `cursor`. Called by one thread at a time: the recording stage's, or
  // the paging one when no commit runs.
  Result<void> write_metadata(const tracking::Cursor& cursor) {
    tracking::Metadata metadata;
    metadata.study_name = m_config.study_name;
    metadata.format = m_config.format;
    metadata.folder_structure = m_config.folder_structure;
    metadata.partition_naming = m_config.partition_naming;
    metadata.events_stored = cursor.events_stored;
    metadata.remote_total = cursor.remote_total;
    metadata.last_update = utc_now();
    metadata.first_download = m_first_download.empty() ? metadata.last_update : m_first_download;
    m_first_download = metadata.first_download;
    metadata.newest_stored_timestamp = cursor.newest_stored;
    metadata.bdd_version = BDD_VERSION;
    metadata.deleted_on_server = m_deleted_on_server;
    metadata.quarantined = m_quarantined;
    // A run that stored nothing new (a no-op) leaves the file as it is: `last_update` is the
    // time of the last commit, and the rest says what it said. Spares a write and two fsyncs.
    if (m_described) {
      tracking::Metadata unchanged = metadata;
      unchanged.last_update = m_described->last_update;
      if (unchanged == *m_described) {
        return ok();
      }
    }
    BDD_TRY(tracking::write_metadata(m_work_dir, metadata));
    m_described = std::move(metadata);
    return ok();
  }

  // Part files: merge each leaf's small parts (see ops/compaction.hpp). False if that failed:
  // the study then stays marked open, so that the next run removes a merged part it left.
  bool compact() {
    if (format_info(m_config.format).storage != FormatStorage::part_files) {
      return true;
    }
    storage::CompactionRule rule;
    rule.max_parts = std::max<std::size_t>(m_options.compact_parts, 2);
    if (auto merged =
            compact_parts(*m_state, m_work_dir, m_config.study_name, rule, m_options.stop);
        !merged) {
      warn("compaction of part files stopped: " + merged.error().message
           + " (the next run finishes it)");
      return false;
    }
    return true;
  }

  Result<void> write_manifest() {
    BDD_TRY_ASSIGN(auto files, m_state->files());
    return tracking::write_manifest(m_work_dir, files);
  }

  void warn(const std::string& message) {
    spdlog::warn("{}", message);
    m_warnings.push_back(message);
  }

  const config::Config& m_config;
  const DownloadOptions& m_options;
  std::shared_ptr<api::WaitBudget> m_wait_budget = make_wait_budget(m_config); // every stream
  // Every request of the run (pages, seam and end checks) goes through these clients, which
  // count what they receive for the history record.
  std::shared_ptr<TransferCounts> m_transfer = std::make_shared<TransferCounts>();
  ClientFactory m_make_client = counting_clients(
      m_options.make_client ? m_options.make_client
                            : curl_clients(m_config, m_options.stop, m_wait_budget),
      m_transfer);
  stdfs::path m_work_dir;
  std::unique_ptr<tracking::State> m_state;
  std::unique_ptr<storage::Writer> m_writer;
  std::uint64_t m_events_stored_before = 0; // when the run began
  std::string m_first_download;
  std::optional<tracking::Metadata> m_described; // `.metadata.json` as last read or written
  std::vector<std::string> m_warnings;
  // Every id stored, when the run began with none: then an id the filter has not seen is new
  // without a database lookup, which would otherwise cost more than the rest of storing it.
  // Fixed in size, so memory stays flat however large the study.
  std::optional<BloomFilter> m_id_filter;
  bool m_wants_id_filter = false; // the run began with no id stored

  // Consumed since the last commit.
  std::uint64_t m_next_offset = 0;
  bool m_consumed_page = false;
  std::string m_last_id;
  std::optional<std::uint64_t> m_remote_total;
  std::string m_newest_stored;
  std::unordered_map<std::string, std::uint64_t> m_batch_ids; // with their digests
  std::vector<std::string> m_batch_order;
  std::vector<std::uint64_t> m_batch_digests; // in the order of m_batch_order
  std::vector<std::string> m_changed_ids;     // the first few, for the warning
  std::vector<tracking::Seam> m_batch_seams;
  std::vector<tracking::QuarantinedItem> m_batch_quarantine;
  // Read by write_metadata on the recording thread too.
  std::atomic<std::uint64_t> m_quarantined = 0;       // items in the quarantine, this run's too
  std::atomic<std::uint64_t> m_deleted_on_server = 0; // see tracking::Metadata
  std::unique_ptr<api::Client> m_probe_client; // for single-event requests (seams, bisection)
  std::unordered_set<std::string> m_quarantined_this_run; // ids: unusable items are rare
  std::optional<std::uint64_t> m_forget_seams_from;       // the list is read again from there
  std::uint64_t m_batch_received = 0;
  bool m_reported_shrink = false;
  bool m_reported_inconsistent_total = false;
  bool m_read_to_end = false;     // a response showed the list ends where this run stopped
  std::uint64_t m_fresh_from = 0; // positions from here on were never read before this run
  bool m_reconciled = false;      // this run read part of the list again
  std::optional<std::uint64_t> m_moved_behind; // where a stored event came again, unasked
  std::string m_moved_behind_id;
  Clock::time_point m_last_commit;
  Clock::time_point m_last_metadata;
  // Last: its batches' threads use the members above until it is destroyed (an exception may
  // leave transfer() early with commits still running).
  std::unique_ptr<CommitPipeline> m_commits;
};

// Move the rebuilt study into place, keeping the history of the old one.
Result<void> swap_in_fresh(const config::Config& config, const stdfs::path& fresh_dir) {
  const StudyPaths paths = study_paths(config);
  const stdfs::path& study_dir = paths.study_dir;
  const stdfs::path& old_dir = paths.old_dir;
  BDD_TRY_ASSIGN(auto runs, tracking::read_history(study_dir));
  BDD_TRY(tracking::write_history(fresh_dir, runs));
  std::error_code ec;
  if (stdfs::exists(study_dir, ec)) {
    BDD_TRY(rename_path(study_dir, old_dir));
  }
  BDD_TRY(rename_path(fresh_dir, study_dir));
  BDD_TRY(fs::sync_directory(config.data_directory));
  return fs::remove_tree(old_dir);
}

// Rebuild the state from the files (see repair_study) and say what was done to which file.
Result<void> repair(const config::Config& config, const stdfs::path& study_dir) {
  BDD_TRY_ASSIGN(auto notes, repair_study(config, study_dir));
  for (const auto& note : notes) {
    spdlog::warn("repair: {}", note);
  }
  return ok();
}

} // namespace

Result<DownloadReport> download(const config::Config& requested, const DownloadOptions& options) {
  if (options.fresh && options.repair) {
    return Error(Errc::usage, "--fresh and --repair cannot be combined");
  }
  BDD_TRY(fs::create_directories(requested.data_directory));
  const StudyPaths paths = study_paths(requested);
  BDD_TRY_ASSIGN(
      FileLock lock,
      FileLock::acquire(paths.lock, "a download of study \"" + requested.study_name + "\""));
  BDD_TRY(repair_interrupted_swap(requested));
  BDD_TRY_ASSIGN(const config::Config config, with_recorded_layout(requested, paths.study_dir));
  const stdfs::path& study_dir = paths.study_dir;
  stdfs::path work_dir = options.fresh ? paths.fresh_dir : study_dir;
  if (options.fresh) {
    BDD_TRY(fs::remove_tree(work_dir)); // a leftover of an interrupted --fresh run
  }
  BDD_TRY(fs::create_directories(work_dir));
  BDD_TRY(fs::create_directories(study_dir));
  BDD_TRY(close_stale_runs(study_dir));

  tracking::RunRecord record;
  record.run_id = make_run_id();
  record.started_at = utc_now();
  record.type = options.fresh ? "fresh" : options.repair ? "repair" : "incremental";
  record.status = "running";
  record.bdd_version = BDD_VERSION;

  Run run(config, options, work_dir);
  Result<void> outcome = options.repair ? repair(config, work_dir) : ok();
  if (outcome) {
    outcome = run.prepare(record);
  }
  if (outcome) {
    // A history that cannot record the run as running fails it before any request, but the
    // final record is still attempted and handed to on_recorded, as for any failure.
    outcome = tracking::save_run(study_dir, record);
  }
  if (outcome) {
    outcome = run.transfer(record);
  }
  record.ended_at = utc_now();
  record.warnings = run.warnings(); // drift and rollbacks stay on record, not only on stderr
  if (outcome) {
    record.status = record.events_added > 0 ? "success" : "no_new_events";
  } else if (outcome.error().code == Errc::interrupted) {
    // An unfinished --fresh rebuild is never swapped in, and the next --fresh starts it over.
    outcome =
        Error(Errc::interrupted,
              options.fresh ? "interrupted; the rebuild was not finished and \""
                                  + study_dir.string() + "\" is unchanged (run `bdd download "
                                  + config.study_name + " --fresh` to start it again)"
                            : "interrupted; " + tracking::counted(record.events_added, "new event")
                                  + (record.events_added == 1 ? " was" : " were")
                                  + " saved (run the same command to continue)");
    record.status = "interrupted";
    record.error = outcome.error().message;
  } else {
    // The server went away after some pages (it stopped, the connection broke): say that what
    // arrived is kept and where the next run picks up, so nobody starts over with --fresh.
    if (record.pages > 0 && !options.fresh
        && (outcome.error().code == Errc::network || outcome.error().code == Errc::protocol)) {
      Error error = outcome.error();
      error.message += "; " + tracking::counted(record.events_added, "new event") + " of this run "
                       + (record.events_added == 1 ? "was" : "were")
                       + " saved, and the next run continues from there";
      outcome = std::move(error);
    }
    record.status = "failed";
    record.error = outcome.error().message;
  }
  // A run's own failure (a full disk, say) is what the user must see; that the history could
  // not record it is a consequence. Either way on_recorded gets the record.
  const auto save_final = [&] {
    if (auto saved = tracking::save_run(study_dir, record); !saved) {
      if (outcome) {
        outcome = std::move(saved).error();
      } else {
        spdlog::warn("{}", saved.error().message);
      }
    }
  };
  save_final();
  if (outcome && options.fresh) {
    outcome = swap_in_fresh(config, work_dir);
    if (!outcome) {
      record.status = "failed";
      record.error = outcome.error().message;
      save_final();
    }
  }
  if (options.on_recorded) {
    options.on_recorded(record);
  }
  if (!outcome) {
    return std::move(outcome).error();
  }
  DownloadReport report;
  report.run = record;
  report.study_dir = study_dir;
  report.events_stored = run.events_stored();
  report.warnings = run.warnings();
  return report;
}

} // namespace bdd::ops
