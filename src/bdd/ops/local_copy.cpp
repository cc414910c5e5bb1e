#include "local_copy.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/storage/layout.hpp>
#include <bdd/tracking/state.hpp>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;

Result<std::vector<storage::Level>> levels_of(const tracking::Metadata& metadata) {
  std::vector<storage::Level> levels;
  for (const auto& name : metadata.folder_structure) {
    const auto level = storage::parse_level(name);
    if (!level) {
      return Error(Errc::storage,
                   "\".metadata.json\" names an unknown folder level \"" + name
                       + "\" (run `bdd verify " + metadata.study_name + "`)");
    }
    levels.push_back(*level);
  }
  return levels;
}

} // namespace

Error no_local_data(const std::string& study, const StudyPaths& paths) {
  return Error(Errc::usage,
               "no local data for study \"" + study + "\" in \"" + paths.study_dir.string()
                   + "\" (run `bdd download " + study + "` first)");
}

bool is_inside(const stdfs::path& inner, const stdfs::path& outer) {
  std::error_code ec;
  const stdfs::path a = stdfs::weakly_canonical(stdfs::absolute(inner), ec);
  const stdfs::path b = stdfs::weakly_canonical(stdfs::absolute(outer), ec);
  auto it = a.begin();
  for (const auto& part : b) {
    if (part.empty()) {
      continue; // a trailing separator
    }
    if (it == a.end() || *it != part) {
      return false;
    }
    ++it;
  }
  return true;
}

stdfs::path temp_folder(const std::map<std::string, std::string>& environment) {
  const auto tmp = environment.find("TMPDIR");
  return tmp != environment.end() && !tmp->second.empty() ? stdfs::path(tmp->second)
                                                          : stdfs::path("/tmp");
}

Result<LocalCopy> open_local_copy(const std::string& study,
                                  const StudyPaths& paths,
                                  const exporting::Filter& filter,
                                  const std::function<void(const std::string&)>& on_wait,
                                  const std::atomic<bool>* stop) {
  std::error_code ec;
  if (!stdfs::is_directory(paths.study_dir, ec)) {
    return no_local_data(study, paths);
  }
  BDD_TRY_ASSIGN(FileLock lock, FileLock::acquire_shared(paths.lock, on_wait, stop));
  BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(paths.study_dir));
  if (!metadata) {
    return no_local_data(study, paths);
  }
  const FormatInfo& stored = format_info(metadata->format);
  if (has_leaf_files(stored) && fs::regular_file_size(tracking::state_path(paths.study_dir))) {
    BDD_TRY_ASSIGN(auto state, tracking::open_state(paths.study_dir));
    BDD_TRY_ASSIGN(auto pending, state->pending());
    if (!pending.empty()) {
      return Error(Errc::storage,
                   "the local copy of study \"" + study
                       + "\" has an unfinished commit from an interrupted "
                         "download (run `bdd download "
                       + study + "` first, which completes it)");
    }
  }
  BDD_TRY_ASSIGN(auto levels, levels_of(*metadata));
  const auto naming = storage::parse_partition_naming(metadata->partition_naming);
  if (!naming) {
    return Error(Errc::storage,
                 "\".metadata.json\" names an unknown partition naming \""
                     + metadata->partition_naming + "\" (run `bdd verify " + study + "`)");
  }
  BDD_TRY_ASSIGN(
      auto inputs,
      exporting::plan_inputs(paths.study_dir, metadata->format, levels, *naming, filter));
  return LocalCopy{std::move(lock), std::move(*metadata), std::move(inputs)};
}

} // namespace bdd::ops
