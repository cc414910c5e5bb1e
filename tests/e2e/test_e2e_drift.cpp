// End-to-end: a server whose list changes under bdd. Events reordered across the previous run's
// boundary, or removed so that the total shrinks, between runs or during one: the next runs still
// end with every event stored exactly once, say what they found on stderr and in the history
// (`warnings`, shown by `bdd log`), and never delete local data because the server did.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::describe_difference;
using bdd::test::layout;
using bdd::test::ProcessResult;
using bdd::test::repeated;
using bdd::test::wait_until;
using bdd::test::Workspace;
using nlohmann::json;
using enum bdd::cli::ExitCode;

// What download.cpp warns when the event before the resume point moved, and when the total fell
// below what was downloaded.
constexpr const char* k_drift = "the server's event list changed before offset";
constexpr const char* k_shrink = "events were deleted on the server (local data is kept)";

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// `ids` plus `more`, each once, sorted.
std::vector<std::string> union_of(const std::vector<std::string>& ids,
                                  const std::vector<std::string>& more) {
  auto all = ids;
  all.insert(all.end(), more.begin(), more.end());
  all = sorted(all);
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

// The local copy holds each of `expected` exactly once and nothing else; the order of arrival is
// not the server's order after a reordering, so compare as sets.
void check_holds_exactly(const Workspace& ws, const std::vector<std::string>& expected) {
  const auto stored = ws.stored_ids();
  INFO(describe_difference(expected, sorted(stored)));
  CHECK(repeated(stored).empty());
  CHECK(sorted(stored) == sorted(expected));
  CHECK(ws.metadata()["events_stored"] == stored.size());
}

// Whether some entry of `warnings` (a JSON array of strings) contains `needle`.
bool has_warning(const json& warnings, const std::string& needle) {
  return warnings.is_array()
         && std::any_of(warnings.begin(), warnings.end(), [&](const json& warning) {
              return warning.is_string() && contains(warning.get<std::string>(), needle);
            });
}

// The run printed the warning on stderr and recorded it in its history record, the newest one,
// which `bdd log` and `bdd log --json` show.
void check_reported(const Workspace& ws, const ProcessResult& run, const std::string& needle) {
  CHECK(contains(run.err, "bdd: warning: "));
  CHECK(contains(run.err, needle));
  const json history = ws.history();
  REQUIRE_FALSE(history.empty());
  INFO("history record: " << history.back().dump());
  CHECK(has_warning(history.back()["warnings"], needle));

  auto log_json = ws.bdd({"log", Workspace::k_study, "--json", "-n", "1"});
  INFO("log --json: " << log_json.out << log_json.err);
  REQUIRE(log_json.exit_code == 0);
  const json runs = json::parse(log_json.out);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0]["run_id"] == history.back()["run_id"]);
  CHECK(has_warning(runs[0]["warnings"], needle));

  auto log = ws.bdd({"log", Workspace::k_study, "-n", "1"});
  INFO("log: " << log.out << log.err);
  REQUIRE(log.exit_code == 0);
  CHECK(contains(log.out, "  warning:  "));
  CHECK(contains(log.out, needle));
}

} // namespace

TEST_CASE("drift::events reordered across the boundary between runs are stored once",
          "[e2e][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "sqlite");
  INFO("format " << format);
  Workspace ws(layout(format, json::array()));
  ws.add_events(300);
  auto first = ws.bdd({"download", Workspace::k_study});
  INFO("first run stdout: " << first.out << "\nstderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(ws.history()[0]["warnings"] == json::array());

  // The last stored event (position 299) trades places with one from before the boundary.
  ws.server().swap_ranges(Workspace::k_study, 240, 20, 280, 20);
  ws.add_events(50);
  auto second = ws.bdd({"download", Workspace::k_study});
  INFO("second run stdout: " << second.out << "\nstderr: " << second.err);
  REQUIRE(second.exit_code == 0);
  CHECK(contains(second.out, "downloaded 50 new events"));
  check_holds_exactly(ws, ws.server_ids());
  check_reported(ws, second, k_drift);
  CHECK(ws.history()[1]["events_added"] == 50);
  // Bisection over the seams finds where the list changed: only the pages after the last seam
  // that still matches are read again (the swapped ranges among them), not the whole study.
  CHECK(ws.history()[1]["duplicates_skipped"] >= 60);
  CHECK(ws.history()[1]["duplicates_skipped"] < 300);

  // Once rescanned, the next run trusts its offset again: nothing new, no warning.
  ws.server().reset_stats();
  auto third = ws.bdd({"download", Workspace::k_study});
  INFO("third run stdout: " << third.out << "\nstderr: " << third.err);
  REQUIRE(third.exit_code == 0);
  CHECK_FALSE(contains(third.err, "bdd: warning: "));
  CHECK(ws.history()[2]["warnings"] == json::array());
  CHECK(ws.server().stats().events_served <= 1);
  check_holds_exactly(ws, ws.server_ids());
  auto verify = ws.bdd({"verify", Workspace::k_study});
  INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code == 0);
}

