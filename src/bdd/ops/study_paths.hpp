#pragma once

#include <bdd/config/config.hpp>

#include <filesystem>

namespace bdd::ops {

// Where a study's files live under `storage.data_directory`. The study name was validated on
// the command line, so these never leave the data directory.
struct StudyPaths {
  std::filesystem::path study_dir; // <data>/<study>: data, .metadata.json, history, .bdd/
  std::filesystem::path fresh_dir; // <data>/.<study>.fresh: a --fresh rebuild in progress
  std::filesystem::path old_dir;   // <data>/.<study>.old: the old copy while --fresh swaps
  std::filesystem::path lock;      // <data>/.<study>.lock: serialises download and rm
};

inline StudyPaths study_paths(const config::Config& config) {
  const auto& data = config.data_directory;
  const auto& study = config.study_name;
  return {data / study, data / ("." + study + ".fresh"), data / ("." + study + ".old"),
          data / ("." + study + ".lock")};
}

} // namespace bdd::ops
