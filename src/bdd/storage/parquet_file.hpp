#pragma once

// Parquet files of events: bdd's own writer and reader of the open Parquet format
// (https://parquet.apache.org/docs/file-format/), covering what bdd writes and nothing more,
// since Apache Arrow's C++ library is not packaged in Debian 12. The storage format `parquet`
// (immutable part files per leaf folder) and `bdd export --format parquet` both build on it.
//
// CONTRACT (issue 14): this header is the interface the storage integration and export code
// against while the codec is written; its implementation may add members but must keep these.
//
// One row per event, the columns in this order (the nine normalised fields of
// model::to_normalised_json, typed):
//   id, study_name, user_id, event_type, element_id, page_url  UTF-8 strings (BYTE_ARRAY, STRING);
//                                                              element_id and page_url nullable
//   timestamp, stored_timestamp   INT64 TIMESTAMP(MICROS, UTC), null when absent or not a time
//   timestamp_text, stored_timestamp_text  the original text when it does not parse as a time,
//                                 else null
//   data                          the raw event (model::Event::raw) as BYTE_ARRAY, logical JSON;
//                                 REQUIRED: `add` refuses (Errc::internal) an event whose raw is
//                                 empty or that is unusable (those go to the quarantine)
// The id column holds model::display_id(event.id); reading gives back the identity key.
// Invalid UTF-8 in the text columns (not `data`) is written as U+FFFD, as to_normalised_json does.
// Pages are ZSTD-compressed; study_name, user_id and event_type dictionary-encoded; min/max and
// null counts per column chunk (parquet_writer.cpp says how; README's export section too).

#include <bdd/core/result.hpp>
#include <bdd/model/event.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::storage::parquet {

// Where a writer's bytes go, in order: a file descriptor (export), or a file that the storage
// writer also hashes as written. Must write every byte or fail.
using ByteSink = std::function<Result<void>(std::string_view bytes)>;

struct FileWriterOptions {
  std::string study_name; // the study_name column of every row
  // A row group ends once its rows hold this many bytes of column data before compression (the
  // writer's memory is about this much), or at `max_row_group_rows`.
  std::uint64_t row_group_bytes = std::uint64_t{16} << 20;
  std::uint64_t max_row_group_rows = 1'000'000;
};

// Writes one Parquet file of events through a ByteSink. Used from one thread.
class FileWriter {
public:
  virtual ~FileWriter() = default;
  // Adds one row; writes a row group to the sink when it is full.
  virtual Result<void> add(const model::Event& event) = 0;
  // Writes the last row group and the footer. The sink is neither synced nor closed. A file
  // with no rows is valid (a schema, no row groups).
  virtual Result<void> finish() = 0;
  virtual std::uint64_t rows() const = 0;
  virtual std::uint64_t bytes_written() const = 0;
};

Result<std::unique_ptr<FileWriter>> make_file_writer(ByteSink sink, FileWriterOptions options);

// Reads the rows of a Parquet file that FileWriter wrote, in file order, with memory bounded by
// one row group's pages. The file is untrusted (a study folder's file): it is opened without
// following a link, every length and count in it is checked against the file's size and fixed
// limits, and any damage fails with Errc::storage saying what is wrong (without the path).
class FileReader {
public:
  virtual ~FileReader() = default;
  virtual std::uint64_t rows() const = 0;
  // The next row as an event, or nullopt after the last: `id` the identity key
  // (storage::stored_key of the id column and data), `raw` the data column, and the other fields
  // exactly as model::normalise_compact(raw) derives them (an export is byte-identical whatever
  // the storage format); `prepared` empty.
  virtual Result<std::optional<model::Event>> next() = 0;
};

Result<std::unique_ptr<FileReader>> open_file_reader(const std::filesystem::path& path);

} // namespace bdd::storage::parquet
