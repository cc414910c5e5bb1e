// The fake Behaverse API, tested the way bdd meets it: real HTTP on 127.0.0.1.

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <fake_api/fake_api.hpp>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using bdd::fake_api::FakeApi;
using bdd::fake_api::FaultKind;
using bdd::fake_api::Faults;
using bdd::fake_api::GeneratorOptions;
using bdd::fake_api::ServerOptions;
using bdd::fake_api::StudyOptions;
using nlohmann::json;

namespace {

// A running server with one study "s" (key "k") of `count` generated events, and a client.
struct Fixture {
  explicit Fixture(std::size_t count = 250, ServerOptions options = {}) : api(options) {
    api.add_study({"s", "k", false});
    GeneratorOptions generator;
    generator.count = count;
    generator.seed = 3;
    api.append_generated("s", generator);
    port = api.start();
    client = std::make_unique<httplib::Client>("127.0.0.1", port);
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
  }

  httplib::Result get(const std::string& target, const std::string& key = "k") {
    httplib::Headers headers;
    if (!key.empty()) {
      headers.emplace("Authorization", "Bearer " + key);
    }
    return client->Get(target, headers);
  }

  // A page that must succeed, parsed.
  json page(std::uint64_t offset, std::uint64_t limit) {
    auto result = get("/v1/studies/s/events?offset=" + std::to_string(offset)
                      + "&limit=" + std::to_string(limit));
    REQUIRE(result);
    REQUIRE(result->status == 200);
    return json::parse(result->body);
  }

  FakeApi api;
  int port = 0;
  std::unique_ptr<httplib::Client> client; // keep-alive, like a real downloader
};

// httplib::Client is bound to a port at construction; this makes one per call instead.
httplib::Result
get_from(int port, const std::string& target, const std::string& key, int timeout_seconds = 5) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(timeout_seconds);
  httplib::Headers headers;
  if (!key.empty()) {
    headers.emplace("Authorization", "Bearer " + key);
  }
  return client.Get(target, headers);
}

// Sends `target` as a raw HTTP/1.1 request with `Connection: close` and returns every byte that
// came back before the connection ended (cleanly or by reset).
std::string raw_get(int port, const std::string& target, const std::string& key) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  const timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request = "GET " + target
                              + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key
                              + "\r\nConnection: close\r\n\r\n";
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL)
          == static_cast<ssize_t>(request.size()));
  std::string received;
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) {
      break;
    }
    received.append(buffer.data(), static_cast<std::size_t>(n));
  }
  close(fd);
  return received;
}

// The id the spec derives for an event, or nullopt when only a content hash would do.
std::optional<std::string> derived_id(const json& event) {
  if (event.contains("id") && event["id"].is_string()) {
    return event["id"].get<std::string>();
  }
  if (event.contains("timestamp")) {
    return std::nullopt;
  }
  for (const char* holder : {"object", "base"}) {
    if (event.contains(holder) && event[holder].is_object()) {
      const json& inner = event[holder];
      if (inner.contains("userId") && inner.contains("index") && !inner["userId"].is_null()) {
        const std::string user = inner["userId"].is_string() ? inner["userId"].get<std::string>()
                                                             : inner["userId"].dump();
        return user + "_" + inner["index"].dump();
      }
    }
  }
  return std::nullopt;
}

std::vector<json> parse_all(const std::vector<std::string>& events) {
  std::vector<json> parsed;
  parsed.reserve(events.size());
  for (const auto& event : events) {
    parsed.push_back(json::parse(event)); // throws on invalid JSON or invalid UTF-8
  }
  return parsed;
}

} // namespace

