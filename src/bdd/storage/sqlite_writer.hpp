#pragma once

#include <bdd/core/result.hpp>
#include <bdd/storage/writer.hpp>

#include <memory>

namespace bdd::storage {

// The "sqlite" format, made through `make_writer` (which checks that `study_dir` exists). See
// sqlite_writer.cpp for the file layout.
Result<std::unique_ptr<Writer>> make_sqlite_writer(const WriterOptions& options);

} // namespace bdd::storage
