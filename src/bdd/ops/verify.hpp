#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bdd::ops {

// One problem `verify` found. `kind` is one of:
//   "unfinished_commit" an interrupted download left its rollback journal
//   "missing"           a data file the state records is gone
//   "untracked"         a data file the state does not record
//   "size"              a data file's size differs from the last commit's
//   "checksum"          a data file's SHA-256 differs from the last commit's (edit, bit rot)
//   "integrity"         SQLite's integrity_check failed
//   "parse"             a data file cannot be read at `line` (cut short, edited)
//   "duplicate"         `id` is stored twice; `message` names the first place
//   "count"             the files, .metadata.json and the state disagree on the event count
//   "unrecorded"        `id` is in a data file but not in the state's ids
//   "lost"              `id` is in the state's ids but in no data file
//   "not_downloaded"    (--remote) `id` is on the server but not stored locally
//   "deleted_on_server" (--remote) stored locally but no longer on the server: a warning
//   "changed_on_server" (--remote) the server's version of a stored event differs: a warning
//                       (the stored one is kept)
//   "quarantined"       an item the server sent that is not a usable event, kept in the
//                       state's quarantine (`line` is its server offset): a warning
struct Finding {
  std::string kind;
  std::string file;       // relative to the study folder, '/'-separated; "" if none
  std::uint64_t line = 0; // line (text formats) or rowid (sqlite); 0 if none
  std::string id;         // "" if none
  std::string message;
  bool error = true; // false for warnings, which do not make the copy fail verification
};

struct VerifyOptions {
  bool remote = false;                     // also compare with the server, page by page
  const std::atomic<bool>* stop = nullptr; // set by SIGINT/SIGTERM
  // Called once, with who holds the lock, if verify has to wait for a running download.
  std::function<void(const std::string& holder)> on_wait;
};

struct VerifyReport {
  std::filesystem::path study_dir;
  std::uint64_t events = 0;                  // events read from the data files, duplicates included
  std::uint64_t files = 0;                   // data files read
  std::optional<std::uint64_t> remote_total; // with --remote: the server's total
  std::vector<Finding> findings;
  // True when no finding is an error.
  bool ok() const;
};

// Check that the local copy of `config.study_name` is complete and intact, reading every data
// file once with flat memory: every file parses, no id is stored twice, the event counts of the
// files, `.metadata.json` and the state agree, and each file's size and SHA-256 match the last
// commit's manifest. With `options.remote`, every id on the server must be stored locally, and
// stored ids the server no longer has are reported as warnings. Holds the study's lock shared,
// as export does: it waits for a running download (`on_wait`; Errc::interrupted if `stop` is set
// meanwhile), a download started meanwhile fails with Errc::locked, and exports and other
// verifies run beside it. Problems with the data are findings, not
// errors; errors are for what stops the check itself (no local data: Errc::usage; the lock,
// the network, an unreadable state).
Result<VerifyReport> verify(const config::Config& config, const VerifyOptions& options);

} // namespace bdd::ops
