#pragma once

// bdd's programmatic API: the engine behind the `bdd` command, for programs that embed it.
// Link the CMake target `bdd_library`. Uses only standard types; never throws for failures that
// happen in normal use (they are reported in `Outcome`).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bdd {

// Whether a call succeeded; if not, what went wrong, phrased as the CLI prints it (one line,
// never a secret), and its kind: "usage", "config", "auth", "not_found", "bad_request",
// "network", "protocol", "storage", "interrupted", "locked" or "internal".
struct Outcome {
  bool ok = true;
  std::string error_kind;
  std::string message;
};

// Reported after every page of a download.
struct Progress {
  std::uint64_t events_received = 0; // this run, duplicates included
  std::uint64_t events_added = 0;
  std::uint64_t offset = 0; // server positions consumed
  std::optional<std::uint64_t> remote_total;
};

struct DownloadSummary {
  Outcome outcome;
  std::uint64_t events_received = 0;
  std::uint64_t events_added = 0;
  std::uint64_t duplicates_skipped = 0;
  std::uint64_t events_stored = 0; // in the local copy after the run
  std::filesystem::path study_dir;
};

// How `Downloader::download` runs; the defaults are `bdd download <study>`'s.
struct DownloadRequest {
  bool fresh = false; // `--fresh`
  // Called after every page, on the thread that called `download`. May be empty.
  std::function<void(const Progress&)> on_progress;
  // When set (from a signal handler, another thread), the download stops after the current
  // commit, records the run and fails with kind "interrupted", as the CLI does on Ctrl-C.
  const std::atomic<bool>* stop = nullptr;
};

struct LocalStatus {
  Outcome outcome;
  bool downloaded = false; // false: no local data yet
  std::uint64_t events_stored = 0;
  std::optional<std::uint64_t> remote_total; // as seen by the last download
  std::string last_update;                   // UTC ISO-8601, "" if never
  std::filesystem::path study_dir;
  // Of the local copy; of the config when not downloaded.
  std::string format;
  std::vector<std::string> folder_structure;
  std::string newest_stored_timestamp; // "" if none
};

// The download history, oldest first: each run's record as one JSON object, the shape of
// `bdd log --json` (README "Scripting").
struct History {
  Outcome outcome;
  std::vector<std::string> runs;
};

// One problem `verify` found; `kind` is one of the names in README "Verifying and repairing"
// ("checksum", "duplicate", "lost", ...). Warnings have `error` false.
struct VerifyFinding {
  std::string kind;
  std::string file;       // relative to the study folder; "" if none
  std::uint64_t line = 0; // line or rowid; 0 if none
  std::string id;         // "" if none
  std::string message;
  bool error = true;
};

struct VerifyResult {
  Outcome outcome; // whether the check could run; `ok` says whether the copy passed
  bool ok = false; // no finding is an error
  std::uint64_t events = 0;
  std::uint64_t files = 0;
  std::vector<VerifyFinding> findings;
  std::filesystem::path study_dir;
};

// Which events `Downloader::events` yields: `bdd export`'s filters, with the same text and
// meaning (`--since`, `--until`, `--time-field stored`, `--user`, `--event-type`).
struct EventQuery {
  std::optional<std::string> since; // inclusive
  std::optional<std::string> until; // exclusive
  bool stored_time = false;         // the bounds apply to stored_timestamp, not timestamp
  std::vector<std::string> users;
  std::vector<std::string> event_types;
};

// The stored events of one study, read on a thread of its own at most 4,096 events (8 MiB) ahead
// of `next`, so memory stays flat whatever the study's size. Holds the study's lock shared while
// that thread reads (a download of the study started meanwhile fails with kind "locked"), until
// it has read the last event or the reader is destroyed, which stops the reading.
class EventReader {
public:
  EventReader(EventReader&&) noexcept;
  EventReader& operator=(EventReader&&) noexcept;
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;
  ~EventReader();

  // The next event, in export order (stored_timestamp, then id: the server's order, except
  // among events stored at the same instant, whose server order the copy does not record), as one
  // compact JSON object with the keys id, study_name, user_id, event_type, element_id, timestamp,
  // stored_timestamp, page_url and data (the server's event, unchanged), as `bdd export --format
  // jsonl` writes it; nullopt at the end or on failure (`outcome` then says which).
  std::optional<std::string> next();
  // Ok until the reading fails; final once `next` has returned nullopt.
  Outcome outcome() const;

  struct Impl;

private:
  friend class Downloader;
  explicit EventReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Downloads studies configured under one working directory, exactly as `bdd -C <work_dir>` does
// (same configs, `.env`, key priority, storage layout, locking and crash safety).
class Downloader {
public:
  // Uses the process environment (plus `<work_dir>/.env`).
  explicit Downloader(std::filesystem::path work_dir);
  // Uses `environment` instead of the process environment (plus `<work_dir>/.env`).
  Downloader(std::filesystem::path work_dir, std::map<std::string, std::string> environment);

  // `bdd download <study> [--fresh]`. `on_progress` may be empty.
  DownloadSummary download(const std::string& study,
                           bool fresh = false,
                           const std::function<void(const Progress&)>& on_progress = {}) const;
  DownloadSummary download(const std::string& study, const DownloadRequest& request) const;
  // `bdd status <study>`: what is stored locally; reads metadata only.
  LocalStatus status(const std::string& study) const;
  // `bdd log <study>`, oldest first.
  History history(const std::string& study) const;
  // `bdd verify <study> [--remote]`: reads every data file once, with flat memory.
  VerifyResult verify(const std::string& study, bool remote = false) const;
  // The local copy's events (never the server's) that `query` keeps. A bad query, a study never
  // downloaded or an unfinished commit fail here, in the reader's `outcome` before its first
  // event; waits for a running download of the study before it returns.
  EventReader events(const std::string& study, const EventQuery& query = {}) const;

private:
  std::filesystem::path m_work_dir;
  std::map<std::string, std::string> m_environment;
};

} // namespace bdd
