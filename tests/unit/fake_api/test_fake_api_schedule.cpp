// The fake API's scheduled mutations (FakeApi::schedule): the list changes at the request a test
// chose, before or after that answer or instead of it, over real HTTP on 127.0.0.1.

#include <catch2/catch.hpp>
#include <fake_api/fake_api.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using bdd::fake_api::FakeApi;
using bdd::fake_api::GeneratorOptions;
using bdd::fake_api::Mutation;
using bdd::fake_api::MutationKind;
using nlohmann::json;

namespace {

// A running server with study "s" (key "k") of `count` generated events, and a keep-alive client.
struct ScheduleFixture {
  explicit ScheduleFixture(std::size_t count = 50) {
    api.add_study({"s", "k", false});
    api.add_study({"other", "k", false});
    GeneratorOptions generator;
    generator.count = count;
    generator.seed = 5;
    api.append_generated("s", generator);
    api.append_generated("other", generator);
    port = api.start();
    client = std::make_unique<httplib::Client>("127.0.0.1", port);
    client->set_read_timeout(5);
  }

  httplib::Result get(const std::string& target) {
    return client->Get(target, httplib::Headers{{"Authorization", "Bearer k"}});
  }

  // A page request; returns its status and, for a 200, the events as their compact text.
  std::pair<int, std::vector<std::string>>
  page(std::uint64_t offset, std::uint64_t limit, const std::string& study = "s") {
    auto result = get("/v1/studies/" + study + "/events?offset=" + std::to_string(offset)
                      + "&limit=" + std::to_string(limit));
    REQUIRE(result);
    std::vector<std::string> events;
    if (result->status == 200) {
      const json body = json::parse(result->body); // alive for the whole loop
      for (const auto& event : body["events"]) {
        events.push_back(event.dump());
      }
    }
    return {result->status, events};
  }

  std::pair<int, json> post(const std::string& target, const std::string& body = "") {
    auto result = client->Post(target, body, "application/json");
    REQUIRE(result);
    return {result->status, json::parse(result->body)};
  }

  FakeApi api;
  int port = 0;
  std::unique_ptr<httplib::Client> client;
};

// The events as the server holds them, re-serialised the way `page()` returns them.
std::vector<std::string> compact(const std::vector<std::string>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) {
    out.push_back(json::parse(event).dump());
  }
  return out;
}

std::vector<std::string>
slice(const std::vector<std::string>& events, std::size_t first, std::size_t count) {
  return {events.begin() + static_cast<std::ptrdiff_t>(first),
          events.begin() + static_cast<std::ptrdiff_t>(first + count)};
}

} // namespace

TEST_CASE("fake_api::FakeApi::schedule applies a mutation right after the Nth request",
          "[fake_api][schedule]") {
  ScheduleFixture f;
  const auto original = compact(f.api.events("s"));
  f.page(0, 5); // requests before the schedule do not count
  f.api.schedule("s", 3, Mutation::insert(2, 2));
  REQUIRE(f.api.scheduled().size() == 1);
  CHECK(f.api.scheduled()[0].requests_left == 3);

  CHECK(f.page(0, 5).second == slice(original, 0, 5));
  f.page(0, 1, "other"); // another study's requests do not count
  CHECK(f.page(0, 5).second == slice(original, 0, 5));
  CHECK(f.api.scheduled()[0].requests_left == 1);
  // The 3rd request is still answered from the list as it was...
  CHECK(f.page(0, 5).second == slice(original, 0, 5));
  // ...and the 4th sees the two new events at position 2.
  const auto [status, now] = f.page(0, 5);
  CHECK(status == 200);
  CHECK(f.api.scheduled().empty());
  REQUIRE(f.api.applied_mutations().size() == 1);
  const auto applied = f.api.applied_mutations()[0];
  CHECK(applied.study == "s");
  CHECK(applied.after_requests == 3);
  CHECK(applied.total_after == 52);
  REQUIRE(applied.added.size() == 2);
  CHECK(now
        == std::vector<std::string>{original[0],
                                    original[1],
                                    compact(applied.added)[0],
                                    compact(applied.added)[1],
                                    original[2]});
  // Generated like append_generated: ids not seen before.
  for (const auto& event : applied.added) {
    CHECK(std::find(original.begin(), original.end(), json::parse(event).dump()) == original.end());
  }
  CHECK(f.api.total("other") == 50);
}

TEST_CASE("fake_api::FakeApi::schedule can apply before the answer", "[fake_api][schedule]") {
  ScheduleFixture f;
  const auto original = compact(f.api.events("s"));
  f.api.schedule("s", 1, Mutation::remove(0, 3).applied_before_answer());
  CHECK(f.page(0, 2).second == slice(original, 3, 2));
  CHECK(f.api.total("s") == 47);
  REQUIRE(f.api.applied_mutations().size() == 1);
  CHECK(compact(f.api.applied_mutations()[0].removed) == slice(original, 0, 3));
}

