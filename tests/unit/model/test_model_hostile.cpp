// Events a hostile or broken server may send: ids that only differ by their JSON type or by
// digits a double cannot hold, nesting deep enough to exhaust a recursive parser, items of the
// `events` array that are not events at all.

#include <bdd/core/sha256.hpp>
#include <bdd/model/event.hpp>
#include <bdd/model/json_text.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

using bdd::model::append_minified_json;
using bdd::model::derive_event_id;
using bdd::model::display_id;
using bdd::model::is_number_id;
using bdd::model::JsonOutline;
using bdd::model::k_max_json_depth;
using bdd::model::key_of_displayed_id;
using bdd::model::normalise_compact;
using bdd::model::to_normalised_json;
using bdd::model::unusable_event;

namespace {

// `levels` nested arrays around `core`: "[[[1]]]" for 3 levels.
std::string nested(std::size_t levels, std::string_view core = "1") {
  return std::string(levels, '[') + std::string(core) + std::string(levels, ']');
}

// An event whose "x" member is `levels` arrays deep: the event itself is one level more.
std::string deep_event(std::size_t levels) {
  return R"({"id":"deep","x":)" + nested(levels) + "}";
}

std::string id_of(std::string_view compact) {
  return normalise_compact(std::string(compact)).id;
}

} // namespace

TEST_CASE("model::normalise_compact keeps ids that differ as JSON tokens apart", "[model]") {
  SECTION("the number 1 and the string \"1\"") {
    const std::string number = id_of(R"({"id":1})");
    const std::string text = id_of(R"({"id":"1"})");
    CHECK(number != text);
    CHECK(text == "1"); // string ids keep the key they always had
    CHECK(is_number_id(number));
    CHECK_FALSE(is_number_id(text));
    CHECK(display_id(number) == "1");
    CHECK(display_id(text) == "1");
  }
  SECTION("integers beyond 2^53 keep every digit") {
    const std::string a = id_of(R"({"id":9007199254740993})");
    const std::string b = id_of(R"({"id":9007199254740992})");
    CHECK(a != b);
    CHECK(display_id(a) == "9007199254740993");
    CHECK(display_id(b) == "9007199254740992");
    // Beyond 64 bits too, where a document parser falls back to a double.
    CHECK(display_id(id_of(R"({"id":123456789012345678901234567890})"))
          == "123456789012345678901234567890");
    CHECK(id_of(R"({"id":18446744073709551617})") != id_of(R"({"id":18446744073709551616})"));
  }
  SECTION("1.0, 1, 1e0 and -0 are the numbers as written") {
    std::set<std::string> keys;
    for (const char* event : {R"({"id":1.0})",
                              R"({"id":1})",
                              R"({"id":1e0})",
                              R"({"id":1E0})",
                              R"({"id":0})",
                              R"({"id":-0})",
                              R"({"id":"1.0"})"}) {
      INFO(event);
      CHECK(keys.insert(id_of(event)).second);
    }
    CHECK(display_id(id_of(R"({"id":1.0})")) == "1.0");
    CHECK(display_id(id_of(R"({"id":1e0})")) == "1e0");
  }
  SECTION("a text id that starts with the number mark cannot pose as a number") {
    const std::string forged = id_of(R"({"id":"\u001fn1"})");
    CHECK(forged != id_of(R"({"id":1})"));
    CHECK(display_id(forged) == "\x1fn1");
    CHECK_FALSE(is_number_id(forged));
    CHECK(forged == std::string("\x1fs\x1fn1"));
    // Derived ids are text as well.
    const std::string composite = id_of(R"({"base":{"userId":"\u001fn1","index":2}})");
    CHECK(display_id(composite) == "\x1fn1_2");
    CHECK_FALSE(is_number_id(composite));
  }
  SECTION("derived and hashed ids are the texts they always were") {
    CHECK(id_of(R"({"base":{"userId":"u","index":7}})") == "u_7");
    CHECK(id_of(R"({"object":{"userId":99,"index":42.0}})") == "99_42");
    CHECK(id_of(R"({"b":1,"a":2})") == "sha256:" + bdd::sha256_hex(R"({"a":2,"b":1})"));
  }
  SECTION("derive_event_id gives the key normalise_compact gives") {
    for (const char* event : {R"({"id":1})",
                              R"({"id":"1"})",
                              R"({"id":"\u001fx"})",
                              R"({"base":{"userId":"u","index":7}})",
                              R"({"x":[1,{"y":null}]})"}) {
      INFO(event);
      CHECK(derive_event_id(event) == id_of(event));
    }
  }
}

