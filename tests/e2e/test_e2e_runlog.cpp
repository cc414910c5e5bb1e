// End-to-end: the run history and what a run says. A run from cron that finds nothing prints
// nothing and adds no history line of its own; `status` and `log` fail for a study bdd does not
// know; `-v` shows each request; and failures say what to do.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::ProcessResult;
using bdd::test::Workspace;
using nlohmann::json;
using namespace bdd::cli;

constexpr const char* k_study = Workspace::k_study;

std::string readme() {
  std::ifstream in(std::string(BDD_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The arguments of the README's cron line, from after "bdd" up to the study, with the study
// and the directory of -C replaced by the workspace's.
std::vector<std::string> readme_cron_arguments(const Workspace& ws) {
  const std::string text = readme();
  std::smatch match;
  const std::regex cron(R"(\*/5 \* \* \* \* \S*bdd ([^\n]*) my-study\n)");
  REQUIRE(std::regex_search(text, match, cron));
  std::vector<std::string> args;
  std::istringstream words(match[1].str());
  for (std::string word; words >> word;) {
    args.push_back(word);
  }
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-C") {
      args[i + 1] = ws.dir().string();
    }
  }
  args.emplace_back(k_study);
  return args;
}

} // namespace

TEST_CASE("runlog::a run that finds nothing prints nothing, and the history folds it",
          "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(250);
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);

  for (int i = 0; i < 3; ++i) {
    const ProcessResult run = ws.bdd({"download", k_study});
    CHECK(run.exit_code == k_exit_success);
    // Not on a terminal, as from cron: nothing on stdout, nothing on stderr.
    CHECK(run.out.empty());
    CHECK(run.err.empty());
  }
  // --exit-code keeps its meaning.
  CHECK(ws.bdd({"download", k_study, "--exit-code"}).exit_code == k_exit_no_new_events);

  const json history = ws.history();
  REQUIRE(history.size() == 2);
  CHECK(history[0]["status"] == "success");
  CHECK(history[0]["runs"] == 1);
  CHECK(history[1]["status"] == "no_new_events");
  CHECK(history[1]["runs"] == 4);
  CHECK(history[1]["last_started_at"].is_string());

  const ProcessResult log = ws.bdd({"log", k_study});
  CHECK(log.exit_code == k_exit_success);
  CHECK(contains(log.out, "4 runs with nothing new, "));
  INFO(log.out);
  CHECK(contains(log.out, "the last from offset 250, remote total 250\n"));
  const ProcessResult log_json = ws.bdd({"log", k_study, "--json"});
  const json records = json::parse(log_json.out);
  REQUIRE(records.size() == 2);
  CHECK(records[0] == history[1]); // the same shape as the history file: one serializer
  CHECK(records[0]["runs"] == 4);

  // New events end the fold: the next no-op run starts a record of its own.
  ws.add_events(1);
  const ProcessResult one = ws.bdd({"download", k_study});
  CHECK(one.out
        == "downloaded 1 new event for " + std::string(k_study)
               + " (1 received, 0 duplicates skipped, 1 page); 251 events stored in data/" + k_study
               + "\n");
  CHECK(ws.bdd({"download", k_study}).out.empty());
  CHECK(ws.history().size() == 4);
}

TEST_CASE("runlog::the README's cron line prints only errors", "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(300);
  const std::vector<std::string> args = readme_cron_arguments(ws);
  INFO("cron line arguments: " << json(args).dump());

  const ProcessResult first = ws.bdd(args);
  CHECK(first.exit_code == k_exit_success);
  CHECK(first.out.empty());
  CHECK(first.err.empty());
  CHECK(ws.stored_ids() == ws.server_ids());
  ws.add_events(20);
  const ProcessResult more = ws.bdd(args);
  CHECK(more.exit_code == k_exit_success);
  CHECK(more.out.empty());
  CHECK(more.err.empty());
  CHECK(ws.stored_ids() == ws.server_ids());
  // What it did is in the daily log and the history.
  CHECK(std::filesystem::is_directory(ws.dir() / "data" / ".logs"));
  CHECK(ws.history().size() == 2);

  // A failure is said on stderr (cron mails it).
  ws.server().stop();
  const ProcessResult failed = ws.bdd(args);
  CHECK(failed.exit_code == k_exit_network);
  CHECK(failed.out.empty());
  CHECK(failed.err.rfind("bdd: error: ", 0) == 0);
}

