// bdd's Parquet writer (parquet_file.hpp): one row group at a time in memory, written to the sink
// column chunk after column chunk when it is full, then the footer.
//
// Layout: "PAR1", the row groups' column chunks (each: a dictionary page for the dictionary
// columns, then data pages v1 of at most k_page_values values or about k_page_bytes of values,
// every page compressed with ZSTD), the footer (FileMetaData, Thrift compact), its length
// (4 bytes LE), "PAR1". Definition levels (optional columns; bit width 1) are RLE/bit-packed
// with their 4-byte length; values PLAIN or RLE_DICTIONARY. Statistics: min/max and null_count
// per chunk (timestamps also per page; texts while their values are short).
//
// ZSTD rather than Snappy: both DuckDB and hyparquet (with hyparquet-compressors) read it, and
// it makes event JSON several times smaller than Snappy's about half.

#include <bdd/core/utf8.hpp>
#include <bdd/storage/parquet_encoding.hpp>
#include <bdd/storage/parquet_file.hpp>
#include <bdd/storage/parquet_metadata.hpp>

#include <zstd.h>

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <memory>
#include <unordered_map>

namespace bdd::storage::parquet {

namespace {

// A data page ends after this many values or once its values take this many bytes: small
// enough for readers to skip, large enough that headers cost nothing.
constexpr std::size_t k_page_values = 20'000;
constexpr std::size_t k_page_bytes = std::size_t{1} << 20;
// A chunk's dictionary stays below these (study names, user ids and event types are few); past
// them its later pages are PLAIN.
constexpr std::size_t k_max_dictionary_bytes = std::size_t{1} << 20;
constexpr std::size_t k_max_dictionary_entries = std::size_t{1} << 16;
// Text statistics are kept while every value of the chunk is at most this long.
constexpr std::size_t k_max_statistics_bytes = 256;
// ZSTD's fast levels: level 1 compresses event JSON about as well as 3 at twice the speed.
constexpr int k_zstd_level = 1;

struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

// `text` if it is valid UTF-8, else a copy in `scratch` with each ill-formed sequence replaced
// by U+FFFD (as model::to_normalised_json does), since a STRING column must be UTF-8.
std::string_view valid_utf8(std::string_view text, std::string& scratch) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
    } else if (auto code_point = decode_utf8(text.substr(i))) {
      i += code_point->length;
    } else {
      break;
    }
  }
  if (i == text.size()) {
    return text;
  }
  scratch.assign(text.substr(0, i));
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      scratch.push_back(text[i++]);
    } else if (auto code_point = decode_utf8(text.substr(i))) {
      scratch.append(text.substr(i, code_point->length));
      i += code_point->length;
    } else {
      scratch.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return scratch;
}

std::string int64_bytes(std::int64_t value) {
  std::string bytes;
  append_u64_le(bytes, static_cast<std::uint64_t>(value));
  return bytes;
}

// `body` compressed with ZSTD into `out` (replaced); false if the library fails (out of
// memory). One context per thread, shared by every file it writes: a part of a nested layout
// holds a few KiB, and a new context's tables cost more than compressing them.
bool compress_page(std::string_view body, std::string& out) {
  struct FreeContext {
    void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
  };
  thread_local const std::unique_ptr<ZSTD_CCtx, FreeContext> context(ZSTD_createCCtx());
  if (context == nullptr) {
    return false;
  }
  out.resize(ZSTD_compressBound(body.size()));
  const std::size_t size = ZSTD_compressCCtx(
      context.get(), out.data(), out.size(), body.data(), body.size(), k_zstd_level);
  if (ZSTD_isError(size) != 0) {
    return false;
  }
  out.resize(size);
  return true;
}

