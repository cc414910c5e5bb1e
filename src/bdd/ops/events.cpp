#include "events.hpp"

#include "study_paths.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/export/stream.hpp>
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

Error no_local_data(const std::string& study, const stdfs::path& study_dir) {
  return Error(Errc::usage,
               "no local data for study \"" + study + "\" in \"" + study_dir.string()
                   + "\" (run `bdd download " + study + "` first)");
}

Result<LocalCopy> open_local_copy(const config::Config& config,
                                  const exporting::Filter& filter,
                                  const std::function<void(const std::string& holder)>& on_wait,
                                  const std::atomic<bool>* stop) {
  const std::string& study = config.study_name;
  const StudyPaths paths = study_paths(config);
  std::error_code ec;
  if (!stdfs::is_directory(paths.study_dir, ec)) {
    return no_local_data(study, paths.study_dir);
  }
  BDD_TRY_ASSIGN(FileLock lock, FileLock::acquire_shared(paths.lock, on_wait, stop));
  BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(paths.study_dir));
  if (!metadata) {
    return no_local_data(study, paths.study_dir);
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

stdfs::path temp_folder(const std::map<std::string, std::string>& environment) {
  const auto tmp = environment.find("TMPDIR");
  return tmp != environment.end() && !tmp->second.empty() ? stdfs::path(tmp->second)
                                                          : stdfs::path("/tmp");
}

Result<void> read_events(const config::Config& config,
                         LocalCopy copy,
                         const EventReadOptions& options,
                         const std::function<Result<void>(const model::Event&)>& visit) {
  exporting::StreamOptions stream_options;
  stream_options.study_dir = study_paths(config).study_dir;
  stream_options.study_name = config.study_name;
  stream_options.format = copy.metadata.format;
  stream_options.inputs = std::move(copy.inputs);
  stream_options.filter = options.filter;
  stream_options.temp_parent = options.temp_parent;
  stream_options.stop = options.stop;
  exporting::EventStream stream(std::move(stream_options));
  return stream.for_each(visit);
}

} // namespace bdd::ops
