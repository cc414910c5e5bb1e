// ops::download against a scripted server held in memory: the server's list is mutated after a
// chosen request (insertions, deletions, reorders, a page retried after the list shifted), and
// every run must end with each event the server holds stored exactly once, whatever the format.
// No HTTP, no sleeping: each case runs in milliseconds; tests/e2e covers the real server.

#include "scripted_server.hpp"

#include <bdd/ops/download.hpp>

#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace ops_test;

using Mutation = std::function<void(ScriptedServer&, std::vector<std::string>&)>;

} // namespace

TEST_CASE("ops::download with no drift makes at most one request more than pages", "[ops][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "json", "csv", "sqlite");
  INFO("format " << format);
  const int concurrency = GENERATE(1, 3);
  INFO("concurrency " << concurrency);
  TempDir dir;
  ScriptedServer server;
  server.append(1200);
  auto config = make_config(dir.path(), format);
  config.max_concurrent_requests = concurrency; // prefetched requests chain like the others
  auto first = run(config, server);
  REQUIRE(first);
  CHECK(first->run.events_added == 1200);
  CHECK(first->warnings.empty());
  CHECK(server.requests <= 12 + 1);
  CHECK(first->run.pages == static_cast<std::uint64_t>(server.requests)); // every answer counts
  check_exact(config, server.ids);

  server.requests = 0;
  auto noop = run(config, server);
  REQUIRE(noop);
  CHECK(noop->run.events_added == 0);
  CHECK(server.requests == 1); // the seam re-read that also shows nothing is new
  CHECK(noop->run.pages == 1); // ... is in the history: a no-op run is not "0 pages"
  CHECK(noop->run.bytes > 0);

  server.append(250);
  server.requests = 0;
  auto more = run(config, server);
  REQUIRE(more);
  CHECK(more->run.events_added == 250);
  CHECK(more->warnings.empty());
  CHECK(server.requests <= 3 + 1);
  CHECK(more->run.pages == static_cast<std::uint64_t>(server.requests));
  check_exact(config, server.ids);
}

TEST_CASE("ops::download stores every event once when the list changes during a run",
          "[ops][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "json", "csv", "sqlite");
  struct Case {
    const char* name;
    bool retried; // applied while request 5 is retried rather than after it
    Mutation mutate;
  };
  const std::vector<Case> cases = {
      {"one deleted before the position and one appended",
       false,
       [](ScriptedServer& s, std::vector<std::string>& ids) {
         ids.erase(ids.begin() + 42);
         ids.push_back(s.fresh_id());
       }},
      {"one inserted before the position",
       false,
       [](ScriptedServer& s, std::vector<std::string>& ids) {
         ids.insert(ids.begin() + 17, s.fresh_id());
       }},
      {"the list reversed",
       false,
       [](ScriptedServer&, std::vector<std::string>& ids) {
         std::reverse(ids.begin(), ids.end());
       }},
      {"an event moved from ahead to behind the position",
       false,
       [](ScriptedServer&, std::vector<std::string>& ids) {
         std::rotate(ids.begin() + 100, ids.begin() + 900, ids.begin() + 901);
       }},
      {"several deleted before the position",
       false,
       [](ScriptedServer&, std::vector<std::string>& ids) {
         ids.erase(ids.begin() + 10, ids.begin() + 13);
       }},
      {"one inserted while a page is retried",
       true,
       [](ScriptedServer& s, std::vector<std::string>& ids) {
         ids.insert(ids.begin() + 3, s.fresh_id());
       }},
  };
  for (const Case& c : cases) {
    INFO("format " << format << ", " << c.name);
    TempDir dir;
    ScriptedServer server;
    server.append(1200);
    const std::vector<std::string> before = server.ids;
    auto& slot = c.retried ? server.retried : server.mutations;
    slot[5] = [&server, &c](std::vector<std::string>& ids) { c.mutate(server, ids); };
    const auto config = make_config(dir.path(), format);
    auto first = run(config, server);
    REQUIRE(first);
    CHECK_FALSE(first->warnings.empty());
    const std::set<std::string> deleted(before.begin(), before.end());
    check_exact(config, server.ids, deleted);

    auto again = run(config, server);
    REQUIRE(again);
    CHECK(again->run.events_added == 0);
    check_exact(config, server.ids, deleted);
  }
}

TEST_CASE("ops::download finds changes made between runs before the resume point", "[ops][drift]") {
  TempDir dir;
  ScriptedServer server;
  server.append(1000);
  const auto config = make_config(dir.path(), "jsonl");
  REQUIRE(run(config, server));
  // An insertion near the end: bisection re-reads only from the last seam before it.
  server.ids.insert(server.ids.begin() + 950, server.fresh_id());
  server.append(10);
  server.requests = 0;
  auto second = run(config, server);
  REQUIRE(second);
  CHECK(second->run.events_added == 11);
  CHECK(second->run.duplicates_skipped < 200);
  CHECK(server.requests < 20);
  check_exact(config, server.ids);
}

