#pragma once

// What an export reads: the data files, pruned by the filter where the folder structure or the
// database's indexes allow.

#include <bdd/core/result.hpp>
#include <bdd/export/filter.hpp>
#include <bdd/storage/record_decoder.hpp>
#include <bdd/storage/writer.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace bdd::exporting {

// One sequence of events in stored order: a leaf file, or a database's rows of one selection.
struct Input {
  std::string file; // relative to the study folder, '/'-separated
  storage::Selection selection;
};

// The inputs of a study stored in `format` with `levels` (outermost first) named by `naming`
// under `study_dir`,
// sorted by file. Only folders that can hold events `filter` keeps are entered: a by_user_id
// folder for a listed user, a by_event_type folder for a listed type, and, when the time bounds
// apply to stored_timestamp, a by_date folder whose UTC day overlaps them (the folder's day is
// that of stored_timestamp: see storage::level_value; `unknown-date` holds none). With the
// default time field no date folder is skipped, since an event's time may fall on another day
// than its storage. A database gives one input per listed user (its index on user_id), else
// per listed event type, else one. Folders whose names start with '.' are bdd's and skipped. A
// symbolic link named like a data file fails with Errc::storage: bdd follows no links inside a
// study.
Result<std::vector<Input>> plan_inputs(const std::filesystem::path& study_dir,
                                       std::string_view format,
                                       const std::vector<storage::Level>& levels,
                                       storage::PartitionNaming naming,
                                       const Filter& filter);

} // namespace bdd::exporting
