// bdd's Parquet reader (parquet_file.hpp, parquet_reader.hpp): the footer checked against the
// file and bdd's schema, then each column read page by page with pread, so that memory holds one
// page per column whatever the row group's size. The file is untrusted: every offset, length and
// count is checked before it is used.

#include <bdd/core/fs.hpp>
#include <bdd/model/json_text.hpp>
#include <bdd/storage/parquet_encoding.hpp>
#include <bdd/storage/parquet_file.hpp>
#include <bdd/storage/parquet_metadata.hpp>
#include <bdd/storage/parquet_reader.hpp>
#include <bdd/storage/reader.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <array>
#include <cerrno>

namespace bdd::storage::parquet {

namespace {

namespace stdfs = std::filesystem;

constexpr std::uint64_t k_max_footer_bytes = std::uint64_t{64} << 20;
constexpr std::size_t k_max_page_header_bytes = std::size_t{64} << 10;
// A page holds at most one event's data beyond the writer's page target (parquet_writer.cpp).
constexpr std::uint64_t k_max_page_bytes = k_max_record_bytes + (std::uint64_t{16} << 20);
constexpr std::uint64_t k_max_page_values = std::uint64_t{1} << 20;

class File {
public:
  explicit File(const stdfs::path& path)
      : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)),
        m_open_errno(errno) {}

  Result<void> open(const stdfs::path& path) {
    if (m_fd.get() < 0) {
      return Error(Errc::storage, fs::describe_errno("cannot open", path, m_open_errno));
    }
    struct stat info {};
    if (::fstat(m_fd.get(), &info) != 0) {
      return Error(Errc::storage, fs::describe_errno("cannot read", path, errno));
    }
    if (!S_ISREG(info.st_mode)) {
      return Error(Errc::storage, "cannot read \"" + path.string() + "\": not a regular file");
    }
    m_size = static_cast<std::uint64_t>(info.st_size);
    return {};
  }

  std::uint64_t size() const { return m_size; }

  // `size` bytes at `offset`, which the caller checked lie in the file.
  Result<void> read(std::uint64_t offset, std::size_t size, std::string& out) const {
    out.resize(size);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t got =
          ::pread(m_fd.get(), out.data() + done, size - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0) {
        return Error(Errc::storage, fs::describe_errno("cannot read", "a parquet file", errno));
      }
      if (got == 0) {
        return damaged("the file is shorter than it was");
      }
      done += static_cast<std::size_t>(got);
    }
    return {};
  }

private:
  fs::UniqueFd m_fd;
  int m_open_errno;
  std::uint64_t m_size = 0;
};

struct Value {
  bool null = false;
  std::string_view text;
  std::int64_t number = 0;
};

// One column chunk of the current row group, read a page at a time.
// One decompression context per thread, shared by every column of every file it reads: a
// part of a nested layout holds a few KiB, and creating a context cost more than decompressing
// them (10% of a download that compacts 20,000 parts). Null if out of memory.
ZSTD_DCtx* thread_context() {
  struct FreeContext {
    void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
  };
  thread_local const std::unique_ptr<ZSTD_DCtx, FreeContext> context(ZSTD_createDCtx());
  return context.get();
}

class ColumnCursor {
public:
  void start(const File& file, const ColumnSpec& spec, const ColumnMetaData& meta) {
    m_file = &file;
    m_spec = &spec;
    m_pos = static_cast<std::uint64_t>(meta.dictionary_page_offset.value_or(meta.data_page_offset));
    m_end = m_pos + static_cast<std::uint64_t>(meta.total_compressed_size);
    m_values_left = static_cast<std::uint64_t>(meta.num_values);
    m_codec = meta.codec;
    m_page_left = 0;
    m_first_page = true;
    m_dictionary.clear();
    m_dictionary_bytes.clear();
  }