TEST_CASE("fake_api::FakeApi::schedule covers every kind of mutation", "[fake_api][schedule]") {
  ScheduleFixture f(20);
  const auto original = compact(f.api.events("s"));
  std::vector<std::string> expected;

  SECTION("remove") {
    f.api.schedule("s", 1, Mutation::remove(5, 3));
    expected = original;
    expected.erase(expected.begin() + 5, expected.begin() + 8);
  }
  SECTION("append") {
    f.api.schedule("s", 1, Mutation::append(4));
  }
  SECTION("remove_and_append keeps the total") {
    f.api.schedule("s", 1, Mutation::remove_and_append(7));
  }
  SECTION("reverse the whole list") {
    f.api.schedule("s", 1, Mutation::reverse());
    expected = original;
    std::reverse(expected.begin(), expected.end());
  }
  SECTION("reverse a range, clipped at the end") {
    f.api.schedule("s", 1, Mutation::reverse(15, 100));
    expected = original;
    std::reverse(expected.begin() + 15, expected.end());
  }
  SECTION("swap two ranges of different lengths") {
    f.api.schedule("s", 1, Mutation::swap(12, 3, 2, 1));
    // [2,3) and [12,15) trade places; what lies between shifts by 2.
    expected = slice(original, 0, 2);
    for (const auto& part : {slice(original, 12, 3),
                             slice(original, 3, 9),
                             slice(original, 2, 1),
                             slice(original, 15, 5)}) {
      expected.insert(expected.end(), part.begin(), part.end());
    }
  }
  SECTION("positions past the end are clipped, never an error") {
    f.api.schedule("s", 1, Mutation::insert(1000));
  }
  SECTION("overlapping swap ranges change nothing and say so") {
    f.api.schedule("s", 1, Mutation::swap(0, 5, 3, 5));
    expected = original;
  }

  REQUIRE(f.page(0, 1).first == 200);
  REQUIRE(f.api.applied_mutations().size() == 1);
  const auto applied = f.api.applied_mutations()[0];
  const auto now = compact(f.api.events("s"));
  CHECK(applied.total_after == now.size());
  const auto added = compact(applied.added);
  switch (applied.mutation.kind) {
  case MutationKind::append:
    expected = original;
    expected.insert(expected.end(), added.begin(), added.end());
    CHECK(added.size() == 4);
    break;
  case MutationKind::remove_and_append:
    expected = original;
    expected.erase(expected.begin() + 7);
    expected.insert(expected.end(), added.begin(), added.end());
    CHECK(added.size() == 1);
    CHECK(compact(applied.removed) == slice(original, 7, 1));
    CHECK(now.size() == original.size());
    break;
  case MutationKind::insert:
    expected = original;
    expected.insert(expected.end(), added.begin(), added.end());
    break;
  case MutationKind::swap:
    CHECK(applied.note.empty() == (expected != original));
    break;
  case MutationKind::remove:
  case MutationKind::reverse:
    break;
  }
  CHECK(now == expected);
}

TEST_CASE("fake_api::FakeApi::schedule fails the Nth request and mutates before its retry",
          "[fake_api][schedule]") {
  ScheduleFixture f;
  const auto original = compact(f.api.events("s"));
  f.api.schedule("s", 2, Mutation::insert(0).answered_with(500));
  CHECK(f.page(10, 5).second == slice(original, 10, 5));
  const auto failed = f.get("/v1/studies/s/events?offset=15&limit=5");
  REQUIRE(failed);
  CHECK(failed->status == 500);
  CHECK(json::parse(failed->body)["detail"] == "Internal Server Error");
  // The retry of the same page sees the list shifted by one.
  CHECK(f.page(15, 5).second == slice(original, 14, 5));
  CHECK(f.api.stats().responses_by_status.at(500) == 1);
  CHECK(f.api.stats().total_faults() == 0); // a scheduled failure is not a fault
}

