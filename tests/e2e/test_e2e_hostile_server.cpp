// End-to-end: a server that is broken or hostile at the HTTP level. Whatever it sends (no HTTP
// at all, a 204, a gzip bomb, a body that never ends, Retry-After: 86400, the key echoed back),
// bdd reports what happened in one line with the server-failure exit code, stays within its
// memory bound, gives up on waiting within its budget, and never shows the key, any part of it,
// or a password written into base_url.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using bdd::fake_api::FaultKind;
using bdd::fake_api::Faults;
using bdd::test::check_exact_copy;
using bdd::test::check_secret_absent_from_files;
using bdd::test::contains;
using bdd::test::line_count;
using bdd::test::ProcessResult;
using bdd::test::Workspace;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

using enum bdd::cli::ExitCode;
constexpr std::uint64_t k_mib = 1024 * 1024;

json settings(int max_retries, int concurrency = 3) {
  return {{"api", {{"max_retries", max_retries}, {"timeout", 20}}},
          {"download", {{"default_page_size", 100}, {"max_concurrent_requests", concurrency}}}};
}

void check_one_error_line(const ProcessResult& run) {
  CHECK(run.err.rfind("bdd: error: ", 0) == 0);
  CHECK(line_count(run.err) == 1);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The largest resident set of any child this process has waited for, in bytes.
std::uint64_t peak_child_rss() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024; // Linux reports KiB
}

} // namespace

TEST_CASE("hostile::a response that is no HTTP is reported as such", "[e2e][hostile]") {
  Workspace ws(settings(1));
  ws.add_events(50);
  Faults faults;
  faults.next_malformed_status = 2; // the first attempt and its retry
  ws.server().set_faults(faults);

  const auto run = ws.bdd({"download", Workspace::k_study});
  INFO(run.err);
  CHECK(run.exit_code == k_exit_network);
  check_one_error_line(run);
  CHECK(contains(run.err, "the server sent a malformed HTTP response"));
  CHECK(contains(run.err, "after 2 attempts"));
  CHECK_FALSE(contains(run.err, "invalid URL"));
  CHECK(ws.server().stats().fault_count(FaultKind::malformed_status) == 2);
}

TEST_CASE("hostile::a 204 is reported as a 204", "[e2e][hostile]") {
  Workspace ws(settings(0));
  ws.add_events(50);
  Faults faults;
  faults.next_no_content = 1;
  ws.server().set_faults(faults);

  const auto run = ws.bdd({"download", Workspace::k_study});
  INFO(run.err);
  CHECK(run.exit_code == k_exit_network);
  check_one_error_line(run);
  CHECK(contains(run.err, ": HTTP 204 No Content instead of 200 with a page of events"));
  CHECK_FALSE(contains(run.err, "HTTP 200"));
}

TEST_CASE("hostile::a gzip bomb or an endless body stops at max_response_bytes, without retries",
          "[e2e][hostile]") {
  const bool bomb = GENERATE(true, false);
  INFO((bomb ? "gzip bomb" : "endless body"));
  // Five retries allowed: if the oversized answer were retried, the next request would get a
  // normal page and the run would succeed.
  json config = settings(5, 1);
  config["api"]["max_response_bytes"] = 16 * k_mib;
  Workspace ws(config);
  ws.add_events(50);
  Faults faults;
  if (bomb) {
    faults.next_gzip_bomb = 1;
    faults.gzip_bomb_mib = 2048; // 2 GiB once inflated; a few MiB on the wire
  } else {
    faults.next_endless_body = 1;
  }
  ws.server().set_faults(faults);

  const auto start = Clock::now();
  const auto run = ws.bdd({"download", Workspace::k_study, "--json"});
  INFO(run.err);
  CHECK(run.exit_code == k_exit_network);
  check_one_error_line(run);
  CHECK(contains(run.err, ": the response body is larger than 16 MiB ("));
  CHECK(contains(run.err, "api.max_response_bytes"));
  CHECK_FALSE(contains(run.err, "attempts"));
  CHECK(ws.server().stats().requests == 1);
  CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 30);
  // The limit and the program itself, not gigabytes.
  CHECK(peak_child_rss() < 16 * k_mib + 96 * k_mib);
  const json summary = json::parse(run.out);
  CHECK(summary["status"] == "failed");
  CHECK(summary["exit_code"] == k_exit_network);
  CHECK(contains(summary["error"].get<std::string>(), "larger than 16 MiB"));
  CHECK(ws.history().back()["status"] == "failed");
}