  Result<void> next(Value& out) {
    if (m_page_left == 0) {
      BDD_TRY(load_data_page());
    }
    --m_page_left;
    --m_values_left;
    const std::size_t index = m_level_pos++;
    out.null = m_spec->repetition == Repetition::optional && m_levels[index] == 0;
    if (!out.null) {
      BDD_TRY(read_value(out));
    }
    if (m_page_left == 0 && !m_dictionary_encoded && m_value_pos != m_values.size()) {
      return damaged("a page holds more bytes than its values");
    }
    return {};
  }

  // The page's next stored value into `out`.
  Result<void> read_value(Value& out) {
    if (m_dictionary_encoded) {
      out.text = m_dictionary[m_indices[m_index_pos++]];
    } else if (m_spec->type == PhysicalType::int64) {
      out.number = static_cast<std::int64_t>(load_u64_le(m_values.data() + m_value_pos));
      m_value_pos += 8;
    } else if (!read_byte_array(m_values, m_value_pos, out.text)) {
      return damaged("a page ends inside a value");
    }
    return {};
  }

  // After the row group's last row: the chunk holds nothing more.
  Result<void> finish() const {
    if (m_page_left != 0 || m_pos != m_end) {
      return damaged("a column chunk holds more than its values");
    }
    return {};
  }

private:
  Result<void> read_page(PageHeader& header) {
    if (m_pos >= m_end) {
      return damaged("a column chunk has fewer values than its row group's rows");
    }
    const auto window =
        static_cast<std::size_t>(std::min<std::uint64_t>(m_end - m_pos, k_max_page_header_bytes));
    BDD_TRY(m_file->read(m_pos, window, m_header_bytes));
    std::size_t consumed = 0;
    BDD_TRY_ASSIGN(header, decode_page_header(m_header_bytes, consumed));
    m_pos += consumed;
    const auto stored = static_cast<std::uint64_t>(header.compressed_page_size);
    const auto size = static_cast<std::uint64_t>(header.uncompressed_page_size);
    if (stored > m_end - m_pos) {
      return damaged("a page reaches past its column chunk");
    }
    if (size > k_max_page_bytes) {
      return damaged("a page is larger than bdd writes");
    }
    if (m_codec == Codec::uncompressed) {
      if (stored != size) {
        return damaged("an uncompressed page's sizes differ");
      }
      BDD_TRY(m_file->read(m_pos, static_cast<std::size_t>(stored), m_page));
      m_pos += stored;
      return {};
    }
    BDD_TRY(m_file->read(m_pos, static_cast<std::size_t>(stored), m_stored));
    m_pos += stored;
    // One frame, as the writer makes, that says it holds exactly the page's size (bounded
    // above) before anything is allocated for it: a small page cannot expand into gigabytes.
    if (ZSTD_findFrameCompressedSize(m_stored.data(), m_stored.size()) != stored
        || ZSTD_getFrameContentSize(m_stored.data(), m_stored.size()) != size) {
      return damaged("a compressed page's size differs from its header's");
    }
    ZSTD_DCtx* context = thread_context();
    if (context == nullptr) {
      return Error(Errc::storage, "out of memory for a decompression context");
    }
    m_page.resize(static_cast<std::size_t>(size));
    const std::size_t got = ZSTD_decompressDCtx(
        context, m_page.data(), m_page.size(), m_stored.data(), m_stored.size());
    if (ZSTD_isError(got) != 0 || got != size) {
      return damaged("a compressed page cannot be decompressed");
    }
    return {};
  }

  Result<void> load_dictionary(const PageHeader& header) {
    if (!m_first_page || m_spec->type != PhysicalType::byte_array) {
      return damaged("a dictionary page is not the first page of a text column");
    }
    if (header.encoding != Encoding::plain && header.encoding != static_cast<Encoding>(2)) {
      return damaged("a dictionary page is not PLAIN");
    }
    if (static_cast<std::uint64_t>(header.num_values) > m_page.size() / 4) {
      return damaged("a dictionary page has more values than bytes");
    }
    m_dictionary_bytes.swap(m_page);
    const std::string_view bytes = m_dictionary_bytes;
    std::size_t pos = 0;
    m_dictionary.reserve(static_cast<std::size_t>(header.num_values));
    for (std::int32_t i = 0; i < header.num_values; ++i) {
      std::string_view value;
      if (!read_byte_array(bytes, pos, value)) {
        return damaged("a dictionary page ends inside a value");
      }
      m_dictionary.push_back(value);
    }
    if (pos != bytes.size()) {
      return damaged("a dictionary page holds more bytes than its values");
    }
    return {};
  }

