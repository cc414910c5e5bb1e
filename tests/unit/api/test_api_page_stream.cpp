// PageStream, first with in-process fake clients (many random server shapes, fast), then with
// the libcurl client against a real HTTP server on 127.0.0.1.

#include "test_server.hpp"

#include <bdd/api/client.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

using bdd::Errc;
using bdd::api::Client;
using bdd::api::Page;
using bdd::api::PageStream;
using bdd::api::StreamOptions;
using bdd::test::Fault;
using bdd::test::TestServer;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The server side of the fake clients: shared by all of them.
struct FakeApi {
  std::mutex mutex;
  std::uint64_t count = 0;
  std::optional<std::uint64_t> cap;
  bool send_total = true;
  std::optional<std::uint64_t> fixed_total; // sent instead of the real count
  bool ignore_offset = false;               // every page starts at event 0
  std::uint64_t growth_per_request = 0;
  std::uint64_t growth_left = 0;
  // position -> error returned (every time) by a request that would return that event
  std::map<std::uint64_t, bdd::Error> errors;
  std::optional<std::uint64_t> empty_at; // offset answered with an empty page
  bool empty_once = false;               // ... only the first time it is asked for
  int max_delay_us = 0;
  std::mt19937 rng{1};
  int requests = 0;
  std::vector<std::uint64_t> offsets; // requested, in order
  int in_flight = 0;
  int max_in_flight = 0;
};

class FakeClient final : public Client {
public:
  explicit FakeClient(FakeApi& api) : m_api(api) {}

