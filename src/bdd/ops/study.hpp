#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>
#include <bdd/tracking/records.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace bdd::ops {

// What is known locally about a study, read from `.metadata.json` and the history (never the
// data files, so it is fast whatever the study's size).
struct StudyStatus {
  std::filesystem::path study_dir;
  std::optional<tracking::Metadata> metadata;  // nullopt: never downloaded
  std::optional<tracking::RunRecord> last_run; // the newest history record
};

// Read the local status of `config.study_name`. Fails with Errc::storage if a tracking file is
// corrupt.
Result<StudyStatus> study_status(const config::Config& config);

// Every run of the study, oldest first.
Result<std::vector<tracking::RunRecord>> study_history(const config::Config& config);

// The number of events the server holds for the study now (one request for one event).
Result<std::uint64_t> remote_total(const config::Config& config);

// Delete the study's local folder (data, metadata, history and state) while holding its download
// lock, so a running download is never pulled from under its feet. Deletes only a folder that
// carries bdd's marker for the study (a regular `.bdd/state.sqlite`, or a `.metadata.json` whose
// study_name is the study); anything else fails with Errc::usage and nothing is deleted. The
// folder is first renamed to `<data>/.<study>.removing-<pid>` and the rename synced, then
// deleted, so an interrupt leaves the whole study or nothing at its path; a leftover of an
// interrupted rm is deleted by the next rm of the study (downloads ignore it). Links inside the
// study are removed, never followed. Fails with Errc::usage if there is nothing to delete.
Result<std::filesystem::path> remove_study(const config::Config& config);

// Whether `remove_study` would delete the study's folder (the checks it makes first), so that
// `bdd rm` does not ask for a confirmation it would then refuse.
Result<void> check_removable(const config::Config& config);

} // namespace bdd::ops