  Result<void> load_data_page() {
    PageHeader header;
    BDD_TRY(read_page(header));
    if (header.type == PageType::dictionary) {
      BDD_TRY(load_dictionary(header));
      m_first_page = false;
      BDD_TRY(read_page(header));
      if (header.type != PageType::data) {
        return damaged("a column chunk has two dictionary pages");
      }
    }
    m_first_page = false;
    const auto count = static_cast<std::uint64_t>(header.num_values);
    if (count == 0 || count > k_max_page_values || count > m_values_left) {
      return damaged("a page's value count does not fit its column chunk");
    }
    std::string_view body = m_page;
    std::size_t present = count;
    if (m_spec->repetition == Repetition::optional) {
      if (body.size() < 4) {
        return damaged("a page ends inside its definition levels");
      }
      const std::uint32_t size = load_u32_le(body.data());
      if (size > body.size() - 4
          || !decode_rle_hybrid(body.substr(4, size), 1, count, 2, m_levels)) {
        return damaged("a page's definition levels are damaged");
      }
      body.remove_prefix(4 + size);
      present = 0;
      for (const std::uint32_t level : m_levels) {
        present += level;
      }
    }
    m_values = body;
    m_value_pos = 0;
    m_index_pos = 0;
    m_level_pos = 0;
    if (header.encoding == Encoding::rle_dictionary) {
      if (m_dictionary_bytes.empty() && m_dictionary.empty()) {
        return damaged("a dictionary-encoded page has no dictionary");
      }
      if (body.empty() || static_cast<std::uint8_t>(body[0]) > 32
          || !decode_rle_hybrid(body.substr(1),
                                static_cast<std::uint8_t>(body[0]),
                                present,
                                m_dictionary.size(),
                                m_indices)) {
        return damaged("a page's dictionary indexes are damaged");
      }
      m_dictionary_encoded = true;
    } else if (header.encoding == Encoding::plain) {
      m_dictionary_encoded = false;
      if (m_spec->type == PhysicalType::int64 && body.size() != present * 8) {
        return damaged("a page's numbers do not fill it");
      }
      if (m_spec->type == PhysicalType::byte_array && present == 0 && !body.empty()) {
        return damaged("a page holds more bytes than its values");
      }
    } else {
      return damaged("a page is in an encoding bdd does not write");
    }
    m_page_left = count;
    return {};
  }

  const File* m_file = nullptr;
  const ColumnSpec* m_spec = nullptr;
  Codec m_codec = Codec::uncompressed;
  std::uint64_t m_pos = 0;
  std::uint64_t m_end = 0;
  std::uint64_t m_values_left = 0;
  std::uint64_t m_page_left = 0;
  bool m_first_page = true;
  bool m_dictionary_encoded = false;
  std::string m_header_bytes;
  std::string m_stored; // a compressed page as stored
  std::string m_page;   // the current data page's bytes
  std::vector<std::uint32_t> m_levels;
  std::vector<std::uint32_t> m_indices;
  std::string_view m_values;
  std::size_t m_value_pos = 0;
  std::size_t m_index_pos = 0;
  std::size_t m_level_pos = 0;
  std::string m_dictionary_bytes;
  std::vector<std::string_view> m_dictionary;
};

