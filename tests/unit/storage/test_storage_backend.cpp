// The backend table: every format in core's table can be written and read back through it.
#include "storage_test_helpers.hpp"

#include <bdd/core/format.hpp>
#include <bdd/storage/backend.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/writer.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <string>
#include <vector>

using namespace bdd::test;

TEST_CASE("storage::backends has a writer and a reader for every format", "[storage]") {
  CHECK(bdd::storage::backends().size() == bdd::formats().size());
  for (const bdd::FormatInfo& info : bdd::formats()) {
    INFO(info.name);
    const bdd::storage::Backend* backend = bdd::storage::find_backend(info.format);
    REQUIRE(backend != nullptr);
    CHECK(backend->format == info.format);
    CHECK(backend->make_writer != nullptr);
    CHECK(backend->open_reader != nullptr);
    // A format without a text layout cannot be cut back to a size: a database, or immutable
    // part files.
    if (!backend->layout) {
      CHECK(info.storage != bdd::FormatStorage::leaf_files);
    }
  }
}

TEST_CASE("storage::make_writer and open_reader round-trip every format in the table",
          "[storage]") {
  for (const bdd::FormatInfo& info : bdd::formats()) {
    const std::string format(info.name);
    INFO(format);
    TempDir dir;
    const auto events = generated_events(5, 2, 2);
    std::vector<bdd::storage::Level> levels;
    if (info.folder_structure) {
      levels = {bdd::storage::Level::by_user_id};
    }
    auto writer = make_test_writer(format, dir.path(), levels);
    write_all(*writer, events);
    REQUIRE(writer->commit(accept_journal()));
    REQUIRE(writer->close());

    auto files = bdd::storage::list_data_files(dir.path(), format);
    REQUIRE(files);
    CHECK(files->size() == (info.folder_structure ? 2U : 1U));
    std::size_t read = 0;
    for (const auto& file : *files) {
      CHECK(bdd::is_data_file_name(info, std::filesystem::path(file).filename().string()));
      auto reader = bdd::storage::open_reader(format, dir.path() / file);
      REQUIRE(reader);
      for (;;) {
        auto record = (*reader)->next();
        REQUIRE(record);
        if (!*record) {
          break;
        }
        ++read;
      }
    }
    CHECK(read == events.size());
  }
}

TEST_CASE("storage::open_reader refuses an unknown format, listing the valid ones", "[storage]") {
  auto reader = bdd::storage::open_reader("orc", "/nonexistent/events.orc");
  REQUIRE_FALSE(reader);
  CHECK(reader.error().code == bdd::Errc::config);
  CHECK(reader.error().message
        == "unknown storage format \"orc\" (use json, jsonl, csv, sqlite or parquet)");
  CHECK(bdd::storage::text_layout("orc") == std::nullopt);
  CHECK(bdd::storage::text_layout("parquet") == std::nullopt);
  CHECK(bdd::storage::rewritten_tail("parquet").empty());
}
