// End-to-end: a flaky server costs time, never events. Transient faults of every kind are
// retried until the download is exact; when retries run out, or the server refuses the key or
// the study, bdd fails with the right exit code and one clear line, records the failure, keeps
// what it saved, and never prints or stores the key.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using bdd::fake_api::FaultKind;
using bdd::fake_api::Faults;
using bdd::test::check_exact_copy;
using bdd::test::check_secret_absent_from_files;
using bdd::test::contains;
using bdd::test::line_count;
using bdd::test::ProcessResult;
using bdd::test::repeated;
using bdd::test::Workspace;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

using enum bdd::cli::ExitCode;

json retries(int max_retries, int timeout_seconds = 10) {
  return {{"api", {{"max_retries", max_retries}, {"timeout", timeout_seconds}}},
          {"download", {{"default_page_size", 50}, {"max_concurrent_requests", 3}}}};
}

// The one-line error a failed command must print: "bdd: error: ..." and nothing else.
void check_one_error_line(const ProcessResult& run) {
  CHECK(run.err.rfind("bdd: error: ", 0) == 0);
  CHECK(line_count(run.err) == 1);
}

} // namespace

TEST_CASE("download::retries recovers from each kind of transient fault", "[e2e][faults]") {
  struct Case {
    const char* name;
    FaultKind kind;
  };
  const Case fault = GENERATE(Case{"500", FaultKind::http_500},
                              Case{"502", FaultKind::http_502},
                              Case{"503", FaultKind::http_503},
                              Case{"429", FaultKind::http_429},
                              Case{"reset", FaultKind::reset},
                              Case{"truncate", FaultKind::truncate},
                              Case{"invalid_json", FaultKind::invalid_json},
                              Case{"slow", FaultKind::slow});
  INFO("fault " << fault.name);
  const bool slow = fault.kind == FaultKind::slow;
  Workspace ws(retries(10, slow ? 1 : 10));
  ws.add_events(700);

  Faults faults;
  faults.seed = 11;
  faults.retry_after_seconds = 0;
  faults.slow_ms = 1500; // beyond api.timeout = 1 s
  switch (fault.kind) {
  case FaultKind::http_500:
    faults.next_500 = 2;
    faults.p_500 = 0.3;
    break;
  case FaultKind::http_502:
    faults.next_502 = 2;
    faults.p_502 = 0.3;
    break;
  case FaultKind::http_503:
    faults.next_503 = 2;
    faults.p_503 = 0.3;
    break;
  case FaultKind::http_429:
    faults.next_429 = 2;
    faults.p_429 = 0.3;
    break;
  case FaultKind::reset:
    faults.next_reset = 2;
    faults.p_reset = 0.3;
    break;
  case FaultKind::truncate:
    faults.next_truncate = 2;
    faults.p_truncate = 0.3;
    break;
  case FaultKind::invalid_json:
    faults.next_invalid_json = 2;
    faults.p_invalid_json = 0.3;
    break;
  case FaultKind::slow:
    faults.next_slow = 2;
    faults.p_slow = 0.05;
    break;
  default: // the hostile kinds are not transient: test_e2e_hostile_server.cpp
    break;
  }
  ws.server().set_faults(faults);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(ws.server().stats().fault_count(fault.kind) >= 2);
  check_exact_copy(ws);
  CHECK(ws.metadata()["events_stored"] == 700);
  CHECK(ws.history()[0]["status"] == "success");
}

TEST_CASE("download::retries waits as long as Retry-After asks", "[e2e][faults]") {
  Workspace ws(json{{"api", {{"max_retries", 5}, {"retry_delay", 0.01}}},
                    {"download", {{"max_concurrent_requests", 1}}}});
  ws.add_events(50);
  Faults faults;
  faults.next_429 = 2;
  faults.retry_after_seconds = 1;
  ws.server().set_faults(faults);

  auto started = Clock::now();
  auto run = ws.bdd({"download", Workspace::k_study});
  auto elapsed = Clock::now() - started;
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(ws.server().stats().fault_count(FaultKind::http_429) == 2);
  // Two 429s, each asking for 1 s; the 10 ms retry_delay alone would take a few milliseconds.
  CHECK(elapsed >= std::chrono::milliseconds(1900));
  check_exact_copy(ws);
}