TEST_CASE("fake_api::generate_events is deterministic and realistic", "[fake_api]") {
  GeneratorOptions options;
  options.count = 3000;
  options.seed = 7;
  const auto events = bdd::fake_api::generate_events(options);
  REQUIRE(events.size() == 3000);
  CHECK(events == bdd::fake_api::generate_events(options));
  options.seed = 8;
  CHECK(events != bdd::fake_api::generate_events(options));

  std::size_t game = 0;
  std::size_t bytes = 0;
  std::string previous_stored;
  std::set<std::string> users;
  for (const auto& event : parse_all(events)) {
    const std::string stored = event.at("stored");
    CHECK(stored.size() == 24);
    CHECK(stored.back() == 'Z');
    CHECK(stored >= previous_stored); // ISO-8601 strings sort as times
    previous_stored = stored;
    REQUIRE(event.at("types").is_array());
    if (event.contains("object")) {
      ++game;
      CHECK_FALSE(event.contains("id"));
      CHECK_FALSE(event.contains("timestamp"));
      CHECK(event["object"].contains("tsGenerated"));
      CHECK(event.contains("payload"));
      users.insert(event["object"]["userId"].get<std::string>());
    } else {
      const std::string id = event.at("id");
      CHECK(id.size() == 24);
      CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
      CHECK(event.contains("timestamp"));
      CHECK(event.contains("element_id"));
      CHECK(event.contains("page_url"));
      CHECK(event["base"].contains("index"));
      users.insert(event["base"]["userId"].get<std::string>());
    }
  }
  for (const auto& event : events) {
    bytes += event.size();
  }
  CHECK(game > 600);
  CHECK(game < 1200);
  CHECK(bytes / events.size() > 300);
  CHECK(bytes / events.size() < 1200);
  CHECK(users.size() > 250);
  CHECK(users.size() <= 300);
}

TEST_CASE("fake_api::generate_events numbers each user's events, skipping dropped indexes",
          "[fake_api]") {
  GeneratorOptions options;
  options.count = 2000;
  options.users = 4;
  options.per_user_index = true;
  options.drop = {{1, 5, 7}, {3, 2, 2}};
  const auto parsed = parse_all(bdd::fake_api::generate_events(options));
  REQUIRE(parsed.size() == 2000); // the count is kept: the counters skip, no event is left out
  std::map<std::string, std::vector<std::uint64_t>> indexes;
  std::set<std::string> ids;
  for (const auto& event : parsed) {
    const json& holder = event.contains("object") ? event["object"] : event["base"];
    indexes[holder["userId"].get<std::string>()].push_back(holder["index"].get<std::uint64_t>());
    ids.insert(event.contains("id") ? event["id"].get<std::string>()
                                    : holder["userId"].get<std::string>() + "_"
                                          + std::to_string(holder["index"].get<std::uint64_t>()));
  }
  CHECK(ids.size() == 2000);
  REQUIRE(indexes.size() == 4);
  for (const auto& [user, seen] : indexes) {
    INFO(user);
    std::vector<std::uint64_t> expected;
    for (std::uint64_t i = 1; expected.size() < seen.size(); ++i) {
      if (!(user == "P-0001" && i >= 5 && i <= 7) && !(user == "P-0003" && i == 2)) {
        expected.push_back(i);
      }
    }
    CHECK(seen == expected);
  }
}

TEST_CASE("fake_api::generate_events with nasty stays valid JSON", "[fake_api]") {
  GeneratorOptions options;
  options.count = 10000;
  options.nasty = true;
  options.nasty_rate = 0.3;
  const auto parsed = parse_all(bdd::fake_api::generate_events(options));
  std::size_t slash_user = 0;
  std::size_t null_types = 0;
  std::size_t no_types = 0;
  std::size_t empty_types = 0;
  std::size_t numeric_user = 0;
  std::size_t no_id = 0;
  std::size_t newline_text = 0;
  std::size_t numeric_element = 0;
  for (const auto& event : parsed) {
    const json* holder = event.contains("object") ? &event["object"] : &event["base"];
    if (holder->contains("userId")) {
      const json& user = (*holder)["userId"];
      slash_user += user.is_string() && user.get<std::string>().find('/') != std::string::npos;
      numeric_user += user.is_number();
    }
    null_types += event.contains("types") && event["types"].is_null();
    no_types += !event.contains("types");
    empty_types += event.contains("types") && event["types"].is_array() && event["types"].empty();
    no_id += !derived_id(event).has_value();
    newline_text += event.dump().find("\\n") != std::string::npos;
    numeric_element += event.contains("element_id") && event["element_id"].is_number();
  }
  CHECK(slash_user > 0);
  CHECK(null_types > 0);
  CHECK(no_types > 0);
  CHECK(empty_types > 0);
  CHECK(numeric_user > 0);
  CHECK(no_id > 0);
  CHECK(newline_text > 0);
  CHECK(numeric_element > 0);
  CHECK(no_id < parsed.size() / 10);
}