TEST_CASE("runlog::status and log of an unknown study fail with the not-found code",
          "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(10);
  for (const char* command : {"status", "log"}) {
    INFO(command);
    const ProcessResult text = ws.bdd({command, "no-such-study"});
    CHECK(text.exit_code == k_exit_not_found);
    CHECK(text.out.empty());
    CHECK(contains(text.err, "unknown study \"no-such-study\""));
    const ProcessResult as_json = ws.bdd({command, "no-such-study", "--json"});
    CHECK(as_json.exit_code == k_exit_not_found);
    CHECK(json::parse(as_json.out)["error"]["kind"] == "not_found");
  }

  // Configured and never downloaded: exit 0 whatever the flags.
  const ProcessResult status = ws.bdd({"status", k_study});
  CHECK(status.exit_code == k_exit_success);
  CHECK(contains(status.out, "downloaded:       no (run `bdd download e2e-study`)"));
  const ProcessResult status_json = ws.bdd({"status", k_study, "--json"});
  CHECK(status_json.exit_code == k_exit_success);
  CHECK(json::parse(status_json.out)["downloaded"] == false);
  CHECK(ws.bdd({"log", k_study}).exit_code == k_exit_success);
  CHECK(ws.bdd({"log", k_study, "--json"}).out == "[]\n");

  // Downloaded, then known whatever its config says.
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
  CHECK(ws.bdd({"status", k_study}).exit_code == k_exit_success);
}

TEST_CASE("runlog::log -n takes a positive number", "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(10);
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
  for (const char* n : {"0", "-1", "many"}) {
    INFO("-n " << n);
    const ProcessResult run = ws.bdd({"log", k_study, "-n", n});
    CHECK(run.exit_code == k_exit_usage);
    CHECK(run.out.empty());
  }
  const ProcessResult one = ws.bdd({"log", k_study, "-n", "1", "--json"});
  CHECK(one.exit_code == k_exit_success);
  CHECK(json::parse(one.out).size() == 1);
}

TEST_CASE("runlog::-v shows each request, retry and commit, never the key", "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(250);
  bdd::fake_api::Faults faults;
  faults.next_503 = 1;
  faults.retry_after_seconds = 0;
  ws.server().set_faults(faults);
  const ProcessResult run = ws.bdd({"-v", "download", k_study});
  CHECK(run.exit_code == k_exit_success);
  INFO(run.err);
  const std::string events_url =
      "GET " + ws.server().base_url() + "/v1/studies/" + k_study + "/events?offset=";
  CHECK(contains(run.err, events_url + "0&limit=101: HTTP 503 Service Unavailable, "));
  CHECK(std::regex_search(
      run.err,
      std::regex("bdd: debug: GET [^ ]+/events\\?offset=[0-9]+&limit=[0-9]+: HTTP 200, [0-9]+ "
                 "bytes in [0-9]+ ms")));
  CHECK(contains(run.err, "retry 1 of 5"));
  CHECK(std::regex_search(
      run.err,
      std::regex("commit: [0-9]+ events, [0-9]+ bytes written and recorded in [0-9]+ ms")));
  CHECK_FALSE(contains(run.err, Workspace::k_key));
  CHECK_FALSE(contains(run.out, Workspace::k_key));

  // Without -v, none of it.
  ws.add_events(10);
  const ProcessResult quiet = ws.bdd({"download", k_study});
  CHECK_FALSE(contains(quiet.err, "GET "));
}

