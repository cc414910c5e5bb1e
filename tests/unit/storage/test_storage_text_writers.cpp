// Round trips and exact file formats of the json, jsonl and csv writers, and the registry.
#include "storage_readers.hpp"
#include "storage_test_helpers.hpp"

#include <bdd/storage/layout.hpp>
#include <bdd/storage/writer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::model::Event;
using bdd::storage::FileExtent;
using bdd::storage::Level;
using namespace bdd::test;

TEST_CASE("storage::Writer::commit round-trips every field in json, jsonl and csv", "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  const auto levels =
      GENERATE(std::vector<Level>{},
               std::vector<Level>{Level::by_user_id},
               std::vector<Level>{Level::by_user_id, Level::by_date},
               std::vector<Level>{Level::by_date, Level::by_event_type, Level::by_user_id});
  INFO(format << " with " << levels.size() << " levels");
  TempDir dir;
  const auto first = hostile_events();
  const auto second = generated_events(50, 4, 3);

  auto writer = make_test_writer(format, dir.path(), levels);
  write_all(*writer, first);
  auto extents = writer->commit(accept_journal());
  REQUIRE(extents);
  CHECK(read_all(format, dir.path()) == expected_leaves(first, levels, format));

  // The extents name each touched file with its size after the commit.
  const auto sizes = sizes_on_disk(dir.path());
  CHECK(extents->size() == sizes.size());
  for (const FileExtent& extent : *extents) {
    CHECK(sizes.at(extent.relative_path) == extent.size);
  }

  SECTION("a second commit appends to existing leaves and creates new ones") {
    write_all(*writer, second);
    write_all(*writer, first); // duplicates are the engine's business, not the writer's
    REQUIRE(writer->commit(accept_journal()));
    CHECK(read_all(format, dir.path())
          == expected_leaves(concat_events(concat_events(first, second), first), levels, format));
  }
  SECTION("a new writer appends to the files an earlier one made") {
    REQUIRE(writer->close());
    auto again = make_test_writer(format, dir.path(), levels);
    write_all(*again, second);
    REQUIRE(again->commit(accept_journal()));
    CHECK(read_all(format, dir.path())
          == expected_leaves(concat_events(first, second), levels, format));
  }
  SECTION("an empty commit touches nothing") {
    const auto before = snapshot(dir.path());
    auto empty = writer->commit(accept_journal());
    REQUIRE(empty);
    CHECK(empty->empty());
    CHECK(snapshot(dir.path()) == before);
  }
}

TEST_CASE("storage::Writer::commit puts leaf files where leaf_directory says", "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("jsonl", dir.path(), {Level::by_user_id, Level::by_date});
  write_all(*writer, hostile_events());
  REQUIRE(writer->commit(accept_journal()));
  const auto files = sizes_on_disk(dir.path());
  std::vector<std::string> names;
  for (const auto& [name, size] : files) {
    names.push_back(name);
  }
  CHECK(names
        == std::vector<std::string>{"%2E.%2F..%2Fx/2025-11-18/events.jsonl",
                                    "%2Ebdd/2025-11-21/events.jsonl",
                                    "%43ON/2025-11-18/events.jsonl",
                                    "%empty/2025-11-18/events.jsonl",
                                    "P-007/2025-11-18/events.jsonl",
                                    "a%2Fb/2025-11-18/events.jsonl",
                                    "unknown/unknown-date/events.jsonl",
                                    "user_A/2025-11-18/events.jsonl",
                                    "user_A/2025-11-19/events.jsonl",
                                    "ユーザー/2025-11-20/events.jsonl"});
}

