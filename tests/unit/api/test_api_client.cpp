// The libcurl client against a real HTTP server on 127.0.0.1 (tests/unit/api/test_server.hpp).

#include "test_server.hpp"

#include <bdd/api/client.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

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
    server.push_fault(Fault::delayed(milliseconds{1'500}));
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
  CHECK(seconds_since(start) < 1.0);
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
    server.set_always(Fault::delayed(milliseconds{5'000}));
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
    CHECK(seconds_since(start) < 0.6);
  }
  SECTION("during a transfer, by cancel()") {
    server.set_always(Fault::delayed(milliseconds{5'000}));
    std::thread canceller([&] {
      std::this_thread::sleep_for(milliseconds{100});
      client->cancel();
    });
    const auto start = Clock::now();
    auto page = client->fetch_page(0, 10);
    canceller.join();
    REQUIRE_FALSE(page);
    CHECK(page.error().code == Errc::interrupted);
    CHECK(seconds_since(start) < 0.6);
    CHECK_FALSE(client->fetch_page(0, 10)); // cancelled for good
  }
  SECTION("during a retry wait") {
    options.retry_delay = milliseconds{10'000};
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
    CHECK(seconds_since(start) < 0.6);
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
