#include "storage_test_helpers.hpp"

#include <bdd/storage/record_decoder.hpp>
#include <bdd/storage/writer.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::storage::FileExtent;
using bdd::storage::Level;
using namespace bdd::test;

namespace {

std::optional<std::string> column_text(const SQLite::Column& column) {
  if (column.isNull()) {
    return std::nullopt;
  }
  return column.getString();
}

// Every row in rowid order (the order the server sent them in), with its study name.
std::vector<std::pair<std::string, Row>> read_rows(const stdfs::path& file) {
  SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
  SQLite::Statement query(db,
                          "SELECT id, study_name, user_id, event_type, element_id, timestamp, "
                          "stored_timestamp, page_url, data FROM events ORDER BY rowid");
  std::vector<std::pair<std::string, Row>> rows;
  while (query.executeStep()) {
    rows.emplace_back(query.getColumn(1).getString(),
                      Row{query.getColumn(0).getString(),
                          query.getColumn(2).getString(),
                          query.getColumn(3).getString(),
                          column_text(query.getColumn(4)),
                          column_text(query.getColumn(5)),
                          column_text(query.getColumn(6)),
                          column_text(query.getColumn(7)),
                          json::parse(query.getColumn(8).getString())});
  }
  return rows;
}

std::vector<Row> expected_rows(const std::vector<bdd::model::Event>& events) {
  std::vector<Row> out;
  std::set<std::string> seen;
  for (const auto& event : events) {
    if (seen.insert(event.id).second) {
      out.push_back(expected_row(event));
    }
  }
  return out;
}

std::vector<Row> rows_only(const std::vector<std::pair<std::string, Row>>& rows) {
  std::vector<Row> out;
  for (const auto& [study, row] : rows) {
    CHECK(study == "study");
    out.push_back(row);
  }
  return out;
}

} // namespace

TEST_CASE("storage::make_writer sqlite round-trips every field in server order", "[storage]") {
  TempDir dir;
  // folder_structure does not apply to sqlite: one database per study.
  auto writer = make_test_writer("sqlite", dir.path(), {Level::by_user_id, Level::by_date});
  const auto events = concat_events(hostile_events(), generated_events(100, 7, 3));
  write_all(*writer, events);
  std::vector<FileExtent> journaled{{"sentinel", 1}};
  auto extents = writer->commit([&](const std::vector<FileExtent>& before) -> bdd::Result<void> {
    journaled = before;
    return bdd::ok();
  });
  REQUIRE(extents);
  CHECK(extents->empty());
  CHECK(journaled.empty()); // durable at COMMIT: nothing for the engine to roll back
  REQUIRE(writer->close());

  CHECK(rows_only(read_rows(dir.path() / "events.sqlite")) == expected_rows(events));
  for (const auto& entry : stdfs::directory_iterator(dir.path())) {
    CHECK(entry.path().filename().string().rfind("events.sqlite", 0) == 0);
  }
}

TEST_CASE("storage::make_writer sqlite is idempotent", "[storage]") {
  TempDir dir;
  const auto events = concat_events(hostile_events(), generated_events(20, 3, 2));
  {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, events);
    REQUIRE(writer->commit(accept_journal()));
    write_all(*writer, events); // the same batch again, as after a crash before it was recorded
    REQUIRE(writer->commit(accept_journal()));
  }
  {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, events);
    write_all(*writer, generated_events(5, 3, 2, 1000));
    REQUIRE(writer->commit(accept_journal()));
    REQUIRE(writer->rollback({"events.sqlite", 0})); // a no-op
  }
  CHECK(rows_only(read_rows(dir.path() / "events.sqlite"))
        == expected_rows(concat_events(events, generated_events(5, 3, 2, 1000))));
}

