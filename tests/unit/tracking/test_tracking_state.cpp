// The commit protocol of tracking::State: what a crash leaves for the next run to roll back.
#include <bdd/tracking/state.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::test::TempDir;
using bdd::tracking::FileRecord;

namespace {

std::vector<std::pair<std::string, std::uint64_t>> sizes(const std::vector<FileRecord>& files) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& file : files) {
    out.emplace_back(file.path, file.size);
  }
  return out;
}

} // namespace

TEST_CASE("tracking::State rolls back to the recorded sizes after a run that did not end",
          "[tracking]") {
  TempDir dir;
  {
    auto state = bdd::tracking::open_state(dir.path(), bdd::tracking::StateAccess::exclusive);
    REQUIRE(state);
    CHECK((*state)->pending()->empty()); // a new study: nothing to roll back

    REQUIRE((*state)->begin_commit({{"a/events.jsonl", 0, {}, {}}}));
    bdd::tracking::CommitRecord first;
    first.new_ids = {"1", "2"};
    first.files = {{"a/events.jsonl", 100, {}, {}}};
    REQUIRE((*state)->finish_commit(first));

    // The next commit appends to the recorded file and creates a new one; a failed attempt is
    // journalled again with the sizes it left, which must not replace the first entry.
    REQUIRE(
        (*state)->begin_commit({{"a/events.jsonl", 100, {}, {}}, {"b/events.jsonl", 0, {}, {}}}));
    REQUIRE(
        (*state)->begin_commit({{"a/events.jsonl", 160, {}, {}}, {"b/events.jsonl", 40, {}, {}}}));
    // The process dies here.
  }
  auto state = bdd::tracking::open_state(dir.path(), bdd::tracking::StateAccess::exclusive);
  REQUIRE(state);
  const auto pending = (*state)->pending();
  REQUIRE(pending);
  CHECK(sizes(*pending)
        == std::vector<std::pair<std::string, std::uint64_t>>{{"b/events.jsonl", 0},
                                                              {"a/events.jsonl", 100}});
  REQUIRE((*state)->clear_pending());
  CHECK((*state)->pending()->empty());
  CHECK((*state)->id_count().value() == 2);
}

TEST_CASE("tracking::State keeps a clean study clean", "[tracking]") {
  TempDir dir;
  auto state = bdd::tracking::open_state(dir.path(), bdd::tracking::StateAccess::exclusive);
  REQUIRE(state);
  REQUIRE((*state)->begin_commit({{"events.csv", 0, {}, {}}}));
  bdd::tracking::CommitRecord commit;
  commit.files = {{"events.csv", 10, {}, {}}};
  commit.durable = true;
  REQUIRE((*state)->finish_commit(commit));
  REQUIRE((*state)->clear_pending()); // the run ended: files and state agree
  state->reset();

  auto again = bdd::tracking::open_state(dir.path());
  REQUIRE(again);
  CHECK((*again)->pending()->empty());
  CHECK(sizes(*(*again)->files())
        == std::vector<std::pair<std::string, std::uint64_t>>{{"events.csv", 10}});
}

TEST_CASE("tracking::State records every id exactly as given, whatever its bytes", "[tracking]") {
  TempDir dir;
  const std::vector<std::string> hostile = {
      "",
      "with \"quotes\"",
      "back\\slash",
      "tab\there",
      std::string("nul\0inside", 10),
      "caf\xc3\xa9",
      "bad utf-8 \xff\xfe",
      "[1,2]",
      "\\u0041", // must stay six characters, not become "A"
      "A",
  };
  bdd::tracking::CommitRecord first;
  for (int i = 0; i < 3000; ++i) {
    first.new_ids.push_back("68dc6f02025cc1" + std::to_string(1000000 + i));
  }
  first.new_ids.insert(first.new_ids.end(), hostile.begin(), hostile.end());
  first.new_ids.push_back("A"); // a duplicate within the batch is stored once
  {
    auto state = bdd::tracking::open_state(dir.path(), bdd::tracking::StateAccess::exclusive);
    REQUIRE(state);
    REQUIRE((*state)->begin_commit({}));
    REQUIRE((*state)->finish_commit(first));
    // Ids stored by an earlier commit are ignored when they come again.
    bdd::tracking::CommitRecord second;
    second.new_ids = {"68dc6f02025cc11000000", "with \"quotes\"", "new one"};
    REQUIRE((*state)->begin_commit({}));
    REQUIRE((*state)->finish_commit(second));
  }
  auto state = bdd::tracking::open_state(dir.path(), bdd::tracking::StateAccess::exclusive);
  REQUIRE(state);
  CHECK((*state)->id_count().value() == 3000 + hostile.size() + 1);
  for (const std::string& id : hostile) {
    INFO(id);
    CHECK((*state)->contains(id).value());
  }
  CHECK((*state)->contains("68dc6f02025cc11002999").value());
  CHECK((*state)->contains("new one").value());
  CHECK_FALSE((*state)->contains("68dc6f02025cc11003000").value());
  CHECK_FALSE((*state)->contains("nul").value());
  CHECK_FALSE((*state)->contains("u0041").value());
}

