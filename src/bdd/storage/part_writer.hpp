#pragma once

// The storage format `parquet` (FormatStorage::part_files): every commit adds one new, immutable
// Parquet part file to each leaf folder it touches, and compaction replaces a leaf's small parts
// by one. Internal to storage/: use through the backend table and `compact_leaf`.

#include <bdd/core/result.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/record_decoder.hpp>
#include <bdd/storage/writer.hpp>

#include <filesystem>
#include <memory>

namespace bdd::storage {

Result<std::unique_ptr<Writer>> make_parquet_writer(const WriterOptions& options);
Result<std::unique_ptr<EventReader>> open_parquet_reader(const std::filesystem::path& path,
                                                         const ReadOptions& options);
Result<std::unique_ptr<EventSource>> open_parquet_source(const std::filesystem::path& path,
                                                         const Selection& selection);

} // namespace bdd::storage
