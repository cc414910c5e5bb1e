#include "xlsx_writer.hpp"

#include <xlsxwriter.h>
#include <zip.h>

#include <algorithm>
#include <charconv>
#include <system_error>

namespace bdd::exporting {

namespace {

// Code points of UTF-8 `text` (continuation bytes not counted).
std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) {
    count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return count;
}

// True if the JSON number `text` has at most 15 significant digits (a double and Excel keep it).
bool fits_excel(std::string_view text) {
  std::size_t digits = 0;
  bool leading = true;
  for (const char c : text) {
    if (c == 'e' || c == 'E') {
      break;
    }
    if (c < '0' || c > '9') {
      continue;
    }
    if (leading && c == '0') {
      continue;
    }
    leading = false;
    ++digits;
  }
  // Trailing zeros of an integer part count: 1000000000000000000 is exact, but only as 1e18.
  return digits <= 15;
}

// Whether the sheet of the workbook at `path` holds `rows` rows and its end: libxlsxwriter does
// not check the writes to its temporary files, so a full disk would otherwise give a shorter
// sheet without an error. Reads the sheet's XML once, decompressing it. "<row " cannot stand in
// a cell's text, where XML escapes '<'.
bool sheet_complete(const std::filesystem::path& path, std::uint64_t rows) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (archive == nullptr) {
    return false;
  }
  zip_file_t* sheet = zip_fopen(archive, "xl/worksheets/sheet1.xml", 0);
  if (sheet == nullptr) {
    zip_discard(archive);
    return false;
  }
  constexpr std::string_view k_row = "<row ";
  constexpr std::string_view k_end = "</worksheet>";
  std::string buffer(std::size_t{1} << 20, '\0');
  std::string window; // the bytes read last, after what the read before left unmatched
  std::string tail;   // the last bytes of the sheet so far
  std::uint64_t found = 0;
  bool ok = true;
  for (;;) {
    const zip_int64_t n = zip_fread(sheet, buffer.data(), buffer.size());
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) {
      break;
    }
    const std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    window.append(chunk);
    for (std::size_t at = window.find(k_row); at != std::string::npos;
         at = window.find(k_row, at + k_row.size())) {
      ++found;
    }
    // Keep fewer bytes than a whole tag: a tag cut by the read is found next time, none twice.
    window.erase(0, window.size() - std::min(window.size(), k_row.size() - 1));
    tail.append(chunk.substr(chunk.size() - std::min(chunk.size(), k_end.size())));
    tail.erase(0, tail.size() - std::min(tail.size(), k_end.size()));
  }
  zip_fclose(sheet);
  zip_discard(archive);
  return ok && found == rows && tail == k_end;
}

std::string column_name(const std::vector<std::string>& header, std::size_t column) {
  return column < header.size() ? header[column] : std::to_string(column + 1);
}

} // namespace

struct XlsxWriter::Handles {
  lxw_workbook* workbook = nullptr;
  lxw_worksheet* sheet = nullptr;
};

Result<void> check_xlsx_rows(std::uint64_t data_rows, std::uint64_t max_rows) {
  if (data_rows + 1 > max_rows) {
    return Error(Errc::usage,
                 "the export has " + std::to_string(data_rows) + " events, more than the "
                     + std::to_string(max_rows - 1)
                     + " rows an Excel sheet holds under its header: use --format "
                       "csv, or export fewer events with --since, --until, --user "
                       "or --event-type");
  }
  return ok();
}

XlsxWriter::XlsxWriter(std::filesystem::path path,
                       std::vector<std::string> header,
                       std::string shown)
    : m_path(std::move(path)),
      m_shown(shown.empty() ? m_path.string() : std::move(shown)),
      m_header(std::move(header)),
      m_handles(std::make_unique<Handles>()) {}

XlsxWriter::~XlsxWriter() {
  if (m_handles->workbook != nullptr) {
    // Abandoned: freed without being written (the file at `path` is only made by `finish`).
    lxw_workbook_free(m_handles->workbook);
  }
}

