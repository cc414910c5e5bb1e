#pragma once

// The local copy's events read back, as `bdd export` reads them: for export and for the public
// API's event reader (include/bdd/bdd.hpp).

#include <bdd/config/config.hpp>
#include <bdd/core/file_lock.hpp>
#include <bdd/core/result.hpp>
#include <bdd/export/filter.hpp>
#include <bdd/export/inputs.hpp>
#include <bdd/model/event.hpp>
#include <bdd/tracking/records.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bdd::ops {

// A local copy opened for reading: its lock held shared for as long as this object lives (a
// download waits; exports, verifies and other readers run beside it), what `.metadata.json`
// says of it, and the inputs (exporting::plan_inputs) that can hold events the filter keeps.
struct LocalCopy {
  FileLock lock;
  tracking::Metadata metadata;
  std::vector<exporting::Input> inputs;
};

// The error for a study with no local data in `study_dir`: Errc::usage, naming the command that
// makes one.
Error no_local_data(const std::string& study, const std::filesystem::path& study_dir);

// Open the local copy of `config.study_name` to read the events `filter` keeps. Waits for a
// running download (`on_wait` is called once with its holder; Errc::interrupted if `stop` is set
// meanwhile). Fails with Errc::usage when the study was never downloaded (`no_local_data`),
// Errc::storage for an unfinished commit of an interrupted download (run `bdd download` first),
// or a `.metadata.json` naming an unknown folder level or partition naming.
Result<LocalCopy> open_local_copy(const config::Config& config,
                                  const exporting::Filter& filter,
                                  const std::function<void(const std::string& holder)>& on_wait,
                                  const std::atomic<bool>* stop);

// Where sorted runs go when the export or reader has no output folder: $TMPDIR of
// `environment` (bdd itself never calls getenv), else /tmp.
std::filesystem::path temp_folder(const std::map<std::string, std::string>& environment);

struct EventReadOptions {
  exporting::Filter filter; // see make_export_filter
  const std::atomic<bool>* stop = nullptr;
  std::filesystem::path temp_parent; // for sorted runs, when the files are out of order
};

// Every event of `copy` that `options.filter` keeps, each once, in export order
// (exporting::export_before), to `visit`, with flat memory; `copy`'s lock is held until the end.
// Reads the files twice when they may be out of order (exporting::EventStream without a
// rewind: nothing `visit` saw is taken back). A damaged data file fails with Errc::storage naming
// it, `stop` with Errc::interrupted; what `visit` returns stops the reading.
Result<void> read_events(const config::Config& config,
                         LocalCopy copy,
                         const EventReadOptions& options,
                         const std::function<Result<void>(const model::Event&)>& visit);

} // namespace bdd::ops