TEST_CASE("fake_api::FakeApi::append_generated keeps ids unique and stored ascending",
          "[fake_api]") {
  FakeApi api;
  api.add_study({"s", "k", false});
  GeneratorOptions options;
  options.count = 3000;
  options.nasty = true;
  const auto first = api.append_generated("s", options);
  options.count = 2000; // same seed on purpose: the sequence continues anyway
  const auto second = api.append_generated("s", options);
  options.count = 500;
  options.nasty = false;
  options.days = 0.01;
  const auto third = api.append_generated("s", options);

  auto all = first;
  all.insert(all.end(), second.begin(), second.end());
  all.insert(all.end(), third.begin(), third.end());
  CHECK(api.events("s") == all);
  CHECK(api.total("s") == 5500);

  std::set<std::string> ids;
  std::size_t identified = 0;
  std::string previous_stored;
  for (const auto& event : parse_all(all)) {
    if (const auto id = derived_id(event)) {
      ++identified;
      ids.insert(*id);
    }
    if (event.contains("stored")) {
      const std::string stored = event["stored"];
      CHECK(stored >= previous_stored);
      previous_stored = stored;
    }
  }
  CHECK(identified > 5000);
  CHECK(ids.size() == identified);
}

TEST_CASE("fake_api::FakeApi pages by offset and limit with total", "[fake_api]") {
  Fixture fixture(250);
  const auto stored = parse_all(fixture.api.events("s"));

  SECTION("full, short and empty pages") {
    const json first = fixture.page(0, 100);
    CHECK(first["events"].size() == 100);
    CHECK(first["total"] == 250);
    CHECK(first["offset"] == 0); // an extra key clients must ignore
    CHECK(first["events"][0] == stored[0]);
    CHECK(first["events"][99] == stored[99]);

    const json last = fixture.page(200, 100);
    CHECK(last["events"].size() == 50);
    CHECK(last["events"][49] == stored[249]);

    CHECK(fixture.page(250, 100)["events"].empty());
    const json past = fixture.page(100000, 10);
    CHECK(past["events"].empty());
    CHECK(past["total"] == 250);
  }
  SECTION("defaults: offset 0, limit 100") {
    auto result = fixture.get("/v1/studies/s/events");
    REQUIRE(result);
    const json body = json::parse(result->body);
    CHECK(body["events"].size() == 100);
    CHECK(body["events"][0] == stored[0]);
    CHECK(fixture.api.stats().last_limit == 100u);
    CHECK(fixture.api.stats().last_offset == 0u);
  }
  SECTION("limit is capped at max_limit") {
    fixture.api.set_max_limit(30);
    const json capped = fixture.page(10, 100);
    CHECK(capped["events"].size() == 30);
    CHECK(capped["total"] == 250);
    CHECK(capped["events"][0] == stored[10]);
    CHECK(fixture.api.stats().last_limit == 100u);
  }
  SECTION("total can be omitted") {
    fixture.api.set_omit_total(true);
    const json page = fixture.page(0, 10);
    CHECK(page["events"].size() == 10);
    CHECK_FALSE(page.contains("total"));
  }
  SECTION("requests are counted per study") {
    fixture.page(0, 1);
    fixture.page(1, 1);
    fixture.get("/v1/studies/other/events");
    CHECK(fixture.api.request_count() == 3);
    CHECK(fixture.api.request_count("s") == 2);
    CHECK(fixture.api.request_count("other") == 1);
    CHECK(fixture.api.stats().responses_by_status.at(200) == 2);
    CHECK(fixture.api.stats().events_served == 2);
  }
}

