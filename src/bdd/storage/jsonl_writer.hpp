#pragma once

#include <bdd/core/result.hpp>
#include <bdd/storage/writer.hpp>

#include <memory>

namespace bdd::storage {

// The "jsonl" format: `<study_dir>/<leaf_directory>/events.jsonl`, one `to_normalised_json`
// object per line, each ending in '\n'. Use through `make_writer`, which checks `study_dir` first.
Result<std::unique_ptr<Writer>> make_jsonl_writer(const WriterOptions& options);

} // namespace bdd::storage
