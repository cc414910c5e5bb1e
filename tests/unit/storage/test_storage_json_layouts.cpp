// The json writer's two leaf layouts: the JSON array every loader reads without options, and the
// original tool's {"metadata", "events"} document, which studies that have it keep.
#include "storage_readers.hpp"
#include "storage_test_helpers.hpp"
#include <support/temp_dir.hpp>

#include <bdd/storage/reader.hpp>
#include <bdd/storage/writer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::storage::FileExtent;
using bdd::storage::Level;
using namespace bdd::test;

namespace {

// What the original tool and bdd before the array layout wrote: a head line naming the leaf.
std::string document_with(const std::string& events) {
  return "{\"metadata\":{\"study_name\":\"s1\",\"format\":\"json\",\"folder\":{},"
         "\"created\":\"2025-11-18T10:00:00Z\"},\"events\":[\n"
         + events + "\n]}\n";
}

// The ids of the events of every events.json under `dir`, read with the storage reader (which
// also checks each file's structure to its end).
std::vector<std::string> stored_ids(const stdfs::path& dir) {
  std::vector<std::string> ids;
  auto files = bdd::storage::list_data_files(dir, "json");
  REQUIRE(files);
  for (const auto& relative : *files) {
    auto reader = bdd::storage::open_reader("json", dir / relative);
    REQUIRE(reader);
    for (;;) {
      auto record = (*reader)->next();
      REQUIRE(record);
      if (!*record) {
        break;
      }
      ids.push_back((*record)->id);
    }
  }
  return ids;
}

} // namespace

TEST_CASE("storage::make_writer json writes an array of events that is valid after every commit",
          "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("json", dir.path(), {}, "s1");
  const auto first = generated_events(5, 2, 1);
  write_all(*writer, first);
  REQUIRE(writer->commit(accept_journal()));
  const std::string text = read_text(dir.path() / "events.json");
  CHECK(text.starts_with("[\n{\"id\":"));
  CHECK(text.ends_with("}\n]\n\n"));
  // Exactly one event per line between "[" and "]": what pandas, jsonlite and DuckDB read.
  CHECK(nlohmann::json::parse(text).size() == first.size());

  write_all(*writer, generated_events(3, 1, 1, 100));
  REQUIRE(writer->commit(accept_journal()));
  const auto document = nlohmann::json::parse(read_text(dir.path() / "events.json"));
  REQUIRE(document.is_array());
  CHECK(document.size() == first.size() + 3);
  CHECK(document[0]["study_name"] == "s1");
  CHECK(stored_ids(dir.path()).size() == first.size() + 3);
}

TEST_CASE("storage::make_writer json appends to the original tool's documents in their shape",
          "[storage]") {
  TempDir dir;
  const std::vector<Level> levels{Level::by_user_id};
  // One leaf of an old study; the writer's events go to it and to new leaves beside it.
  const auto events = generated_events(12, 3, 1);
  const std::string old_leaf = events[0].user_id + "/events.json";
  stdfs::create_directories(dir.path() / events[0].user_id);
  write_text(dir.path() / old_leaf, document_with(R"({"id":"old-1","study_name":"s1","data":{}})"));

  auto writer = make_test_writer("json", dir.path(), levels, "s1");
  write_all(*writer, events);
  auto extents = writer->commit(accept_journal());
  REQUIRE(extents);
  REQUIRE(extents->size() == 3);
  for (const FileExtent& extent : *extents) {
    INFO(extent.relative_path);
    const std::string text = read_text(dir.path() / extent.relative_path);
    CHECK(text.starts_with("{\"metadata\":"));
    CHECK(text.ends_with("}\n]}\n"));
    const auto document = nlohmann::json::parse(text);
    CHECK(document["events"].is_array());
  }
  const auto old = nlohmann::json::parse(read_text(dir.path() / old_leaf));
  CHECK(old["metadata"]["created"] == "2025-11-18T10:00:00Z"); // the head is never rewritten
  CHECK(old["events"][0]["id"] == "old-1");
  CHECK(stored_ids(dir.path()).size() == events.size() + 1);

  SECTION("and rolls them back to the document they were") {
    const std::string before = read_text(dir.path() / old_leaf);
    const std::uint64_t size = before.size();
    write_all(*writer, generated_events(4, 3, 1, 200));
    REQUIRE(writer->commit(accept_journal()));
    stdfs::resize_file(dir.path() / old_leaf, size + 3); // torn: part of the next event
    auto next_run = make_test_writer("json", dir.path(), levels, "s1");
    REQUIRE(next_run->rollback({old_leaf, size}));
    CHECK(read_text(dir.path() / old_leaf) == before);
  }
}

TEST_CASE("storage::open_reader reads both json layouts and text_layout rebuilds each",
          "[storage]") {
  TempDir dir;
  const stdfs::path path = dir.path() / "events.json";
  const std::string body = "{\"id\":\"a\"},\n{\"id\":\"b\"}";
  for (const std::string& text : {"[\n" + body + "\n]\n\n", document_with(body)}) {
    INFO(text);
    write_text(path, text);
    auto reader = bdd::storage::open_reader("json", path);
    REQUIRE(reader);
    std::string rebuilt;
    std::vector<std::string> ids;
    for (;;) {
      auto record = (*reader)->next();
      REQUIRE(record);
      if (!*record) {
        break;
      }
      rebuilt += ids.empty() ? (*reader)->head() : std::string(",\n");
      rebuilt += (*record)->bytes;
      ids.push_back((*record)->id);
    }
    CHECK(ids == std::vector<std::string>{"a", "b"});
    rebuilt += bdd::storage::text_layout("json", (*reader)->head())->end;
    CHECK(rebuilt == text);
  }
  // An array's end is "]" and one empty line, not the document's "]}".
  write_text(path, "[\n{\"id\":\"a\"}\n]\n");
  auto reader = bdd::storage::open_reader("json", path);
  REQUIRE(reader);
  REQUIRE((*reader)->next());
  auto end = (*reader)->next();
  REQUIRE_FALSE(end);
  CHECK(end.error().message.find("no empty line after its closing") != std::string::npos);
  write_text(path, "[\n{\"id\":\"a\"}\n]}\n");
  auto mixed = bdd::storage::open_reader("json", path);
  REQUIRE(mixed);
  REQUIRE((*mixed)->next());
  CHECK_FALSE((*mixed)->next());
}
