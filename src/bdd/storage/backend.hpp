#pragma once

#include <bdd/core/format.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/record_decoder.hpp>
#include <bdd/storage/writer.hpp>

#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

namespace bdd::storage {

// What storage knows of one format (its properties are core's `FormatInfo`): how to write it,
// how to read it back (records for verify, events for export), and the byte layout of its leaf
// files. One row per format in backend.cpp; `make_writer` and `open_reader` look formats up here.
struct Backend {
  Format format;
  Result<std::unique_ptr<Writer>> (*make_writer)(const WriterOptions&);
  Result<std::unique_ptr<EventReader>> (*open_reader)(const std::filesystem::path&,
                                                      const ReadOptions&);
  Result<std::unique_ptr<EventSource>> (*open_source)(const std::filesystem::path&,
                                                      const Selection&);
  std::optional<TextLayout> layout; // nullopt: not a text format
  std::string_view rewritten_tail;  // see `rewritten_tail`
};

std::span<const Backend> backends();

// The row of `format`, or nullptr if storage has none (a format added to core's table only).
const Backend* find_backend(Format format);

} // namespace bdd::storage