  bdd::Result<Page> fetch_page(std::uint64_t offset, std::uint64_t limit) override {
    int delay_us = 0;
    {
      const std::lock_guard lock(m_api.mutex);
      ++m_api.requests;
      m_api.offsets.push_back(offset);
      m_api.max_in_flight = std::max(m_api.max_in_flight, ++m_api.in_flight);
      if (m_api.max_delay_us > 0) {
        delay_us = std::uniform_int_distribution<int>(0, m_api.max_delay_us)(m_api.rng);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds{delay_us});
    const std::lock_guard lock(m_api.mutex);
    --m_api.in_flight;
    for (const auto& [position, error] : m_api.errors) {
      if (offset <= position && position < offset + limit) {
        return error;
      }
    }
    Page page;
    page.offset = offset;
    page.bytes = 1;
    if (m_api.send_total) {
      page.total = m_api.fixed_total.value_or(m_api.count);
    }
    if (m_api.ignore_offset) {
      offset = 0;
    }
    const std::uint64_t n = m_api.cap ? std::min(limit, *m_api.cap) : limit;
    const bool empty = m_api.empty_at == offset;
    if (empty && m_api.empty_once) {
      m_api.empty_at.reset();
    }
    for (std::uint64_t i = offset; i < std::min(m_api.count, offset + n) && !empty; ++i) {
      bdd::model::Event event;
      event.id = "e" + std::to_string(i);
      page.events.push_back(std::move(event));
    }
    const std::uint64_t grow = std::min(m_api.growth_per_request, m_api.growth_left);
    m_api.count += grow;
    m_api.growth_left -= grow;
    return page;
  }

private:
  FakeApi& m_api;
};

// Everything the stream hands out, checked for contiguity on the way.
struct Drained {
  std::vector<std::string> ids;
  int pages = 0;
  std::optional<bdd::Error> error;
};

Drained
drain(PageStream& stream, std::uint64_t start_offset, milliseconds pause = milliseconds{0}) {
  Drained out;
  std::uint64_t expected = start_offset;
  while (true) {
    auto next = stream.next();
    if (!next) {
      out.error = next.error();
      return out;
    }
    if (!*next) {
      return out;
    }
    const Page& page = **next;
    REQUIRE(page.offset == expected);
    REQUIRE_FALSE(page.events.empty());
    expected += page.events.size();
    ++out.pages;
    for (const auto& event : page.events) {
      out.ids.push_back(event.id);
    }
    if (pause.count() > 0) {
      std::this_thread::sleep_for(pause);
    }
  }
}

std::vector<std::string> ids_from(std::uint64_t begin, std::uint64_t end) {
  std::vector<std::string> ids;
  for (std::uint64_t i = begin; i < end; ++i) {
    ids.push_back("e" + std::to_string(i));
  }
  return ids;
}

std::unique_ptr<PageStream> fake_stream(FakeApi& api, const StreamOptions& options) {
  return bdd::api::make_page_stream(options, [&api] { return std::make_unique<FakeClient>(api); });
}

bdd::api::ClientOptions client_options(const TestServer& server) {
  bdd::api::ClientOptions options;
  options.base_url = server.base_url();
  options.api_key = TestServer::k_key;
  options.study = TestServer::k_study;
  options.timeout = milliseconds{5'000};
  options.max_retries = 2;
  options.retry_delay = milliseconds{1};
  return options;
}

std::unique_ptr<PageStream> curl_stream(const bdd::api::ClientOptions& client,
                                        const StreamOptions& options) {
  return bdd::api::make_page_stream(options, [client] { return bdd::api::make_client(client); });
}

} // namespace

TEST_CASE("api::PageStream hands out every event once, in order, for any server shape",
          "[api][concurrency]") {
  std::mt19937 rng(20251118);
  const auto pick = [&rng](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(rng);
  };
  for (int round = 0; round < 300; ++round) {
    FakeApi api;
    api.count = static_cast<std::uint64_t>(pick(0, 120));
    api.send_total = pick(0, 3) != 0;
    if (pick(0, 1) == 1) {
      api.cap = static_cast<std::uint64_t>(pick(1, 12));
    }
    if (api.send_total && pick(0, 3) == 0) {
      api.growth_per_request = static_cast<std::uint64_t>(pick(1, 4));
      api.growth_left = static_cast<std::uint64_t>(pick(0, 40));
    }
    api.max_delay_us = pick(0, 300);
    api.rng.seed(static_cast<unsigned>(round));
    StreamOptions options;
    options.page_size = static_cast<std::uint64_t>(pick(1, 15));
    options.concurrency = pick(1, 8);
    options.start_offset = static_cast<std::uint64_t>(pick(0, static_cast<int>(api.count) + 2));
    if (pick(0, 4) == 0) {
      options.start_offset = 0;
    }
    INFO("round " << round << ": count " << api.count << ", total " << api.send_total << ", cap "
                  << api.cap.value_or(0) << ", growth " << api.growth_left << ", page_size "
                  << options.page_size << ", concurrency " << options.concurrency << ", start "
                  << options.start_offset);

    auto stream = fake_stream(api, options);
    const Drained out = drain(*stream, options.start_offset);
    REQUIRE_FALSE(out.error);
    CHECK_FALSE(stream->ended_before_total());
    const auto latest_total = stream->latest_total();
    stream.reset(); // no request in flight any more
    const std::lock_guard lock(api.mutex);
    std::uint64_t end = api.count;
    if (api.growth_per_request > 0) {
      // The stream follows growth at least up to the last total it saw, and hands out every
      // event a response brought (a response built later may hold more than that total).
      REQUIRE(latest_total);
      end = std::clamp<std::uint64_t>(
          out.ids.size() + options.start_offset, *latest_total, api.count);
    }
    CHECK(out.ids == ids_from(std::min(options.start_offset, end), end));
    CHECK(api.max_in_flight <= options.concurrency);
  }
}

TEST_CASE("api::PageStream keeps memory and requests bounded for a slow consumer",
          "[api][concurrency]") {
  FakeApi api;
  api.count = 200;
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 4;
  auto stream = fake_stream(api, options);
  const Drained out = drain(*stream, 0, milliseconds{2});
  CHECK(out.ids == ids_from(0, 200));
  const std::lock_guard lock(api.mutex);
  CHECK(api.requests <= 20 + 4);
}

TEST_CASE("api::PageStream ends on an empty page before total and says so", "[api]") {
  FakeApi api;
  api.count = 50;
  api.empty_at = 20;
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 1;
  auto stream = fake_stream(api, options);
  const Drained out = drain(*stream, 0);
  REQUIRE_FALSE(out.error);
  // The request for position 21 starts at 20 (re-reading event 20, the seam): it found nothing.
  CHECK(out.ids == ids_from(0, 21));
  CHECK(stream->ended_before_total());
  CHECK(stream->latest_total() == 50U);
}

TEST_CASE("api::PageStream asks again when a prefetched page came back empty", "[api]") {
  // A server that briefly answers 20 with nothing: the stream only ends on an empty page
  // requested for the offset it needs, so the prefetched empty page is not the end.
  FakeApi api;
  api.count = 50;
  api.empty_at = 20;
  api.empty_once = true;
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 1;
  auto stream = fake_stream(api, options);
  const Drained out = drain(*stream, 0, milliseconds{30});
  REQUIRE_FALSE(out.error);
  CHECK(out.ids == ids_from(0, 50));
  CHECK_FALSE(stream->ended_before_total());
  const std::lock_guard lock(api.mutex);
  CHECK(std::count(api.offsets.begin(), api.offsets.end(), 20U) == 2);
}

TEST_CASE("api::PageStream ends with the first error", "[api]") {
  FakeApi api;
  api.count = 100;
  api.errors.emplace(40, bdd::Error(Errc::auth, "GET x: HTTP 401 Unauthorized"));
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 3;
  auto stream = fake_stream(api, options);
  const Drained out = drain(*stream, 0);
  REQUIRE(out.error);
  CHECK(out.error->code == Errc::auth);
  CHECK(out.error->message == "GET x: HTTP 401 Unauthorized");
  // Whatever came before the failure was contiguous (drain checked it) and nothing past it.
  CHECK(out.ids.size() <= 40);
  auto again = stream->next();
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Errc::auth);
}