TEST_CASE("storage::Writer::commit names hive folders key=value", "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("csv",
                                 dir.path(),
                                 {Level::by_user_id, Level::by_date},
                                 "study",
                                 bdd::storage::PartitionNaming::hive);
  write_all(*writer, hostile_events());
  REQUIRE(writer->commit(accept_journal()));
  std::vector<std::string> names;
  for (const auto& [name, size] : sizes_on_disk(dir.path())) {
    names.push_back(name);
  }
  CHECK(names
        == std::vector<std::string>{"user_id=%2E.%2F..%2Fx/date=2025-11-18/events.csv",
                                    "user_id=%2Ebdd/date=2025-11-21/events.csv",
                                    "user_id=%43ON/date=2025-11-18/events.csv",
                                    "user_id=/date=2025-11-18/events.csv",
                                    "user_id=P-007/date=2025-11-18/events.csv",
                                    "user_id=a%2Fb/date=2025-11-18/events.csv",
                                    "user_id=unknown/date=unknown-date/events.csv",
                                    "user_id=user_A/date=2025-11-18/events.csv",
                                    "user_id=user_A/date=2025-11-19/events.csv",
                                    "user_id=ユーザー/date=2025-11-20/events.csv"});
}

TEST_CASE("storage::make_writer csv quotes only what needs quoting", "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("csv", dir.path());
  Event event;
  event.id = "plain";
  event.user_id = "has,comma";
  event.event_type = "has\"quote";
  event.element_id = "";
  event.timestamp = "line\nbreak";
  event.page_url = "cr\rhere";
  event.raw = R"({"a":"b"})";
  REQUIRE(writer->write(event));
  REQUIRE(writer->commit(accept_journal()));
  CHECK(read_text(dir.path() / "events.csv")
        == "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n"
           "plain,\"has,comma\",\"has\"\"quote\",\"\",\"line\nbreak\",,\"cr\rhere\","
           "\"{\"\"a\"\":\"\"b\"\"}\"\r\n");
}

TEST_CASE("storage::make_writer csv quotes long fields wherever the special byte falls",
          "[storage]") {
  // The writer scans fields in blocks of 16 bytes: put each special byte at every position
  // around two block boundaries and compare with quoting done the obvious way.
  const auto quoted = [](const std::string& field) {
    std::string out = "\"";
    for (char c : field) {
      out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
  };
  std::string expected =
      "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n";
  TempDir dir;
  auto writer = make_test_writer("csv", dir.path());
  int count = 0;
  for (char special : {',', '"', '\r', '\n'}) {
    for (std::size_t at = 0; at < 40; ++at) {
      Event event;
      event.id = "id" + std::to_string(count++);
      event.user_id = std::string(40, 'u');
      event.user_id[at] = special;
      event.event_type = std::string(at + 1, 'e'); // plain, of every length up to 40
      event.raw = "{\"k\":\"" + std::string(at, 'v') + "\\\"\"}";
      REQUIRE(writer->write(event));
      expected += event.id + "," + quoted(event.user_id) + "," + event.event_type + ",,,,,"
                  + quoted(event.raw) + "\r\n";
    }
  }
  REQUIRE(writer->commit(accept_journal()));
  CHECK(read_text(dir.path() / "events.csv") == expected);
}

TEST_CASE("storage::make_writer jsonl writes one normalised object per line", "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("jsonl", dir.path(), {}, "study \"x\"");
  const auto events = hostile_events();
  write_all(*writer, events);
  REQUIRE(writer->commit(accept_journal()));
  std::string expected;
  for (const auto& event : events) {
    expected += bdd::model::to_normalised_json(event, "study \"x\"") + "\n";
  }
  CHECK(read_text(dir.path() / "events.jsonl") == expected);
}