TEST_CASE("hostile::long Retry-After waits are shown, counted and bounded by the run's budget",
          "[e2e][hostile]") {
  SECTION("a wait over 2 s is a warning, and the history and --json count it") {
    Workspace ws(settings(3, 1));
    ws.add_events(150);
    Faults faults;
    faults.next_429 = 1;
    faults.retry_after_seconds = 3;
    ws.server().set_faults(faults);

    const auto run = ws.bdd({"download", Workspace::k_study, "--json"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(contains(run.err,
                   "bdd: warning: server asked to wait 3 s (HTTP 429 Too Many Requests), retry 1 "
                   "of 3\n"));
    check_exact_copy(ws);
    const json summary = json::parse(run.out);
    CHECK(summary["retries"] == 1);
    CHECK(summary["retry_wait_seconds"] == 3.0);
    CHECK(summary["warnings"].dump().find("server asked to wait 3 s") != std::string::npos);
    const json last = ws.history().back();
    CHECK(last["retries"] == 1);
    CHECK(last["retry_wait_seconds"] == 3.0);
    const auto log = ws.bdd({"log", Workspace::k_study});
    CHECK(contains(log.out, "  retries:  1, 3 s waiting\n"));
    const auto log_json = ws.bdd({"log", Workspace::k_study, "--json"});
    CHECK(json::parse(log_json.out)[0]["retries"] == 1);
  }

  SECTION("Retry-After: 86400 is cut to 600 s, and a run whose waits pass the budget gives up") {
    json config = settings(5, 1);
    config["api"]["max_total_wait_seconds"] = 300;
    Workspace ws(config);
    ws.add_events(150);
    Faults faults;
    faults.next_429 = 1;
    faults.retry_after_seconds = 86400;
    ws.server().set_faults(faults);

    const auto start = Clock::now();
    const auto run = ws.bdd({"download", Workspace::k_study});
    INFO(run.err);
    CHECK(run.exit_code == k_exit_network);
    check_one_error_line(run);
    CHECK(contains(run.err,
                   ": HTTP 429 Too Many Requests: \"Too Many Requests\" (bdd "
                   "stopped retrying: waiting 600 s more would take this run's retry waits past "
                   "300 s (api.max_total_wait_seconds))"));
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 10);
    CHECK(ws.server().stats().requests == 1);
  }

  SECTION("the budget is the run's, shared by its retries") {
    json config = settings(5, 1);
    config["api"]["max_total_wait_seconds"] = 2.5;
    Workspace ws(config);
    ws.add_events(150);
    Faults faults;
    faults.next_429 = 2;
    faults.retry_after_seconds = 2;
    ws.server().set_faults(faults);

    const auto run = ws.bdd({"download", Workspace::k_study});
    INFO(run.err);
    CHECK(run.exit_code == k_exit_network);
    CHECK(contains(run.err,
                   "after 2 attempts (bdd stopped retrying: waiting 2 s more would take "
                   "this run's retry waits past 2.5 s (api.max_total_wait_seconds))"));
    CHECK(ws.server().stats().requests == 2);
  }

  SECTION("-v shows every retry with its reason and delay") {
    Workspace ws(settings(3, 1));
    ws.add_events(150);
    Faults faults;
    faults.next_503 = 1;
    ws.server().set_faults(faults);

    const auto quiet = ws.bdd({"download", Workspace::k_study});
    REQUIRE(quiet.exit_code == 0);
    CHECK_FALSE(contains(quiet.err, "retry 1 of 3"));

    ws.server().set_faults(faults);
    ws.add_events(100);
    const auto verbose = ws.bdd({"-v", "download", Workspace::k_study});
    INFO(verbose.err);
    REQUIRE(verbose.exit_code == 0);
    CHECK(contains(verbose.err,
                   "bdd: debug: GET " + ws.server().base_url()
                       + "/v1/studies/e2e-study/events?offset="));
    CHECK(contains(verbose.err, ": HTTP 503 Service Unavailable; retry 1 of 3 in "));
  }
}

TEST_CASE("hostile::no output shows the key, a prefix of it, or the password of base_url",
          "[e2e][hostile]") {
  Workspace ws(settings(0));
  ws.add_events(50);
  const std::string plain_url = ws.server().base_url();
  const std::string with_password =
      "http://alice:pa55word@" + plain_url.substr(std::string("http://").size());
  ws.update_config({{"api", {{"base_url", with_password}}}});
  // "SECRET" is the key's first 6 characters: none of them may appear anywhere.
  const std::string key_start = std::string(Workspace::k_key).substr(0, 6);
  const auto check_clean = [&](const std::string& what, const std::string& text) {
    INFO(what << ": " << text);
    CHECK_FALSE(contains(text, key_start));
    CHECK_FALSE(contains(text, "pa55word"));
    CHECK_FALSE(contains(text, "alice"));
  };

  const auto connected = ws.bdd({"test-connection", Workspace::k_study});
  REQUIRE(connected.exit_code == 0);
  CHECK(contains(connected.out, "e2e-study: OK: " + plain_url + " accepted the key"));
  check_clean("test-connection stdout", connected.out);
  check_clean("test-connection stderr", connected.err);

  const int prefix = GENERATE(8, 0); // the key's first 8 characters, or all of it
  INFO("echoed prefix " << prefix);
  Faults faults;
  faults.next_echo_key = 1;
  faults.echo_key_prefix = prefix;
  ws.server().set_faults(faults);
  const auto echoed = ws.bdd({"test-connection", Workspace::k_study});
  CHECK(echoed.exit_code == k_exit_auth);
  INFO(echoed.err);
  CHECK(contains(echoed.err,
                 "HTTP 401 Unauthorized: \"Invalid API key \"[redacted]\" for this study\""));
  check_clean("test-connection error", echoed.out + echoed.err);

  ws.server().set_faults(faults);
  const auto log_file = ws.dir() / "run.jsonl";
  const auto run =
      ws.bdd({"-v", "--log-file", log_file.string(), "download", Workspace::k_study, "--json"});
  CHECK(run.exit_code == k_exit_auth);
  CHECK(contains(run.err, "[redacted]"));
  check_clean("download stdout (--json)", run.out);
  check_clean("download stderr (-v)", run.err);
  check_clean("--log-file", read_text(log_file));
  check_clean("history", ws.history().dump());
  const auto log = ws.bdd({"log", Workspace::k_study});
  check_clean("bdd log", log.out + log.err);
  const auto log_json = ws.bdd({"log", Workspace::k_study, "--json"});
  check_clean("bdd log --json", log_json.out);
  const auto remote = ws.bdd({"remote"});
  check_clean("bdd remote", remote.out + remote.err);
  check_secret_absent_from_files(ws.study_dir(), key_start);
  check_secret_absent_from_files(ws.study_dir(), "pa55word");
}

TEST_CASE("hostile::a base_url with a query string is refused before anything is sent",
          "[e2e][hostile]") {
  Workspace ws(settings(0));
  ws.add_events(10);
  ws.update_config({{"api", {{"base_url", ws.server().base_url() + "/?study=other"}}}});
  const auto run = ws.bdd({"download", Workspace::k_study});
  CHECK(run.exit_code == k_exit_config);
  check_one_error_line(run);
  CHECK(contains(run.err, "api.base_url must not have a query string (the part from '?')"));
  CHECK(ws.server().stats().requests == 0);
}

TEST_CASE("hostile::a server that ignores offset ends the run instead of being asked forever",
          "[e2e][hostile]") {
  // The same first page for every offset: without a total such a server never sends an empty
  // page (the old bdd sent 127,000 requests in 20 s); with one, every seam fails.
  const bool omit_total = GENERATE(true, false);
  INFO("omit_total " << omit_total);
  Workspace ws(json{{"download", {{"default_page_size", 100}, {"max_concurrent_requests", 3}}}});
  ws.add_events(1000);
  ws.server().set_omit_total(omit_total);
  ws.server().set_ignore_offset(true);

  const auto run = ws.bdd({"-q", "download", Workspace::k_study}); // -q: no progress line
  INFO(run.err);
  CHECK(run.exit_code == k_exit_network);
  check_one_error_line(run);
  CHECK(contains(run.err, "it seems to ignore `offset`"));
  CHECK(ws.server().request_count() < 40);
  // What it stored is real and stored once: the first page.
  const auto stored = ws.stored_ids();
  CHECK(bdd::test::repeated(stored).empty());
  CHECK(stored.size() <= 101);
}
