#include "study.hpp"

#include "connection.hpp"
#include "study_paths.hpp"

#include <bdd/api/client.hpp>
#include <bdd/core/file_lock.hpp>
#include <bdd/core/fs.hpp>

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

Result<std::filesystem::path> remove_study(const config::Config& config) {
  const StudyPaths paths = study_paths(config);
  std::error_code ec;
  if (!std::filesystem::exists(paths.study_dir, ec)) {
    return Error(Errc::usage,
                 "no local data for study \"" + config.study_name + "\" in \""
                     + paths.study_dir.string() + "\"");
  }
  BDD_TRY_ASSIGN(
      FileLock lock,
      FileLock::acquire(paths.lock, "a download of study \"" + config.study_name + "\""));
  for (const auto& dir : {paths.study_dir, paths.fresh_dir, paths.old_dir}) {
    std::filesystem::remove_all(dir, ec);
    if (ec) {
      return Error(Errc::storage, fs::describe_errno("cannot remove", dir, ec.value()));
    }
  }
  // The lock file stays: deleting it while held would let a download starting now lock a
  // different file than the next one.
  return paths.study_dir;
}

} // namespace bdd::ops