TEST_CASE("fake_api::FakeApi::schedule runs a sequence, each mutation on its own count",
          "[fake_api][schedule]") {
  ScheduleFixture f(30);
  const auto original = compact(f.api.events("s"));
  f.api.schedule("s", 2, Mutation::remove(0, 1));
  f.page(0, 1);
  // Scheduled after one request: due at the 3rd request from now, the 4th overall.
  f.api.schedule("s", 3, Mutation::reverse());
  f.api.schedule("s", 3, Mutation::append(1)); // due at the same request: applied after reverse
  f.page(0, 1);
  CHECK(f.api.applied_mutations().size() == 1);
  CHECK(f.api.total("s") == 29);
  f.page(0, 1);
  CHECK(f.api.applied_mutations().size() == 1);
  f.page(0, 1);
  REQUIRE(f.api.applied_mutations().size() == 3);
  CHECK(f.api.applied_mutations()[1].mutation.kind == MutationKind::reverse);
  CHECK(f.api.applied_mutations()[2].mutation.kind == MutationKind::append);
  const auto now = compact(f.api.events("s"));
  REQUIRE(now.size() == 30);
  CHECK(now.front() == original.back());
  CHECK(now[28] == original[1]);
  CHECK(now.back() == compact(f.api.applied_mutations()[2].added)[0]);

  f.api.schedule("s", 5, Mutation::append(1));
  f.api.clear_schedule();
  CHECK(f.api.scheduled().empty());
  CHECK(f.api.applied_mutations().empty());
  CHECK_THROWS_AS(f.api.schedule("s", 0, Mutation::append()), std::invalid_argument);
  CHECK_THROWS_AS(f.api.schedule("nope", 1, Mutation::append()), std::invalid_argument);
}

TEST_CASE("fake_api::FakeApi::schedule ignores requests that fail auth or parameter checks",
          "[fake_api][schedule]") {
  ScheduleFixture f;
  f.api.schedule("s", 1, Mutation::append(1));
  auto unauthorised = f.client->Get("/v1/studies/s/events");
  REQUIRE(unauthorised);
  CHECK(unauthorised->status == 401);
  auto invalid = f.get("/v1/studies/s/events?offset=-1");
  REQUIRE(invalid);
  CHECK(invalid->status == 422);
  CHECK(f.api.applied_mutations().empty());
  f.page(0, 1);
  CHECK(f.api.applied_mutations().size() == 1);
}

TEST_CASE("fake_api::FakeApi control endpoints schedule mutations", "[fake_api][schedule]") {
  ScheduleFixture f(20);
  const auto original = compact(f.api.events("s"));
  auto [status, body] =
      f.post("/_control/schedule?study=s&after=2&kind=remove_and_append&index=3&count=2");
  CHECK(status == 200);
  REQUIRE(body["scheduled"].size() == 1);
  CHECK(body["scheduled"][0]["kind"] == "remove_and_append");
  CHECK(body["scheduled"][0]["requests_left"] == 2);

  // A JSON array schedules a sequence; a bad entry schedules none of it.
  CHECK(f.post("/_control/schedule?study=s",
               R"([{"after": 1, "kind": "reverse"}, {"after": 1, "kind": "twist"}])")
            .first
        == 400);
  CHECK(f.post("/_control/schedule?study=s", R"({"after": 1, "kind": "swap", "frist": 0})").first
        == 400);
  CHECK(f.post("/_control/schedule?study=s&after=0&kind=append").first == 400);
  CHECK(f.post("/_control/schedule?study=s&after=1&kind=append&fail_status=200").first == 400);
  CHECK(f.post("/_control/schedule?study=nope&after=1&kind=append").first == 404);
  std::tie(status, body) = f.post(
      "/_control/schedule?study=s",
      R"([{"after": 3, "kind": "insert", "index": 0, "fail_status": 503, "when": "before"}])");
  CHECK(status == 200);
  CHECK(body["scheduled"].size() == 2);

  auto listed = f.client->Get("/_control/schedule");
  REQUIRE(listed);
  CHECK(json::parse(listed->body)["scheduled"].size() == 2);
  auto index = f.client->Get("/_control");
  REQUIRE(index);
  CHECK(index->body.find("/_control/schedule") != std::string::npos);

  f.page(0, 1);
  f.page(0, 1); // remove_and_append applies after this one
  const auto retried = f.get("/v1/studies/s/events?offset=0&limit=1");
  REQUIRE(retried);
  CHECK(retried->status == 503); // the insert applied before this answer, which failed
  listed = f.client->Get("/_control/schedule");
  REQUIRE(listed);
  const json state = json::parse(listed->body);
  CHECK(state["scheduled"].empty());
  REQUIRE(state["applied"].size() == 2);
  CHECK(state["applied"][0]["removed"].size() == 2);
  CHECK(state["applied"][0]["added"].size() == 2);
  CHECK(state["applied"][0]["total_after"] == 20);
  CHECK(state["applied"][1]["kind"] == "insert");
  CHECK(state["applied"][1]["when"] == "before");
  CHECK(f.api.total("s") == 21);
  CHECK(compact(f.api.events("s"))[1] == original[0]);

  CHECK(f.post("/_control/schedule/clear").first == 200);
  CHECK(f.api.applied_mutations().empty());
}