TEST_CASE("fake_api::FakeApi answers auth and parameter errors like the spec", "[fake_api]") {
  Fixture fixture(20);
  fixture.api.add_study({"a/b c", "k2", false});
  fixture.api.add_study({"strict", "k3", true});

  const auto check_error = [&](const std::string& target,
                               const std::string& key,
                               int status,
                               const std::string& detail) {
    auto result = fixture.get(target, key);
    REQUIRE(result);
    CHECK(result->status == status);
    CHECK(result->get_header_value("Content-Type") == "application/json");
    const json body = json::parse(result->body);
    CHECK(body["detail"] == detail);
    return result->body;
  };

  check_error("/v1/studies/s/events", "", 401, "Not authenticated");
  const auto wrong = check_error("/v1/studies/s/events", "sekrit-guess", 401, "Invalid API key");
  CHECK(wrong.find("sekrit-guess") == std::string::npos);
  check_error("/v1/studies/s/events", "k2", 401, "Invalid API key"); // another study's key
  check_error(
      "/v1/studies/strict/events", "nope", 403, "This API key does not give access to this study");
  check_error("/v1/studies/missing/events", "k", 404, "Study not found");
  check_error("/v1/studies/s/events?offset=-1", "k", 422, "offset must be a non-negative integer");
  check_error("/v1/studies/s/events?offset=abc", "k", 422, "offset must be a non-negative integer");
  check_error("/v1/studies/s/events?offset=", "k", 422, "offset must be a non-negative integer");
  check_error("/v1/studies/s/events?limit=0", "k", 422, "limit must be a positive integer");
  check_error("/v1/studies/s/events?limit=1.5", "k", 422, "limit must be a positive integer");
  check_error("/v1/studies/s/events?limit=99999999999999999999999",
              "k",
              422,
              "limit must be a positive integer");
  check_error("//v1/studies/s/events", "k", 404, "Not Found"); // a base_url with a trailing '/'
  check_error("/v1/studies/s/events/", "k", 404, "Not Found");

  auto encoded = fixture.get("/v1/studies/a%2Fb%20c/events", "k2");
  REQUIRE(encoded);
  CHECK(encoded->status == 200);
  CHECK(json::parse(encoded->body)["total"] == 0);
  CHECK(fixture.api.request_count("a/b c") == 1);
}

