#include <bdd/api/client.hpp>
#include <bdd/api/retry.hpp>
#include <bdd/api/transport.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

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

namespace {

using Answer = std::variant<HttpResponse, Failure>;

// Plays `script` one answer per request (the last one again once it runs out) and counts them.
class ScriptedTransport final : public Transport {
public:
  ScriptedTransport(std::vector<Answer> script, std::shared_ptr<int> requests)
      : m_script(std::move(script)),
        m_requests(std::move(requests)) {}
  Answer get(const std::string&) override {
    const std::size_t index =
        std::min<std::size_t>(static_cast<std::size_t>(*m_requests), m_script.size() - 1);
    ++*m_requests;
    return m_script[index];
  }
  void cancel() override {}

private:
  std::vector<Answer> m_script;
  std::shared_ptr<int> m_requests;
};

HttpResponse
answer(long status, std::string body = {}, std::optional<std::string> retry_after = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.retry_after = std::move(retry_after);
  return response;
}

const std::string k_page = R"({"total": 1, "events": [{"id": "a"}]})";

ClientOptions scripted_options() {
  ClientOptions options;
  options.base_url = "http://user:password@127.0.0.1:9";
  options.api_key = "SECRET-KEY-123";
  options.study = "demo";
  options.max_retries = 3;
  options.retry_delay = milliseconds{10};
  return options;
}

} // namespace

TEST_CASE("api::Client reports a 2xx other than 200 as what the server sent", "[api]") {
  auto requests = std::make_shared<int>(0);
  ClientOptions options = scripted_options();
  options.max_retries = 1;
  options.retry_delay = milliseconds{0};
  auto client = make_client(
      std::make_unique<ScriptedTransport>(std::vector<Answer>{answer(204)}, requests), options);
  auto page = client->fetch_page(0, 10);
  REQUIRE_FALSE(page);
  CHECK(page.error().code == Errc::protocol);
  CHECK(page.error().message
        == "GET http://127.0.0.1:9/v1/studies/demo/events?offset=0&limit=10: HTTP 204 No Content "
           "instead of 200 with a page of events after 2 attempts");
  CHECK(*requests == 2);
}

TEST_CASE("api::WaitBudget grants waits until their sum would pass the limit", "[api]") {
  WaitBudget budget(milliseconds{1'000});
  CHECK(budget.take(milliseconds{600}));
  CHECK_FALSE(budget.take(milliseconds{600}));
  CHECK(budget.taken() == milliseconds{600});
  CHECK(budget.take(milliseconds{400}));
  CHECK(budget.take(milliseconds{0}));
  CHECK_FALSE(budget.take(milliseconds{1}));
  CHECK(budget.taken() == budget.limit());
}

TEST_CASE("api::Client announces each retry, counts its wait and shares the run's budget",
          "[api]") {
  ClientOptions options = scripted_options();
  // One wait of 1 s fits; the second client's, of 1 s again, does not.
  options.wait_budget = std::make_shared<WaitBudget>(milliseconds{1'500});
  std::vector<RetryNotice> notices;
  options.on_retry = [&notices](const RetryNotice& notice) { notices.push_back(notice); };
  const std::vector<Answer> script = {answer(429, R"({"detail": "slow down"})", "1"),
                                      answer(200, k_page)};

  auto first_requests = std::make_shared<int>(0);
  auto first = make_client(std::make_unique<ScriptedTransport>(script, first_requests), options);
  const auto start = std::chrono::steady_clock::now();
  auto page = first->fetch_page(0, 10);
  REQUIRE(page);
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds{1'000});
  CHECK(page->attempts == 2);
  CHECK(page->waited == milliseconds{1'000});
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].reason == "HTTP 429 Too Many Requests");
  CHECK(notices[0].delay == milliseconds{1'000});
  CHECK(notices[0].server_asked);
  CHECK(notices[0].retry == 1);
  CHECK(notices[0].max_retries == 3);
  CHECK(notices[0].shown_url == "http://127.0.0.1:9/v1/studies/demo/events?offset=0&limit=10");

  auto second_requests = std::make_shared<int>(0);
  auto second = make_client(std::make_unique<ScriptedTransport>(script, second_requests), options);
  const auto second_start = std::chrono::steady_clock::now();
  auto refused = second->fetch_page(10, 10);
  REQUIRE_FALSE(refused);
  // Given up at once, without waiting and without a second request.
  CHECK(std::chrono::steady_clock::now() - second_start < milliseconds{500});
  CHECK(*second_requests == 1);
  CHECK(refused.error().code == Errc::network);
  CHECK(refused.error().message
        == "GET http://127.0.0.1:9/v1/studies/demo/events?offset=10&limit=10: HTTP 429 Too Many "
           "Requests: \"slow down\" (bdd stopped retrying: waiting 1 s more would take this "
           "run's retry waits past 1.5 s (api.max_total_wait_seconds))");
  CHECK(notices.size() == 1);
}

TEST_CASE("api::Client caps a server's Retry-After at 10 minutes", "[api]") {
  ClientOptions options = scripted_options();
  // An empty budget: the capped wait is announced by the refusal, and nothing is waited.
  options.wait_budget = std::make_shared<WaitBudget>(milliseconds{0});
  auto requests = std::make_shared<int>(0);
  auto client = make_client(
      std::make_unique<ScriptedTransport>(std::vector<Answer>{answer(429, {}, "86400")}, requests),
      options);
  auto page = client->fetch_page(0, 1);
  REQUIRE_FALSE(page);
  CHECK(page.error().message.find("waiting 600 s more") != std::string::npos);
  CHECK(k_max_retry_after == milliseconds{600'000});
}
