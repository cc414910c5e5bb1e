// The manifest: incremental SHA-256 of appended files equals the hash of the whole file, across
// commits, including JSON's rewritten tail; and the schema migration from version 1.
#include <bdd/core/sha256.hpp>
#include <bdd/tracking/id_index.hpp>
#include <bdd/tracking/manifest.hpp>
#include <bdd/tracking/state.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::test::TempDir;

namespace {

std::string read_bytes(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE("tracking::extend_hash_in_memory agrees with hashing the file", "[tracking]") {
  const std::string tail = GENERATE(as<std::string>{}, "", "\n]}\n");
  INFO("tail size " << tail.size());
  TempDir dir;
  const stdfs::path path = dir.path() / "events.x";
  std::string committed; // the file without its tail
  std::string midstate;
  for (int commit = 0; commit < 8; ++commit) {
    // Written as a writer does: pieces from the old tail's offset, ending with a new tail.
    std::vector<std::string> owned;
    if (commit == 0) {
      owned.emplace_back("head,");
    }
    for (int piece = 0; piece <= commit % 3; ++piece) {
      owned.emplace_back(static_cast<std::size_t>(commit * 29 + piece * 7 + 1),
                         static_cast<char>('a' + commit));
    }
    owned.push_back(tail);
    const std::uint64_t offset = committed.size();
    std::vector<std::string_view> pieces(owned.begin(), owned.end());
    for (std::size_t i = 0; i + 1 < owned.size(); ++i) {
      committed += owned[i];
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << committed << tail;

    auto in_memory = bdd::tracking::extend_hash_in_memory(midstate, offset, pieces, tail.size());
    REQUIRE(in_memory);
    auto from_file = bdd::tracking::extend_file_hash(
        path, midstate, committed.size() + tail.size(), tail.size());
    REQUIRE(from_file);
    CHECK(in_memory->sha256 == bdd::sha256_hex(read_bytes(path)));
    CHECK(in_memory->sha256 == from_file->sha256);
    CHECK(in_memory->midstate == from_file->midstate);
    midstate = in_memory->midstate;
  }
  // A midstate that does not end where the new bytes start cannot be extended.
  CHECK_FALSE(bdd::tracking::extend_hash_in_memory(midstate, 3, {"x"}, 0));
  CHECK_FALSE(bdd::tracking::extend_hash_in_memory("not a midstate", 0, {"x"}, 0));
}

TEST_CASE("tracking::extend_file_hash equals the file's SHA-256 after every append", "[tracking]") {
  const std::string tail = GENERATE(as<std::string>{}, "", "\n]}\n");
  INFO("tail size " << tail.size());
  TempDir dir;
  const stdfs::path path = dir.path() / "events.x";
  std::string content = "head";
  std::string midstate;
  for (int commit = 0; commit < 6; ++commit) {
    // Like the JSON writer: the tail is overwritten by the next commit's bytes.
    std::string body(static_cast<std::size_t>(commit * 37 + 1), static_cast<char>('a' + commit));
    content += body;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content << tail;
    const auto size = content.size() + tail.size();
    auto hash = bdd::tracking::extend_file_hash(path, midstate, size, tail.size());
    REQUIRE(hash);
    CHECK(hash->sha256 == bdd::sha256_hex(read_bytes(path)));
    bdd::Sha256 resumed;
    REQUIRE(resumed.import_state(hash->midstate));
    CHECK(resumed.size() == content.size()); // the midstate never covers the tail
    midstate = hash->midstate;
  }
  auto prefix = bdd::tracking::hash_file_prefix(path, 4);
  REQUIRE(prefix);
  CHECK(*prefix == bdd::sha256_hex("head"));
}

TEST_CASE("tracking::write_manifest writes sha256sum lines for hashed files", "[tracking]") {
  TempDir dir;
  bdd::tracking::FileRecord hashed{"a/events.json", 3, std::string(64, 'f'), ""};
  bdd::tracking::FileRecord unhashed{"events.sqlite", 0, "", ""};
  stdfs::create_directories(dir.path() / ".bdd");
  REQUIRE(bdd::tracking::write_manifest(dir.path(), {hashed, unhashed}));
  CHECK(read_bytes(bdd::tracking::manifest_path(dir.path()))
        == std::string(64, 'f') + "  a/events.json\n");
}

TEST_CASE("tracking::open_state migrates a version 1 state and keeps its data", "[tracking]") {
  TempDir dir;
  stdfs::create_directories(dir.path() / ".bdd");
  {
    SQLite::Database db(bdd::tracking::state_path(dir.path()).string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE ids(id TEXT PRIMARY KEY) WITHOUT ROWID;"
            "CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE pending(path TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;"
            "INSERT INTO ids VALUES('a'),('b'); INSERT INTO files VALUES('events.jsonl', 10);"
            "INSERT INTO meta VALUES('events_stored', '2'); PRAGMA user_version = 1;");
  }
  auto state = bdd::tracking::open_state(dir.path());
  REQUIRE(state);
  auto files = (*state)->files();
  REQUIRE(files);
  REQUIRE(files->size() == 1);
  CHECK(files->front().size == 10);
  CHECK(files->front().sha256.empty());
  CHECK((*state)->id_count().value() == 2);

  bdd::tracking::CommitRecord commit;
  commit.cursor.events_stored = 3;
  commit.new_ids = {"c"};
  commit.files = {{"events.jsonl", 20, "abc", std::string("\x01\x00\x02", 3)}};
  REQUIRE((*state)->finish_commit(commit));
  auto file = (*state)->files_at({"events.jsonl", "missing.jsonl"});
  REQUIRE(file);
  REQUIRE(file->size() == 1);
  CHECK(file->front().sha256 == "abc");
  CHECK(file->front().midstate == std::string("\x01\x00\x02", 3));
  CHECK((*state)->id_count().value() == 3);
  REQUIRE((*state)->reset());
  CHECK((*state)->id_count().value() == 0);
  CHECK((*state)->files()->empty());
}

TEST_CASE("tracking::IdIndex reports the first place of a duplicate and compares with the state",
          "[tracking]") {
  TempDir dir;
  auto state = bdd::tracking::open_state(dir.path());
  REQUIRE(state);
  bdd::tracking::CommitRecord commit;
  commit.new_ids = {"a", "b", "lost"};
  REQUIRE((*state)->finish_commit(commit));

  const auto index_path = dir.path() / ".bdd" / "index.sqlite";
  {
    auto index = bdd::tracking::make_id_index(index_path);
    REQUIRE(index);
    CHECK_FALSE((*index)->add("a", {"x/events.csv", 2}).value());
    CHECK_FALSE((*index)->add("b", {"x/events.csv", 3}).value());
    CHECK_FALSE((*index)->add("extra", {"y/events.csv", 2}).value());
    auto again = (*index)->add("a", {"y/events.csv", 3});
    REQUIRE(again);
    REQUIRE(*again);
    CHECK((*again)->file == "x/events.csv");
    CHECK((*again)->line == 2);
    CHECK((*index)->size().value() == 3);

    const auto state_db = bdd::tracking::state_path(dir.path());
    auto compared = (*index)->compare_with_state(state_db, 10);
    REQUIRE(compared);
    CHECK(compared->not_added == 1);
    CHECK(compared->not_added_first == std::vector<std::string>{"lost"});
    CHECK(compared->missing == 1);
    REQUIRE(compared->missing_first.size() == 1);
    CHECK(compared->missing_first.front().first == "extra");
    CHECK(compared->missing_first.front().second.file == "y/events.csv");
    CHECK(compared->missing_first.front().second.line == 2);
  }
  CHECK_FALSE(stdfs::exists(index_path));
}
