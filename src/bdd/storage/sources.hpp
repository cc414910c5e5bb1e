#pragma once

// The event source of each format, for the backend table (backend.cpp). Use through
// `open_event_source`.

#include <bdd/core/result.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/record_decoder.hpp>

#include <filesystem>
#include <memory>

namespace bdd::storage {

using EventReaderOpener = Result<std::unique_ptr<EventReader>> (*)(const std::filesystem::path&,
                                                                   const ReadOptions&);

Result<std::unique_ptr<EventSource>> open_json_source(const std::filesystem::path& path,
                                                      const Selection& selection);
Result<std::unique_ptr<EventSource>> open_jsonl_source(const std::filesystem::path& path,
                                                       const Selection& selection);
Result<std::unique_ptr<EventSource>> open_csv_source(const std::filesystem::path& path,
                                                     const Selection& selection);
Result<std::unique_ptr<EventSource>> open_sqlite_source(const std::filesystem::path& path,
                                                        const Selection& selection);

} // namespace bdd::storage
