#pragma once

#include <bdd/api/client.hpp>
#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>
#include <bdd/storage/compaction.hpp>
#include <bdd/tracking/records.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bdd::ops {

// A snapshot of a running download, reported after every page.
struct DownloadProgress {
  std::uint64_t events_received = 0; // this run, duplicates included
  std::uint64_t events_added = 0;
  std::uint64_t start_offset = 0;
  std::uint64_t offset = 0; // server positions consumed so far (absolute)
  std::optional<std::uint64_t> remote_total;
  std::uint64_t bytes = 0;
};

struct DownloadOptions {
  bool fresh = false; // rebuild the study from scratch in a new folder, swapped in when complete
  // Rebuild the state from what the data files hold (damaged files are cut back or set aside in
  // .bdd/quarantine/), then scan the server from offset 0 to add what is missing. Not with fresh.
  bool repair = false;
  // Fail (Errc::unusable_data) when the server sent items that are not usable events; they are
  // quarantined and every other event is stored either way.
  bool strict = false;
  std::function<void(const DownloadProgress&)> on_progress; // may be empty
  const std::atomic<bool>* stop = nullptr; // set by SIGINT/SIGTERM: commit, record, stop
  // Makes the API clients (one per connection); empty: libcurl clients for the config. Tests
  // pass scripted ones.
  std::function<std::unique_ptr<api::Client>()> make_client;
  // The time commits are timed by (every 2 s, `.metadata.json` every 5 s); empty: steady_clock.
  // Tests pass one they move, to drive commits by time without sleeping.
  std::function<std::chrono::steady_clock::time_point()> clock;
  // Called once with the run's final history record, whatever the outcome (failed and
  // interrupted runs included), before `download` returns; not called when the run did not get
  // that far (no lock, bad config). May be empty.
  std::function<void(const tracking::RunRecord&)> on_recorded;
  // Part files (`parquet`): a leaf folder holding more than this many parts has its small parts
  // merged into one at the end of the run (storage::CompactionRule; at least 2). The CLI takes
  // it from BDD_PARQUET_COMPACT_PARTS, for tests that make compaction frequent.
  std::size_t compact_parts = storage::CompactionRule{}.max_parts;
  // For tests only: called on the committing thread before each batch is written (a slow disk,
  // to check that memory stays bounded). Empty in bdd.
  std::function<void()> before_commit_write;
};

struct DownloadReport {
  tracking::RunRecord run;
  std::filesystem::path study_dir;
  std::uint64_t events_stored = 0;
  std::vector<std::string> warnings; // also logged as they happen
};

// Download the new events of `config.study_name` into `<data_directory>/<study>/`.
//
// Incremental: resumes from the committed cursor. Every request re-reads the event before its
// offset (the seam) to check that the server's list did not shift; when a seam does not match,
// bisection over the seams recorded by earlier pages finds where the list and the stored copy
// part (see seams.hpp), the list is read again from there and only what is missing is added
// (events are de-duplicated by id). A run ends only when a response shows the list ends where
// the run stopped. Commits every few thousand events
// or every second: after a commit the data files, `.metadata.json` and the state agree, so an
// interrupt at any instant loses at most the uncommitted pages and the next run continues exactly.
// Every run that gets past the lock leaves a record in `.download_history.json`, failed and
// interrupted runs included; the error returned is the one recorded. A study that holds data
// keeps the storage format and folder_structure it records in `.metadata.json` unless the study
// config sets them (`Config::format_from_study_config`); a different one set there is refused.
Result<DownloadReport> download(const config::Config& config, const DownloadOptions& options);

} // namespace bdd::ops
