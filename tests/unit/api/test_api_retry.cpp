#include <bdd/api/retry.hpp>
#include <bdd/api/transport.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace bdd::api;
using bdd::Errc;
using std::chrono::milliseconds;

TEST_CASE("api::parse_retry_after reads seconds and HTTP dates", "[api]") {
  const auto now = std::chrono::sys_days{std::chrono::year{2015} / 10 / 21} + std::chrono::hours{7};
  const milliseconds cap{600'000};
  CHECK(parse_retry_after("1", now, cap) == milliseconds{1000});
  CHECK(parse_retry_after(" 120 ", now, cap) == milliseconds{120'000});
  CHECK(parse_retry_after("0", now, cap) == milliseconds{0});
  CHECK(parse_retry_after("86400", now, cap) == cap);
  CHECK(parse_retry_after("99999999999999999999999", now, cap) == cap);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:05:00 GMT", now, cap) == milliseconds{5 * 60'000});
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now, cap) == cap);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 06:00:00 GMT", now, cap) == milliseconds{0});
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 UTC", now, cap) == std::nullopt);
  CHECK(parse_retry_after("-1", now, cap) == std::nullopt);
  CHECK(parse_retry_after("1.5", now, cap) == std::nullopt);
  CHECK(parse_retry_after("", now, cap) == std::nullopt);
  CHECK(parse_retry_after("soon", now, cap) == std::nullopt);
}

TEST_CASE("api::backoff_delay doubles with equal jitter up to the cap", "[api]") {
  std::mt19937_64 rng(42);
  RetryPolicy policy;
  policy.first_delay = milliseconds{100};
  for (int i = 0; i < 50; ++i) {
    const auto first = backoff_delay(policy, 1, rng);
    CHECK(first >= milliseconds{50});
    CHECK(first <= milliseconds{100});
    const auto third = backoff_delay(policy, 3, rng);
    CHECK(third >= milliseconds{200});
    CHECK(third <= milliseconds{400});
    const auto late = backoff_delay(policy, 40, rng);
    CHECK(late >= milliseconds{30'000});
    CHECK(late <= milliseconds{60'000});
  }
  policy.first_delay = milliseconds{0};
  CHECK(backoff_delay(policy, 5, rng) == milliseconds{0});
}

TEST_CASE("api::classify_status sorts statuses into errors", "[api]") {
  const RetryPolicy policy;
  const std::optional<std::string> none;
  const std::string key = "SECRET-KEY-123";

  SECTION("401 is an auth failure with the server's detail") {
    const auto f =
        classify_status(401, R"({"detail":"Not authenticated"})", none, none, key, policy);
    CHECK(f.code == Errc::auth);
    CHECK_FALSE(f.retryable);
    CHECK(f.what == "HTTP 401 Unauthorized");
    CHECK(f.detail == "Not authenticated");
    CHECK(f.hint == "the API key was rejected");
  }
  SECTION("the key is redacted from the detail and long details are cut") {
    const auto f = classify_status(403,
                                   R"({"detail":"key SECRET-KEY-123 revoked\n)"
                                       + std::string(300, 'x') + "\"}",
                                   none,
                                   none,
                                   key,
                                   policy);
    CHECK(f.code == Errc::auth);
    CHECK(f.detail.rfind("key [redacted] revoked x", 0) == 0);
    CHECK(f.detail.size() == 203);
    CHECK(f.detail.find('\n') == std::string::npos);
  }
  SECTION("a non-string detail is shown as compact JSON") {
    const auto f =
        classify_status(422, R"({"detail":[{"loc":["query","limit"]}]})", none, none, key, policy);
    CHECK(f.code == Errc::bad_request);
    CHECK(f.detail == R"([{"loc":["query","limit"]}])");
  }
  SECTION("404, 400 and other 4xx fail at once") {
    CHECK(classify_status(404, "", none, none, key, policy).code == Errc::not_found);
    CHECK(classify_status(400, "<html>", none, none, key, policy).code == Errc::bad_request);
    CHECK(classify_status(405, "", none, none, key, policy).code == Errc::bad_request);
    CHECK_FALSE(classify_status(410, "", none, none, key, policy).retryable);
  }
  SECTION("429, 408 and 5xx are retryable, with Retry-After") {
    const auto f = classify_status(429, "", std::string("7"), none, key, policy);
    CHECK(f.code == Errc::network);
    CHECK(f.retryable);
    CHECK(f.retry_after == milliseconds{7000});
    CHECK(classify_status(503, "", std::string("junk"), none, key, policy).retry_after
          == std::nullopt);
    CHECK(classify_status(500, "", none, none, key, policy).retryable);
    CHECK(classify_status(408, "", none, none, key, policy).retryable);
  }
  SECTION("a redirect is a configuration problem") {
    const auto f = classify_status(301, "", none, std::string("https://u:p@other/x"), key, policy);
    CHECK(f.code == Errc::config);
    CHECK_FALSE(f.retryable);
    CHECK(f.hint.find("https://other/x") != std::string::npos);
  }
}

TEST_CASE("api::to_error phrases one line", "[api]") {
  Failure f;
  f.code = Errc::network;
  f.retryable = true;
  f.what = "HTTP 503 Service Unavailable";
  CHECK(to_error(f, "https://h/x", 4, "k").message
        == "GET https://h/x: HTTP 503 Service Unavailable after 4 attempts");
  f.detail = "down";
  f.hint = "try later";
  const auto e = to_error(f, "https://h/x", 1, "k");
  CHECK(e.message
        == "GET https://h/x: HTTP 503 Service Unavailable: \"down\" after 1 attempt (try later)");
  CHECK(e.retryable);
  f.retryable = false;
  f.what = "SECRET at https://a:b@c/";
  CHECK(to_error(f, "u", 1, "SECRET").message
        == "GET u: [redacted] at https://c/: \"down\" (try later)");
}

TEST_CASE("api::parse_page_body accepts only usable pages", "[api]") {
  SECTION("a page with total and extra keys") {
    const std::string body = R"({"total": 5, "events": [{"id": "a"}, {"id": "b"}], "next": null})";
    auto r = parse_page_body(body, 3);
    REQUIRE(std::holds_alternative<Page>(r));
    const auto& page = std::get<Page>(r);
    CHECK(page.offset == 3);
    CHECK(page.total == 5U);
    CHECK(page.bytes == body.size());
    REQUIRE(page.events.size() == 2);
    CHECK(page.events[0].id == "a");
    CHECK(page.events[1].raw == R"({"id":"b"})");
  }
  SECTION("total absent or null") {
    auto r = parse_page_body(R"({"events": []})", 0);
    REQUIRE(std::holds_alternative<Page>(r));
    CHECK(std::get<Page>(r).total == std::nullopt);
    r = parse_page_body(R"({"events": [], "total": null})", 0);
    REQUIRE(std::holds_alternative<Page>(r));
    CHECK(std::get<Page>(r).total == std::nullopt);
  }
  SECTION("bad bodies are retryable protocol failures") {
    for (const char* body : {"",
                             "{\"events\": [",
                             "[]",
                             "{}",
                             R"({"events": {}})",
                             R"({"events": [], "total": -1})",
                             R"({"events": [], "total": 1.5})",
                             R"({"events": [], "total": "3"})"}) {
      INFO(body);
      auto r = parse_page_body(body, 0);
      REQUIRE(std::holds_alternative<Failure>(r));
      CHECK(std::get<Failure>(r).code == Errc::protocol);
      CHECK(std::get<Failure>(r).retryable);
    }
  }
}