// One column's values of the row group being built: the finished pages of its chunk and the
// page being filled. Text columns marked `dictionary` are RLE_DICTIONARY-encoded until the
// chunk's dictionary passes k_max_dictionary_bytes or k_max_dictionary_entries; the chunk's
// later pages are then PLAIN (readers take each page's own encoding).
class ColumnChunkWriter {
public:
  explicit ColumnChunkWriter(const ColumnSpec& spec)
      : m_spec(spec),
        m_use_dictionary(spec.dictionary) {}

  void add_string(std::optional<std::string_view> value) {
    if (!define(value.has_value())) {
      return;
    }
    m_held += value->size() + 4;
    if (m_spec.name != "data") {
      track_text(*value);
    }
    if (m_use_dictionary) {
      auto found = m_dictionary.find(*value);
      if (found == m_dictionary.end()) {
        if (m_dictionary_plain.size() + value->size() + 4 > k_max_dictionary_bytes
            || m_dictionary.size() >= k_max_dictionary_entries) {
          fall_back_to_plain();
        } else {
          const auto index = static_cast<std::uint32_t>(m_dictionary.size());
          append_u32_le(m_dictionary_plain, static_cast<std::uint32_t>(value->size()));
          m_dictionary_plain.append(*value);
          found = m_dictionary.emplace(std::string(*value), index).first;
        }
      }
      if (m_use_dictionary) {
        m_indices.push_back(found->second);
        m_index_bytes += 4;
        end_value();
        return;
      }
    }
    append_u32_le(m_values, static_cast<std::uint32_t>(value->size()));
    m_values.append(*value);
    end_value();
  }

  void add_int64(std::optional<std::int64_t> value) {
    if (!define(value.has_value())) {
      return;
    }
    append_u64_le(m_values, static_cast<std::uint64_t>(*value));
    m_held += 8;
    m_min = std::min(m_min, *value);
    m_max = std::max(m_max, *value);
    m_has_minmax = true;
    m_page_min = std::min(m_page_min, *value);
    m_page_max = std::max(m_page_max, *value);
    end_value();
  }

  // Bytes of values held for this row group (its size before encoding and compression).
  std::uint64_t held_bytes() const { return m_held; }

  // The chunk's bytes, ready to be written at file offset `offset`, and its metadata; the
  // writer is then empty for the next row group. False if compression fails.
  bool finish(std::int64_t offset, std::string& chunk, ColumnMetaData& meta) {
    if (m_page_count > 0 && !flush_page()) {
      return false;
    }
    meta = {};
    meta.type = m_spec.type;
    meta.encodings = {Encoding::plain, Encoding::rle};
    meta.path = std::string(m_spec.name);
    meta.codec = Codec::zstd;
    meta.num_values = static_cast<std::int64_t>(m_chunk_values);
    chunk.clear();
    if (m_dictionary_used) {
      meta.encodings.push_back(Encoding::rle_dictionary);
      meta.dictionary_page_offset = offset;
      PageHeader header;
      header.type = PageType::dictionary;
      header.num_values = static_cast<std::int32_t>(m_dictionary.size());
      header.encoding = Encoding::plain;
      if (!append_page(chunk, header, m_dictionary_plain)) {
        return false;
      }
    }
    meta.data_page_offset = offset + static_cast<std::int64_t>(chunk.size());
    chunk += m_chunk;
    meta.total_uncompressed_size = static_cast<std::int64_t>(m_uncompressed);
    meta.total_compressed_size = static_cast<std::int64_t>(chunk.size());
    Statistics stats;
    stats.null_count = static_cast<std::int64_t>(m_nulls);
    if (m_spec.type == PhysicalType::int64 && m_has_minmax) {
      stats.min_value = int64_bytes(m_min);
      stats.max_value = int64_bytes(m_max);
    } else if (m_text_stats && m_has_text) {
      stats.min_value = m_min_text;
      stats.max_value = m_max_text;
    }
    meta.statistics = std::move(stats);
    reset_chunk();
    return true;
  }

private:
  // Min and max of a text column while its values are short (statistics of long texts would
  // bloat the footer and prune nothing).
  void track_text(std::string_view value) {
    if (!m_text_stats) {
      return;
    }
    if (value.size() > k_max_statistics_bytes) {
      m_text_stats = false;
      return;
    }
    if (!m_has_text || value < m_min_text) {
      m_min_text.assign(value);
    }
    if (!m_has_text || value > m_max_text) {
      m_max_text.assign(value);
    }
    m_has_text = true;
  }

