#include "python_script.hpp"

#include <bdd/export/xlsx_writer.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <string>
#include <vector>

using bdd::exporting::Cell;
using bdd::exporting::XlsxWriter;

namespace {

// The sheet's rows as openpyxl (what the users' Python reads) gives them, as JSON: one array per
// row, a blank cell null.
std::string read_with_openpyxl(const std::filesystem::path& xlsx,
                               const std::filesystem::path& dir) {
  return bdd::test::run_python_script(
      dir,
      "import json, sys, openpyxl\n"
      "book = openpyxl.load_workbook(sys.argv[1], read_only=True)\n"
      "sheet = book.worksheets[0]\n"
      "rows = [list(r) for r in sheet.iter_rows(values_only=True)]\n"
      "print(json.dumps([sheet.title, rows], ensure_ascii=False))\n",
      xlsx);
}

Cell cell(Cell::Kind kind, std::string value) {
  return Cell{kind, std::move(value)};
}

} // namespace

TEST_CASE("export::XlsxWriter writes one sheet that openpyxl reads with its types", "[export]") {
  bdd::test::TempDir dir;
  const auto path = dir.path() / "out.xlsx";
  auto writer = XlsxWriter::create(path, {"id", "n", "b", "s", "j"});
  REQUIRE(writer);
  REQUIRE((*writer)->write_row({cell(Cell::Kind::text, "e1"),
                                cell(Cell::Kind::number, "412.5"),
                                cell(Cell::Kind::boolean, "true"),
                                cell(Cell::Kind::text, "a, \"b\"\nГрёсse 😀"),
                                cell(Cell::Kind::json, "[1,2]")}));
  // A blank cell; a number with more digits than Excel keeps stays exact as text; -3 an integer.
  REQUIRE((*writer)->write_row({cell(Cell::Kind::text, "e2"),
                                cell(Cell::Kind::number, "9007199254740993"),
                                cell(Cell::Kind::boolean, "false"),
                                Cell{},
                                cell(Cell::Kind::number, "-3")}));
  REQUIRE((*writer)->write_row({cell(Cell::Kind::text, std::string("nul\0here\x01", 9))}));
  CHECK((*writer)->rows() == 3);
  CHECK_FALSE(std::filesystem::exists(path)); // written at the end
  REQUIRE((*writer)->finish());
  CHECK(
      read_with_openpyxl(path, dir.path())
      == R"(["events", [["id", "n", "b", "s", "j"], ["e1", 412.5, true, "a, \"b\"\nГрёсse 😀", "[1,2]"], ["e2", "9007199254740993", false, null, -3], ["nul_x0000_here_x0001_", null, null, null, null]]])"
         "\n");
}

TEST_CASE("export::check_xlsx_rows refuses more rows than a sheet holds", "[export]") {
  CHECK(bdd::exporting::check_xlsx_rows(1'048'575));
  const auto refused = bdd::exporting::check_xlsx_rows(1'048'576);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == bdd::Errc::usage);
  CHECK(refused.error().message.find("--format csv") != std::string::npos);
  CHECK(refused.error().message.find("1048575 rows") != std::string::npos);
  CHECK_FALSE(bdd::exporting::check_xlsx_rows(3, 3));
  CHECK(bdd::exporting::check_xlsx_rows(2, 3));
}

TEST_CASE("export::XlsxWriter refuses a text longer than a cell and leaves no file", "[export]") {
  bdd::test::TempDir dir;
  const auto path = dir.path() / "out.xlsx";
  {
    auto writer = XlsxWriter::create(path, {"id", "data"});
    REQUIRE(writer);
    // 32,767 characters fit (multi-byte ones count once); one more does not.
    REQUIRE((*writer)->write_row({cell(Cell::Kind::text, "e1"),
                                  cell(Cell::Kind::text, std::string(32'767 / 3, 'x') + "é")}));
    std::string fits;
    for (int i = 0; i < 32'767; ++i) {
      fits += "é";
    }
    REQUIRE((*writer)->write_row({cell(Cell::Kind::text, "e2"), cell(Cell::Kind::text, fits)}));
    const auto refused =
        (*writer)->write_row({cell(Cell::Kind::text, "e3"), cell(Cell::Kind::text, fits + "x")});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == bdd::Errc::usage);
    CHECK(refused.error().message
          == "row 4 column \"data\" holds more than the 32767 characters "
             "an Excel cell holds: use --format csv, or --flatten");
  }
  // Abandoned without finish: nothing at the path, no temporary file beside it.
  CHECK(std::filesystem::is_empty(dir.path()));
}