namespace {

// The columns of `events` that some index covers.
std::set<std::string> indexed_columns(const stdfs::path& database) {
  SQLite::Database db(database.string(), SQLite::OPEN_READONLY);
  std::set<std::string> indexed;
  SQLite::Statement indexes(db,
                            "SELECT ii.name FROM sqlite_master m, pragma_index_info(m.name) ii "
                            "WHERE m.type = 'index' AND m.tbl_name = 'events'");
  while (indexes.executeStep()) {
    indexed.insert(indexes.getColumn(0).getString());
  }
  return indexed;
}

const std::set<std::string> k_all_indexed = {"id", "user_id", "event_type", "stored_timestamp"};

} // namespace

TEST_CASE("storage::make_writer sqlite builds the query indexes once a first download finishes",
          "[storage]") {
  TempDir dir;
  const auto database = dir.path() / "events.sqlite";
  {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, generated_events(30, 3, 2));
    REQUIRE(writer->commit(accept_journal()));
    CHECK(indexed_columns(database) == std::set<std::string>{"id"}); // the key, for de-dup
    REQUIRE(writer->finish());
    CHECK(indexed_columns(database) == k_all_indexed);
  }
  SECTION("later runs keep them up to date") {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, generated_events(5, 3, 2, 1000));
    REQUIRE(writer->commit(accept_journal()));
    CHECK(indexed_columns(database) == k_all_indexed);
  }
}

TEST_CASE("storage::make_writer sqlite completes the indexes of an interrupted first download",
          "[storage]") {
  TempDir dir;
  {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, generated_events(30, 3, 2));
    REQUIRE(writer->commit(accept_journal()));
    // Interrupted: finish() is never called.
  }
  auto writer = make_test_writer("sqlite", dir.path());
  CHECK(indexed_columns(dir.path() / "events.sqlite") == k_all_indexed);
}