  // Called for a value whose level `define` already recorded: the page before it stays
  // dictionary-encoded, the value starts a PLAIN page.
  void fall_back_to_plain() {
    if (m_page_count > 0) {
      std::optional<std::uint32_t> level;
      if (!m_levels.empty()) {
        level = m_levels.back();
        m_levels.pop_back();
      }
      m_failed = m_failed || !flush_page();
      if (level) {
        m_levels.push_back(*level);
      }
    }
    m_use_dictionary = false;
  }

  void reset_chunk() {
    m_chunk.clear();
    m_held = 0;
    m_chunk_values = 0;
    m_uncompressed = 0;
    m_nulls = 0;
    m_has_minmax = false;
    m_min = std::numeric_limits<std::int64_t>::max();
    m_max = std::numeric_limits<std::int64_t>::min();
    m_text_stats = true;
    m_has_text = false;
    m_min_text.clear();
    m_max_text.clear();
    m_dictionary.clear();
    m_dictionary_plain.clear();
    m_dictionary_used = false;
    m_use_dictionary = m_spec.dictionary;
  }

  // Records the value's definition level; false for a null (nothing more to store).
  bool define(bool present) {
    if (m_spec.repetition == Repetition::optional) {
      m_levels.push_back(present ? 1 : 0);
    }
    if (!present) {
      ++m_nulls;
      ++m_page_nulls;
      end_value();
    }
    return present;
  }

  void end_value() {
    ++m_page_count;
    ++m_chunk_values;
    if (m_page_count >= k_page_values || m_values.size() + m_index_bytes >= k_page_bytes) {
      m_failed = m_failed || !flush_page();
    }
  }

  // The page `header` (sizes filled in here) and `body` compressed, appended to `out`.
  bool append_page(std::string& out, PageHeader& header, std::string_view body) {
    if (!compress_page(body, m_compressed)) {
      return false;
    }
    header.uncompressed_page_size = static_cast<std::int32_t>(body.size());
    header.compressed_page_size = static_cast<std::int32_t>(m_compressed.size());
    const std::size_t before = out.size();
    append_page_header(out, header);
    m_uncompressed += (out.size() - before) + body.size();
    out += m_compressed;
    return true;
  }

