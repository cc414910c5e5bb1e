// The libcurl client against a real HTTP server on 127.0.0.1 (tests/unit/api/test_server.hpp), and
// parse_page_body, which reads the bodies of its 200 responses.

#include "test_server.hpp"

#include <bdd/api/client.hpp>
#include <bdd/api/transport.hpp>
#include <bdd/model/event.hpp>
#include <bdd/model/json_text.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

using bdd::Errc;
using bdd::api::ClientOptions;
using bdd::test::Fault;
using bdd::test::TestServer;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

ClientOptions options_for(const TestServer& server) {
  ClientOptions options;
  options.base_url = server.base_url();
  options.api_key = TestServer::k_key;
  options.study = TestServer::k_study;
  options.timeout = milliseconds{5'000};
  options.max_retries = 3;
  options.retry_delay = milliseconds{1};
  return options;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string url_of(const TestServer& server, std::uint64_t offset, std::uint64_t limit) {
  return server.base_url() + "/v1/studies/demo/events?offset=" + std::to_string(offset)
         + "&limit=" + std::to_string(limit);
}

} // namespace

TEST_CASE("api::Client fetches one page with the right request", "[api]") {
  TestServer server(25);
  auto client = bdd::api::make_client(options_for(server));

  auto page = client->fetch_page(10, 5);
  REQUIRE(page);
  CHECK(page->offset == 10);
  CHECK(page->total == 25U);
  CHECK(page->attempts == 1);
  CHECK(page->bytes > 0);
  REQUIRE(page->events.size() == 5);
  CHECK(page->events[0].id == "e10");
  CHECK(page->events[4].id == "e14");
  CHECK(page->events[1].user_id == "P-007");

  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/v1/studies/demo/events?offset=10&limit=5");
  CHECK(requests[0].authorization == "Bearer SECRET-KEY-123");
  CHECK(requests[0].accept == "application/json");
  CHECK(requests[0].user_agent == std::string("bdd/") + BDD_VERSION);
  CHECK(requests[0].accept_encoding.find("gzip") != std::string::npos);
}

TEST_CASE("api::Client reuses its connection", "[api]") {
  TestServer server(100);
  auto client = bdd::api::make_client(options_for(server));
  for (std::uint64_t offset = 0; offset < 50; offset += 10) {
    REQUIRE(client->fetch_page(offset, 10));
  }
  const auto requests = server.requests();
  REQUIRE(requests.size() == 5);
  for (const auto& request : requests) {
    CHECK(request.remote_port == requests[0].remote_port);
  }
}

TEST_CASE("api::Client fails at once on 401, 403, 404 and 422", "[api]") {
  TestServer server(10);
  auto options = options_for(server);

  SECTION("401: the key was rejected") {
    options.api_key = "WRONG-KEY-999";
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::auth);
    CHECK_FALSE(page.error().retryable);
    CHECK(page.error().message
          == "GET " + url_of(server, 0, 10)
                 + ": HTTP 401 Unauthorized: \"Not authenticated\" (the API key was rejected)");
  }
  SECTION("403 with the key echoed in the detail") {
    server.push_fault(Fault::http(403, R"({"detail": "key SECRET-KEY-123 is revoked"})"));
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::auth);
    CHECK(page.error().message
          == "GET " + url_of(server, 0, 10)
                 + ": HTTP 403 Forbidden: \"key [redacted] is revoked\" (the API key was refused "
                   "access to this study)");
  }
  SECTION("404: unknown study, percent-encoded in the path") {
    options.study = "no such study";
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::not_found);
    CHECK(page.error().message
          == "GET " + server.base_url()
                 + "/v1/studies/no%20such%20study/events?offset=0&limit=10: HTTP 404 Not Found: "
                   "\"Study not found\" (no such study, or the API key has no access to it)");
  }
  SECTION("422: bad parameters") {
    auto page = bdd::api::make_client(options)->fetch_page(0, 0);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::bad_request);
    CHECK(page.error().message
          == "GET " + url_of(server, 0, 0)
                 + ": HTTP 422 Unprocessable Entity: \"offset and limit must be integers\" (the "
                   "server rejected the request)");
  }
  SECTION("a redirect is not followed") {
    server.push_fault(Fault::http(302, ""));
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::config);
  }
  CHECK(server.request_count() == 1);
}