TEST_CASE("ops::download stops a server that keeps changing its list", "[ops][drift]") {
  TempDir dir;
  ScriptedServer server;
  server.append(500);
  for (int request = 2; request < 400; ++request) {
    server.mutations[request] = [&server](std::vector<std::string>& ids) {
      ids.insert(ids.begin(), server.fresh_id());
    };
  }
  const auto config = make_config(dir.path(), "jsonl");
  auto result = run(config, server);
  REQUIRE_FALSE(result);
  CHECK(result.error().code == bdd::Errc::protocol);
  CHECK(server.requests < 400);
  // What it stored is exact: each event once.
  const auto ids = stored_ids(config);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
}

TEST_CASE("ops::download counts events deleted on the server and keeps them", "[ops][drift]") {
  TempDir dir;
  ScriptedServer server;
  server.append(300);
  const auto config = make_config(dir.path(), "csv");
  REQUIRE(run(config, server));
  const std::vector<std::string> before = server.ids;
  server.ids.erase(server.ids.begin() + 20, server.ids.begin() + 23);
  auto second = run(config, server);
  REQUIRE(second);
  CHECK(second->run.events_added == 0);
  CHECK(second->run.deleted_on_server == 3);
  CHECK(second->events_stored == 300);
  check_exact(config, before); // nothing removed locally
}

TEST_CASE("ops::download quarantines unusable items and stores the rest of their page",
          "[ops][quarantine]") {
  TempDir dir;
  ScriptedServer server;
  server.append(250);
  // Item 120 is not a usable event (as the page parser marks one).
  server.unusable.insert(server.ids[120]);
  const auto config = make_config(dir.path(), "jsonl");
  auto first = run(config, server);
  REQUIRE(first);
  CHECK(first->run.unusable_events == 1);
  CHECK(first->events_stored == 249);
  std::vector<std::string> usable = server.ids;
  usable.erase(usable.begin() + 120);
  check_exact(config, usable);
  CHECK(first->run.deleted_on_server == 0);

  // Read again (after a change before it), it is not quarantined twice; --strict fails.
  server.ids.insert(server.ids.begin(), server.fresh_id());
  bdd::ops::DownloadOptions options;
  options.strict = true;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  auto second = bdd::ops::download(config, options);
  REQUIRE(second);
  CHECK(second->run.unusable_events == 0);
  server.append(1);
  server.unusable.insert(server.ids.back());
  auto third = bdd::ops::download(config, options);
  REQUIRE_FALSE(third);
  CHECK(third.error().code == bdd::Errc::unusable_data);
  usable = server.ids;
  usable.erase(std::remove_if(usable.begin(),
                              usable.end(),
                              [&](const std::string& id) { return server.unusable.count(id); }),
               usable.end());
  check_exact(config, usable);
}

TEST_CASE("ops::download keeps the stored version of an event the server changed, and says so",
          "[ops][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "sqlite");
  INFO("format " << format);
  TempDir dir;
  ScriptedServer server;
  server.append(200);
  const auto config = make_config(dir.path(), format);
  REQUIRE(run(config, server));
  // Two events change; an insertion before them makes the next run read them again.
  server.edited = {server.ids[150], server.ids[151]};
  server.ids.insert(server.ids.begin() + 140, server.fresh_id());
  auto second = run(config, server);
  REQUIRE(second);
  CHECK(second->run.events_added == 1);
  CHECK(second->run.changed_on_server == 2);
  const bool named = std::any_of(
      second->warnings.begin(), second->warnings.end(), [&](const std::string& warning) {
        return warning.find("2 events changed on the server") != std::string::npos
               && warning.find(server.ids[151]) != std::string::npos;
      });
  CHECK(named);
  check_exact(config, server.ids);
}