TEST_CASE("drift::a total that shrinks is reported, keeps local data and later events arrive",
          "[e2e][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv");
  INFO("format " << format);
  Workspace ws(layout(format, json::array({"by_user_id"})));
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto downloaded = ws.server_ids();

  SECTION("below what was downloaded") {
    ws.server().remove(Workspace::k_study, 100, 80); // 220 left, fewer than the 300 stored
    auto shrunk = ws.bdd({"download", Workspace::k_study});
    INFO("run after the removal stdout: " << shrunk.out << "\nstderr: " << shrunk.err);
    REQUIRE(shrunk.exit_code == 0);
    CHECK(shrunk.out.empty()); // nothing new: nothing on stdout
    CHECK(contains(shrunk.err, "the server now holds 220 events, fewer than the 300"));
    check_reported(ws, shrunk, k_shrink);
    check_holds_exactly(ws, downloaded);
    CHECK(ws.metadata()["remote_total"] == 220);

    // Fewer new events than were deleted: the total stays below the old offset, and they must
    // arrive all the same.
    ws.add_events(40);
    auto few = ws.bdd({"download", Workspace::k_study});
    INFO("run after 40 new events stdout: " << few.out << "\nstderr: " << few.err);
    REQUIRE(few.exit_code == 0);
    CHECK(contains(few.out, "downloaded 40 new events"));
    check_holds_exactly(ws, union_of(downloaded, ws.server_ids()));
  }

  SECTION("by removals before the boundary, still above what was downloaded") {
    ws.add_events(40);
    ws.server().remove(Workspace::k_study, 10, 30); // 310 left: the total alone shows nothing
    auto shifted = ws.bdd({"download", Workspace::k_study});
    INFO("run after the removal stdout: " << shifted.out << "\nstderr: " << shifted.err);
    REQUIRE(shifted.exit_code == 0);
    CHECK(contains(shifted.out, "downloaded 40 new events"));
    check_reported(ws, shifted, k_drift);
    check_holds_exactly(ws, union_of(downloaded, ws.server_ids()));
  }

  // Events appended later arrive exactly once, and the deleted ones are still kept.
  ws.add_events(150);
  auto later = ws.bdd({"download", Workspace::k_study});
  INFO("later run stdout: " << later.out << "\nstderr: " << later.err);
  REQUIRE(later.exit_code == 0);
  CHECK(contains(later.out, "downloaded 150 new events"));
  check_holds_exactly(ws, union_of(downloaded, ws.server_ids()));
  auto verify = ws.bdd({"verify", Workspace::k_study});
  INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code == 0);
}

TEST_CASE("drift::events reordered or removed during a run are all stored in the end",
          "[e2e][drift]") {
  enum class Change { remove_read, swap_read, swap_unread };
  const Change change = GENERATE(Change::remove_read, Change::swap_read, Change::swap_unread);
  Workspace ws(json{{"download", {{"default_page_size", 50}, {"max_concurrent_requests", 1}}}});
  ws.add_events(1000);
  const auto before = ws.server_ids();
  bdd::fake_api::Faults slow;
  slow.latency_ms = 10;
  ws.server().set_faults(slow);

  // Once a few pages are in (offset 300 or a little more), change the list.
  std::thread mutator([&ws, change] {
    wait_until([&ws] { return ws.server().request_count() >= 6; }, std::chrono::seconds(10));
    switch (change) {
    case Change::remove_read: // events not read yet shift to offsets already read
      ws.server().remove(Workspace::k_study, 20, 60);
      break;
    case Change::swap_read: // only events already read move
      ws.server().swap_ranges(Workspace::k_study, 0, 100, 150, 100);
      break;
    case Change::swap_unread: // 50 events not read yet trade places with 50 already read
      ws.server().swap_ranges(Workspace::k_study, 0, 50, 900, 50);
      break;
    }
  });
  auto first = ws.bdd({"download", Workspace::k_study});
  mutator.join();
  INFO("first run stdout: " << first.out << "\nstderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  REQUIRE(ws.server().request_count() >= 6);
  CHECK(repeated(ws.stored_ids()).empty());
  ws.server().set_faults({});

  ws.add_events(30);
  auto second = ws.bdd({"download", Workspace::k_study});
  INFO("second run stdout: " << second.out << "\nstderr: " << second.err);
  REQUIRE(second.exit_code == 0);
  const auto every = union_of(before, ws.server_ids());
  if (change != Change::swap_unread || sorted(ws.stored_ids()) == every) {
    // Every event the server listed during these runs is stored, once.
    check_holds_exactly(ws, every);
    return;
  }
  // Same total, same last event: neither the offset nor the boundary re-read sees that 50 events
  // moved behind the offset while the run paged. The safety net: verify --remote finds them and
  // --repair fetches them.
  auto verify = ws.bdd({"verify", Workspace::k_study, "--remote"});
  INFO("verify --remote stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code == k_exit_verify_failed);
  CHECK(contains(verify.out, "not_downloaded: "));
  auto repair = ws.bdd({"download", Workspace::k_study, "--repair"});
  INFO("repair stdout: " << repair.out << "\nstderr: " << repair.err);
  REQUIRE(repair.exit_code == 0);
  check_holds_exactly(ws, every);
  auto clean = ws.bdd({"verify", Workspace::k_study, "--remote"});
  INFO("verify --remote after the repair stdout: " << clean.out << "\nstderr: " << clean.err);
  CHECK(clean.exit_code == 0);
}
