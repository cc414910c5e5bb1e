// The format table: the one place that says which storage formats exist and what each implies.
#include <bdd/core/format.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

TEST_CASE("core::formats names every format once, and names round-trip", "[core]") {
  std::set<std::string_view> names;
  std::set<bdd::Format> ids;
  for (const bdd::FormatInfo& info : bdd::formats()) {
    INFO(info.name);
    CHECK(names.insert(info.name).second);
    CHECK(ids.insert(info.format).second);
    CHECK_FALSE(info.extension.empty());
    CHECK(bdd::find_format(info.name) == info.format);
    auto parsed = bdd::parse_format(info.name);
    REQUIRE(parsed);
    CHECK(*parsed == info.format);
    CHECK(&bdd::format_info(info.format) == &info);
    CHECK(&bdd::format_info(info.name) == &info);
  }
  // Every enumerator has a row (a new enumerator without one fails here).
  for (auto format :
       {bdd::Format::json, bdd::Format::jsonl, bdd::Format::csv, bdd::Format::sqlite}) {
    CHECK(ids.count(format) == 1);
  }
}

TEST_CASE("core::formats: a database is one file, never split into folders", "[core]") {
  for (const bdd::FormatInfo& info : bdd::formats()) {
    INFO(info.name);
    if (info.storage == bdd::FormatStorage::database) {
      CHECK_FALSE(info.folder_structure);
    }
  }
  CHECK(bdd::format_info(bdd::Format::sqlite).storage == bdd::FormatStorage::database);
  CHECK(bdd::format_info(bdd::Format::jsonl).storage == bdd::FormatStorage::leaf_files);
  CHECK(bdd::format_info(bdd::Format::json).folder_structure);
}

TEST_CASE("core::parse_format refuses an unknown name, listing the valid ones", "[core]") {
  for (const std::string name : {"orc", "", "JSON", "sqlite ", "events.json"}) {
    INFO(name);
    CHECK(bdd::find_format(name) == std::nullopt);
    auto parsed = bdd::parse_format(name);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == bdd::Errc::config);
    CHECK(parsed.error().message
          == "unknown storage format \"" + name + "\" (use json, jsonl, csv, sqlite or parquet)");
  }
  CHECK(bdd::format_list() == "json, jsonl, csv, sqlite or parquet");
}

TEST_CASE("core::format_info of an unknown name reads as leaf files", "[core]") {
  // verify reads the format from `.metadata.json`, which a user may have edited.
  const bdd::FormatInfo& info = bdd::format_info(std::string_view("orc"));
  CHECK(info.storage == bdd::FormatStorage::leaf_files);
  CHECK(info.name.empty());
}

TEST_CASE("core::is_data_file_name tells a format's data files from the rest", "[core]") {
  const bdd::FormatInfo& jsonl = bdd::format_info(bdd::Format::jsonl);
  const bdd::FormatInfo& parquet = bdd::format_info(bdd::Format::parquet);
  CHECK(parquet.storage == bdd::FormatStorage::part_files);
  CHECK(bdd::is_data_file_name(jsonl, "events.jsonl"));
  CHECK_FALSE(bdd::is_data_file_name(jsonl, "events.jsonl.orig"));
  CHECK_FALSE(bdd::is_data_file_name(jsonl, "eventsXjsonl"));
  CHECK_FALSE(bdd::is_data_file_name(jsonl, "part-1.jsonl"));
  CHECK(bdd::is_data_file_name(parquet, "part-20261207T170600000000Z-1-000001.parquet"));
  CHECK(bdd::is_data_file_name(parquet, "part-x-c.parquet"));
  CHECK_FALSE(bdd::is_data_file_name(parquet, "part-.parquet"));
  CHECK_FALSE(bdd::is_data_file_name(parquet, "events.parquet"));
  CHECK_FALSE(bdd::is_data_file_name(parquet, "part-1.parquet.orig"));
  CHECK_FALSE(bdd::is_data_file_name(parquet, "part-1xparquet"));
}