TEST_CASE("fake_api::FakeApi injects each fault kind observably", "[fake_api]") {
  Fixture fixture(50);
  const auto before = fixture.api.events("s");
  const std::string target = "/v1/studies/s/events?offset=0&limit=20";
  Faults faults;

  SECTION("HTTP errors, then back to normal") {
    faults.next_500 = 1;
    faults.next_502 = 1;
    faults.next_503 = 1;
    fixture.api.set_faults(faults);
    for (const int status : {500, 502, 503, 200}) {
      auto result = fixture.get(target);
      REQUIRE(result);
      CHECK(result->status == status);
      CHECK(json::parse(result->body).is_object());
    }
    CHECK(fixture.api.stats().fault_count(FaultKind::http_502) == 1);
    CHECK(fixture.api.stats().total_faults() == 3);
  }
  SECTION("429 with and without Retry-After") {
    faults.next_429 = 1;
    faults.retry_after_seconds = 3;
    fixture.api.set_faults(faults);
    auto limited = fixture.get(target);
    REQUIRE(limited);
    CHECK(limited->status == 429);
    CHECK(limited->get_header_value("Retry-After") == "3");

    faults.retry_after_seconds = -1;
    fixture.api.set_faults(faults);
    auto bare = fixture.get(target);
    REQUIRE(bare);
    CHECK(bare->status == 429);
    CHECK_FALSE(bare->has_header("Retry-After"));
  }
  SECTION("reset: not one byte of response") {
    faults.next_reset = 2;
    fixture.api.set_faults(faults);
    CHECK(raw_get(fixture.port, target, "k").empty());
    CHECK_FALSE(get_from(fixture.port, target, "k"));
    CHECK(fixture.api.stats().fault_count(FaultKind::reset) == 2);
  }
  SECTION("truncate: Content-Length promises more than is sent") {
    faults.next_truncate = 1;
    fixture.api.set_faults(faults);
    const std::string response = raw_get(fixture.port, target, "k");
    REQUIRE(response.starts_with("HTTP/1.1 200"));
    const auto header_end = response.find("\r\n\r\n");
    REQUIRE(header_end != std::string::npos);
    const auto length_at = response.find("Content-Length: ");
    REQUIRE(length_at != std::string::npos);
    const auto promised = std::stoul(response.substr(length_at + 16));
    const auto sent = response.size() - header_end - 4;
    CHECK(sent > 0);
    CHECK(sent < promised);

    faults.next_truncate = 1;
    fixture.api.set_faults(faults);
    CHECK_FALSE(get_from(fixture.port, target, "k"));
  }
  SECTION("invalid JSON: half a page, then an HTML page, both with 200") {
    faults.next_invalid_json = 2;
    fixture.api.set_faults(faults);
    auto cut = fixture.get(target);
    REQUIRE(cut);
    CHECK(cut->status == 200);
    CHECK(cut->body.starts_with("{\"events\":["));
    CHECK_FALSE(json::accept(cut->body));
    auto html = fixture.get(target);
    REQUIRE(html);
    CHECK(html->status == 200);
    CHECK(html->get_header_value("Content-Type") == "text/html");
    CHECK_FALSE(json::accept(html->body));
  }
  SECTION("slow responses and fixed latency") {
    faults.next_slow = 1;
    faults.slow_ms = 300;
    fixture.api.set_faults(faults);
    auto started = std::chrono::steady_clock::now();
    auto slow = fixture.get(target);
    REQUIRE(slow);
    CHECK(slow->status == 200);
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));

    Faults latency;
    latency.latency_ms = 150;
    fixture.api.set_faults(latency);
    started = std::chrono::steady_clock::now();
    REQUIRE(fixture.get(target));
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(150));
  }
  SECTION("faults strike only requests that deserved a page") {
    faults.next_500 = 1;
    fixture.api.set_faults(faults);
    auto unauthorised = fixture.get(target, "wrong");
    REQUIRE(unauthorised);
    CHECK(unauthorised->status == 401);
    auto faulted = fixture.get(target);
    REQUIRE(faulted);
    CHECK(faulted->status == 500);
  }
  CHECK(fixture.api.events("s") == before);
}

TEST_CASE("fake_api::FakeApi probabilistic faults are reproducible from the seed", "[fake_api]") {
  Fixture fixture(10);
  Faults faults;
  faults.p_500 = 0.3;
  faults.p_503 = 0.2;
  faults.p_429 = 0.1;
  faults.seed = 42;
  const auto run = [&] {
    fixture.api.set_faults(faults);
    std::vector<int> statuses;
    for (int i = 0; i < 40; ++i) {
      auto result = fixture.get("/v1/studies/s/events?limit=1");
      REQUIRE(result);
      statuses.push_back(result->status);
    }
    return statuses;
  };
  const auto first = run();
  CHECK(first == run());
  CHECK(std::count(first.begin(), first.end(), 200) > 5);
  CHECK(std::count(first.begin(), first.end(), 500) > 5);
  faults.seed = 43;
  CHECK(first != run());
}