TEST_CASE("api::Client retries transient failures", "[api]") {
  TestServer server(10);
  auto options = options_for(server);

  SECTION("503 then success") {
    server.push_fault(Fault::http(503, R"({"detail": "busy"})"));
  }
  SECTION("500 then success") {
    server.push_fault(Fault::http(500));
  }
  SECTION("invalid JSON then success") {
    server.push_fault(Fault::invalid_json());
  }
  SECTION("a truncated body then success") {
    server.push_fault(Fault::truncated());
  }
  SECTION("a time-out then success") {
    options.timeout = milliseconds{200};
    server.push_fault(Fault::delayed(milliseconds{30'000}));
  }
  SECTION("an empty 200 then success") {
    server.push_fault(Fault::http(200, ""));
  }
  const auto start = Clock::now();
  auto page = bdd::api::make_client(options)->fetch_page(0, 10);
  REQUIRE(page);
  CHECK(page->attempts == 2);
  CHECK(page->events.size() == 10);
  CHECK(server.request_count() == 2);
  // Far below the 30 s the timed-out request would have waited, far above a loaded machine's
  // delays (no bound under 2 s: they flake).
  CHECK(seconds_since(start) < 5.0);
}

TEST_CASE("api::Client waits for Retry-After on 429", "[api]") {
  TestServer server(10);
  server.push_fault(Fault::http(429, R"({"detail": "slow down"})", "1"));
  const auto start = Clock::now();
  auto page = bdd::api::make_client(options_for(server))->fetch_page(0, 10);
  const double elapsed = seconds_since(start);
  REQUIRE(page);
  CHECK(page->attempts == 2);
  CHECK(elapsed >= 0.9);
  CHECK(elapsed < 3.0);
}

TEST_CASE("api::Client gives up after max_retries", "[api]") {
  TestServer server(10);
  auto options = options_for(server);

  SECTION("503 every time, with the key echoed") {
    server.set_always(Fault::http(503, R"({"detail": "overloaded; your key SECRET-KEY-123"})"));
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::network);
    CHECK(page.error().retryable);
    CHECK(page.error().message
          == "GET " + url_of(server, 0, 10)
                 + ": HTTP 503 Service Unavailable: \"overloaded; your key [redacted]\" after 4 "
                   "attempts");
    CHECK(server.request_count() == 4);
  }
  SECTION("invalid JSON every time") {
    options.max_retries = 1;
    server.set_always(Fault::invalid_json());
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::protocol);
    CHECK(page.error().message
          == "GET " + url_of(server, 0, 10)
                 + ": HTTP 200 with a body that is not valid JSON after 2 attempts");
    CHECK(server.request_count() == 2);
  }
  SECTION("user information in base_url never shows") {
    options.base_url = "http://user:hunter2@127.0.0.1:" + server.base_url().substr(17);
    options.max_retries = 0;
    server.set_always(Fault::http(502));
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().message
          == "GET " + url_of(server, 0, 10) + ": HTTP 502 Bad Gateway after 1 attempt");
  }
}

TEST_CASE("api::Client says when nothing listens", "[api]") {
  ClientOptions options;
  options.base_url = "http://127.0.0.1:1";
  options.api_key = TestServer::k_key;
  options.study = "demo";
  options.max_retries = 1;
  options.retry_delay = milliseconds{1};
  auto page = bdd::api::make_client(options)->fetch_page(0, 10);
  REQUIRE_FALSE(page);
  CHECK(page.error().code == Errc::network);
  CHECK(page.error().message
        == "GET http://127.0.0.1:1/v1/studies/demo/events?offset=0&limit=10: connection refused "
           "after 2 attempts (is the server running at http://127.0.0.1:1?)");
}

TEST_CASE("api::Client never puts the key in a message", "[api]") {
  TestServer server(10);
  auto options = options_for(server);
  options.max_retries = 0;
  for (int status : {400, 401, 403, 404, 409, 422, 429, 500, 503}) {
    server.push_fault(Fault::http(
        status, R"({"detail": "SECRET-KEY-123 / Bearer SECRET-KEY-123 / Bearer other-token"})"));
    auto page = bdd::api::make_client(options)->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    INFO(page.error().message);
    CHECK(page.error().message.find("SECRET-KEY-123") == std::string::npos);
    CHECK(page.error().message.find("other-token") == std::string::npos);
  }
}

