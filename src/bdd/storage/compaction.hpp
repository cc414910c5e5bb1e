#pragma once

// Compaction of part files (FormatStorage::part_files, the `parquet` format): a leaf folder's
// small parts merged into one, streaming, in the order of their names. What the state records
// of it, and when the old parts go, is ops/compaction.cpp's: this is the file work.

#include <bdd/core/result.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bdd::storage {

// When a leaf's parts are merged (documented in README.md, "Parquet"). Parts are taken in name
// order, which is the order they were committed in; "small" parts are those under
// `large_part_bytes`. The small parts after the leaf's last large one are merged into one when
// the leaf holds more than `max_parts` parts, or when they add up to `large_part_bytes` or more
// (and are at least two). Large parts are never rewritten again.
struct CompactionRule {
  std::size_t max_parts = 16;
  std::uint64_t large_part_bytes = std::uint64_t{128} << 20;
};

// A data file and its committed size (what the state records).
struct PartFile {
  std::string path; // relative to the study, '/'-separated
  std::uint64_t size = 0;
};

// One merge: `parts` (in order) become `target`, a new part in the same folder that sorts
// where they did (after the part before them and before every later one).
struct Compaction {
  std::vector<std::string> parts;
  std::string target;
};

// The merges `rule` asks for among `files` (any order; files that are not part files are
// ignored).
std::vector<Compaction> plan_compactions(const std::vector<PartFile>& files,
                                         const CompactionRule& rule);

struct MergedPart {
  std::uint64_t size = 0;
  std::string sha256; // hex, of the whole file
  std::uint64_t rows = 0;
};

// Write `compaction.target` (beneath `study_dir`, through no link; it must not exist) from the
// rows of its parts in order, reading and writing one row group at a time, then fdatasync it and
// fsync its folder. The parts are left alone. On failure the target may exist, partly written:
// the caller journals it first (size 0) so that a rollback removes it.
Result<MergedPart> merge_parts(const std::filesystem::path& study_dir,
                               const std::string& study_name,
                               const Compaction& compaction);

// Remove the data file `relative` beneath `study_dir` (through no link) and the folders left
// empty; a file already gone is no error.
Result<void> remove_data_file(const std::filesystem::path& study_dir, const std::string& relative);

} // namespace bdd::storage