TEST_CASE("download::retries recovers from every fault at once at high rates", "[e2e][faults]") {
  Workspace ws(retries(25, 1));
  ws.add_events(1000);
  Faults faults;
  faults.seed = 2024;
  faults.p_500 = 0.06;
  faults.p_502 = 0.06;
  faults.p_503 = 0.06;
  faults.p_429 = 0.06;
  faults.p_reset = 0.06;
  faults.p_truncate = 0.06;
  faults.p_invalid_json = 0.06;
  faults.p_slow = 0.02;
  faults.retry_after_seconds = 0;
  faults.slow_ms = 1500;
  ws.server().set_faults(faults);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  check_exact_copy(ws);
  CHECK(ws.server().stats().total_faults() >= 5);

  // An incremental run through the same storm.
  ws.add_events(300);
  auto again = ws.bdd({"download", Workspace::k_study});
  INFO("second run stdout: " << again.out << "\nstderr: " << again.err);
  REQUIRE(again.exit_code == 0);
  check_exact_copy(ws);
  CHECK(ws.metadata()["events_stored"] == 1300);
}

TEST_CASE("download::retries fails with exit 6 when retries run out", "[e2e][faults]") {
  Workspace ws(retries(2));
  ws.add_events(200);

  SECTION("on a first download") {
    Faults faults;
    faults.next_503 = 1'000'000;
    ws.server().set_faults(faults);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == k_exit_network);
    check_one_error_line(run);
    CHECK(contains(run.err, "HTTP 503"));
    CHECK(contains(run.err, "after 3 attempts"));
    CHECK_FALSE(contains(run.out + run.err, "no new events"));
    json history = ws.history();
    REQUIRE(history.size() == 1);
    CHECK(history[0]["status"] == "failed");
    CHECK(contains(history[0]["error"].get<std::string>(), "HTTP 503"));
  }

  SECTION("on an incremental download, which must not claim there is nothing new") {
    REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
    ws.add_events(40);
    Faults faults;
    faults.next_503 = 1'000'000;
    ws.server().set_faults(faults);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == k_exit_network);
    check_one_error_line(run);
    CHECK(contains(run.err, "HTTP 503"));
    CHECK_FALSE(contains(run.out + run.err, "no new events"));
    json history = ws.history();
    REQUIRE(history.size() == 2);
    CHECK(history[1]["status"] == "failed");
    CHECK(history[1]["type"] == "incremental");
    CHECK(contains(history[1]["error"].get<std::string>(), "HTTP 503"));
    CHECK(ws.metadata()["events_stored"] == 200);

    // The failed run recorded nothing: the next one resumes where the last good one ended,
    // without taking the unread re-check of the last event for a change on the server.
    ws.server().set_faults({});
    auto resumed = ws.bdd({"download", Workspace::k_study});
    INFO("resumed stdout: " << resumed.out << "\nstderr: " << resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK(ws.history()[2]["start_offset"] == 200);
    CHECK_FALSE(contains(resumed.err, "changed before offset"));
    check_exact_copy(ws);
  }
}

TEST_CASE("download::retries keeps what was saved before the server went down", "[e2e][faults]") {
  Workspace ws(json{{"api", {{"max_retries", 1}}},
                    {"download", {{"default_page_size", 50}, {"max_concurrent_requests", 1}}}});
  ws.add_events(2000);
  Faults slow;
  slow.latency_ms = 5;
  ws.server().set_faults(slow);
  std::thread breaker([&ws] {
    bdd::test::wait_until([&ws] { return ws.server().request_count() >= 10; },
                          std::chrono::seconds(20));
    Faults down;
    down.next_503 = 1'000'000;
    ws.server().set_faults(down);
  });
  auto run = ws.bdd({"download", Workspace::k_study});
  breaker.join();
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == k_exit_network);

  // Pages received before the failure were committed, in order, and are reported.
  auto stored = ws.stored_ids();
  auto server = ws.server_ids();
  CHECK(stored.size() >= 400);
  CHECK(stored.size() < server.size());
  CHECK(std::equal(stored.begin(), stored.end(), server.begin()));
  CHECK(ws.metadata()["events_stored"] == stored.size());
  CHECK(ws.history()[0]["events_added"] == stored.size());

  ws.server().set_faults({});
  auto again = ws.bdd({"download", Workspace::k_study});
  INFO("second run stdout: " << again.out << "\nstderr: " << again.err);
  REQUIRE(again.exit_code == 0);
  check_exact_copy(ws);
  CHECK(ws.history()[1]["type"] == "incremental");
  CHECK(ws.history()[1]["events_added"] == server.size() - stored.size());
}

