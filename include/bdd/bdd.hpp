#pragma once

// bdd's programmatic API: the engine behind the `bdd` command, for programs that embed it.
// Link the CMake target `bdd_library`. Uses only standard types; never throws for failures that
// happen in normal use (they are reported in `Outcome`).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

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

struct LocalStatus {
  Outcome outcome;
  bool downloaded = false; // false: no local data yet
  std::uint64_t events_stored = 0;
  std::optional<std::uint64_t> remote_total; // as seen by the last download
  std::string last_update;                   // UTC ISO-8601, "" if never
  std::filesystem::path study_dir;
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
  // `bdd status <study>`: what is stored locally; reads metadata only.
  LocalStatus status(const std::string& study) const;

private:
  std::filesystem::path m_work_dir;
  std::map<std::string, std::string> m_environment;
};

} // namespace bdd