TEST_CASE("fake_api::FakeApi mutations show up while it serves", "[fake_api]") {
  Fixture fixture(100);
  const auto original = fixture.api.events("s");

  SECTION("append grows total") {
    GeneratorOptions more;
    more.count = 10;
    const auto added = fixture.api.append_generated("s", more);
    const json page = fixture.page(100, 100);
    CHECK(page["total"] == 110);
    REQUIRE(page["events"].size() == 10);
    CHECK(page["events"][0] == json::parse(added[0]));
  }
  SECTION("remove shrinks total") {
    fixture.api.remove("s", 10, 20);
    const json page = fixture.page(10, 1);
    CHECK(page["total"] == 80);
    CHECK(page["events"][0] == json::parse(original[30]));
  }
  SECTION("insert and swap reorder") {
    fixture.api.insert("s", 0, {R"({"planted":true})"});
    CHECK(fixture.page(0, 1)["events"][0] == json{{"planted", true}});
    fixture.api.swap_ranges("s", 1, 2, 50, 3);
    const auto now = fixture.api.events("s");
    // After the insert, original[i] sits at i + 1; [1,3) and [50,53) trade places.
    CHECK(now[1] == original[49]);
    CHECK(now[3] == original[51]);
    CHECK(now[4] == original[2]);
    CHECK(now[51] == original[0]);
    CHECK(now[52] == original[1]);
    CHECK(now.size() == 101);
    CHECK_THROWS_AS(fixture.api.swap_ranges("s", 0, 10, 5, 10), std::out_of_range);
  }
  SECTION("pages stay consistent while another thread appends") {
    std::atomic<bool> done{false};
    std::thread writer([&] {
      GeneratorOptions batch;
      batch.count = 50;
      while (!done) {
        fixture.api.append_generated("s", batch);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    std::uint64_t previous_total = 0;
    for (int i = 0; i < 50; ++i) {
      const std::uint64_t offset = static_cast<std::uint64_t>(i) * 20;
      const json page = fixture.page(offset, 20);
      const std::uint64_t total = page["total"];
      // A page is a snapshot: full, or cut exactly at the total of that moment.
      CHECK(page["events"].size()
            == std::min<std::uint64_t>(20, total > offset ? total - offset : 0));
      CHECK(page["total"] >= previous_total);
      previous_total = page["total"];
    }
    done = true;
    writer.join();
    CHECK(previous_total > 100);
  }
}

TEST_CASE("fake_api::FakeApi control endpoints drive it over HTTP", "[fake_api]") {
  Fixture fixture(10);
  httplib::Client control("127.0.0.1", fixture.port);
  const auto post = [&](const std::string& target, const std::string& body = "") {
    auto result = control.Post(target, body, "application/json");
    REQUIRE(result);
    return std::make_pair(result->status, json::parse(result->body));
  };

  CHECK(post("/_control/append?study=s&count=5") == std::make_pair(200, json{{"total", 15}}));
  CHECK(post("/_control/append?study=s", R"([{"a":1},{"b":"x"}])").second["total"] == 17);
  CHECK(fixture.api.events("s").back() == R"({"b":"x"})");
  CHECK(post("/_control/remove?study=s&index=0&count=7").second["total"] == 10);
  CHECK(post("/_control/insert?study=s&index=0&count=2").second["total"] == 12);
  CHECK(post("/_control/swap?study=s&first=0&first_count=1&second=5&second_count=1").first == 200);
  CHECK(post("/_control/studies?name=new&key=nk&count=3").second["total"] == 3);
  CHECK(post("/_control/append?study=nope&count=1").first == 404);
  CHECK(post("/_control/remove?study=s&index=x&count=1").first == 400);
  CHECK(post("/_control/faults", R"({"p500": 1})").first == 400);

  const auto [status, faults] =
      post("/_control/faults", R"({"next_503": 1, "retry_after_seconds": 2})");
  CHECK(status == 200);
  CHECK(faults["next_503"] == 1);
  auto faulted = fixture.get("/v1/studies/s/events");
  REQUIRE(faulted);
  CHECK(faulted->status == 503);

  CHECK(post("/_control/options?max_limit=4&omit_total=1").second["max_limit"] == 4);
  const json page = fixture.page(0, 100);
  CHECK(page["events"].size() == 4);
  CHECK_FALSE(page.contains("total"));

  auto stats = control.Get("/_control/stats");
  REQUIRE(stats);
  const json counters = json::parse(stats->body);
  CHECK(counters["requests"] == 2);
  CHECK(counters["faults"]["http_503"] == 1);
  CHECK(counters["last_limit"] == 100);

  auto all = control.Get("/_control/events?study=new");
  REQUIRE(all);
  CHECK(json::parse(all->body)["events"].size() == 3);
}

TEST_CASE("fake_api::FakeApi::stop cuts an injected sleep short", "[fake_api]") {
  Fixture fixture(10);
  Faults faults;
  faults.next_slow = 1;
  faults.slow_ms = 30'000;
  fixture.api.set_faults(faults);
  std::thread client([port = fixture.port] { get_from(port, "/v1/studies/s/events", "k", 60); });
  while (fixture.api.faults().next_slow != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto started = std::chrono::steady_clock::now();
  fixture.api.stop();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(fixture.api.port() == 0);
  client.join();
}