TEST_CASE("runlog::https against a plain HTTP server says to use http://", "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(10);
  std::string url = ws.server().base_url();
  REQUIRE(url.rfind("http://", 0) == 0);
  url.replace(0, 4, "https");
  ws.update_config({{"api", {{"base_url", url}}}});
  const ProcessResult run = ws.bdd({"download", k_study});
  CHECK(run.exit_code == k_exit_config);
  CHECK(contains(run.err, "does not speak https"));
  CHECK(contains(run.err, "use http:// in api.base_url"));
  CHECK(bdd::test::line_count(run.err) == 1);
  // Not retried: a plain HTTP server does not learn TLS.
  CHECK(ws.server().stats().requests == 0);
}

TEST_CASE("runlog::a base_url with a wrong path says the URL may be wrong", "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(10);
  ws.update_config({{"api", {{"base_url", ws.server().base_url() + "/api"}}}});
  const ProcessResult wrong = ws.bdd({"download", k_study});
  CHECK(wrong.exit_code == k_exit_not_found);
  CHECK(contains(wrong.err, "api.base_url may be wrong"));
  CHECK_FALSE(contains(wrong.err, "no such study"));

  // The right URL and a study the server does not know: that is what it says.
  ws.update_config({{"api", {{"base_url", ws.server().base_url()}}}});
  json ghost = ws.config();
  ghost["study_name"] = "ghost";
  std::ofstream(ws.dir() / "study_configs" / "ghost.json") << ghost.dump();
  const ProcessResult unknown =
      ws.bdd({"download", "ghost"}, {{"BEHAVERSE_API_KEY_GHOST", Workspace::k_key}});
  CHECK(unknown.exit_code == k_exit_not_found);
  CHECK(contains(unknown.err, "no such study"));
  CHECK_FALSE(contains(unknown.err, "api.base_url may be wrong"));
  CHECK(ws.bdd({"download", k_study}).exit_code == k_exit_success);
}

TEST_CASE("runlog::a server that dies mid-run: the message says what was kept", "[e2e][runlog]") {
  Workspace ws(json{{"api", {{"max_retries", 2}}}});
  ws.add_events(3000);
  bdd::fake_api::Faults faults;
  faults.latency_ms = 40;
  ws.server().set_faults(faults);
  const int port = ws.server().port();
  auto running = ws.start_bdd({"download", k_study, "--json"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ws.server().stats().requests < 6 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ws.server().stop();
  const auto result = running->wait(std::chrono::seconds(120));
  REQUIRE(result);
  CHECK(result->exit_code == k_exit_network);
  INFO(result->err);
  const std::smatch kept = [&] {
    std::smatch match;
    std::regex_search(result->err,
                      match,
                      std::regex("; ([0-9]+) new events? of this run (was|were) saved, and the "
                                 "next run continues from there"));
    return match;
  }();
  REQUIRE_FALSE(kept.empty());
  const json summary = json::parse(result->out);
  // The --json summary is the run's own record, failed or not.
  CHECK(summary["status"] == "failed");
  CHECK(summary["pages"].get<std::uint64_t>() >= 1);
  CHECK(std::to_string(summary["events_added"].get<std::uint64_t>()) == kept[1].str());
  CHECK(summary["events_added"] == ws.history().back()["events_added"]);
  CHECK(summary["events_stored"] == summary["events_added"]);

  // The next run continues and the copy is exact.
  ws.server().set_faults({});
  REQUIRE(ws.server().start(port) == port);
  const ProcessResult next = ws.bdd({"download", k_study});
  CHECK(next.exit_code == k_exit_success);
  CHECK(ws.stored_ids() == ws.server_ids());
}

TEST_CASE("runlog::one page, one event: the words agree with the numbers", "[e2e][runlog]") {
  Workspace ws;
  ws.add_events(1);
  const ProcessResult run = ws.bdd({"download", k_study});
  CHECK(run.out
        == "downloaded 1 new event for " + std::string(k_study)
               + " (1 received, 0 duplicates skipped, 1 page); 1 event stored in data/" + k_study
               + "\n");
  const ProcessResult log = ws.bdd({"log", k_study});
  CHECK(contains(log.out, "1 added, 1 received, 0 duplicates skipped\n"));
  CHECK(contains(log.out, "  transfer: 1 page, "));
}
