#include "compaction.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace bdd::ops {

namespace {

// Merges recorded by one state transaction: bounds the journal, the transaction and the file
// list held in memory, while a nested layout's thousands of leaves still cost a few syncs.
constexpr std::size_t k_merges_per_commit = 512;

} // namespace

Result<void> finish_deletions(tracking::State& state, const std::filesystem::path& study_dir) {
  BDD_TRY_ASSIGN(const auto doomed, state.doomed());
  if (doomed.empty()) {
    return ok();
  }
  BDD_TRY(storage::remove_data_files(study_dir, doomed));
  spdlog::debug("compaction: deleted {} replaced part files an earlier run left", doomed.size());
  return state.forget_doomed(doomed);
}

Result<std::size_t> compact_parts(tracking::State& state,
                                  const std::filesystem::path& study_dir,
                                  const std::string& study_name,
                                  const storage::CompactionRule& rule,
                                  const std::atomic<bool>* stop) {
  // Each step's inputs are freed before the next: a nested layout's fresh download has tens of
  // thousands of parts, and their records, names and merges would otherwise all be held at once.
  std::vector<storage::PartFile> parts;
  {
    BDD_TRY_ASSIGN(const auto files, state.files());
    parts.reserve(files.size());
    for (const auto& file : files) {
      parts.push_back({file.path, file.size});
    }
  }
  const std::vector<storage::Compaction> plan = storage::plan_compactions(parts, rule);
  std::vector<storage::PartFile>().swap(parts);
  std::size_t merged = 0;
  while (merged < plan.size()) {
    if (stop != nullptr && stop->load()) {
      break;
    }
    const std::size_t count = std::min(k_merges_per_commit, plan.size() - merged);
    const std::vector<storage::Compaction> group(plan.begin() + static_cast<std::ptrdiff_t>(merged),
                                                 plan.begin()
                                                     + static_cast<std::ptrdiff_t>(merged + count));
    std::vector<tracking::FileRecord> journal;
    journal.reserve(group.size());
    for (const storage::Compaction& compaction : group) {
      journal.push_back({compaction.target, 0, {}, {}}); // rollback removes it
    }
    BDD_TRY(state.begin_commit(journal));
    BDD_TRY_ASSIGN(const auto written, storage::merge_parts(study_dir, study_name, group));
    tracking::CommitRecord record; // the cursor as it is: no event is added or removed
    BDD_TRY_ASSIGN(record.cursor, state.cursor());
    std::uint64_t rows = 0;
    for (std::size_t i = 0; i < group.size(); ++i) {
      record.files.push_back({group[i].target, written[i].size, written[i].sha256, {}});
      record.removed_files.insert(
          record.removed_files.end(), group[i].parts.begin(), group[i].parts.end());
      rows += written[i].rows;
    }
    record.durable = true; // the old parts go only once this is on disk
    BDD_TRY(state.finish_commit(record));
    spdlog::debug("compaction: {} parts ({} rows) merged into {} parts",
                  record.removed_files.size(),
                  rows,
                  group.size());
    merged += count;
  }
  // The old parts go once every group is merged: on ext4 without a journal, creating a file
  // skips the inode table blocks that held a file deleted in the last 30 seconds, which made
  // the merges after a deletion several times slower.
  BDD_TRY(finish_deletions(state, study_dir));
  return merged;
}

} // namespace bdd::ops