TEST_CASE("api::Client stops promptly when asked", "[api]") {
  TestServer server(10);
  auto options = options_for(server);
  std::atomic<bool> stop{false};
  options.stop = &stop;
  auto client = bdd::api::make_client(options);

  SECTION("during a transfer, by the stop flag") {
    server.set_always(Fault::delayed(milliseconds{30'000}));
    std::thread stopper([&] {
      std::this_thread::sleep_for(milliseconds{100});
      stop = true;
    });
    const auto start = Clock::now();
    auto page = client->fetch_page(0, 10);
    stopper.join();
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::interrupted);
    CHECK(page.error().message == "GET " + url_of(server, 0, 10) + ": interrupted");
    CHECK(seconds_since(start) < 5.0); // not the 30 s wait
  }
  SECTION("during a transfer, by cancel()") {
    server.set_always(Fault::delayed(milliseconds{30'000}));
    std::thread canceller([&] {
      std::this_thread::sleep_for(milliseconds{100});
      client->cancel();
    });
    const auto start = Clock::now();
    auto page = client->fetch_page(0, 10);
    canceller.join();
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::interrupted);
    CHECK(seconds_since(start) < 5.0);      // not the 30 s wait
    CHECK_FALSE(client->fetch_page(0, 10)); // cancelled for good
  }
  SECTION("during a retry wait") {
    options.retry_delay = milliseconds{30'000};
    client = bdd::api::make_client(options);
    server.set_always(Fault::http(503));
    std::thread stopper([&] {
      while (server.request_count() == 0) {
        std::this_thread::sleep_for(milliseconds{5});
      }
      std::this_thread::sleep_for(milliseconds{100});
      stop = true;
    });
    const auto start = Clock::now();
    auto page = client->fetch_page(0, 10);
    stopper.join();
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::interrupted);
    CHECK(seconds_since(start) < 5.0); // not the 30 s wait
    CHECK(server.request_count() == 1);
  }
  SECTION("before a request") {
    stop = true;
    auto page = client->fetch_page(0, 10);
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::interrupted);
    CHECK(server.request_count() == 0);
  }
}

TEST_CASE("api::Client refuses to send an empty or malformed key", "[api]") {
  TestServer server(10);
  auto options = options_for(server);
  options.api_key = GENERATE(std::string(), std::string("SECRET\r\nX-Evil: 1"));
  auto page = bdd::api::make_client(options)->fetch_page(0, 10);
  REQUIRE_FALSE(page);
  CHECK(page.error().code == Errc::config);
  CHECK(page.error().message.find("SECRET") == std::string::npos);
  CHECK(server.request_count() == 0);
}

namespace {

using bdd::api::Failure;
using bdd::api::Page;
using bdd::api::parse_page_body;

// parse_page_body as it was before the minifier outlined the body: the members and the events
// found again by walking the compact text with CompactReader. The reference for the equivalence
// test below.
std::variant<Page, Failure> parse_with_compact_reader(std::string_view body, std::uint64_t offset) {
  const auto failure = [](std::string what) {
    Failure f;
    f.code = Errc::protocol;
    f.retryable = true;
    f.what = std::move(what);
    return f;
  };
  std::string compact;
  if (!bdd::model::append_minified_json(body, compact)) {
    return failure(body.empty() ? "HTTP 200 with an empty body"
                                : "HTTP 200 with a body that is not valid JSON");
  }
  if (compact[0] != '{') {
    return failure("HTTP 200 with a body that is not a JSON object");
  }
  std::string_view events;
  std::string_view total;
  bdd::model::CompactReader members(compact);
  std::string_view key;
  std::string_view value;
  while (members.next(key, value)) {
    if (bdd::model::string_equals(key, "events")) {
      events = value;
    } else if (bdd::model::string_equals(key, "total")) {
      total = value;
    }
  }
  if (events.empty() || events[0] != '[') {
    return failure("HTTP 200 with no \"events\" array in the body");
  }
  Page page;
  page.offset = offset;
  page.bytes = body.size();
  if (!total.empty() && total != "null") {
    std::uint64_t number = 0;
    const char* last = total.data() + total.size();
    const auto [end, error] = std::from_chars(total.data(), last, number);
    if (error != std::errc() || end != last) {
      return failure("HTTP 200 with a \"total\" that is not a non-negative integer: "
                     + bdd::api::sanitise_server_text(total, "", 40));
    }
    page.total = number;
  }
  bdd::model::CompactReader elements(events);
  for (std::size_t i = 0; elements.next(key, value); ++i) {
    page.events.push_back(value[0] != '{' ? bdd::model::unusable_event(value, "not a JSON object")
                                          : bdd::model::normalise_compact(std::string(value)));
  }
  return page;
}

void check_same_result(const std::variant<Page, Failure>& got,
                       const std::variant<Page, Failure>& expected) {
  REQUIRE(got.index() == expected.index());
  if (const auto* failure = std::get_if<Failure>(&expected)) {
    const auto& got_failure = std::get<Failure>(got);
    CHECK(got_failure.code == failure->code);
    CHECK(got_failure.retryable == failure->retryable);
    CHECK(got_failure.what == failure->what);
    return;
  }
  const auto& page = std::get<Page>(expected);
  const auto& got_page = std::get<Page>(got);
  CHECK(got_page.offset == page.offset);
  CHECK(got_page.total == page.total);
  CHECK(got_page.bytes == page.bytes);
  REQUIRE(got_page.events.size() == page.events.size());
  for (std::size_t i = 0; i < page.events.size(); ++i) {
    const auto& a = got_page.events[i];
    const auto& b = page.events[i];
    CHECK(a.raw == b.raw);
    CHECK(a.id == b.id);
    CHECK(a.user_id == b.user_id);
    CHECK(a.event_type == b.event_type);
    CHECK(a.element_id == b.element_id);
    CHECK(a.timestamp == b.timestamp);
    CHECK(a.stored_timestamp == b.stored_timestamp);
    CHECK(a.page_url == b.page_url);
    CHECK(a.unusable == b.unusable);
  }
}

// Random JSON text with random insignificant whitespace, shaped like pages (events with the
// members normalisation looks at, nested containers, strings full of brackets and escapes), with
// now and then a repeated key, an event that is not an object or a `total` that is not a count.
class BodyMaker {
public:
  explicit BodyMaker(unsigned seed) : m_rng(seed) {}

  std::string page() {
    std::string out = space() + "{";
    const int count = pick(5);
    for (int i = 0; i < count; ++i) {
      out += i > 0 ? "," : "";
      switch (pick(5)) {
      case 0:
      case 1:
        out += member("events", events());
        break;
      case 2:
        out += member(
            "total", pick(4) == 0 ? value(1) : (pick(6) == 0 ? "null" : std::to_string(pick(999))));
        break;
      case 3:
        out += member("\\u0065vents", events()); // an escaped "events" is still "events"
        break;
      default:
        out += member("next", value(2));
      }
    }
    return out + space() + "}" + space();
  }

private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(m_rng); }

  std::string space() {
    static const std::array<const char*, 6> spaces = {"", "", "", " ", "\n  ", "\t\r\n"};
    return spaces[static_cast<std::size_t>(pick(6))];
  }

  std::string member(std::string_view key, const std::string& member_value) {
    return space() + "\"" + std::string(key) + "\"" + space() + ":" + space() + member_value
           + space();
  }

  std::string events() {
    std::string out = "[" + space();
    const int count = pick(6);
    for (int i = 0; i < count; ++i) {
      out += i > 0 ? "," + space() : "";
      out += pick(15) == 0 ? value(1) : event();
    }
    return out + space() + "]";
  }

  std::string event() {
    static const std::array<const char*, 10> keys = {"id",
                                                     "userId",
                                                     "types",
                                                     "timestamp",
                                                     "base",
                                                     "object",
                                                     "index",
                                                     "page_url",
                                                     "x",
                                                     "i\\u0064"};
    std::string out = "{";
    const int count = pick(7);
    for (int i = 0; i < count; ++i) {
      out += i > 0 ? "," : "";
      out += member(keys[static_cast<std::size_t>(pick(10))], value(pick(3)));
    }
    return out + "}";
  }

  std::string value(int depth) {
    static const std::array<const char*, 8> strings = {
        R"("a")",
        R"("]},[{")",
        R"("\"]")",
        R"("\\")",
        R"("x\\\"}")",
        R"("\u005b\n")",
        R"("")",
        "\"caf\xC3\xA9 long enough to be read 8 bytes at a time\""};
    switch (depth > 0 ? pick(7) : pick(5)) {
    case 0:
      return strings[static_cast<std::size_t>(pick(8))];
    case 1:
      return std::to_string(pick(100) - 50) + (pick(2) == 0 ? ".25e1" : "");
    case 2:
      return pick(2) == 0 ? "true" : "null";
    case 3:
    case 4:
      return strings[static_cast<std::size_t>(pick(8))];
    case 5: {
      std::string out = "[" + space();
      for (int i = 0, n = pick(4); i < n; ++i) {
        out += (i > 0 ? "," : "") + value(depth - 1) + space();
      }
      return out + "]";
    }
    default: {
      std::string out = "{" + space();
      for (int i = 0, n = pick(4); i < n; ++i) {
        out += (i > 0 ? "," : "") + member(pick(2) == 0 ? "k" : "types", value(depth - 1));
      }
      return out + "}";
    }
    }
  }

  std::mt19937 m_rng;
};

} // namespace

