#include <bdd/export/flatten.hpp>
#include <bdd/model/json_text.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using bdd::exporting::Cell;
using bdd::exporting::FlatColumns;

namespace {

bdd::model::Event event_of(std::string_view json) {
  std::string compact;
  REQUIRE(bdd::model::append_minified_json(json, compact));
  return bdd::model::normalise_compact(std::move(compact));
}

// The data columns of `flat` (the header without the eight leading ones).
std::vector<std::string> data_columns(const FlatColumns& flat) {
  auto header = flat.header();
  return {header.begin() + bdd::exporting::k_flat_leading_columns, header.end()};
}

// The data cells of `event` as "<kind>:<value>" strings, for compact comparisons.
std::vector<std::string> data_cells(const FlatColumns& flat, const bdd::model::Event& event) {
  std::vector<Cell> cells;
  auto row = flat.row(event, cells);
  REQUIRE(row);
  REQUIRE(cells.size() == bdd::exporting::k_flat_leading_columns + flat.data_columns());
  std::vector<std::string> out;
  for (std::size_t i = bdd::exporting::k_flat_leading_columns; i < cells.size(); ++i) {
    static constexpr const char* k_kinds[] = {"empty", "text", "number", "boolean", "json"};
    out.push_back(std::string(k_kinds[static_cast<int>(cells[i].kind)]) + ":" + cells[i].value);
  }
  return out;
}

} // namespace

TEST_CASE("export::FlatColumns makes a column per scalar, the union in first-seen order",
          "[export]") {
  const auto first = event_of(
      R"({"id":"e1","base":{"userId":"u1","index":3},"payload":{"rt_ms":412.5,"ok":true}})");
  const auto second = event_of(R"({"id":"e2","payload":{"key":"f","rt_ms":1e3},"extra":null})");
  FlatColumns flat;
  REQUIRE(flat.collect(first));
  REQUIRE(flat.collect(second));
  CHECK(flat.header().front() == "id");
  CHECK(flat.header()[6] == "page_url");
  CHECK(data_columns(flat)
        == std::vector<std::string>{"data.id",
                                    "data.base.userId",
                                    "data.base.index",
                                    "data.payload.rt_ms",
                                    "data.payload.ok",
                                    "data.payload.key",
                                    "data.extra"});
  CHECK(data_cells(flat, first)
        == std::vector<std::string>{
            "text:e1", "text:u1", "number:3", "number:412.5", "boolean:true", "empty:", "empty:"});
  // Absent and null are both empty; numbers keep their spelling.
  CHECK(data_cells(flat, second)
        == std::vector<std::string>{
            "text:e2", "empty:", "empty:", "number:1e3", "empty:", "text:f", "empty:"});
  std::vector<Cell> cells;
  REQUIRE(flat.row(first, cells));
  CHECK(cells[0].value == "e1");
  CHECK(cells[1].value == "u1");
  CHECK(cells[3].kind == Cell::Kind::empty); // no element_id
}

TEST_CASE("export::FlatColumns keeps arrays and empty objects as JSON text", "[export]") {
  const auto event =
      event_of(R"({"a":[1,2,"x,y"],"b":[{"c":1},{"c":null}],"d":{},"e":{"f":[]},"g":[]})");
  FlatColumns flat;
  REQUIRE(flat.collect(event));
  CHECK(data_columns(flat)
        == std::vector<std::string>{"data.a", "data.b", "data.d", "data.e.f", "data.g"});
  CHECK(
      data_cells(flat, event)
      == std::vector<std::string>{
          R"(json:[1,2,"x,y"])", R"(json:[{"c":1},{"c":null}])", "json:{}", "json:[]", "json:[]"});
}

