#include "study.hpp"

#include "connection.hpp"
#include "study_paths.hpp"

#include <bdd/api/client.hpp>
#include <bdd/core/file_lock.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/tracking/state.hpp>

#include <unistd.h>

#include <cstdio>

namespace bdd::ops {

Result<StudyStatus> study_status(const config::Config& config) {
  StudyStatus status;
  status.study_dir = study_paths(config).study_dir;
  BDD_TRY_ASSIGN(status.metadata, tracking::read_metadata(status.study_dir));
  BDD_TRY_ASSIGN(auto runs, tracking::read_history(status.study_dir));
  if (!runs.empty()) {
    status.last_run = runs.back();
  }
  return status;
}

Result<std::vector<tracking::RunRecord>> study_history(const config::Config& config) {
  return tracking::read_history(study_paths(config).study_dir);
}

Result<std::uint64_t> remote_total(const config::Config& config) {
  auto client = api::make_client(client_options(config));
  BDD_TRY_ASSIGN(auto page, client->fetch_page(0, 1));
  if (page.total) {
    return *page.total;
  }
  return Error(Errc::protocol,
               "the server did not report a total for study \"" + config.study_name + "\"");
}

namespace {

namespace stdfs = std::filesystem;

// What makes a folder bdd's copy of `study`: its state database, or a `.metadata.json` that
// names the study, either a regular file (lstat: a planted link proves nothing).
bool carries_marker(const stdfs::path& dir, const std::string& study) {
  std::error_code ec;
  if (stdfs::symlink_status(tracking::state_path(dir), ec).type() == stdfs::file_type::regular) {
    return true;
  }
  if (stdfs::symlink_status(tracking::metadata_path(dir), ec).type() != stdfs::file_type::regular) {
    return false;
  }
  auto metadata = tracking::read_metadata(dir);
  return metadata && *metadata && (*metadata)->study_name == study;
}

// `<data>/.<study>.removing-<pid>`: the name a study folder is renamed to before it is deleted.
// Hidden, and no download path uses it.
std::string removing_prefix(const std::string& study) {
  return "." + study + ".removing-";
}

// Delete what an interrupted `bdd rm` of `study` renamed aside and did not finish deleting.
Result<void> finish_interrupted_removals(const stdfs::path& data_dir, const std::string& study) {
  const std::string prefix = removing_prefix(study);
  std::vector<stdfs::path> leftovers;
  std::error_code ec;
  for (stdfs::directory_iterator it(data_dir, ec); !ec && it != stdfs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string pid = name.substr(std::min(name.size(), prefix.size()));
    if (name.starts_with(prefix) && !pid.empty()
        && pid.find_first_not_of("0123456789") == std::string::npos) {
      leftovers.push_back(it->path());
    }
  }
  for (const auto& leftover : leftovers) {
    BDD_TRY(fs::remove_tree(leftover));
  }
  return ok();
}

// Rename `dir` aside (atomic: an interrupt leaves all of it or nothing at its path), make the
// rename durable, then delete it.
Result<void> remove_aside(const stdfs::path& dir, const stdfs::path& aside) {
  if (::rename(dir.c_str(), aside.c_str()) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot remove", dir, errno));
  }
  BDD_TRY(fs::sync_directory(dir.parent_path()));
  return fs::remove_tree(aside);
}

} // namespace

Result<void> check_removable(const config::Config& config) {
  const StudyPaths paths = study_paths(config);
  const std::string& study = config.study_name;
  std::error_code ec;
  const auto type = stdfs::symlink_status(paths.study_dir, ec).type();
  if (type == stdfs::file_type::not_found || type == stdfs::file_type::none) {
    return Error(Errc::usage,
                 "no local data for study \"" + study + "\" in \"" + paths.study_dir.string()
                     + "\"");
  }
  // Only a folder bdd made for this study, whatever --force says: a data_directory of "/" or
  // of the home directory must never make rm delete it.
  if (type != stdfs::file_type::directory || !carries_marker(paths.study_dir, study)) {
    return Error(Errc::usage,
                 "refusing to delete \"" + paths.study_dir.string()
                     + "\": it is not a study folder made by bdd (it has no .bdd/state.sqlite and "
                       "no .metadata.json naming study \""
                     + study + "\"); delete it yourself if you mean to");
  }
  return ok();
}

Result<std::filesystem::path> remove_study(const config::Config& config) {
  const StudyPaths paths = study_paths(config);
  const std::string& study = config.study_name;
  std::error_code ec;
  BDD_TRY(check_removable(config));
  BDD_TRY_ASSIGN(FileLock lock,
                 FileLock::acquire(paths.lock, "a download of study \"" + study + "\""));
  BDD_TRY(finish_interrupted_removals(config.data_directory, study));
  const std::string aside = removing_prefix(study) + std::to_string(::getpid());
  BDD_TRY(remove_aside(paths.study_dir, config.data_directory / aside));
  // A --fresh rebuild in progress or the old copy of an interrupted swap: bdd's own names,
  // deleted only if they too carry the marker.
  for (const auto& dir : {paths.fresh_dir, paths.old_dir}) {
    if (stdfs::symlink_status(dir, ec).type() == stdfs::file_type::directory
        && carries_marker(dir, study)) {
      BDD_TRY(remove_aside(dir, config.data_directory / aside));
    }
  }
  // The lock file stays: deleting it while held would let a download starting now lock a
  // different file than the next one.
  return paths.study_dir;
}

} // namespace bdd::ops
