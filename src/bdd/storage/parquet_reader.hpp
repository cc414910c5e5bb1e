#pragma once

// The stored columns of a Parquet file that parquet::FileWriter wrote, row by row: what
// FileReader builds its events from, and what tests compare with what other engines read.

#include <bdd/core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

namespace bdd::storage::parquet {

// One row's values, as stored (see parquet_file.hpp); views valid until the next `next`.
struct StoredRow {
  std::string_view id, study_name, user_id, event_type;
  std::optional<std::string_view> element_id, page_url;
  std::optional<std::int64_t> timestamp, stored_timestamp; // UTC microseconds
  std::optional<std::string_view> timestamp_text, stored_timestamp_text;
  std::string_view data;
};

// Reads rows with memory bounded by one page per column (the file is untrusted: see
// open_file_reader). Used from one thread.
class RowReader {
public:
  virtual ~RowReader() = default;
  virtual std::uint64_t rows() const = 0;
  virtual std::uint64_t row_groups() const = 0;
  // The next row into `out`; false after the last (once the file's end was checked).
  virtual Result<bool> next(StoredRow& out) = 0;
};

Result<std::unique_ptr<RowReader>> open_row_reader(const std::filesystem::path& path);

} // namespace bdd::storage::parquet
