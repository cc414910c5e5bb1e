#pragma once

// Compaction of a download's part files (the `parquet` format), atomic in the state's sense: the
// merged part is journaled (size 0), written and fsynced, then recorded in the same durable
// state transaction that takes the old parts out of the record and lists them as doomed; only
// then are they deleted. A crash before that transaction leaves the old parts counted (the next
// run's rollback removes the journaled merged part); after it, the merged part is counted and
// the next run deletes what is left of the old ones (`finish_deletions`). Never both.

#include <bdd/core/result.hpp>
#include <bdd/storage/compaction.hpp>
#include <bdd/tracking/state.hpp>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

namespace bdd::ops {

// Delete the files `state.doomed()` lists (already gone is fine), then forget them. Before
// anything looks at the study's files.
Result<void> finish_deletions(tracking::State& state, const std::filesystem::path& study_dir);

// Merge the parts `rule` asks for (storage::plan_compactions over the state's files), up to 512
// leaves per state transaction (journaled, written, synced together, recorded, then the old
// parts deleted), while the study is marked open (after a run's last commit, before
// `State::clear_pending`). Stops between groups when `stop` is set. Returns the number of
// merges. On failure the study must stay marked open: the next run's rollback removes a merged
// part that was not recorded.
Result<std::size_t> compact_parts(tracking::State& state,
                                  const std::filesystem::path& study_dir,
                                  const std::string& study_name,
                                  const storage::CompactionRule& rule,
                                  const std::atomic<bool>* stop = nullptr);

} // namespace bdd::ops
