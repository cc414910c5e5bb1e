#pragma once

#include <bdd/core/result.hpp>
#include <bdd/export/flatten.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace bdd::exporting {

// What one sheet of an Excel workbook holds: 1,048,576 rows, the header row included.
inline constexpr std::uint64_t k_xlsx_max_rows = 1'048'576;
// What one Excel cell holds, in characters.
inline constexpr std::size_t k_xlsx_max_cell_chars = 32'767;

// Whether `data_rows` events and a header row fit one sheet of at most `max_rows` rows; fails
// with Errc::usage suggesting csv or a filter when they do not. Called before anything is
// written. `max_rows` other than the default is for tests.
Result<void> check_xlsx_rows(std::uint64_t data_rows, std::uint64_t max_rows = k_xlsx_max_rows);

// Writes one sheet, "events", of an .xlsx workbook with libxlsxwriter, row by row with flat
// memory (its constant-memory mode, temporary files next to the output). Cells keep their JSON
// meaning: a number is an Excel number when a double holds it exactly as written (at most 15
// significant digits, Excel's own precision), else its text; a boolean is TRUE/FALSE; empty is
// a blank cell; everything else is text. U+0000 in a text becomes "_x0000_", Excel's escape
// (libxlsxwriter writes the other control characters that way). A text longer than
// `k_xlsx_max_cell_chars` fails: a cell would cut it, and an export is exact.
class XlsxWriter {
public:
  // Start the workbook at `path` with the header row `header`. `path` is written (created, or
  // truncated and rewritten in place) only by `finish`. Messages name `shown` (default: `path`).
  static Result<std::unique_ptr<XlsxWriter>> create(const std::filesystem::path& path,
                                                    const std::vector<std::string>& header,
                                                    std::string shown = {});
  XlsxWriter(const XlsxWriter&) = delete;
  XlsxWriter& operator=(const XlsxWriter&) = delete;
  // Without `finish`, the workbook is abandoned: nothing is written at `path`.
  ~XlsxWriter();

  // One row: `cells[i]` under `header[i]` (fewer cells leave the rest blank). Fails with
  // Errc::usage past `k_xlsx_max_rows` rows or for a too long text (naming row and column), and
  // Errc::storage when libxlsxwriter fails.
  Result<void> write_row(const std::vector<Cell>& cells);

  // Write the workbook to `path`. Fails with Errc::storage naming the file (a full disk).
  Result<void> finish();

  // Data rows written so far.
  std::uint64_t rows() const { return m_rows; }

private:
  struct Handles;
  XlsxWriter(std::filesystem::path path, std::vector<std::string> header, std::string shown);
  Result<void> write_text(std::size_t column, std::string_view text);

  std::filesystem::path m_path;
  std::string m_shown;
  std::vector<std::string> m_header;
  std::unique_ptr<Handles> m_handles;
  std::uint64_t m_rows = 0;
  std::string m_scratch;
};

} // namespace bdd::exporting