TEST_CASE("export::FlatColumns never lets a key with a dot meet a nested path", "[export]") {
  const auto dotted = event_of(R"({"a.b":1,"a":{"b":2},"a\\":{"b":3},"a\\.b":4,"":{"":5}})");
  FlatColumns flat;
  REQUIRE(flat.collect(dotted));
  const auto columns = data_columns(flat);
  CHECK(columns
        == std::vector<std::string>{
            "data.a\\.b", "data.a.b", "data.a\\\\.b", "data.a\\\\\\.b", "data.."});
  CHECK(data_cells(flat, dotted)
        == std::vector<std::string>{"number:1", "number:2", "number:3", "number:4", "number:5"});
  // Each column name splits back into the keys that made it.
  for (std::size_t i = 0; i < columns.size(); ++i) {
    auto keys = bdd::exporting::parse_data_path(columns[i]);
    REQUIRE(keys);
    std::string again = "data";
    for (const auto& key : *keys) {
      again += '.';
      bdd::exporting::append_data_path_segment(again, key);
    }
    CHECK(again == columns[i]);
  }
  CHECK(bdd::exporting::parse_data_path("data.a\\.b") == std::vector<std::string>{"a.b"});
  CHECK(bdd::exporting::parse_data_path("id") == std::nullopt);
  CHECK(bdd::exporting::parse_data_path("data.a\\") == std::nullopt);
}

TEST_CASE("export::FlatColumns decodes hostile strings and keeps the last of a repeated key",
          "[export]") {
  const std::string huge(200'000, 'x');
  const auto event =
      event_of(R"({"t":"a, \"b\"\r\nc\u0000","u":"Größe 😀 \ud83d\ude00","k":1,"k":2,"h":")" + huge
               + R"(","n":{"m":{"o":null}}})");
  FlatColumns flat;
  REQUIRE(flat.collect(event));
  CHECK(data_columns(flat)
        == std::vector<std::string>{"data.t", "data.u", "data.k", "data.h", "data.n.m.o"});
  const auto cells = data_cells(flat, event);
  CHECK(cells[0] == std::string("text:a, \"b\"\r\nc\0", 15));
  CHECK(cells[1] == "text:Größe 😀 😀");
  CHECK(cells[2] == "number:2");
  CHECK(cells[3] == "text:" + huge);
  CHECK(cells[4] == "empty:");
}

TEST_CASE("export::FlatColumns walks nesting as deep as a stored event may be", "[export]") {
  std::string deep;
  for (std::size_t i = 0; i < bdd::model::k_max_json_depth - 1; ++i) {
    deep += "{\"k\":";
  }
  deep += "7";
  deep.append(bdd::model::k_max_json_depth - 1, '}');
  const auto event = event_of(deep);
  FlatColumns flat;
  REQUIRE(flat.collect(event));
  std::string expected = "data";
  for (std::size_t i = 0; i < bdd::model::k_max_json_depth - 1; ++i) {
    expected += ".k";
  }
  CHECK(data_columns(flat) == std::vector<std::string>{expected});
  CHECK(data_cells(flat, event) == std::vector<std::string>{"number:7"});
}

TEST_CASE("export::FlatColumns refuses more columns than its limit, suggesting a filter",
          "[export]") {
  FlatColumns flat(3);
  REQUIRE(flat.collect(event_of(R"({"a":1,"b":2})")));
  REQUIRE(flat.collect(event_of(R"({"a":1,"c":2})")));
  const auto refused = flat.collect(event_of(R"({"id":"e9","d":1})"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == bdd::Errc::usage);
  CHECK(refused.error().message.find("more than 3 columns") != std::string::npos);
  CHECK(refused.error().message.find("--event-type") != std::string::npos);
  CHECK(refused.error().message.find("\"e9\"") != std::string::npos);
  // A name budget too.
  FlatColumns names(100, 10);
  REQUIRE(names.collect(event_of(R"({"abc":1})"))); // "data.abc" is 8 bytes
  CHECK_FALSE(names.collect(event_of(R"({"de":1})")));
}

TEST_CASE("export::FlatColumns refuses a damaged raw event and a path pass 1 did not see",
          "[export]") {
  FlatColumns flat;
  auto damaged = event_of(R"({"id":"e1","a":1})");
  damaged.raw = R"({"a": 1})"; // not compact
  const auto refused = flat.collect(damaged);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == bdd::Errc::storage);
  CHECK(refused.error().message.find("bdd verify") != std::string::npos);
  damaged.raw = R"({"a":1)";
  CHECK_FALSE(flat.collect(damaged));

  REQUIRE(flat.collect(event_of(R"({"a":1})")));
  std::vector<Cell> cells;
  const auto unseen = flat.row(event_of(R"({"a":1,"b":2})"), cells);
  REQUIRE_FALSE(unseen);
  CHECK(unseen.error().code == bdd::Errc::storage);
}
