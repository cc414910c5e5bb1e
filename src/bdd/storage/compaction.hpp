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
// (and are at least two). Otherwise the newest parts that together stay within
// `tiny_bytes` are merged when they are at least two: rewriting them costs little, and a
// nested layout's fresh download leaves several such parts in every leaf (one per commit that
// touched it), which would cost a file each to every later verify, run and query. Large parts
// are never rewritten again.
struct CompactionRule {
  std::size_t max_parts = 16;
  std::uint64_t large_part_bytes = std::uint64_t{128} << 20;
  std::uint64_t tiny_bytes = std::uint64_t{4} << 20;
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

// Write each merge's target (beneath `study_dir`, through no link; it must not exist) from the
// rows of its parts in order, reading and writing one row group at a time, then make them all
// durable: each file fdatasync'ed and its folder fsynced, or from k_sync_whole_fs_leaves merges
// one syncfs(). The parts are left alone. Returns what was written, in the order of `merges`.
// On failure a target may exist, partly written: the caller journals them first (size 0) so
// that a rollback removes them.
Result<std::vector<MergedPart>> merge_parts(const std::filesystem::path& study_dir,
                                            const std::string& study_name,
                                            const std::vector<Compaction>& merges);

// Remove the data files `relative` beneath `study_dir` (through no link) and the folders left
// empty, then make that durable: the folders that changed fsynced, or from
// k_sync_whole_fs_leaves files one syncfs(). A file already gone is no error.
Result<void> remove_data_files(const std::filesystem::path& study_dir,
                               const std::vector<std::string>& relative);

} // namespace bdd::storage
