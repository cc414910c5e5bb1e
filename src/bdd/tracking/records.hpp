#pragma once

#include <bdd/core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bdd::tracking {

// `.metadata.json`: what a person or `bdd status` needs to know about the local copy without
// reading the data. Rewritten atomically after every commit.
struct Metadata {
  std::string study_name;
  std::string format;
  std::vector<std::string> folder_structure;
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
};

// One `bdd download` run in `.download_history.json`.
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
};

std::filesystem::path metadata_path(const std::filesystem::path& study_dir);
std::filesystem::path history_path(const std::filesystem::path& study_dir);

// Read `.metadata.json`; nullopt if the study has none. Fails with Errc::storage naming the file
// if it exists but is not valid.
Result<std::optional<Metadata>> read_metadata(const std::filesystem::path& study_dir);
Result<void> write_metadata(const std::filesystem::path& study_dir, const Metadata& metadata);

// Read every run, oldest first; empty if there is no history. Fails with Errc::storage naming
// the file if it is not valid.
Result<std::vector<RunRecord>> read_history(const std::filesystem::path& study_dir);
// Add `record`, or replace the record with the same run_id, and rewrite the file atomically.
// Every `error` and warning written is passed through `bdd::redact_known_secrets` first.
Result<void> save_run(const std::filesystem::path& study_dir, const RunRecord& record);
// Rewrite the whole history atomically.
Result<void> write_history(const std::filesystem::path& study_dir,
                           const std::vector<RunRecord>& runs);

} // namespace bdd::tracking