TEST_CASE("api::PageStream reads every event from a real server", "[api][concurrency]") {
  const auto [count, page_size] = GENERATE(
      table<std::uint64_t, std::uint64_t>({{100, 10}, {103, 10}, {7, 10}, {0, 10}, {250, 1000}}));
  const int concurrency = GENERATE(1, 3, 8);
  INFO(count << " events, page_size " << page_size << ", concurrency " << concurrency);
  TestServer server(count);
  StreamOptions options;
  options.page_size = page_size;
  options.concurrency = concurrency;
  auto stream = curl_stream(client_options(server), options);
  const Drained out = drain(*stream, 0);
  REQUIRE_FALSE(out.error);
  CHECK(out.ids == ids_from(0, count));
  CHECK_FALSE(stream->ended_before_total());
  for (const auto& request : server.requests()) {
    CHECK(request.limit == page_size + 1); // one more, for the seam
  }
}

TEST_CASE("api::PageStream loses nothing when the server caps limit", "[api][concurrency]") {
  TestServer server(100);
  server.set_limit_cap(7);
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 4;
  auto stream = curl_stream(client_options(server), options);
  const Drained out = drain(*stream, 0);
  REQUIRE_FALSE(out.error);
  CHECK(out.ids == ids_from(0, 100));
  CHECK(server.request_count() < 40);
}

TEST_CASE("api::PageStream starts at start_offset", "[api]") {
  TestServer server(45);
  StreamOptions options;
  options.start_offset = 17;
  options.page_size = 10;
  options.concurrency = 3;
  auto stream = curl_stream(client_options(server), options);
  const Drained out = drain(*stream, 17);
  CHECK(out.ids == ids_from(17, 45));
}

TEST_CASE("api::PageStream follows events appended while it pages", "[api][concurrency]") {
  TestServer server(30);
  server.set_growth(3, 30);
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 3;
  auto stream = curl_stream(client_options(server), options);
  const Drained out = drain(*stream, 0);
  REQUIRE_FALSE(out.error);
  REQUIRE(stream->latest_total());
  CHECK(*stream->latest_total() > 30);
  CHECK(out.ids == ids_from(0, *stream->latest_total()));
}

TEST_CASE("api::PageStream without totals ends on an empty page", "[api]") {
  TestServer server(25);
  server.set_send_total(false);
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 3;
  auto stream = curl_stream(client_options(server), options);
  const Drained out = drain(*stream, 0);
  REQUIRE_FALSE(out.error);
  CHECK(out.ids == ids_from(0, 25));
  CHECK(stream->latest_total() == std::nullopt);
  CHECK(server.request_count() <= 3 + 5);
}