TEST_CASE("api::parse_page_body reads pages however they are spelled", "[api]") {
  SECTION("a pretty-printed page") {
    const std::string body =
        "{\n  \"total\" : 7 ,\n  \"events\" : [\n    {\n      \"id\" : \"a\",\n      \"userId\" : "
        "\"P-1\"\n    } ,\n    { \"id\":\"b\", \"x\" : [ 1 , { } ] }\n  ]\n}\n";
    auto r = parse_page_body(body, 4);
    REQUIRE(std::holds_alternative<Page>(r));
    const auto& page = std::get<Page>(r);
    CHECK(page.offset == 4);
    CHECK(page.total == 7U);
    CHECK(page.bytes == body.size());
    REQUIRE(page.events.size() == 2);
    CHECK(page.events[0].raw == R"({"id":"a","userId":"P-1"})");
    CHECK(page.events[0].user_id == "P-1");
    CHECK(page.events[1].raw == R"({"id":"b","x":[1,{}]})");
  }
  SECTION("a repeated key keeps its last value") {
    auto r = parse_page_body(
        R"({"events":[{"id":"first"}],"total":1,"events":[{"id":"a"},{"id":"b"}],"total":2})", 0);
    REQUIRE(std::holds_alternative<Page>(r));
    const auto& page = std::get<Page>(r);
    CHECK(page.total == 2U);
    REQUIRE(page.events.size() == 2);
    CHECK(page.events[0].id == "a");
    CHECK(page.events[1].id == "b");

    r = parse_page_body(R"({"events":[{"id":"a"}],"events":null})", 0);
    REQUIRE(std::holds_alternative<Failure>(r));
    CHECK(std::get<Failure>(r).what == "HTTP 200 with no \"events\" array in the body");
  }
  SECTION("an empty events array is an empty page") {
    auto r = parse_page_body(R"({"total":0,"events":[ ]})", 0);
    REQUIRE(std::holds_alternative<Page>(r));
    CHECK(std::get<Page>(r).events.empty());
    CHECK(std::get<Page>(r).total == 0U);
  }
  SECTION("unusable bodies say why") {
    for (const auto& [body, what] : std::vector<std::pair<std::string, std::string>>{
             {"", "HTTP 200 with an empty body"},
             {R"({"events":[)", "HTTP 200 with a body that is not valid JSON"},
             {R"([{"events":[]}])", "HTTP 200 with a body that is not a JSON object"},
             {R"("{}")", "HTTP 200 with a body that is not a JSON object"},
             {R"({"total":1})", "HTTP 200 with no \"events\" array in the body"},
             {R"({"events":{"0":{}}})", "HTTP 200 with no \"events\" array in the body"},
             {R"({"page":{"events":[]}})", "HTTP 200 with no \"events\" array in the body"},
             {R"({"events":[],"total":"3"})",
              "HTTP 200 with a \"total\" that is not a non-negative integer: \"3\""}}) {
      INFO(body);
      auto r = parse_page_body(body, 0);
      REQUIRE(std::holds_alternative<Failure>(r));
      CHECK(std::get<Failure>(r).code == Errc::protocol);
      CHECK(std::get<Failure>(r).retryable);
      CHECK(std::get<Failure>(r).what == what);
    }
  }
}

