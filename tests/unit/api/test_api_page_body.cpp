// parse_page_body against hostile bodies: one bad event must not make a page unreadable (the
// study would be stuck at it forever), and no depth of nesting may crash it.

#include <bdd/api/transport.hpp>
#include <bdd/core/sha256.hpp>
#include <bdd/model/event.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <variant>

using bdd::Errc;
using bdd::api::Failure;
using bdd::api::Page;
using bdd::api::parse_page_body;
using bdd::model::display_id;

namespace {

std::string nested(std::size_t levels) {
  return std::string(levels, '[') + "1" + std::string(levels, ']');
}

// The page of `body`, which must be one.
Page page_of(const std::string& body) {
  auto result = parse_page_body(body, 10);
  INFO(body.substr(0, 200));
  if (const auto* failure = std::get_if<Failure>(&result)) {
    FAIL("not a page: " << failure->what);
  }
  return std::get<Page>(std::move(result));
}

// A page of three events where the middle one is `middle`.
std::string page_around(const std::string& middle) {
  return R"({"total":3,"events":[{"id":"before"}, )" + middle + R"( ,{"id":"after"}]})";
}

void check_kept_in_place(const Page& page, const std::string& reason, const std::string& raw) {
  REQUIRE(page.events.size() == 3);
  CHECK(page.offset == 10);
  CHECK(page.total == 3U);
  CHECK(page.events[0].id == "before");
  CHECK(page.events[0].unusable.empty());
  CHECK(page.events[2].id == "after");
  CHECK(page.events[2].unusable.empty());
  const auto& bad = page.events[1];
  CHECK(bad.unusable == reason);
  CHECK(bad.raw == raw);
  CHECK(display_id(bad.id) == "unusable:sha256:" + bdd::sha256_hex(raw));
}

} // namespace

TEST_CASE("api::parse_page_body keeps a page whose event is not a JSON object", "[api]") {
  for (const char* item : {"42", R"("x")", "[1]", "null", "[{\"id\":\"a\"}]", "true"}) {
    INFO(item);
    check_kept_in_place(page_of(page_around(item)), "not a JSON object", item);
  }
  // Whitespace inside a non-object is insignificant: it is kept minified, like every event.
  check_kept_in_place(page_of(page_around("[ 1 , 2 ]")), "not a JSON object", "[1,2]");
}

TEST_CASE("api::parse_page_body keeps a page whose event holds invalid UTF-8", "[api]") {
  for (const std::string& item : {std::string("{\"id\":\"\xFF\"}"),
                                  std::string("{\"id\":\"a\",\"k\xC3\":1}"),
                                  std::string("{\"id\":\"\xED\xA0\x80\"}"), // a surrogate
                                  std::string("{\"id\":\"\xC0\xAF\"}")}) {  // overlong
    INFO(item);
    check_kept_in_place(page_of(page_around(item)), "invalid UTF-8", item);
  }
}

TEST_CASE("api::parse_page_body keeps a page whose event starts with a byte order mark", "[api]") {
  const std::string item = "\xEF\xBB\xBF{\"id\":\"x\"}";
  check_kept_in_place(page_of(page_around(item)), "starts with a byte order mark", item);
  // Also as the only event, and as the last one.
  const Page alone = page_of("{\"events\":[" + item + "]}");
  REQUIRE(alone.events.size() == 1);
  CHECK(alone.events[0].unusable == "starts with a byte order mark");
}