TEST_CASE("storage::make_writer rejects unknown formats and missing directories", "[storage]") {
  TempDir dir;
  auto unknown = bdd::storage::make_writer("orc", {dir.path(), "s", {}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == bdd::Errc::config);
  CHECK(unknown.error().message
        == "unknown storage format \"orc\" (use json, jsonl, csv, sqlite or parquet)");

  auto missing = bdd::storage::make_writer("jsonl", {dir.path() / "nope", "s", {}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == bdd::Errc::storage);
  CHECK(missing.error().message
        == "cannot open \"" + (dir.path() / "nope").string() + "\": no such file or directory");

  CHECK(bdd::storage::writer_formats()
        == std::vector<std::string_view>{"json", "jsonl", "csv", "sqlite", "parquet"});
  for (Level level : {Level::by_user_id, Level::by_date, Level::by_event_type}) {
    CHECK(bdd::storage::parse_level(bdd::storage::level_name(level)) == level);
  }
  CHECK(bdd::storage::parse_level("by_month") == std::nullopt);
}

TEST_CASE("storage::Writer::seal_batch commits on another thread while the next batch is written",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  const auto levels = GENERATE(std::vector<Level>{}, std::vector<Level>{Level::by_user_id});
  INFO(format << " with " << levels.size() << " levels");
  TempDir dir;
  auto writer = make_test_writer(format, dir.path(), levels);
  const auto first = generated_events(300, 7, 2);
  const auto second = generated_events(300, 7, 2, 300);
  write_all(*writer, first);
  writer->seal_batch();
  CHECK(writer->buffered_bytes() == 0); // the sealed batch no longer counts as open

  REQUIRE(commit_while_writing(*writer, second));
  CHECK(writer->buffered_bytes() > 0);
  // Exactly the sealed batch is in the files; the second waits in memory.
  CHECK(read_all(format, dir.path()) == expected_leaves(first, levels, format));

  REQUIRE(writer->commit(accept_journal()));
  CHECK(read_all(format, dir.path())
        == expected_leaves(concat_events(first, second), levels, format));
}

TEST_CASE("storage::Writer::seal_batch leaves a sealed batch as it is until it is committed",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  TempDir dir;
  auto writer = make_test_writer(format, dir.path());
  const auto first = generated_events(5, 2, 1);
  const auto second = generated_events(5, 2, 1, 5);
  write_all(*writer, first);
  writer->seal_batch();
  write_all(*writer, second);
  writer->seal_batch(); // does nothing: `first` waits for its commit
  REQUIRE(writer->commit(accept_journal()));
  CHECK(read_all(format, dir.path()) == expected_leaves(first, {}, format));
  REQUIRE(writer->commit(accept_journal())); // no seal: takes what was written since
  CHECK(read_all(format, dir.path()) == expected_leaves(concat_events(first, second), {}, format));
}

TEST_CASE("storage::Writer::commit reports every leaf's new bytes to the written callback",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  const std::size_t users = GENERATE(as<std::size_t>{}, 3, 500); // one thread, several
  INFO(format << ", " << users << " leaves");
  TempDir dir;
  auto writer = make_test_writer(format, dir.path(), {Level::by_user_id});
  const int count = static_cast<int>(users) * 3;
  for (int round = 0; round < 2; ++round) { // new leaves, then appends to them
    write_all(*writer, generated_events(count, static_cast<int>(users), 1, round * count));
    std::map<std::string, std::pair<std::uint64_t, std::string>> reported;
    auto extents = writer->commit(
        accept_journal(), [&](const FileExtent& from, const std::vector<std::string_view>& pieces) {
          std::string bytes;
          for (std::string_view piece : pieces) {
            bytes += piece;
          }
          CHECK(reported.emplace(from.relative_path, std::pair{from.size, bytes}).second);
        });
    REQUIRE(extents);
    REQUIRE(extents->size() == users);
    CHECK(reported.size() == users);
    for (const FileExtent& extent : *extents) {
      const std::string file = read_text(dir.path() / extent.relative_path);
      REQUIRE(file.size() == extent.size);
      const auto& [offset, bytes] = reported.at(extent.relative_path);
      // What the callback saw is exactly the file from `offset` to its end.
      CHECK(offset + bytes.size() == extent.size);
      CHECK(file.substr(offset) == bytes);
      CHECK((round == 0) == (offset == 0));
    }
  }
}
