#pragma once

// A study's local copy opened for reading, the one way `export` and `report` read it.

#include "study_paths.hpp"

#include <bdd/core/file_lock.hpp>
#include <bdd/core/result.hpp>
#include <bdd/export/filter.hpp>
#include <bdd/export/inputs.hpp>
#include <bdd/tracking/records.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bdd::ops {

struct LocalCopy {
  FileLock lock; // the study's lock, shared: held while the copy is read
  tracking::Metadata metadata;
  std::vector<exporting::Input> inputs; // what `filter` needs (exporting::plan_inputs)
};

// The usage error of a study never downloaded (run `bdd download` first).
Error no_local_data(const std::string& study, const StudyPaths& paths);

// True if `inner` is `outer` or lies inside it, both resolved (links followed, `..` removed).
bool is_inside(const std::filesystem::path& inner, const std::filesystem::path& outer);

// $TMPDIR of `environment` (core/environment.hpp: bdd itself never calls getenv), else /tmp:
// where the sorted runs of a stream go when there is no output file to put them beside.
std::filesystem::path temp_folder(const std::map<std::string, std::string>& environment);

// Takes `study`'s lock shared (waiting for a running download: `on_wait` is told who holds it;
// `stop` interrupts the wait), reads `.metadata.json` and plans the inputs `filter` needs.
// Fails with Errc::usage when the study was never downloaded, Errc::storage for an unfinished
// commit (run `bdd download` first) or a `.metadata.json` naming unknown folder levels,
// Errc::interrupted.
Result<LocalCopy> open_local_copy(const std::string& study,
                                  const StudyPaths& paths,
                                  const exporting::Filter& filter,
                                  const std::function<void(const std::string&)>& on_wait,
                                  const std::atomic<bool>* stop);

} // namespace bdd::ops
