#include "row_writer.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/export/xlsx_writer.hpp>
#include <bdd/storage/csv_writer.hpp>
#include <bdd/storage/parquet_file.hpp>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <random>

namespace bdd::exporting {

namespace {

namespace stdfs = std::filesystem;

constexpr std::string_view k_broken_pipe = "the reader of standard output went away";

// Rows are gathered and written 1 MiB at a time.
constexpr std::size_t k_flush_bytes = std::size_t{1} << 20;

class BufferedWriter : public RowWriter {
public:
  BufferedWriter(const OutputTarget& target, std::string study_name)
      : m_fd(target.fd),
        m_shown(target.shown),
        m_study_name(std::move(study_name)) {
    m_buffer.reserve(k_flush_bytes + 4096);
  }

  Result<void> write(const model::Event& event) final {
    BDD_TRY(append_row(m_buffer, event));
    if (m_buffer.size() >= k_flush_bytes) {
      return flush();
    }
    return ok();
  }
  Result<void> finish() final {
    append_end(m_buffer);
    return flush();
  }
  std::uint64_t bytes_written() const final { return m_written; }

protected:
  virtual Result<void> append_row(std::string& out, const model::Event& event) = 0;
  virtual void append_end(std::string& /*out*/) {}
  const std::string& study_name() const { return m_study_name; }

private:
  Result<void> flush() {
    BDD_TRY(write_all(m_fd, m_buffer, m_shown));
    m_written += m_buffer.size();
    m_buffer.clear();
    return ok();
  }

  int m_fd;
  std::string m_shown;
  std::string m_study_name;
  std::string m_buffer;
  std::uint64_t m_written = 0;
};

class CsvRows final : public BufferedWriter {
public:
  using BufferedWriter::BufferedWriter;

private:
  Result<void> append_row(std::string& out, const model::Event& event) override {
    if (!m_header) {
      out += storage::csv_header();
      m_header = true;
    }
    storage::append_csv_row(out, event);
    return ok();
  }
  // An export without rows still has its header.
  void append_end(std::string& out) override {
    if (!m_header) {
      out += storage::csv_header();
      m_header = true;
    }
  }
  bool m_header = false;
};

class JsonlRows final : public BufferedWriter {
public:
  using BufferedWriter::BufferedWriter;

private:
  Result<void> append_row(std::string& out, const model::Event& event) override {
    model::append_normalised_json(out, event, study_name());
    out += '\n';
    return ok();
  }
};

// "[\n" + rows joined by ",\n" + "\n]\n"; an empty export is "[]\n".
class JsonRows final : public BufferedWriter {
public:
  using BufferedWriter::BufferedWriter;

private:
  Result<void> append_row(std::string& out, const model::Event& event) override {
    out += m_rows == 0 ? "[\n" : ",\n";
    ++m_rows;
    model::append_normalised_json(out, event, study_name());
    return ok();
  }
  void append_end(std::string& out) override { out += m_rows == 0 ? "[]\n" : "\n]\n"; }
  std::uint64_t m_rows = 0;
};

// A flattened cell as a CSV field: numbers and booleans bare, absent and null empty, strings
// (and JSON text) as storage's CSV writes fields.
void append_csv_cell(std::string& out, const Cell& cell) {
  switch (cell.kind) {
  case Cell::Kind::empty:
    break;
  case Cell::Kind::number:
  case Cell::Kind::boolean:
    out += cell.value;
    break;
  case Cell::Kind::text:
  case Cell::Kind::json:
    storage::append_csv_field(out, cell.value);
    break;
  }
}

// csv --flatten: the leading csv columns, then one column per data path.
class FlatCsvRows final : public BufferedWriter {
public:
  FlatCsvRows(const OutputTarget& target, std::string study_name, const FlatColumns& flat)
      : BufferedWriter(target, std::move(study_name)),
        m_flat(flat) {}

private:
  Result<void> append_row(std::string& out, const model::Event& event) override {
    append_header(out);
    BDD_TRY(m_flat.row(event, m_cells));
    for (std::size_t i = 0; i < m_cells.size(); ++i) {
      out += i == 0 ? "" : ",";
      append_csv_cell(out, m_cells[i]);
    }
    out += "\r\n";
    return ok();
  }
  void append_end(std::string& out) override { append_header(out); }
  void append_header(std::string& out) {
    if (m_header) {
      return;
    }
    m_header = true;
    const auto names = m_flat.header();
    for (std::size_t i = 0; i < names.size(); ++i) {
      out += i == 0 ? "" : ",";
      storage::append_csv_field(out, names[i]);
    }
    out += "\r\n";
  }
  const FlatColumns& m_flat;
  std::vector<Cell> m_cells;
  bool m_header = false;
};

// xlsx: the csv columns (or the flattened ones) on one sheet.
class XlsxRows final : public RowWriter {
public:
  XlsxRows(std::unique_ptr<XlsxWriter> writer, const FlatColumns* flat, stdfs::path path)
      : m_writer(std::move(writer)),
        m_flat(flat),
        m_path(std::move(path)) {}