TEST_CASE("tracking::State keeps the next commit's journal when the one before finishes",
          "[tracking]") {
  // The engine writes batch N+1 while batch N is recorded: N+1's new file is journaled before
  // N's record clears N's journal entries, and a crash then must still roll it back.
  TempDir dir;
  {
    auto state = bdd::tracking::open_state(dir.path(), bdd::tracking::StateAccess::exclusive);
    REQUIRE(state);
    REQUIRE((*state)->begin_commit({{"a/events.jsonl", 0, {}, {}}})); // batch N
    REQUIRE((*state)->begin_commit({{"b/events.jsonl", 0, {}, {}}})); // batch N+1
    bdd::tracking::CommitRecord n;
    n.new_ids = {"1"};
    n.files = {{"a/events.jsonl", 100, {}, {}}};
    REQUIRE((*state)->finish_commit(n));
    // The process dies while batch N+1 is written.
  }
  auto state = bdd::tracking::open_state(dir.path(), bdd::tracking::StateAccess::exclusive);
  REQUIRE(state);
  const auto pending = (*state)->pending();
  REQUIRE(pending);
  CHECK(sizes(*pending)
        == std::vector<std::pair<std::string, std::uint64_t>>{{"b/events.jsonl", 0},
                                                              {"a/events.jsonl", 100}});
}

TEST_CASE("tracking::State keeps a number id stored before schema 3 from being stored twice",
          "[tracking]") {
  TempDir dir;
  const stdfs::path path = bdd::tracking::state_path(dir.path());
  stdfs::create_directories(path.parent_path());
  {
    // A schema-2 state, as bdd wrote it, holding a number id 123 as its bare text.
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE ids(id TEXT PRIMARY KEY) WITHOUT ROWID;"
            "CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER NOT NULL, sha256 TEXT NOT "
            "NULL DEFAULT '', midstate BLOB) WITHOUT ROWID;"
            "CREATE TABLE pending(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;"
            "INSERT INTO ids VALUES('123'), ('abc');"
            "PRAGMA user_version = 2;");
  }
  auto state = bdd::tracking::open_state(dir.path());
  REQUIRE(state);
  const auto number = (*state)->lookup("\x1fn123");
  REQUIRE(number);
  CHECK(number->found);
  CHECK_FALSE(number->digest);
  const auto other = (*state)->lookup("\x1fn124");
  REQUIRE(other);
  CHECK_FALSE(other->found);
  CHECK((*state)->contains("abc").value());
}

TEST_CASE("tracking::State records seams, digests and quarantined items with a commit",
          "[tracking]") {
  TempDir dir;
  auto state = bdd::tracking::open_state(dir.path());
  REQUIRE(state);
  bdd::tracking::CommitRecord commit;
  commit.cursor.offset = 200;
  commit.cursor.last_id = "e199";
  commit.new_ids = {"e1", "e2"};
  commit.new_digests = {42, 0xFFFFFFFFFFFFFFFFULL};
  commit.seams = {{100, "e99"}, {200, "e199"}};
  commit.quarantined = {{"\x1fubad", 150, "not a JSON object", "42"}};
  REQUIRE((*state)->finish_commit(commit));
  CHECK((*state)->lookup("e1")->digest == 42U);
  CHECK((*state)->lookup("e2")->digest == 0xFFFFFFFFFFFFFFFFULL);
  CHECK((*state)->seam_in(101, 1000)->value().id == "e199");
  CHECK_FALSE((*state)->seam_in(201, 1000)->has_value());
  CHECK((*state)->quarantined("\x1fubad").value());
  CHECK((*state)->quarantine()->front().raw == "42");

  // A re-read from 100 forgets the seams after it before recording its own.
  bdd::tracking::CommitRecord reread;
  reread.cursor = commit.cursor;
  reread.forget_seams_from = 101;
  reread.seams = {{150, "x149"}};
  REQUIRE((*state)->finish_commit(reread));
  CHECK((*state)->seam_in(101, 1000)->value().id == "x149");
  CHECK_FALSE((*state)->seam_in(151, 1000)->has_value());
}

TEST_CASE("tracking::State keeps the furthest offset ever committed", "[tracking]") {
  TempDir dir;
  auto state = bdd::tracking::open_state(dir.path());
  REQUIRE(state);
  bdd::tracking::CommitRecord commit;
  commit.cursor.offset = 500;
  REQUIRE((*state)->finish_commit(commit));
  commit.cursor.offset = 120; // a run that reads part of the list again moves the cursor back
  REQUIRE((*state)->finish_commit(commit));
  const auto cursor = (*state)->cursor();
  REQUIRE(cursor);
  CHECK(cursor->offset == 120);
  CHECK(cursor->high_water == 500);
}