Result<std::unique_ptr<XlsxWriter>> XlsxWriter::create(const std::filesystem::path& path,
                                                       const std::vector<std::string>& header,
                                                       std::string shown) {
  std::unique_ptr<XlsxWriter> writer(new XlsxWriter(path, header, std::move(shown)));
  // Temporary files next to the output: the system's /tmp may be small (or RAM).
  std::string tmpdir = path.parent_path().empty() ? "." : path.parent_path().string();
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;
  options.tmpdir = tmpdir.data();
  const std::string name = path.string();
  writer->m_handles->workbook = workbook_new_opt(name.c_str(), &options);
  if (writer->m_handles->workbook == nullptr) {
    return Error(Errc::storage, "cannot create the workbook \"" + writer->m_shown + "\"");
  }
  writer->m_handles->sheet = workbook_add_worksheet(writer->m_handles->workbook, "events");
  if (writer->m_handles->sheet == nullptr) {
    return Error(Errc::storage, "cannot create the workbook \"" + writer->m_shown + "\"");
  }
  for (std::size_t column = 0; column < header.size(); ++column) {
    BDD_TRY(writer->write_text(column, header[column]));
  }
  return writer;
}

Result<void> XlsxWriter::write_text(std::size_t column, std::string_view text) {
  const auto row = static_cast<lxw_row_t>(m_rows);
  if (utf8_length(text) > k_xlsx_max_cell_chars) {
    return Error(Errc::usage,
                 "row " + std::to_string(m_rows + 1) + " column \"" + column_name(m_header, column)
                     + "\" holds more than the " + std::to_string(k_xlsx_max_cell_chars)
                     + " characters an Excel cell holds: use --format csv"
                     + (column + 1 == m_header.size() && m_header[column] == "data"
                            ? ", or --flatten"
                            : ""));
  }
  m_scratch.clear();
  for (const char c : text) {
    if (c == '\0') {
      m_scratch += "_x0000_";
    } else {
      m_scratch += c;
    }
  }
  const lxw_error error = worksheet_write_string(
      m_handles->sheet, row, static_cast<lxw_col_t>(column), m_scratch.c_str(), nullptr);
  if (error != LXW_NO_ERROR) {
    return Error(Errc::storage,
                 "cannot write row " + std::to_string(m_rows + 1) + " of \"" + m_shown
                     + "\": " + lxw_strerror(error));
  }
  return ok();
}

Result<void> XlsxWriter::write_row(const std::vector<Cell>& cells) {
  if (m_rows + 1 >= k_xlsx_max_rows) {
    BDD_TRY(check_xlsx_rows(m_rows + 1));
  }
  ++m_rows;
  const auto row = static_cast<lxw_row_t>(m_rows);
  for (std::size_t column = 0; column < cells.size(); ++column) {
    const Cell& cell = cells[column];
    const auto col = static_cast<lxw_col_t>(column);
    lxw_error error = LXW_NO_ERROR;
    switch (cell.kind) {
    case Cell::Kind::empty:
      break;
    case Cell::Kind::boolean:
      error = worksheet_write_boolean(
          m_handles->sheet, row, col, cell.value == "true" ? 1 : 0, nullptr);
      break;
    case Cell::Kind::number: {
      double number = 0;
      const char* last = cell.value.data() + cell.value.size();
      const auto [end, parsed] = std::from_chars(cell.value.data(), last, number);
      if (parsed == std::errc() && end == last && fits_excel(cell.value)) {
        error = worksheet_write_number(m_handles->sheet, row, col, number, nullptr);
      } else {
        BDD_TRY(write_text(column, cell.value));
      }
      break;
    }
    case Cell::Kind::text:
    case Cell::Kind::json:
      BDD_TRY(write_text(column, cell.value));
      break;
    }
    if (error != LXW_NO_ERROR) {
      return Error(Errc::storage,
                   "cannot write row " + std::to_string(m_rows + 1) + " of \"" + m_shown
                       + "\": " + lxw_strerror(error));
    }
  }
  return ok();
}

Result<void> XlsxWriter::finish() {
  lxw_workbook* workbook = m_handles->workbook;
  m_handles->workbook = nullptr;
  const lxw_error error = workbook_close(workbook);
  if (error != LXW_NO_ERROR) {
    std::error_code ignored;
    std::filesystem::remove(m_path, ignored);
    return Error(Errc::storage, "cannot write \"" + m_shown + "\": " + lxw_strerror(error));
  }
  if (!sheet_complete(m_path, m_rows + 1)) {
    std::error_code ignored;
    std::filesystem::remove(m_path, ignored);
    return Error(Errc::storage,
                 "cannot write \"" + m_shown
                     + "\": the workbook came out incomplete (is the disk full?)");
  }
  return ok();
}

} // namespace bdd::exporting