  Result<void> write(const model::Event& event) override {
    if (m_flat) {
      BDD_TRY(m_flat->row(event, m_cells));
    } else {
      m_cells.clear();
      append_leading_cells(event, m_cells);
      m_cells.push_back(Cell{Cell::Kind::text, event.raw});
    }
    return m_writer->write_row(m_cells);
  }
  Result<void> finish() override {
    BDD_TRY(m_writer->finish());
    m_bytes = fs::file_size_or_zero(m_path);
    return ok();
  }
  std::uint64_t bytes_written() const override { return m_bytes; }

private:
  std::unique_ptr<XlsxWriter> m_writer;
  const FlatColumns* m_flat;
  stdfs::path m_path;
  std::vector<Cell> m_cells;
  std::uint64_t m_bytes = 0;
};

// parquet: storage's Parquet writer (storage/parquet_file.hpp: one row group at a time in
// memory, then written to the descriptor). A file only: its footer comes last and readers
// seek to it.
class ParquetRows final : public RowWriter {
public:
  explicit ParquetRows(std::unique_ptr<storage::parquet::FileWriter> writer)
      : m_writer(std::move(writer)) {}

  Result<void> write(const model::Event& event) override { return m_writer->add(event); }
  Result<void> finish() override { return m_writer->finish(); }
  std::uint64_t bytes_written() const override { return m_writer->bytes_written(); }

private:
  std::unique_ptr<storage::parquet::FileWriter> m_writer;
};

// NOLINTNEXTLINE(performance-unnecessary-value-param)
Result<std::unique_ptr<RowWriter>>
make_parquet(const OutputTarget& target, std::string study_name, const FlatColumns* /*flat*/) {
  storage::parquet::FileWriterOptions options;
  options.study_name = std::move(study_name);
  BDD_TRY_ASSIGN(auto writer,
                 storage::parquet::make_file_writer(
                     [fd = target.fd, shown = target.shown](std::string_view bytes) {
                       return write_all(fd, bytes, shown);
                     },
                     std::move(options)));
  return std::unique_ptr<RowWriter>(std::make_unique<ParquetRows>(std::move(writer)));
}

// The column names of the csv format's header.
std::vector<std::string> csv_columns() {
  std::vector<std::string> out;
  std::string_view header = storage::csv_header();
  header = header.substr(0, header.find_first_of("\r\n"));
  for (std::size_t comma; (comma = header.find(',')) != std::string_view::npos;) {
    out.emplace_back(header.substr(0, comma));
    header.remove_prefix(comma + 1);
  }
  out.emplace_back(header);
  return out;
}

using MakeWriter = Result<std::unique_ptr<RowWriter>> (*)(const OutputTarget&,
                                                          std::string,
                                                          const FlatColumns*);

struct RowFormat {
  std::string_view name;
  std::string_view extension;
  bool stdout_ok;
  bool flattens;
  bool partitions; // a file per `--partition-by` folder
  MakeWriter make;
};

template <typename Writer>
Result<std::unique_ptr<RowWriter>>
make(const OutputTarget& target, std::string study_name, const FlatColumns* /*flat*/) {
  return std::unique_ptr<RowWriter>(std::make_unique<Writer>(target, std::move(study_name)));
}

Result<std::unique_ptr<RowWriter>>
make_csv(const OutputTarget& target, std::string study_name, const FlatColumns* flat) {
  if (flat) {
    return std::unique_ptr<RowWriter>(
        std::make_unique<FlatCsvRows>(target, std::move(study_name), *flat));
  }
  return make<CsvRows>(target, std::move(study_name), nullptr);
}

// The signature of every row format's maker (k_row_formats), hence the unused copied parameter.
Result<std::unique_ptr<RowWriter>>
// NOLINTNEXTLINE(performance-unnecessary-value-param)
make_xlsx(const OutputTarget& target, std::string /*study_name*/, const FlatColumns* flat) {
  BDD_TRY_ASSIGN(
      auto writer,
      XlsxWriter::create(target.path, flat ? flat->header() : csv_columns(), target.shown));
  return std::unique_ptr<RowWriter>(
      std::make_unique<XlsxRows>(std::move(writer), flat, target.path));
}

// clang-format off
constexpr std::array k_row_formats = {
    RowFormat{"csv",     "csv",     true,  true,  true,  &make_csv},
    RowFormat{"jsonl",   "jsonl",   true,  false, true,  &make<JsonlRows>},
    RowFormat{"json",    "json",    false, false, true,  &make<JsonRows>},
    RowFormat{"xlsx",    "xlsx",    false, true,  false, &make_xlsx},
    RowFormat{"parquet", "parquet", false, false, true,  &make_parquet},
};
// clang-format on

const RowFormat* find_row_format(std::string_view name) {
  for (const RowFormat& format : k_row_formats) {
    if (format.name == name) {
      return &format;
    }
  }
  return nullptr;
}

std::string random_suffix() {
  std::random_device device;
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%08x%08x", device(), device());
  return text.data();
}

} // namespace

std::vector<std::string_view> row_formats() {
  std::vector<std::string_view> out;
  for (const RowFormat& format : k_row_formats) {
    out.push_back(format.name);
  }
  return out;
}

bool streams_to_stdout(std::string_view format) {
  const RowFormat* found = find_row_format(format);
  return found && found->stdout_ok;
}

bool flattens(std::string_view format) {
  const RowFormat* found = find_row_format(format);
  return found && found->flattens;
}

bool partitions(std::string_view format) {
  const RowFormat* found = find_row_format(format);
  return found && found->partitions;
}

std::string_view row_extension(std::string_view format) {
  const RowFormat* found = find_row_format(format);
  return found ? found->extension : format;
}

Result<std::unique_ptr<RowWriter>> make_row_writer(std::string_view format,
                                                   const OutputTarget& target,
                                                   std::string study_name,
                                                   const FlatColumns* flat) {
  const RowFormat* found = find_row_format(format);
  if (!found) {
    return Error(Errc::usage, "unknown export format \"" + std::string(format) + "\"");
  }
  if (flat && !found->flattens) {
    return Error(Errc::usage,
                 "--flatten makes columns, which --format " + std::string(format)
                     + " does not have (use --format csv or xlsx)");
  }
  return found->make(target, std::move(study_name), flat);
}

Result<void> write_all(int fd, std::string_view data, std::string_view shown) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EPIPE) {
        return Error(Errc::storage,
                     std::string(k_broken_pipe) + " (writing " + std::string(shown) + ")");
      }
      return Error(Errc::storage, fs::describe_errno("cannot write", std::string(shown), errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

bool is_broken_pipe(const Error& error) {
  return error.code == Errc::storage && error.message.starts_with(k_broken_pipe);
}

Result<OutputFile> OutputFile::create(const stdfs::path& final_path, bool force) {
  struct stat info {};
  if (::lstat(final_path.c_str(), &info) == 0) {
    if (!force) {
      return Error(Errc::usage,
                   "\"" + final_path.string()
                       + "\" already exists (choose another --output, or add --force to replace "
                         "it)");
    }
    if (S_ISDIR(info.st_mode)) {
      return Error(Errc::usage, "\"" + final_path.string() + "\" is a folder, not a file");
    }
  }
  const stdfs::path folder =
      final_path.has_parent_path() ? final_path.parent_path() : stdfs::path(".");
  const stdfs::path temp =
      folder / ("." + final_path.filename().string() + "." + random_suffix() + ".tmp");
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error(Errc::storage, fs::describe_errno("cannot create", temp, errno));
  }
  return OutputFile(final_path, temp, fd, force);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : m_final(std::move(other.m_final)),
      m_temp(std::move(other.m_temp)),
      m_fd(std::exchange(other.m_fd, -1)),
      m_force(other.m_force) {
  other.m_temp.clear();
}

OutputFile::~OutputFile() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  if (!m_temp.empty()) {
    ::unlink(m_temp.c_str());
  }
}

Result<void> OutputFile::rewind() {
  if (::ftruncate(m_fd, 0) != 0 || ::lseek(m_fd, 0, SEEK_SET) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot write", m_temp, errno));
  }
  return ok();
}

Result<void> OutputFile::commit() {
  if (::fsync(m_fd) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot write", m_final, errno));
  }
  const int fd = std::exchange(m_fd, -1);
  if (::close(fd) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot write", m_final, errno));
  }
  const unsigned flags = m_force ? 0U : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, m_temp.c_str(), AT_FDCWD, m_final.c_str(), flags) != 0) {
    if (errno == EEXIST) {
      return Error(Errc::usage,
                   "\"" + m_final.string()
                       + "\" appeared during the export (choose another --output, or add "
                         "--force to replace it)");
    }
    return Error(Errc::storage, fs::describe_errno("cannot rename to", m_final, errno));
  }
  m_temp.clear();
  const stdfs::path folder = m_final.has_parent_path() ? m_final.parent_path() : stdfs::path(".");
  return fs::sync_directory(folder);
}

} // namespace bdd::exporting
