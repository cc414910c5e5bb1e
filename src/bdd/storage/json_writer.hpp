#pragma once

#include <bdd/core/result.hpp>
#include <bdd/storage/writer.hpp>

#include <memory>

namespace bdd::storage {

// The "json" format: `<study_dir>/<leaf_directory>/events.json`, one JSON document per leaf,
// `{"metadata":{study_name, format, folder, created},"events":[...]}` with one normalised event
// per line. Valid JSON after every commit; appending never rewrites earlier bytes except the
// 4-byte closing "\n]}\n". Use through `make_writer`.
Result<std::unique_ptr<Writer>> make_json_writer(const WriterOptions& options);

} // namespace bdd::storage