  bool flush_page() {
    m_body.clear();
    if (m_spec.repetition == Repetition::optional) {
      m_levels_bytes.clear();
      append_rle_hybrid(m_levels_bytes, m_levels, 1);
      append_u32_le(m_body, static_cast<std::uint32_t>(m_levels_bytes.size()));
      m_body += m_levels_bytes;
    }
    PageHeader header;
    header.type = PageType::data;
    header.num_values = static_cast<std::int32_t>(m_page_count);
    if (m_use_dictionary) {
      header.encoding = Encoding::rle_dictionary;
      const int width = bit_width_for(m_dictionary.size());
      m_body.push_back(static_cast<char>(width));
      append_rle_hybrid(m_body, m_indices, width);
      m_dictionary_used = true;
    } else {
      header.encoding = Encoding::plain;
      m_body += m_values;
    }
    if (m_spec.type == PhysicalType::int64) {
      Statistics stats;
      stats.null_count = static_cast<std::int64_t>(m_page_nulls);
      if (m_page_nulls < m_page_count) {
        stats.min_value = int64_bytes(m_page_min);
        stats.max_value = int64_bytes(m_page_max);
      }
      header.statistics = std::move(stats);
    }
    const bool appended = append_page(m_chunk, header, m_body);
    m_levels.clear();
    m_values.clear();
    m_indices.clear();
    m_index_bytes = 0;
    m_page_count = 0;
    m_page_nulls = 0;
    m_page_min = std::numeric_limits<std::int64_t>::max();
    m_page_max = std::numeric_limits<std::int64_t>::min();
    return appended;
  }

public:
  bool failed() const { return m_failed; }

private:
  const ColumnSpec& m_spec;
  bool m_use_dictionary;
  bool m_failed = false;
  std::vector<std::uint32_t> m_levels;  // the page's definition levels (optional columns)
  std::string m_values;                 // the page's non-null values, PLAIN
  std::vector<std::uint32_t> m_indices; // or their dictionary indexes
  std::size_t m_index_bytes = 0;
  std::size_t m_page_count = 0;
  std::size_t m_page_nulls = 0;
  std::int64_t m_page_min = std::numeric_limits<std::int64_t>::max();
  std::int64_t m_page_max = std::numeric_limits<std::int64_t>::min();
  std::string m_body, m_levels_bytes, m_compressed; // reused buffers
  std::string m_chunk;                              // the finished data pages
  std::uint64_t m_held = 0;
  std::uint64_t m_chunk_values = 0;
  std::uint64_t m_uncompressed = 0;
  std::uint64_t m_nulls = 0;
  bool m_has_minmax = false;
  std::int64_t m_min = std::numeric_limits<std::int64_t>::max();
  std::int64_t m_max = std::numeric_limits<std::int64_t>::min();
  bool m_text_stats = true;
  bool m_has_text = false;
  std::string m_min_text, m_max_text;
  std::unordered_map<std::string, std::uint32_t, TextHash, std::equal_to<>> m_dictionary;
  std::string m_dictionary_plain; // the dictionary page's values, PLAIN
  bool m_dictionary_used = false;
};

class ParquetFileWriter final : public FileWriter {
public:
  ParquetFileWriter(ByteSink sink, FileWriterOptions options)
      : m_sink(std::move(sink)),
        m_options(std::move(options)),
        m_columns{column(0),
                  column(1),
                  column(2),
                  column(3),
                  column(4),
                  column(5),
                  column(6),
                  column(7),
                  column(8),
                  column(9),
                  column(10)} {
    m_options.max_row_group_rows = std::max<std::uint64_t>(m_options.max_row_group_rows, 1);
    std::string scratch;
    m_study_name = std::string(valid_utf8(m_options.study_name, scratch));
  }

  Result<void> add(const model::Event& event) override {
    if (m_finished) {
      return Error(Errc::internal, "a parquet file was written to after it was finished");
    }
    if (m_failed) {
      return Error(Errc::storage, "a parquet file is incomplete after a failed write");
    }
    if (event.raw.empty() || !event.unusable.empty()) {
      return Error(Errc::internal, "an event without its raw JSON cannot be stored in parquet");
    }
    auto text = [this](std::string_view value) { return valid_utf8(value, m_scratch); };
    auto optional_text = [&](const std::optional<std::string>& value) {
      return value ? std::optional<std::string_view>(text(*value)) : std::nullopt;
    };
    m_columns[col_id].add_string(text(model::display_id(event.id)));
    m_columns[col_study_name].add_string(m_study_name);
    m_columns[col_user_id].add_string(text(event.user_id));
    m_columns[col_event_type].add_string(text(event.event_type));
    m_columns[col_element_id].add_string(optional_text(event.element_id));
    m_columns[col_page_url].add_string(optional_text(event.page_url));
    add_time(event.timestamp, col_timestamp, col_timestamp_text);
    add_time(event.stored_timestamp, col_stored_timestamp, col_stored_timestamp_text);
    m_columns[col_data].add_string(event.raw);
    ++m_rows;
    ++m_group_rows;
    std::uint64_t held = 0;
    for (const auto& column : m_columns) {
      held += column.held_bytes();
    }
    if (held >= m_options.row_group_bytes || m_group_rows >= m_options.max_row_group_rows) {
      return write_row_group();
    }
    return {};
  }

