#pragma once

// The local copy's events read back, as `bdd export` reads them, for the public API's event
// reader (include/bdd/bdd.hpp). The copy is opened by `open_local_copy` (local_copy.hpp).

#include "local_copy.hpp"

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>
#include <bdd/export/filter.hpp>
#include <bdd/model/event.hpp>

#include <atomic>
#include <filesystem>
#include <functional>

namespace bdd::ops {

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