TEST_CASE("model::to_normalised_json shows ids without their key prefix", "[model]") {
  const auto number = normalise_compact(R"({"id":9007199254740993})");
  const auto parsed = nlohmann::json::parse(to_normalised_json(number, "s"));
  CHECK(parsed["id"] == "9007199254740993");
  // Ordinary ids are written byte for byte as before.
  CHECK(to_normalised_json(normalise_compact(R"({"id":"a"})"), "s").rfind(R"({"id":"a",)", 0) == 0);
  const auto forged = normalise_compact(R"({"id":"\u001fs"})");
  CHECK(nlohmann::json::parse(to_normalised_json(forged, "s"))["id"] == "\x1fs");
}

TEST_CASE("model::key_of_displayed_id says when the stored text needs the event", "[model]") {
  CHECK(key_of_displayed_id("abc") == "abc");
  CHECK(key_of_displayed_id("u_7") == "u_7");
  CHECK(key_of_displayed_id("sha256:00") == "sha256:00");
  CHECK(key_of_displayed_id("1a") == "1a");   // not a JSON number
  CHECK(key_of_displayed_id("01") == "01");   // not a JSON number either
  CHECK(key_of_displayed_id("1.") == "1.");   // nor this
  CHECK(key_of_displayed_id("- 1") == "- 1"); // nor this
  CHECK_FALSE(key_of_displayed_id("1"));
  CHECK_FALSE(key_of_displayed_id("-0.5e3"));
  CHECK_FALSE(key_of_displayed_id("\x1fs"));
}