TEST_CASE("api::parse_page_body keeps a page whose event is nested too deeply", "[api]") {
  SECTION("70,000 levels: no crash, one unusable event") {
    const std::string item = R"({"id":"deep","x":)" + nested(70'000) + "}";
    check_kept_in_place(page_of(page_around(item)), "nested deeper than 512 levels", item);
  }
  SECTION("exactly 512 levels is an event") {
    const Page page = page_of(page_around(R"({"x":)" + nested(511) + "}"));
    REQUIRE(page.events.size() == 3);
    CHECK(page.events[1].unusable.empty());
    CHECK(page.events[1].id.rfind("sha256:", 0) == 0);
  }
  SECTION("513 levels is not") {
    const std::string item = R"({"x":)" + nested(512) + "}";
    check_kept_in_place(page_of(page_around(item)), "nested deeper than 512 levels", item);
  }
}

TEST_CASE("api::parse_page_body keeps a page whose event is not valid JSON", "[api]") {
  for (const std::string& item : {std::string(R"({"id":"x",})"),
                                  std::string(R"({"id":"x"} {"id":"y"})"),
                                  std::string(R"({"id":1e400})"),
                                  std::string(R"({"id":"\ud800"})"),
                                  std::string(R"(NaN)"),
                                  std::string("{\"id\":\"a\tb\"}")}) {
    INFO(item);
    check_kept_in_place(page_of(page_around(item)), "not valid JSON", item);
  }
}

TEST_CASE("api::parse_page_body keeps at most 1 MiB of an unusable event", "[api]") {
  const std::string item = "\xEF\xBB\xBF{\"id\":\"" + std::string(2 << 20, 'a') + "\"}";
  const Page page = page_of(page_around(item));
  REQUIRE(page.events.size() == 3);
  const auto& bad = page.events[1];
  CHECK(bad.raw == item.substr(0, 1 << 20));
  CHECK(bad.unusable
        == "starts with a byte order mark (first 1048576 of " + std::to_string(item.size())
               + " bytes kept)");
  CHECK(display_id(bad.id) == "unusable:sha256:" + bdd::sha256_hex(item));
}

TEST_CASE("api::parse_page_body keeps several unusable events in their places", "[api]") {
  const Page page =
      page_of("{\"events\":[1,{\"id\":\"a\"},\xEF\xBB\xBF{},{\"id\":1},{\"id\":\"1\"},[[]]]}");
  REQUIRE(page.events.size() == 6);
  CHECK(page.events[0].unusable == "not a JSON object");
  CHECK(page.events[1].id == "a");
  CHECK(page.events[2].unusable == "starts with a byte order mark");
  CHECK(display_id(page.events[3].id) == "1");
  CHECK(page.events[4].id == "1");
  CHECK(page.events[3].id != page.events[4].id);
  CHECK(page.events[5].unusable == "not a JSON object");
}

TEST_CASE("api::parse_page_body fails a page it cannot read around", "[api]") {
  for (const std::string& body : {
           std::string(R"({"events":[{"id":"a"},{"id":"b)"),      // cut short in a string
           std::string(R"({"events":[{"id":"a"},{"id":"b"})"),    // cut short after an event
           std::string(R"({"events":[{"id":"a"},{"id":[}]})"),    // brackets never closed
           std::string(R"({"events":[{"id":"a"},,{"id":"b"}]})"), // an empty element
           std::string(R"({"events":[{"id":"a"}],"x":)" + nested(70'000) + "}"), // deep body
           std::string(R"({"events":[],"total":)" + nested(600) + "}"),
           std::string("\xEF\xBB\xBF{\"events\":[]}"), // a BOM before the body, not an event
           std::string("{\"events\":[],\"next\":\"\xFF\"}"),
       }) {
    INFO(body.substr(0, 100));
    auto r = parse_page_body(body, 0);
    REQUIRE(std::holds_alternative<Failure>(r));
    CHECK(std::get<Failure>(r).code == Errc::protocol);
    CHECK(std::get<Failure>(r).retryable);
  }
}

TEST_CASE("api::parse_page_body reports a bad total as the server wrote it", "[api]") {
  auto r = parse_page_body(R"({"events":[],"total":1e2})", 0);
  REQUIRE(std::holds_alternative<Failure>(r));
  CHECK(std::get<Failure>(r).what
        == "HTTP 200 with a \"total\" that is not a non-negative integer: 1e2");
  r = parse_page_body(R"({"events":[],"total":[[[[1]]]]})", 0);
  REQUIRE(std::holds_alternative<Failure>(r));
  CHECK(std::get<Failure>(r).what
        == "HTTP 200 with a \"total\" that is not a non-negative integer: [[[[1]]]]");
}