TEST_CASE("tracking::State forgets the SHA-256 digests of a schema-3 state", "[tracking]") {
  TempDir dir;
  const stdfs::path path = bdd::tracking::state_path(dir.path());
  stdfs::create_directories(path.parent_path());
  {
    // A schema-3 state as 93b4b7e wrote it: digests were the first 8 bytes of a SHA-256, which
    // the fast digest of schema 4 would never match (every event would count as changed).
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE ids(id TEXT PRIMARY KEY, digest INTEGER) WITHOUT ROWID;"
            "CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER NOT NULL, sha256 TEXT NOT "
            "NULL DEFAULT '', midstate BLOB) WITHOUT ROWID;"
            "CREATE TABLE pending(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE seams(offset INTEGER PRIMARY KEY, id TEXT NOT NULL);"
            "CREATE TABLE quarantine(id TEXT PRIMARY KEY, offset INTEGER NOT NULL, reason TEXT "
            "NOT NULL, raw BLOB NOT NULL) WITHOUT ROWID;"
            "INSERT INTO ids VALUES('e1', 1234), ('e2', NULL);"
            "INSERT INTO seams VALUES(100, 'e1');"
            "PRAGMA user_version = 3;");
  }
  auto state = bdd::tracking::open_state(dir.path());
  REQUIRE(state);
  const auto first = (*state)->lookup("e1");
  REQUIRE(first);
  CHECK(first->found);
  CHECK_FALSE(first->digest);
  CHECK((*state)->contains("e2").value());
  CHECK((*state)->seam_in(0, 1000)->value().id == "e1");
  // New digests are kept as given.
  bdd::tracking::CommitRecord commit;
  commit.cursor.offset = 3;
  commit.new_ids = {"e3"};
  commit.new_digests = {77};
  REQUIRE((*state)->finish_commit(commit));
  CHECK((*state)->lookup("e3")->digest == 77U);
  CHECK(SQLite::Database(path.string()).execAndGet("PRAGMA user_version").getInt() == 5);
}

TEST_CASE("tracking::State replaces files in one transaction and keeps the replaced ones doomed "
          "until they are forgotten",
          "[tracking]") {
  TempDir dir;
  {
    auto state = bdd::tracking::open_state(dir.path());
    REQUIRE(state);
    REQUIRE(
        (*state)->begin_commit({{"u/part-1.parquet", 0, {}, {}}, {"u/part-2.parquet", 0, {}, {}}}));
    bdd::tracking::CommitRecord parts;
    parts.new_ids = {"a", "b"};
    parts.cursor.events_stored = 2;
    parts.files = {{"u/part-1.parquet", 10, "h1", {}}, {"u/part-2.parquet", 20, "h2", {}}};
    REQUIRE((*state)->finish_commit(parts));
    REQUIRE((*state)->clear_pending());

    // A compaction: the merged part journaled, then recorded as the two go.
    REQUIRE((*state)->begin_commit({{"u/part-2-c.parquet", 0, {}, {}}}));
    auto journaled = (*state)->pending();
    REQUIRE(journaled);
    CHECK(sizes(*journaled)
          == std::vector<std::pair<std::string, std::uint64_t>>{
              {"u/part-2-c.parquet", 0}, {"u/part-1.parquet", 10}, {"u/part-2.parquet", 20}});
    bdd::tracking::CommitRecord merged;
    merged.cursor = *(*state)->cursor();
    merged.files = {{"u/part-2-c.parquet", 25, "h3", {}}};
    merged.removed_files = {"u/part-1.parquet", "u/part-2.parquet"};
    merged.durable = true;
    REQUIRE((*state)->finish_commit(merged));
    // Killed here: the old parts are not counted, the new one is, and the old are doomed.
  }
  auto state = bdd::tracking::open_state(dir.path());
  REQUIRE(state);
  CHECK(sizes(*(*state)->files())
        == std::vector<std::pair<std::string, std::uint64_t>>{{"u/part-2-c.parquet", 25}});
  CHECK(sizes(*(*state)->pending())
        == std::vector<std::pair<std::string, std::uint64_t>>{{"u/part-2-c.parquet", 25}});
  CHECK(*(*state)->doomed() == std::vector<std::string>{"u/part-1.parquet", "u/part-2.parquet"});
  CHECK((*state)->cursor()->events_stored == 2);
  CHECK(*(*state)->id_count() == 2);
  REQUIRE((*state)->reset());
  CHECK((*state)->doomed()->size() == 2); // still on disk, whatever the state forgets
  REQUIRE((*state)->forget_doomed({"u/part-1.parquet"}));
  CHECK(*(*state)->doomed() == std::vector<std::string>{"u/part-2.parquet"});
}