TEST_CASE("model::append_minified_json bounds the nesting depth", "[model]") {
  std::string out;
  CHECK(append_minified_json(nested(k_max_json_depth), out));
  out.clear();
  CHECK_FALSE(append_minified_json(nested(k_max_json_depth + 1), out));
  out.clear();
  // Empty containers count as levels too.
  CHECK_FALSE(append_minified_json(nested(k_max_json_depth, "[]"), out));
  out.clear();
  CHECK_FALSE(append_minified_json(nested(70'000), out)); // no crash, just false
  out.clear();
  CHECK(append_minified_json(nested(3), out, 3));
  out.clear();
  CHECK_FALSE(append_minified_json(nested(4), out, 3));
}

TEST_CASE("model::parse_bounded refuses what nests too deep without recursing", "[model]") {
  nlohmann::json document;
  CHECK(bdd::model::parse_bounded(nested(k_max_json_depth), document));
  CHECK(document.is_array());
  CHECK_FALSE(bdd::model::parse_bounded(nested(k_max_json_depth + 1), document));
  CHECK_FALSE(bdd::model::parse_bounded(nested(100'000), document));
  CHECK_FALSE(bdd::model::parse_bounded("{\"a\":", document));
  CHECK(bdd::model::parse_bounded(R"({"a":[{}]})", document, 3));
  CHECK_FALSE(bdd::model::parse_bounded(R"({"a":[{}]})", document, 2));
}

TEST_CASE("model::normalise_compact derives ids of deep events without recursing", "[model]") {
  // As deep as a page lets an event be: the hash is of nlohmann's canonical text.
  const std::string deepest = deep_event(k_max_json_depth - 1);
  CHECK(id_of(R"({"x":)" + nested(k_max_json_depth - 1) + "}").rfind("sha256:", 0) == 0);
  CHECK(id_of(deepest) == "deep");
  // Deeper than a page allows (only reachable by calling it directly): hashed as written rather
  // than crashing in a recursive dump.
  const std::string too_deep = R"({"x":)" + nested(70'000) + "}";
  CHECK(id_of(too_deep) == "sha256:" + bdd::sha256_hex(too_deep));
  const auto event = normalise_compact(R"({"id":"a","element_id":)" + nested(70'000) + "}");
  CHECK(event.element_id == nested(70'000));
}

TEST_CASE("model::unusable_event keeps the item's bytes and a stable id", "[model]") {
  const auto event = unusable_event("\xEF\xBB\xBF{\"id\":\"a\"}", "starts with a byte order mark");
  CHECK(event.unusable == "starts with a byte order mark");
  CHECK(event.raw == "\xEF\xBB\xBF{\"id\":\"a\"}");
  CHECK(display_id(event.id) == "unusable:sha256:" + bdd::sha256_hex("\xEF\xBB\xBF{\"id\":\"a\"}"));
  CHECK(event.id == unusable_event("\xEF\xBB\xBF{\"id\":\"a\"}", "other").id);
  // No real event can have that key: a string id with the same text is another key.
  CHECK(event.id != id_of(R"({"id":")" + std::string(display_id(event.id)) + "\"}"));
  CHECK_FALSE(is_number_id(event.id));

  const std::string huge(bdd::model::k_max_unusable_bytes + 10, 'x');
  const auto cut = unusable_event(huge, "not valid JSON");
  CHECK(cut.raw.size() == bdd::model::k_max_unusable_bytes);
  CHECK(cut.unusable
        == "not valid JSON (first " + std::to_string(bdd::model::k_max_unusable_bytes) + " of "
               + std::to_string(huge.size()) + " bytes kept)");
  CHECK(display_id(cut.id) == "unusable:sha256:" + bdd::sha256_hex(huge));
}

TEST_CASE("model::append_minified_json skips unreadable events in a page's events array",
          "[model]") {
  const auto outline_of = [](std::string_view text, std::string& out, JsonOutline& outline) {
    out.clear();
    return append_minified_json(text, out, outline);
  };
  std::string out;
  JsonOutline outline;
  SECTION("each kind of unreadable element is recorded with its bytes and a reason") {
    const std::string bom = "\xEF\xBB\xBF{\"id\":\"b\"}";
    const std::string utf8 = "{\"id\":\"\xC3\x28\"}";
    const std::string deep = deep_event(k_max_json_depth);
    const std::string garbage = "{\"id\":tru}";
    const std::string body = R"({"total":9, "events": [ {"id":"a"}, )" + bom + ", " + utf8 + " ,"
                             + deep + "," + garbage + R"(, {"id" : "z"} ], "next":1})";
    REQUIRE(outline_of(body, out, outline));
    REQUIRE(outline.members.size() == 3);
    const auto& events = outline.members[1];
    REQUIRE(events.elements.size() == 6);
    CHECK(events.elements[0].in(out) == R"({"id":"a"})");
    for (std::size_t i = 1; i <= 4; ++i) {
      CHECK(events.elements[i].in(out) == "null");
    }
    CHECK(events.elements[5].in(out) == R"({"id":"z"})");
    REQUIRE(events.unusable.size() == 4);
    CHECK(events.unusable[0].element == 1);
    CHECK(events.unusable[0].raw.in(body) == bom);
    CHECK(events.unusable[0].reason == "starts with a byte order mark");
    CHECK(events.unusable[1].element == 2);
    CHECK(events.unusable[1].raw.in(body) == utf8);
    CHECK(events.unusable[1].reason == "invalid UTF-8");
    CHECK(events.unusable[2].element == 3);
    CHECK(events.unusable[2].raw.in(body) == deep);
    CHECK(events.unusable[2].reason == "nested deeper than 512 levels");
    CHECK(events.unusable[3].element == 4);
    CHECK(events.unusable[3].raw.in(body) == garbage);
    CHECK(events.unusable[3].reason == "not valid JSON");
    CHECK(out.find(R"("next":1)") != std::string::npos);
    CHECK(nlohmann::json::accept(out)); // the placeholders keep the compact text valid
  }
  SECTION("an event may be as deep as the limit inside its page") {
    REQUIRE(outline_of(R"({"events":[)" + deep_event(k_max_json_depth - 1) + "]}", out, outline));
    CHECK(outline.members[0].unusable.empty());
  }
  SECTION("a 70,000-level event is one unusable event") {
    const std::string body = R"({"events":[{"id":"a"},)" + deep_event(70'000) + "]}";
    REQUIRE(outline_of(body, out, outline));
    REQUIRE(outline.members[0].unusable.size() == 1);
    CHECK(outline.members[0].unusable[0].element == 1);
  }
  SECTION("text after a valid element, before its comma, makes it unusable") {
    REQUIRE(outline_of(R"({"events":[{"id":"a"} x,{"id":"b"}]})", out, outline));
    REQUIRE(outline.members[0].unusable.size() == 1);
    CHECK(outline.members[0].unusable[0].raw.in(R"({"events":[{"id":"a"} x,{"id":"b"}]})")
          == R"({"id":"a"} x)");
  }
  SECTION("outside the events array nothing is skipped") {
    for (const std::string& body : {R"({"next":[)" + deep_event(k_max_json_depth) + "]}",
                                    std::string(R"({"next":["\xC3\x28"],"events":[]})"),
                                    std::string(R"({"events":[],"other":[1 2]})"),
                                    R"({"events":[],"x":)" + nested(70'000) + "}",
                                    std::string(R"({"events":{"a":tru}})"),
                                    std::string(R"({"wrap":{"events":[tru]}})")}) {
      INFO(body);
      CHECK_FALSE(outline_of(body, out, outline));
    }
  }
  SECTION("an element whose end cannot be found fails the whole text") {
    for (const char* body : {R"({"events":[{"id":"a"},{"id":"b})",
                             R"({"events":[{"id":"a"},{"id":"b}]})",
                             R"({"events":[{"id":"a"},[[[}]})",
                             R"({"events":[{"id":"a"},,{"id":"b"}]})",
                             R"({"events":[{"id":"a"},]})",
                             R"({"events":[{"id":"a"}})",
                             "{\"events\":[\xEF\xBB\xBF"}) {
      INFO(body);
      CHECK_FALSE(outline_of(body, out, outline));
    }
  }
}
