#include <bdd/model/event.hpp>
#include <bdd/model/json_text.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

using bdd::model::append_decoded_string;
using bdd::model::append_minified_json;
using bdd::model::compact_value_size;
using bdd::model::CompactReader;
using bdd::model::JsonOutline;
using bdd::model::normalise_compact;
using bdd::model::string_equals;

namespace {

std::optional<std::string> minify(std::string_view text) {
  std::string out;
  if (!append_minified_json(text, out)) {
    return std::nullopt;
  }
  return out;
}

// A member of an outline as the text it spans, for comparisons that read well.
struct OutlinedMember {
  std::string key;
  std::string value;
  std::vector<std::string> elements;

  bool operator==(const OutlinedMember&) const = default;
};

// The outline of `text` as text, after checking that the outlining minifier writes what the
// plain one does. Nullopt when `text` is not valid JSON.
std::optional<std::vector<OutlinedMember>> outline_of(std::string_view text) {
  std::string out = "prefix:"; // offsets are into the whole of `out`
  JsonOutline outline;
  outline.members.resize(3); // cleared first
  if (!append_minified_json(text, out, outline)) {
    return std::nullopt;
  }
  CHECK(out == "prefix:" + minify(text).value());
  std::vector<OutlinedMember> members;
  for (const auto& member : outline.members) {
    auto& seen = members.emplace_back();
    seen.key = member.key.in(out);
    seen.value = member.value.in(out);
    for (const auto& element : member.elements) {
      seen.elements.emplace_back(element.in(out));
    }
  }
  return members;
}

} // namespace

TEST_CASE("model::append_minified_json drops whitespace and keeps everything else", "[model]") {
  CHECK(minify(" { \"b\" : [ 1 , 2.50 ,-3e+2 ] ,\n\t\"a\":\"x y\\u00e9\\/\" } ")
        == R"({"b":[1,2.50,-3e+2],"a":"x y\u00e9\/"})");
  CHECK(minify(R"({"k":1,"k":2})") == R"({"k":1,"k":2})");
  CHECK(minify("\"caf\xC3\xA9\"") == "\"caf\xC3\xA9\"");
  CHECK(minify("[[],{},[{}],true,false,null]") == "[[],{},[{}],true,false,null]");
  CHECK(minify(R"("\ud83d\ude00")") == R"("\ud83d\ude00")");
  CHECK(minify("0") == "0");
  CHECK(minify("1e-400") == "1e-400"); // underflows to 0, which readers accept
}

TEST_CASE("model::append_minified_json rejects what is not one JSON value", "[model]") {
  for (const char* text : {"",
                           " ",
                           "{",
                           "[1,]",
                           "{\"a\":1,}",
                           "{\"a\" 1}",
                           "{1:2}",
                           "01",
                           "1.",
                           "-",
                           "1e",
                           "tru",
                           "nul",
                           "\"a",
                           "\"\\x\"",
                           "\"\\u12G4\"",
                           "\"\\ud800\"",
                           "\"\\udc00\"",
                           "\"\\ud800\\u0041\"",
                           "[1] [2]",
                           "{}x",
                           "[}",
                           "{]",
                           "1e400",
                           "[-1E+999]"}) {
    INFO(text);
    CHECK_FALSE(minify(text));
  }
  CHECK_FALSE(minify("\"\x01\""));              // raw control character
  CHECK_FALSE(minify("\"\xC3\""));              // truncated UTF-8
  CHECK_FALSE(minify("\"\xED\xA0\x80\""));      // UTF-8 surrogate
  CHECK_FALSE(minify("\"abcdefghij\xFFxyz\"")); // invalid byte after an 8-byte run
}