TEST_CASE("api::parse_page_body finds the events that walking the compact text finds", "[api]") {
  BodyMaker maker(20250101);
  std::size_t pages = 0;
  std::size_t events = 0;
  std::size_t repeated_events_key = 0;
  std::size_t not_an_object = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string body = maker.page();
    INFO(body);
    REQUIRE(nlohmann::json::accept(body));
    const auto expected = parse_with_compact_reader(body, 9);
    check_same_result(parse_page_body(body, 9), expected);
    if (const auto* page = std::get_if<Page>(&expected)) {
      ++pages;
      events += page->events.size();
      for (const auto& event : page->events) {
        not_an_object += event.unusable == "not a JSON object" ? 1 : 0;
      }
    }
    const auto count = [&body](std::string_view text) {
      std::size_t n = 0;
      for (auto at = body.find(text); at != std::string::npos; at = body.find(text, at + 1)) {
        ++n;
      }
      return n;
    };
    repeated_events_key += count("\"events\"") + count("\"\\u0065vents\"") > 1 ? 1 : 0;
  }
  // The generator must exercise what the outline has to get right, mostly with pages.
  CHECK(pages > 500);
  CHECK(events > 1000);
  CHECK(repeated_events_key > 100);
  CHECK(not_an_object > 50);
}
