#include "compaction.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace bdd::ops {

Result<void> finish_deletions(tracking::State& state, const std::filesystem::path& study_dir) {
  BDD_TRY_ASSIGN(const auto doomed, state.doomed());
  if (doomed.empty()) {
    return ok();
  }
  for (const auto& path : doomed) {
    BDD_TRY(storage::remove_data_file(study_dir, path));
  }
  spdlog::debug("compaction: deleted {} replaced part files an earlier run left", doomed.size());
  return state.forget_doomed(doomed);
}

Result<std::size_t> compact_parts(tracking::State& state,
                                  const std::filesystem::path& study_dir,
                                  const std::string& study_name,
                                  const storage::CompactionRule& rule,
                                  const std::atomic<bool>* stop) {
  BDD_TRY_ASSIGN(const auto files, state.files());
  std::vector<storage::PartFile> parts;
  parts.reserve(files.size());
  for (const auto& file : files) {
    parts.push_back({file.path, file.size});
  }
  std::size_t merged = 0;
  for (const storage::Compaction& compaction : storage::plan_compactions(parts, rule)) {
    if (stop != nullptr && stop->load()) {
      break;
    }
    BDD_TRY(state.begin_commit({{compaction.target, 0, {}, {}}})); // rollback removes it
    BDD_TRY_ASSIGN(const storage::MergedPart part,
                   storage::merge_parts(study_dir, study_name, compaction));
    tracking::CommitRecord record; // the cursor as it is: no event is added or removed
    BDD_TRY_ASSIGN(record.cursor, state.cursor());
    record.files.push_back({compaction.target, part.size, part.sha256, {}});
    record.removed_files = compaction.parts;
    record.durable = true; // the old parts go only once this is on disk
    BDD_TRY(state.finish_commit(record));
    for (const auto& old : compaction.parts) {
      BDD_TRY(storage::remove_data_file(study_dir, old));
    }
    BDD_TRY(state.forget_doomed(compaction.parts));
    spdlog::debug("compaction: {} parts ({} rows) merged into {}",
                  compaction.parts.size(),
                  part.rows,
                  compaction.target);
    ++merged;
  }
  return merged;
}

} // namespace bdd::ops