TEST_CASE("model::append_minified_json outlines the members of a top-level object", "[model]") {
  using Members = std::vector<OutlinedMember>;
  SECTION("members, and the elements of arrays that are members") {
    const auto members = outline_of(
        R"({"a":1,"events":[{"x":[1,{"y":[]}]},2,"s",[3,[4]],{},[],null],"b":{"c":[5]}})");
    CHECK(members
          == Members{{R"("a")", "1", {}},
                     {R"("events")",
                      R"([{"x":[1,{"y":[]}]},2,"s",[3,[4]],{},[],null])",
                      {R"({"x":[1,{"y":[]}]})", "2", R"("s")", "[3,[4]]", "{}", "[]", "null"}},
                     {R"("b")", R"({"c":[5]})", {}}});
  }
  SECTION("pretty-printed text is outlined as minified") {
    const auto members =
        outline_of("\n{\n  \"events\" : [\n    { \"id\" : \"a\" } ,\n    {\t}\r\n  ] ,"
                   "\n  \"total\":\n 2\n}\n");
    CHECK(members
          == Members{{R"("events")", R"([{"id":"a"},{}])", {R"({"id":"a"})", "{}"}},
                     {R"("total")", "2", {}}});
  }
  SECTION("brackets, quotes and escapes inside strings are only text") {
    const auto members = outline_of(R"({"k]\"}":"]}\\",)"
                                    R"("e[":["[{\"", "}]\\\\", {"v":"\"],"}, "\u005d"]})");
    CHECK(members
          == Members{{R"("k]\"}")", R"("]}\\")", {}},
                     {R"("e[")",
                      R"(["[{\"","}]\\\\",{"v":"\"],"},"\u005d"])",
                      {R"("[{\"")", R"("}]\\\\")", R"({"v":"\"],"})", R"("\u005d")"}}});
  }
  SECTION("empty containers") {
    CHECK(outline_of("{}") == Members{});
    CHECK(outline_of(" { } ") == Members{});
    CHECK(outline_of(R"({"e":[ ],"o":{ }})")
          == Members{{R"("e")", "[]", {}}, {R"("o")", "{}", {}}});
    CHECK(outline_of(R"({"e":[[],{}]})") == Members{{R"("e")", "[[],{}]", {"[]", "{}"}}});
  }
  SECTION("a repeated key is outlined each time") {
    CHECK(outline_of(R"({"e":[1],"e":[2,3]})")
          == Members{{R"("e")", "[1]", {"1"}}, {R"("e")", "[2,3]", {"2", "3"}}});
  }
  SECTION("a top-level value that is not an object has no members") {
    for (const char* text : {R"([{"a":[1]},2])", "[]", R"("{\"a\":1}")", "3", "null"}) {
      INFO(text);
      CHECK(outline_of(text) == Members{});
    }
  }
  SECTION("invalid text fails as without an outline") {
    for (const char* text : {"", "{", R"({"e":[1,]})", R"({"e":[1]}x)", "{\"a\":1,}"}) {
      INFO(text);
      CHECK_FALSE(outline_of(text));
    }
  }
}

TEST_CASE("model::CompactReader walks members and elements in order", "[model]") {
  const std::string text = R"({"a":{"x":[1,"]}"]},"b\"q":"s\\","c":-1.5e3,"d":[]})";
  REQUIRE(compact_value_size(text) == text.size());
  CompactReader reader(text);
  std::vector<std::pair<std::string, std::string>> seen;
  std::string_view key;
  std::string_view value;
  while (reader.next(key, value)) {
    seen.emplace_back(key, value);
  }
  CHECK(seen
        == std::vector<std::pair<std::string, std::string>>{{R"("a")", R"({"x":[1,"]}"]})"},
                                                            {R"("b\"q")", R"("s\\")"},
                                                            {R"("c")", "-1.5e3"},
                                                            {R"("d")", "[]"}});
  CHECK(string_equals(R"("b\"q")", "b\"q"));
  CHECK(string_equals(R"("\u0069d")", "id"));
  CHECK_FALSE(string_equals(R"("id")", "i"));

  CompactReader empty("{}");
  CHECK_FALSE(empty.next(key, value));
  CompactReader array("[1,\"2\",{}]");
  std::vector<std::string> elements;
  while (array.next(key, value)) {
    CHECK(key.empty());
    elements.emplace_back(value);
  }
  CHECK(elements == std::vector<std::string>{"1", "\"2\"", "{}"});
}

TEST_CASE("model::compact_value_size finds the end of strings wherever quotes and backslashes "
          "fall",
          "[model]") {
  // Strings are scanned 16 bytes at a time: put escaped quotes and runs of backslashes at every
  // position across two block boundaries, and check against a document parser.
  for (std::size_t at = 0; at < 40; ++at) {
    for (const std::string insert : {"\\\"", "\\\\", "\\\\\\\"", "\\u0022"}) {
      std::string body(at, 'x');
      body += insert;
      body += std::string(at % 7, 'y');
      const std::string text = "{\"k\":\"" + body + "\",\"after\":[\"" + body + "\"]}";
      INFO(text);
      REQUIRE(nlohmann::json::accept(text));
      CHECK(compact_value_size(text) == text.size());
      CompactReader reader(text);
      std::string_view key;
      std::string_view value;
      REQUIRE(reader.next(key, value));
      CHECK(value == "\"" + body + "\"");
      REQUIRE(reader.next(key, value));
      CHECK(string_equals(key, "after"));
      CHECK(value == "[\"" + body + "\"]");
      CHECK_FALSE(reader.next(key, value));
    }
  }
}

TEST_CASE("model::append_decoded_string decodes every escape", "[model]") {
  std::string out;
  append_decoded_string(R"("a\"\\\/\b\f\n\r\t\u00e9\u20ac\ud83d\ude00z")", out);
  CHECK(out == "a\"\\/\b\f\n\r\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z");
}

TEST_CASE("model::normalise_compact keeps the server's bytes and derives from them", "[model]") {
  const std::string raw =
      R"({"types":["t\u00e9"],"timestamp":"2025-01-01T00:00:00Z","id":"x1","zeta":1.50,)"
      R"("base":{"userId":"u\"1","index":3}})";
  const auto event = normalise_compact(raw);
  CHECK(event.raw == raw); // key order, escapes and number spelling as sent
  CHECK(event.id == "x1");
  CHECK(event.user_id == "u\"1");
  CHECK(event.event_type == "t\xC3\xA9");
  CHECK(event.timestamp == "2025-01-01T00:00:00Z");

  SECTION("a hashed id does not depend on key order or spelling") {
    const auto a = normalise_compact(R"({"b":1,"a":"\u0041"})");
    const auto b = normalise_compact(R"({"a":"A","b":1})");
    CHECK(a.id.rfind("sha256:", 0) == 0);
    CHECK(a.id == b.id);
    CHECK(a.id == bdd::model::normalise(nlohmann::json::parse(R"({"a":"A","b":1})")).id);
  }
  SECTION("a repeated key counts with its last value") {
    CHECK(normalise_compact(R"({"id":"first","id":"second"})").id == "second");
  }
  SECTION("an escaped key is still recognised") {
    CHECK(normalise_compact(R"({"\u0069d":"x"})").id == "x");
  }
}