TEST_CASE("ops::download commits by the clock it is given", "[ops][commit]") {
  // Pages 3 s apart on a clock the test moves: each page is a commit of its own (one every 2 s),
  // where the real clock would make the three pages one commit. An interruption after page 3
  // then leaves exactly those pages committed, and the next run goes on from there.
  TempDir dir;
  ScriptedServer server;
  server.append(1000);
  const auto config = make_config(dir.path(), "jsonl");
  std::atomic<bool> stop{false};
  auto time = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  int commits = 0;
  bdd::ops::DownloadOptions options;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  options.clock = [&time] { return time; };
  int pages = 0;
  std::uint64_t stopped_at = 0;
  options.on_progress = [&](const bdd::ops::DownloadProgress& progress) {
    time += std::chrono::seconds(3);
    if (++pages == 3) {
      stopped_at = progress.offset;
      stop = true; // read after this page's commit check, as a SIGINT would be
    }
  };
  options.before_commit_write = [&commits] { ++commits; }; // one batch at a time
  options.stop = &stop;
  auto first = bdd::ops::download(config, options);
  REQUIRE_FALSE(first);
  CHECK(first.error().code == bdd::Errc::interrupted);
  CHECK(commits == 3);
  const auto stored = stored_ids(config); // file by file: sorted, to compare
  REQUIRE(stopped_at > 200);
  const auto end = server.ids.begin() + static_cast<std::ptrdiff_t>(stopped_at);
  CHECK(std::multiset<std::string>(stored.begin(), stored.end())
        == std::multiset<std::string>(server.ids.begin(), end));

  auto second = run(config, server);
  REQUIRE(second);
  CHECK(second->run.start_offset == stopped_at);
  CHECK(second->run.events_added == 1000 - stopped_at);
  CHECK(second->run.duplicates_skipped == 0);
  check_exact(config, server.ids);
}

TEST_CASE("ops::download checks seams itself when the server's pages hold one event",
          "[ops][drift]") {
  // No room for the overlap: the run checks the event before where each stream starts and ends
  // with one more request, so a change before the cursor is still found.
  TempDir dir;
  ScriptedServer server;
  server.cap = 1;
  server.append(30);
  auto config = make_config(dir.path(), "jsonl");
  config.max_concurrent_requests = GENERATE(1, 3);
  REQUIRE(run(config, server));
  check_exact(config, server.ids);
  const std::vector<std::string> before = server.ids;

  // Between runs: two deleted before the cursor, five appended.
  server.ids.erase(server.ids.begin() + 5, server.ids.begin() + 7);
  server.append(5);
  const int requests_before = server.requests;
  auto second = run(config, server);
  REQUIRE(second);
  // The single-event requests that check seams and bisect are pages of the run's transfer too.
  CHECK(second->run.pages == static_cast<std::uint64_t>(server.requests - requests_before));
  CHECK(second->run.pages > 5);
  CHECK_FALSE(second->warnings.empty());
  CHECK(second->run.events_added == 5);
  CHECK(second->run.deleted_on_server == 2);
  check_exact(config, server.ids, std::set<std::string>(before.begin(), before.end()));

  // During a run: one inserted before the position after the 10th request.
  server.mutations[server.requests + 10] = [&server](std::vector<std::string>& ids) {
    ids.insert(ids.begin() + 2, server.fresh_id());
  };
  server.append(20);
  auto third = run(config, server);
  REQUIRE(third);
  check_exact(config, server.ids, std::set<std::string>(before.begin(), before.end()));
}

TEST_CASE("ops::download --repair reads the list once and takes no stored event for a reorder",
          "[ops][drift]") {
  TempDir dir;
  ScriptedServer server;
  server.append(500);
  const auto config = make_config(dir.path(), "jsonl");
  REQUIRE(run(config, server));
  server.requests = 0;
  bdd::ops::DownloadOptions options;
  options.repair = true;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  auto repaired = bdd::ops::download(config, options);
  REQUIRE(repaired);
  CHECK(repaired->run.events_added == 0);
  CHECK(repaired->warnings.empty());
  CHECK(server.requests <= 5 + 1);
  check_exact(config, server.ids);
}

TEST_CASE("ops::download records the run and reports it when the history cannot be written",
          "[ops][history]") {
  // The record of the run as "running" cannot be saved (a directory stands where the history's
  // temporary file goes): the run fails before any request, but still ends with its final
  // record handed to on_recorded, so that `bdd download --json` can report it.
  TempDir dir;
  ScriptedServer server;
  server.append(10);
  const auto config = make_config(dir.path(), "jsonl");
  REQUIRE(run(config, server));
  const stdfs::path blocker = config.data_directory / config.study_name
                              / (".download_history.json.tmp-" + std::to_string(::getpid()));
  stdfs::create_directory(blocker);

  server.append(5);
  server.requests = 0;
  std::vector<bdd::tracking::RunRecord> recorded;
  bdd::ops::DownloadOptions options;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  options.on_recorded = [&recorded](const bdd::tracking::RunRecord& record) {
    recorded.push_back(record);
  };
  auto failed = bdd::ops::download(config, options);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == bdd::Errc::storage);
  CHECK(failed.error().message.find(".download_history.json") != std::string::npos);
  CHECK(server.requests == 0);
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].status == "failed");
  CHECK(recorded[0].error == failed.error().message);
  CHECK_FALSE(recorded[0].ended_at.empty());

  // Once the history can be written again, the next run adds the 5 events.
  stdfs::remove(blocker);
  auto next = run(config, server);
  REQUIRE(next);
  CHECK(next->run.events_added == 5);
  check_exact(config, server.ids);
}