TEST_CASE("download::auth a rejected key fails at once with exit 4", "[e2e][faults]") {
  Workspace ws(retries(5));
  ws.add_events(100);
  auto run =
      ws.bdd({"download", Workspace::k_study}, {{"BEHAVERSE_API_KEY_E2E_STUDY", "WRONG-key-0000"}});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == k_exit_auth);
  check_one_error_line(run);
  CHECK(contains(run.err, "HTTP 401"));
  CHECK(contains(run.err, "the API key was rejected"));
  CHECK_FALSE(contains(run.out + run.err, "no new events"));
  // Not retried: one request per connection at most.
  CHECK(ws.server().request_count() <= 3);
  json history = ws.history();
  REQUIRE(history.size() == 1);
  CHECK(history[0]["status"] == "failed");
  CHECK(contains(history[0]["error"].get<std::string>(), "HTTP 401"));
}

TEST_CASE("download::auth a study that refuses the key with 403 fails with exit 4",
          "[e2e][faults]") {
  Workspace ws;
  ws.server().add_study({"locked-study", "another-key", true});
  json config = ws.config();
  config["study_name"] = "locked-study";
  config["api"]["api_key"] = "${BEHAVERSE_API_KEY_LOCKED_STUDY}";
  std::ofstream(ws.dir() / "study_configs" / "locked-study.json") << config.dump(2);
  auto run =
      ws.bdd({"download", "locked-study"}, {{"BEHAVERSE_API_KEY_LOCKED_STUDY", "not-the-key"}});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == k_exit_auth);
  check_one_error_line(run);
  CHECK(contains(run.err, "HTTP 403"));
}

TEST_CASE("download::auth a study the server does not know fails with exit 5", "[e2e][faults]") {
  Workspace ws;
  json config = ws.config();
  config["study_name"] = "ghost-study";
  config["api"]["api_key"] = "${BEHAVERSE_API_KEY_GHOST_STUDY}";
  std::ofstream(ws.dir() / "study_configs" / "ghost-study.json") << config.dump(2);
  auto run = ws.bdd({"download", "ghost-study"}, {{"BEHAVERSE_API_KEY_GHOST_STUDY", "some-key"}});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == k_exit_not_found);
  check_one_error_line(run);
  CHECK(contains(run.err, "HTTP 404"));
  CHECK(contains(run.err, "ghost-study"));
  CHECK(ws.server().request_count("ghost-study") >= 1);
}

TEST_CASE("security::api key never appears in output or files", "[e2e][security]") {
  constexpr const char* k_wrong_key = "WRONG-key-5d1e0b";
  Workspace ws(json{{"storage", {{"default_format", "sqlite"}}}, {"api", {{"max_retries", 1}}}});
  ws.add_events(300);
  const auto check_run = [&](const ProcessResult& run) {
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    for (const char* secret : {Workspace::k_key, k_wrong_key}) {
      CHECK_FALSE(contains(run.out, secret));
      CHECK_FALSE(contains(run.err, secret));
      check_secret_absent_from_files(ws.dir(), secret);
    }
  };

  auto success = ws.bdd({"-v", "download", Workspace::k_study});
  REQUIRE(success.exit_code == 0);
  check_run(success);

  ws.add_events(10);
  auto rejected = ws.bdd({"-v", "download", Workspace::k_study},
                         {{"BEHAVERSE_API_KEY_E2E_STUDY", k_wrong_key}});
  REQUIRE(rejected.exit_code == k_exit_auth);
  check_run(rejected);

  Faults down;
  down.next_503 = 1'000'000;
  ws.server().set_faults(down);
  auto failed = ws.bdd({"-v", "download", Workspace::k_study});
  REQUIRE(failed.exit_code == k_exit_network);
  check_run(failed);

  for (const auto& args : std::vector<std::vector<std::string>>{{"config"},
                                                                {"status", Workspace::k_study},
                                                                {"log", Workspace::k_study},
                                                                {"fetch", Workspace::k_study},
                                                                {"remote"},
                                                                {"test-connection"}}) {
    INFO("bdd " << args.front());
    check_run(ws.bdd(args));
  }
}