Result<void> check_schema(const FileMetaData& meta) {
  if (meta.schema.size() != k_column_count + 1
      || meta.schema[0].num_children != static_cast<std::int32_t>(k_column_count)) {
    return damaged("the schema is not bdd's");
  }
  for (std::size_t i = 0; i < k_column_count; ++i) {
    const SchemaElement& element = meta.schema[i + 1];
    const ColumnSpec& spec = k_columns[i];
    if (element.name != spec.name || element.type != spec.type
        || element.repetition != spec.repetition || element.num_children.value_or(0) != 0
        || element.logical != spec.logical) {
      return damaged("column " + std::to_string(i + 1) + " is not bdd's \"" + std::string(spec.name)
                     + "\"");
    }
  }
  return {};
}

Result<void> check_row_groups(const FileMetaData& meta, std::uint64_t data_end) {
  if (meta.num_rows < 0) {
    return damaged("the row count is negative");
  }
  std::uint64_t rows = 0;
  for (const RowGroup& group : meta.row_groups) {
    if (group.num_rows <= 0 || static_cast<std::uint64_t>(group.num_rows) > data_end) {
      return damaged("a row group's row count does not fit the file");
    }
    rows += static_cast<std::uint64_t>(group.num_rows);
    if (group.columns.size() != k_column_count) {
      return damaged("a row group does not have bdd's columns");
    }
    for (std::size_t i = 0; i < k_column_count; ++i) {
      const ColumnMetaData& column = group.columns[i];
      if (column.type != k_columns[i].type || column.path != k_columns[i].name) {
        return damaged("a row group's column " + std::to_string(i + 1) + " is not bdd's");
      }
      if (column.codec != Codec::uncompressed && column.codec != Codec::zstd) {
        return damaged("a column chunk is compressed with a codec bdd does not write");
      }
      if (column.num_values != group.num_rows) {
        return damaged("a column chunk's value count differs from its row group's rows");
      }
      const std::int64_t start = column.dictionary_page_offset.value_or(column.data_page_offset);
      if (column.dictionary_page_offset
          && *column.dictionary_page_offset >= column.data_page_offset) {
        return damaged("a column chunk's dictionary is not before its data");
      }
      if (start < static_cast<std::int64_t>(k_magic.size()) || column.total_compressed_size <= 0
          || column.data_page_offset < start || static_cast<std::uint64_t>(start) > data_end
          || static_cast<std::uint64_t>(column.total_compressed_size)
                 > data_end - static_cast<std::uint64_t>(start)
          || column.data_page_offset - start >= column.total_compressed_size) {
        return damaged("a column chunk lies outside the file's data");
      }
    }
  }
  if (rows != static_cast<std::uint64_t>(meta.num_rows)) {
    return damaged("the row groups' rows do not add up to the file's");
  }
  return {};
}

class ParquetRowReader final : public RowReader {
public:
  explicit ParquetRowReader(const stdfs::path& path) : m_file(path) {}

  Result<void> open(const stdfs::path& path) {
    BDD_TRY(m_file.open(path));
    const std::uint64_t size = m_file.size();
    const std::uint64_t frame = 2 * k_magic.size() + 4;
    if (size < frame) {
      return damaged("the file is too short to be parquet");
    }
    std::string bytes;
    BDD_TRY(m_file.read(0, k_magic.size(), bytes));
    if (bytes != k_magic) {
      return damaged("the file does not start with \"PAR1\"");
    }
    BDD_TRY(m_file.read(size - 8, 8, bytes));
    if (bytes.substr(4) != k_magic) {
      return damaged("the file does not end with \"PAR1\" (cut short?)");
    }
    const std::uint64_t footer = load_u32_le(bytes.data());
    if (footer > size - frame || footer > k_max_footer_bytes) {
      return damaged("the footer's length does not fit the file");
    }
    const std::uint64_t data_end = size - 8 - footer;
    BDD_TRY(m_file.read(data_end, static_cast<std::size_t>(footer), bytes));
    BDD_TRY_ASSIGN(m_meta, decode_file_metadata(bytes));
    BDD_TRY(check_schema(m_meta));
    BDD_TRY(check_row_groups(m_meta, data_end));
    return {};
  }

