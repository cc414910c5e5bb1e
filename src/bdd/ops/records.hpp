#pragma once

#include <bdd/tracking/records.hpp>

// The study's records as ops hands them out: `.metadata.json` (`ops::StudyStatus::metadata`) and
// the history records (`ops::study_history`, `DownloadOptions::on_recorded`). cli shows them
// through these names, never by including tracking/ (ARCHITECTURE.md).
namespace bdd::ops {

using tracking::Metadata;
using tracking::RunRecord;

// "1 event", "2 events".
using tracking::counted;
// The one JSON shape of a run record, as `.download_history.json` holds it; every `--json`
// output of a run uses it.
using tracking::run_to_json;

} // namespace bdd::ops
