#pragma once

// The reader of each format, for the backend table (backend.cpp). Use through `open_reader`.

#include <bdd/core/result.hpp>
#include <bdd/storage/reader.hpp>

#include <filesystem>
#include <memory>

namespace bdd::storage {

Result<std::unique_ptr<EventReader>> open_json_reader(const std::filesystem::path& path,
                                                      const ReadOptions& options);
Result<std::unique_ptr<EventReader>> open_jsonl_reader(const std::filesystem::path& path,
                                                       const ReadOptions& options);
Result<std::unique_ptr<EventReader>> open_csv_reader(const std::filesystem::path& path,
                                                     const ReadOptions& options);
Result<std::unique_ptr<EventReader>> open_sqlite_reader(const std::filesystem::path& path,
                                                        const ReadOptions& options);

} // namespace bdd::storage