TEST_CASE("api::PageStream retries a failed page and goes on", "[api]") {
  TestServer server(60);
  server.push_fault(Fault::http(503));
  server.push_fault(Fault::invalid_json());
  server.push_fault(Fault::truncated());
  auto client = client_options(server);
  client.max_retries = 3; // the first request may meet all three faults
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 3;
  auto stream = curl_stream(client, options);
  const Drained out = drain(*stream, 0);
  INFO((out.error ? out.error->message : ""));
  REQUIRE_FALSE(out.error);
  CHECK(out.ids == ids_from(0, 60));
}

TEST_CASE("api::PageStream fails at once on 401", "[api]") {
  TestServer server(60);
  auto client = client_options(server);
  client.api_key = "WRONG-KEY";
  StreamOptions options;
  options.concurrency = 4;
  auto stream = curl_stream(client, options);
  auto next = stream->next();
  REQUIRE_FALSE(next);
  CHECK(next.error().code == Errc::auth);
  CHECK(server.request_count() == 1);
}

TEST_CASE("api::PageStream reports retries that ran out", "[api]") {
  TestServer server(60);
  server.push_fault(Fault::delayed(milliseconds{0})); // the first page succeeds
  server.set_always(Fault::http(503, R"({"detail": "key SECRET-KEY-123 throttled"})"));
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 3;
  auto stream = curl_stream(client_options(server), options);
  const Drained out = drain(*stream, 0);
  REQUIRE(out.error);
  CHECK(out.error->code == Errc::network);
  CHECK(out.error->message.find(
            "HTTP 503 Service Unavailable: \"key [redacted] throttled\" after 3 attempts")
        != std::string::npos);
  CHECK(out.ids.size() <= 11);
}

TEST_CASE("api::PageStream stops promptly", "[api]") {
  TestServer server(100);
  server.push_fault(Fault::delayed(milliseconds{0})); // the first page succeeds
  // Stopping promptly means far below the 30 s a request takes (bounds stay over 2 s: shorter
  // ones flake on a loaded machine).
  server.set_always(Fault::delayed(milliseconds{30'000}));
  auto client = client_options(server);
  std::atomic<bool> stop{false};
  client.stop = &stop;
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 4;
  options.stop = &stop;

  SECTION("next() returns interrupted when the stop flag is set") {
    auto stream = curl_stream(client, options);
    REQUIRE(stream->next());
    std::thread stopper([&] {
      std::this_thread::sleep_for(milliseconds{100});
      stop = true;
    });
    const auto start = Clock::now();
    auto next = stream->next();
    stopper.join();
    REQUIRE_FALSE(next);
    CHECK(next.error().code == Errc::interrupted);
    stream.reset();
    CHECK(seconds_since(start) < 5.0);
  }
  SECTION("the destructor does not wait for requests in flight") {
    auto stream = curl_stream(client, options);
    REQUIRE(stream->next());
    std::this_thread::sleep_for(milliseconds{100});
    const auto start = Clock::now();
    stream.reset();
    CHECK(seconds_since(start) < 5.0);
  }
}

TEST_CASE("api::PageStream never drops events because of a total", "[api]") {
  // A server whose total says 0 (or too few) while its pages hold events: every event is handed
  // out, the end comes with an empty page, and the inconsistent total is reported.
  const std::uint64_t total = GENERATE(0U, 5U);
  FakeApi api;
  api.count = 37;
  api.fixed_total = total;
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 2;
  auto stream = fake_stream(api, options);
  const Drained out = drain(*stream, 0);
  REQUIRE_FALSE(out.error);
  CHECK(out.ids == ids_from(0, 37));
  CHECK(stream->inconsistent_total() == total);
}

TEST_CASE("api::PageStream stops a server that ignores offset", "[api]") {
  // Without a total such a server never sends an empty page: the stream must not ask forever.
  const bool send_total = GENERATE(false, true);
  FakeApi api;
  api.count = 1000;
  api.ignore_offset = true;
  api.send_total = send_total;
  StreamOptions options;
  options.page_size = 10;
  options.concurrency = 3;
  auto stream = fake_stream(api, options);
  const Drained out = drain(*stream, 0);
  REQUIRE(out.error);
  CHECK(out.error->code == Errc::protocol);
  CHECK(out.error->message.find("ignore `offset`") != std::string::npos);
  const std::lock_guard lock(api.mutex);
  CHECK(api.requests < 10);
}