  Result<void> finish() override {
    if (m_finished) {
      return Error(Errc::internal, "a parquet file was finished twice");
    }
    if (m_failed) {
      return Error(Errc::storage, "a parquet file is incomplete after a failed write");
    }
    if (m_group_rows > 0) {
      if (auto written = write_row_group(); !written) {
        return written;
      }
    }
    if (auto started = start(); !started) {
      return started;
    }
    std::string tail = encode_file_metadata(static_cast<std::int64_t>(m_rows), m_row_groups);
    append_u32_le(tail, static_cast<std::uint32_t>(tail.size()));
    tail += k_magic;
    if (auto written = write(tail); !written) {
      return written;
    }
    m_finished = true;
    return {};
  }

  std::uint64_t rows() const override { return m_rows; }
  std::uint64_t bytes_written() const override { return m_bytes_written; }

private:
  void add_time(const std::optional<std::string>& text, Column instant, Column original) {
    std::optional<std::int64_t> micros;
    std::optional<std::string_view> unparsed;
    if (text) {
      if (auto time = model::parse_iso_time(*text)) {
        micros = time->utc_microseconds;
      } else {
        unparsed = valid_utf8(*text, m_scratch);
      }
    }
    m_columns[instant].add_int64(micros);
    m_columns[original].add_string(unparsed);
  }

  Result<void> write(std::string_view bytes) {
    if (auto written = m_sink(bytes); !written) {
      m_failed = true;
      return written;
    }
    m_bytes_written += bytes.size();
    return {};
  }

  Result<void> start() {
    if (m_bytes_written > 0) {
      return {};
    }
    return write(k_magic);
  }

  Result<void> write_row_group() {
    if (auto started = start(); !started) {
      return started;
    }
    RowGroup group;
    group.num_rows = static_cast<std::int64_t>(m_group_rows);
    group.file_offset = static_cast<std::int64_t>(m_bytes_written);
    group.columns.resize(k_column_count);
    for (std::size_t i = 0; i < k_column_count; ++i) {
      const auto offset = static_cast<std::int64_t>(m_bytes_written);
      if (m_columns[i].failed() || !m_columns[i].finish(offset, m_chunk, group.columns[i])) {
        m_failed = true;
        return Error(Errc::storage, "cannot compress a parquet page (out of memory?)");
      }
      const std::string& chunk = m_chunk;
      group.total_byte_size += group.columns[i].total_uncompressed_size;
      group.total_compressed_size += group.columns[i].total_compressed_size;
      if (auto written = write(chunk); !written) {
        return written;
      }
    }
    m_row_groups.push_back(std::move(group));
    m_group_rows = 0;
    return {};
  }

  static ColumnChunkWriter column(std::size_t index) { return ColumnChunkWriter(k_columns[index]); }

  ByteSink m_sink;
  FileWriterOptions m_options;
  std::string m_study_name;
  std::array<ColumnChunkWriter, k_column_count> m_columns;
  std::vector<RowGroup> m_row_groups;
  std::string m_scratch;
  std::string m_chunk;
  std::uint64_t m_rows = 0;
  std::uint64_t m_group_rows = 0;
  std::uint64_t m_bytes_written = 0;
  bool m_finished = false;
  bool m_failed = false;
};

} // namespace

Result<std::unique_ptr<FileWriter>> make_file_writer(ByteSink sink, FileWriterOptions options) {
  if (!sink) {
    return Error(Errc::internal, "a parquet file writer needs a sink");
  }
  return std::unique_ptr<FileWriter>(
      std::make_unique<ParquetFileWriter>(std::move(sink), std::move(options)));
}

} // namespace bdd::storage::parquet
