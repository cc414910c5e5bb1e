#pragma once

// Parquet's footer (FileMetaData) and page headers, as far as bdd's files use them, with their
// Thrift compact encoding and a bounded decoder (see parquet.thrift of apache/parquet-format;
// the field ids below are that file's). Shared by parquet_writer.cpp and parquet_reader.cpp.

#include <bdd/core/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::storage::parquet {

// parquet.thrift's enums, the values bdd uses.
enum class PhysicalType : std::int32_t { int64 = 2, byte_array = 6 };
enum class Repetition : std::int32_t { required = 0, optional = 1 };
enum class ConvertedType : std::int32_t { utf8 = 0, timestamp_micros = 10, json = 19 };
enum class Encoding : std::int32_t { plain = 0, rle = 3, rle_dictionary = 8 };
enum class Codec : std::int32_t { uncompressed = 0, snappy = 1, zstd = 6 };
enum class PageType : std::int32_t { data = 0, dictionary = 2 };
// What a column's LogicalType union holds.
enum class Logical { none, string, json, timestamp_micros_utc, other };

inline constexpr std::string_view k_magic = "PAR1";

// One column of bdd's schema (parquet_file.hpp).
struct ColumnSpec {
  std::string_view name;
  PhysicalType type;
  Repetition repetition;
  Logical logical;
  bool dictionary; // dictionary-encoded (RLE_DICTIONARY) while its dictionary stays small
};

enum Column : std::size_t {
  col_id,
  col_study_name,
  col_user_id,
  col_event_type,
  col_element_id,
  col_page_url,
  col_timestamp,
  col_stored_timestamp,
  col_timestamp_text,
  col_stored_timestamp_text,
  col_data,
  k_column_count
};

inline constexpr std::array<ColumnSpec, k_column_count> k_columns{{
    {"id", PhysicalType::byte_array, Repetition::required, Logical::string, false},
    {"study_name", PhysicalType::byte_array, Repetition::required, Logical::string, true},
    {"user_id", PhysicalType::byte_array, Repetition::required, Logical::string, true},
    {"event_type", PhysicalType::byte_array, Repetition::required, Logical::string, true},
    {"element_id", PhysicalType::byte_array, Repetition::optional, Logical::string, false},
    {"page_url", PhysicalType::byte_array, Repetition::optional, Logical::string, false},
    {"timestamp", PhysicalType::int64, Repetition::optional, Logical::timestamp_micros_utc, false},
    {"stored_timestamp",
     PhysicalType::int64,
     Repetition::optional,
     Logical::timestamp_micros_utc,
     false},
    {"timestamp_text", PhysicalType::byte_array, Repetition::optional, Logical::string, false},
    {"stored_timestamp_text",
     PhysicalType::byte_array,
     Repetition::optional,
     Logical::string,
     false},
    {"data", PhysicalType::byte_array, Repetition::required, Logical::json, false},
}};

struct Statistics {
  std::optional<std::string> min_value; // PLAIN encoding of the value (INT64: 8 bytes LE)
  std::optional<std::string> max_value;
  std::optional<std::int64_t> null_count;
};

struct ColumnMetaData {
  PhysicalType type = PhysicalType::byte_array;
  std::vector<Encoding> encodings;
  std::string path; // one element: bdd's schema is flat
  Codec codec = Codec::uncompressed;
  std::int64_t num_values = 0;
  std::int64_t total_uncompressed_size = 0;
  std::int64_t total_compressed_size = 0;
  std::int64_t data_page_offset = 0;
  std::optional<std::int64_t> dictionary_page_offset;
  std::optional<Statistics> statistics;
};

struct RowGroup {
  std::vector<ColumnMetaData> columns;
  std::int64_t total_byte_size = 0;
  std::int64_t num_rows = 0;
  std::int64_t file_offset = 0;
  std::int64_t total_compressed_size = 0;
};

struct SchemaElement {
  std::optional<PhysicalType> type;
  std::optional<Repetition> repetition;
  std::string name;
  std::optional<std::int32_t> num_children;
  Logical logical = Logical::none;
};

struct FileMetaData {
  std::vector<SchemaElement> schema; // the root, then the columns
  std::int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
};

struct PageHeader {
  PageType type = PageType::data;
  std::int32_t uncompressed_page_size = 0;
  std::int32_t compressed_page_size = 0;
  std::int32_t num_values = 0;
  Encoding encoding = Encoding::plain;
  // A data page's statistics (written for the timestamp columns, like the chunk's).
  std::optional<Statistics> statistics;
};

// The footer of a file with bdd's schema and `row_groups`.
// The error of a file whose bytes break the format: Errc::storage, "damaged parquet file: "
// + `what`.
Error damaged(std::string_view what);

std::string encode_file_metadata(std::int64_t num_rows, const std::vector<RowGroup>& row_groups);
void append_page_header(std::string& out, const PageHeader& header);

// Decoders of untrusted bytes: Errc::storage saying what is wrong. Unknown fields are skipped;
// values bdd does not write (another type, codec or encoding) are kept for the caller to refuse.
Result<FileMetaData> decode_file_metadata(std::string_view bytes);
// The page header at the start of `bytes` and its length in `consumed`.
Result<PageHeader> decode_page_header(std::string_view bytes, std::size_t& consumed);

} // namespace bdd::storage::parquet
