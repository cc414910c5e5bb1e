// Leaf files are written beneath the study folder and never through a link; new leaves are
// created exclusively; rollback follows no link either; sqlite counts its rows in O(1).
#include "storage_test_helpers.hpp"

#include <bdd/storage/sqlite_writer.hpp>
#include <bdd/storage/writer.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::storage::FileExtent;
using bdd::storage::Level;
using namespace bdd::test;

namespace {

constexpr const char* k_canary = "canary\n";

} // namespace

TEST_CASE("storage::Writer::commit writes through no link at a leaf or on the way to it",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  const bool folder_link = GENERATE(false, true);
  INFO(format << (folder_link ? " folder link" : " file link"));
  TempDir dir;
  TempDir outside;
  const auto study = dir.path() / "study";
  stdfs::create_directories(study);
  const auto canary = outside.path() / "canary";
  write_text(canary, k_canary);
  const std::vector<Level> levels{Level::by_user_id};
  if (folder_link) {
    stdfs::create_directory_symlink(outside.path(), study / "u0");
  } else {
    stdfs::create_directories(study / "u0");
    stdfs::create_symlink(canary, study / "u0" / ("events." + format));
  }
  auto writer = make_test_writer(format, study, levels);
  write_all(*writer, generated_events(4, 1, 1)); // user u0 only
  auto committed = writer->commit(accept_journal());
  REQUIRE_FALSE(committed);
  CHECK(committed.error().code == bdd::Errc::storage);
  CHECK_THAT(committed.error().message, Catch::Contains("symbolic link"));
  CHECK(snapshot(outside.path()) == std::map<std::string, std::string>{{"canary", k_canary}});
}

TEST_CASE("storage::Writer::rollback truncates and removes nothing through a link", "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  TempDir dir;
  TempDir outside;
  const auto canary = outside.path() / "canary";
  write_text(canary, std::string(100, 'x'));
  const std::string leaf = "u0/events." + format;
  stdfs::create_directories(dir.path() / "u0");
  stdfs::create_symlink(canary, dir.path() / leaf);
  auto writer = make_test_writer(format, dir.path(), {Level::by_user_id});
  for (const std::uint64_t size : {std::uint64_t{0}, std::uint64_t{10}}) {
    auto rolled_back = writer->rollback(FileExtent{leaf, size});
    REQUIRE_FALSE(rolled_back);
    CHECK_THAT(rolled_back.error().message, Catch::Contains("symbolic link"));
  }
  CHECK(stdfs::file_size(canary) == 100);
  CHECK(stdfs::is_symlink(dir.path() / leaf));
}

TEST_CASE("storage::make_writer sqlite counts its rows in O(1), deletions by hand included",
          "[storage]") {
  TempDir dir;
  CHECK(bdd::storage::sqlite_event_count(dir.path()).value() == std::nullopt);
  {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, generated_events(30, 2, 1));
    REQUIRE(writer->commit(accept_journal()));
    write_all(*writer, generated_events(30, 2, 1, 20)); // e20..e29 already stored
    REQUIRE(writer->commit(accept_journal()));
    REQUIRE(writer->close());
  }
  auto counted = bdd::storage::sqlite_event_count(dir.path());
  INFO((counted ? "" : counted.error().message));
  REQUIRE(counted);
  CHECK(counted->value_or(0) == 50);
  {
    SQLite::Database db((dir.path() / "events.sqlite").string(), SQLite::OPEN_READWRITE);
    db.exec("DELETE FROM events WHERE id IN ('e3', 'e4')");
  }
  CHECK(bdd::storage::sqlite_event_count(dir.path()).value() == 48);
}

TEST_CASE("storage::make_writer sqlite counts the rows of a database made without the count once",
          "[storage]") {
  TempDir dir;
  {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, generated_events(12, 2, 1));
    REQUIRE(writer->commit(accept_journal()));
    REQUIRE(writer->close());
  }
  {
    SQLite::Database db((dir.path() / "events.sqlite").string(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER bdd_event_count_delete; DROP TABLE bdd_event_count");
  }
  CHECK(bdd::storage::sqlite_event_count(dir.path()).value() == 12); // counted
  auto writer = make_test_writer("sqlite", dir.path());
  write_all(*writer, generated_events(3, 1, 1, 12));
  REQUIRE(writer->commit(accept_journal()));
  REQUIRE(writer->close());
  CHECK(bdd::storage::sqlite_event_count(dir.path()).value() == 15);
}

TEST_CASE("storage::make_writer sqlite refuses a database that is a link", "[storage]") {
  TempDir dir;
  TempDir outside;
  write_text(outside.path() / "target", k_canary);
  stdfs::create_symlink(outside.path() / "target", dir.path() / "events.sqlite");
  auto writer = bdd::storage::make_writer("sqlite", {dir.path(), "study", {}});
  REQUIRE_FALSE(writer);
  CHECK_THAT(writer.error().message, Catch::Contains("symbolic link"));
  CHECK_FALSE(bdd::storage::sqlite_event_count(dir.path()));
  CHECK(snapshot(outside.path()) == std::map<std::string, std::string>{{"target", k_canary}});
}
