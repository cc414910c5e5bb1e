#pragma once

#include <bdd/core/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::tracking {

// `.metadata.json`: what a person or `bdd status` needs to know about the local copy without
// reading the data. Rewritten atomically after every commit.
struct Metadata {
  std::string study_name;
  std::string format;
  std::vector<std::string> folder_structure;
  // storage.partition_naming the folders were named by: "plain" (also for files written before
  // the field existed) or "hive".
  std::string partition_naming = "plain";
  std::uint64_t events_stored = 0;
  std::optional<std::uint64_t> remote_total;
  std::string first_download; // UTC ISO-8601 with Z
  std::string last_update;
  std::string newest_stored_timestamp; // "" if none
  std::string bdd_version;
  // Events stored here that the server no longer lists (kept, never removed): the stored events
  // and quarantined items less the server's total, as of the last run that read to the end.
  std::uint64_t deleted_on_server = 0;
  std::uint64_t quarantined = 0; // unusable items kept in the state's quarantine

  bool operator==(const Metadata&) const = default;
};

// One `bdd download` run in `.download_history.json`, or several consecutive runs that found
// nothing new folded into one record (`runs` > 1, see `save_run`).
struct RunRecord {
  std::string run_id; // start time plus pid: unique per run
  std::string started_at;
  std::string ended_at; // "" while running
  std::string type;     // "full", "incremental" or "fresh"
  std::string status;   // "running", "success", "no_new_events", "failed", "interrupted"
  std::uint64_t events_received = 0;
  std::uint64_t events_added = 0;
  std::uint64_t duplicates_skipped = 0;
  std::uint64_t pages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t start_offset = 0;
  std::optional<std::uint64_t> remote_total;
  std::string error; // "" unless failed or interrupted
  std::string bdd_version;
  // What the run found worth a warning, in order: the server's list changed before the resume
  // point, its total shrank, an unfinished commit was rolled back. Empty for histories written
  // before the field existed.
  std::vector<std::string> warnings;
  // Requests sent again after a failed attempt (429, 5xx, timeouts, resets, unusable bodies), and
  // the seconds spent waiting before them, over the pages the run received. 0 for histories
  // written before the fields existed.
  std::uint64_t retries = 0;
  double retry_wait_seconds = 0;
  std::uint64_t deleted_on_server = 0; // as Metadata::deleted_on_server, at the end of this run
  std::uint64_t unusable_events = 0;   // items this run quarantined (not events; see verify)
  std::uint64_t changed_on_server = 0; // stored events the server sent again with other content
  // How many runs this record stands for: 1, or more when consecutive runs that found nothing
  // new were folded into it; then `started_at` is the first one's start, `ended_at` and
  // `last_started_at` the last one's, and the counts are summed. 1 for histories written before
  // the field existed.
  std::uint64_t runs = 1;
  std::string last_started_at; // "" unless runs > 1
};

// The history keeps at most this many records (see `save_run`).
inline constexpr std::size_t k_max_history_records = 1000;

// "1 event", "2 events": `count` and `noun`, with an "s" unless count is 1.
std::string counted(std::uint64_t count, std::string_view noun);

// The one JSON shape of a run record, for `.download_history.json` and every `--json` output
// (`bdd log --json`, `bdd status --json`'s `last_run`). Absent values are null; `error` and the
// warnings are passed through `bdd::redact_known_secrets`. Fields are only ever added.
nlohmann::ordered_json run_to_json(const RunRecord& run);
// The record in `object` as written by any version of bdd: missing or mistyped fields take
// their defaults, so that one odd entry never makes the whole history unreadable.
RunRecord run_from_json(const nlohmann::json& object);

// Whether `run` is a plain run that found nothing: status no_new_events, no warning, nothing
// changed or quarantined. Consecutive such runs are folded into one record.
bool is_plain_no_op(const RunRecord& run);

// Record `run` (finished or running) in `runs` the way `save_run` does: replace the record with
// the same run_id or append it; fold a finished plain no-op into the previous record when that
// is one too; then drop the oldest records past `k_max_history_records`, always keeping the
// first one (the first download).
void add_run(std::vector<RunRecord>& runs, const RunRecord& run);

std::filesystem::path metadata_path(const std::filesystem::path& study_dir);
std::filesystem::path history_path(const std::filesystem::path& study_dir);

// Read `.metadata.json`; nullopt if the study has none. Fails with Errc::storage naming the file
// if it exists but is not valid.
Result<std::optional<Metadata>> read_metadata(const std::filesystem::path& study_dir);
Result<void> write_metadata(const std::filesystem::path& study_dir, const Metadata& metadata);

// Read every run, oldest first; empty if there is no history. Fails with Errc::storage naming
// the file if it is not valid.
Result<std::vector<RunRecord>> read_history(const std::filesystem::path& study_dir);
// `add_run(history, record)`, then rewrite the file atomically (a temporary file, fsync, rename,
// fsync of the folder: a crash leaves the old history or the new one). Every `error` and warning
// written is passed through `bdd::redact_known_secrets` first. The file is a JSON array with one
// record per line, as older versions of bdd read it.
Result<void> save_run(const std::filesystem::path& study_dir, const RunRecord& record);
// Rewrite the whole history atomically, as it is (no folding, no cap).
Result<void> write_history(const std::filesystem::path& study_dir,
                           const std::vector<RunRecord>& runs);

} // namespace bdd::tracking