  std::uint64_t rows() const override { return static_cast<std::uint64_t>(m_meta.num_rows); }
  std::uint64_t row_groups() const override { return m_meta.row_groups.size(); }

  Result<bool> next(StoredRow& out) override {
    if (m_failed) {
      return damaged("reading stopped at an earlier error");
    }
    auto result = read(out);
    if (!result) {
      m_failed = true;
    }
    return result;
  }

private:
  Result<bool> read(StoredRow& out) {
    while (m_group_rows_left == 0) {
      if (m_group > 0) {
        for (const ColumnCursor& cursor : m_cursors) {
          BDD_TRY(cursor.finish());
        }
      }
      if (m_group == m_meta.row_groups.size()) {
        return false;
      }
      const RowGroup& group = m_meta.row_groups[m_group++];
      for (std::size_t i = 0; i < k_column_count; ++i) {
        m_cursors[i].start(m_file, k_columns[i], group.columns[i]);
      }
      m_group_rows_left = static_cast<std::uint64_t>(group.num_rows);
    }
    --m_group_rows_left;
    std::array<Value, k_column_count> values;
    for (std::size_t i = 0; i < k_column_count; ++i) {
      BDD_TRY(m_cursors[i].next(values[i]));
    }
    auto text = [&](Column column) {
      return values[column].null ? std::nullopt
                                 : std::optional<std::string_view>(values[column].text);
    };
    auto number = [&](Column column) {
      return values[column].null ? std::nullopt
                                 : std::optional<std::int64_t>(values[column].number);
    };
    out.id = values[col_id].text;
    out.study_name = values[col_study_name].text;
    out.user_id = values[col_user_id].text;
    out.event_type = values[col_event_type].text;
    out.element_id = text(col_element_id);
    out.page_url = text(col_page_url);
    out.timestamp = number(col_timestamp);
    out.stored_timestamp = number(col_stored_timestamp);
    out.timestamp_text = text(col_timestamp_text);
    out.stored_timestamp_text = text(col_stored_timestamp_text);
    out.data = values[col_data].text;
    return true;
  }

  File m_file;
  FileMetaData m_meta;
  std::array<ColumnCursor, k_column_count> m_cursors;
  std::size_t m_group = 0;
  std::uint64_t m_group_rows_left = 0;
  bool m_failed = false;
};

class ParquetFileReader final : public FileReader {
public:
  explicit ParquetFileReader(std::unique_ptr<RowReader> rows) : m_rows(std::move(rows)) {}

  std::uint64_t rows() const override { return m_rows->rows(); }

  Result<std::optional<model::Event>> next() override {
    StoredRow row;
    BDD_TRY_ASSIGN(const bool more, m_rows->next(row));
    if (!more) {
      return std::optional<model::Event>();
    }
    if (row.id.empty()) {
      return damaged("a row has no id");
    }
    std::string raw;
    if (!model::append_minified_json(row.data, raw)) {
      return damaged("the data of a row is not valid JSON");
    }
    model::Event event = model::normalise_compact(std::move(raw));
    event.id = stored_key(row.id, event.raw);
    return std::optional<model::Event>(std::move(event));
  }

private:
  std::unique_ptr<RowReader> m_rows;
};

} // namespace

Result<std::unique_ptr<RowReader>> open_row_reader(const std::filesystem::path& path) {
  auto reader = std::make_unique<ParquetRowReader>(path);
  BDD_TRY(reader->open(path));
  return std::unique_ptr<RowReader>(std::move(reader));
}

Result<std::unique_ptr<FileReader>> open_file_reader(const std::filesystem::path& path) {
  BDD_TRY_ASSIGN(auto rows, open_row_reader(path));
  return std::unique_ptr<FileReader>(std::make_unique<ParquetFileReader>(std::move(rows)));
}

} // namespace bdd::storage::parquet