TEST_CASE("storage::make_writer sqlite uses WAL, the documented schema and indexes", "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("sqlite", dir.path());
  write_all(*writer, generated_events(3, 1, 1));
  REQUIRE(writer->commit(accept_journal()));
  REQUIRE(writer->finish());

  SQLite::Database db((dir.path() / "events.sqlite").string(), SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
  std::vector<std::string> columns;
  SQLite::Statement info(db, "PRAGMA table_info(events)");
  while (info.executeStep()) {
    columns.push_back(info.getColumn(1).getString() + " " + info.getColumn(2).getString()
                      + (info.getColumn(5).getInt() ? " PK" : ""));
  }
  CHECK(columns
        == std::vector<std::string>{"id TEXT PK",
                                    "study_name TEXT",
                                    "user_id TEXT",
                                    "event_type TEXT",
                                    "element_id TEXT",
                                    "timestamp TEXT",
                                    "stored_timestamp TEXT",
                                    "page_url TEXT",
                                    "data TEXT"});
  CHECK(indexed_columns(dir.path() / "events.sqlite") == k_all_indexed);
}

TEST_CASE("storage::make_writer sqlite reports a file that is not a database", "[storage]") {
  TempDir dir;
  write_text(dir.path() / "events.sqlite", std::string(4096, 'x'));
  auto writer = bdd::storage::make_writer("sqlite", {dir.path(), "study", {}});
  REQUIRE_FALSE(writer);
  CHECK(writer.error().code == bdd::Errc::storage);
  CHECK(writer.error().message
        == "cannot open \"" + (dir.path() / "events.sqlite").string()
               + "\": file is not a database (run `bdd download study --fresh` to download the "
                 "study again)");
}

TEST_CASE("storage::make_writer sqlite changes nothing when the journal fails", "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("sqlite", dir.path());
  write_all(*writer, generated_events(3, 1, 1));
  auto failed = writer->commit([](const std::vector<FileExtent>&) -> bdd::Result<void> {
    return bdd::Error(bdd::Errc::storage, "journal failed");
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message == "journal failed");
  CHECK(read_rows(dir.path() / "events.sqlite").empty());
  // The batch is lost, as after any failed commit: rows written later cannot join it, and
  // nothing more is committed until the writer is closed.
  CHECK_FALSE(writer->write(generated_events(1, 1, 1, 3)[0]));
  CHECK_FALSE(writer->commit(accept_journal()));
  CHECK(read_rows(dir.path() / "events.sqlite").empty());
  REQUIRE(writer->close());
  REQUIRE(writer->close());
  CHECK_FALSE(writer->write(generated_events(1, 1, 1)[0]));
}

TEST_CASE(
    "storage::make_writer sqlite commits a sealed batch while the next one waits to be written",
    "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("sqlite", dir.path());
  const auto first = generated_events(300, 7, 2);
  const auto second = generated_events(300, 7, 2, 300);
  write_all(*writer, first);
  writer->seal_batch();

  // The writes wait for the commit: one connection, one transaction.
  REQUIRE(commit_while_writing(*writer, second));
  // Readers see the sealed batch only; the second is in a transaction not yet committed.
  CHECK(rows_only(read_rows(dir.path() / "events.sqlite")) == expected_rows(first));

  REQUIRE(writer->commit(accept_journal()));
  CHECK(rows_only(read_rows(dir.path() / "events.sqlite"))
        == expected_rows(concat_events(first, second)));
}

TEST_CASE(
    "storage::make_writer sqlite commits nothing of the next batch after sealing an empty one",
    "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("sqlite", dir.path());
  const auto first = generated_events(10, 2, 1);
  write_all(*writer, first);
  REQUIRE(writer->commit(accept_journal()));
  writer->seal_batch(); // a batch of duplicates only: no transaction is open

  // The writes wait for the empty batch's commit, held back so that they start first.
  const auto second = generated_events(5, 2, 1, 10);
  REQUIRE(commit_while_writing(*writer, second, std::chrono::milliseconds(50)));
  CHECK(rows_only(read_rows(dir.path() / "events.sqlite")) == expected_rows(first));
  REQUIRE(writer->commit(accept_journal()));
  CHECK(rows_only(read_rows(dir.path() / "events.sqlite"))
        == expected_rows(concat_events(first, second)));
}

TEST_CASE("storage::sqlite_selection_query reads a user's or a type's rows through the index",
          "[storage]") {
  TempDir dir;
  {
    auto writer = make_test_writer("sqlite", dir.path());
    write_all(*writer, generated_events(400, 8, 3));
    REQUIRE(writer->commit(accept_journal()));
    REQUIRE(writer->finish()); // a first download builds the indexes at its end
    REQUIRE(writer->close());
  }
  SQLite::Database db((dir.path() / "events.sqlite").string(), SQLite::OPEN_READONLY);
  const auto contains = [](const std::string& text, const char* part) {
    return text.find(part) != std::string::npos;
  };
  // What SQLite's planner does with the query an export runs (`bdd export --user/--event-type`).
  const auto plan = [&db](const bdd::storage::Selection& selection) {
    SQLite::Statement explain(
        db, "EXPLAIN QUERY PLAN " + bdd::storage::sqlite_selection_query(selection));
    int at = 1;
    for (const auto* value : {&selection.user_id, &selection.event_type}) {
      if (*value) {
        explain.bind(at++, **value);
      }
    }
    std::string details;
    while (explain.executeStep()) {
      details += explain.getColumn(3).getString() + "\n";
    }
    return details;
  };
  const auto by_user = plan({"user-1", std::nullopt});
  INFO(by_user);
  CHECK(contains(by_user, "USING INDEX events_user_id"));
  CHECK_FALSE(contains(by_user, "TEMP B-TREE")); // rows come in rowid order: no sort
  const auto by_type = plan({std::nullopt, "click"});
  INFO(by_type);
  CHECK(contains(by_type, "USING INDEX events_event_type"));
  // Without a selection every row is read, in rowid order.
  const auto all = plan({});
  INFO(all);
  CHECK(contains(all, "SCAN"));
  CHECK_FALSE(contains(all, "USING INDEX"));
}
