// End-to-end: the commands around `download` (status, log, fetch, remote, config, create-config,
// test-connection, rm), help and version, command-line mistakes, and what bdd prints when stderr
// is not a terminal or -q is given.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace {

using bdd::test::check_exact_copy;
using bdd::test::contains;
using bdd::test::line_count;
using bdd::test::lines_of;
using bdd::test::read_text;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

using enum bdd::cli::ExitCode;

// The text after "<label>" on the first line that starts with it, trimmed; "" if none.
std::string value_of(const std::string& text, const std::string& label) {
  for (const auto& line : lines_of(text)) {
    if (line.rfind(label, 0) == 0) {
      auto value = line.substr(label.size());
      value.erase(0, value.find_first_not_of(' '));
      return value;
    }
  }
  return "";
}

// Add a second study to the server and the workspace, with its own key in `env`.
void add_second_study(Workspace& ws, std::size_t events, std::map<std::string, std::string>& env) {
  ws.server().add_study({"second-study", "second-key-1a2b", false});
  bdd::fake_api::GeneratorOptions options;
  options.count = events;
  ws.server().append_generated("second-study", options);
  json config = ws.config();
  config["study_name"] = "second-study";
  config["api"]["api_key"] = "${BEHAVERSE_API_KEY_SECOND_STUDY}";
  std::ofstream(ws.dir() / "study_configs" / "second-study.json") << config.dump(2);
  env["BEHAVERSE_API_KEY_SECOND_STUDY"] = "second-key-1a2b";
}

} // namespace

TEST_CASE("cli::status describes the local copy, or says how to make one", "[e2e][cli]") {
  Workspace ws(json{{"storage", {{"default_format", "csv"}}}});
  ws.add_events(300);

  auto before = ws.bdd({"status", Workspace::k_study});
  INFO("before stdout: " << before.out << "\nstderr: " << before.err);
  // Configured, never downloaded: a state like any other (exit 0, as with --json).
  CHECK(before.exit_code == 0);
  CHECK(before.err.empty());
  CHECK(contains(before.out, "downloaded:       no (run `bdd download e2e-study`)"));
  CHECK(ws.server().request_count() == 0);

  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  auto after = ws.bdd({"status", Workspace::k_study});
  INFO("after stdout: " << after.out << "\nstderr: " << after.err);
  CHECK(after.exit_code == 0);
  CHECK(value_of(after.out, "events stored:") == "300");
  CHECK(value_of(after.out, "format:") == "csv");
  CHECK(value_of(after.out, "location:").ends_with("data/e2e-study"));
  CHECK(contains(value_of(after.out, "last run:"), "success"));
}

TEST_CASE("cli::log lists runs newest first and -n limits them", "[e2e][cli]") {
  Workspace ws;
  auto empty = ws.bdd({"log", Workspace::k_study});
  CHECK(empty.exit_code == 0);
  CHECK(contains(empty.out, "no downloads recorded"));

  ws.add_events(100);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(30);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  json history = ws.history();
  REQUIRE(history.size() == 3);

  auto log = ws.bdd({"log", Workspace::k_study});
  INFO("stdout: " << log.out << "\nstderr: " << log.err);
  CHECK(log.exit_code == 0);
  std::vector<std::string> run_lines;
  std::vector<std::string> statuses;
  for (const auto& line : lines_of(log.out)) {
    if (line.rfind("run ", 0) == 0) {
      run_lines.push_back(line.substr(4));
    }
  }
  REQUIRE(run_lines.size() == 3);
  CHECK(run_lines[0] == history[2]["run_id"]);
  CHECK(run_lines[1] == history[1]["run_id"]);
  CHECK(run_lines[2] == history[0]["run_id"]);
  CHECK(value_of(log.out, "  status:") == "no_new_events");

  auto newest = ws.bdd({"log", "-n", "1", Workspace::k_study});
  INFO("-n 1 stdout: " << newest.out);
  CHECK(newest.exit_code == 0);
  CHECK(contains(newest.out, "run " + history[2]["run_id"].get<std::string>()));
  CHECK_FALSE(contains(newest.out, "run " + history[1]["run_id"].get<std::string>()));
  CHECK_FALSE(contains(newest.out, "run " + history[0]["run_id"].get<std::string>()));
}

TEST_CASE("cli::fetch reports the remote total and how many events wait", "[e2e][cli]") {
  Workspace ws;
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(40);
  ws.server().reset_stats();

  auto run = ws.bdd({"fetch", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == 0);
  CHECK(value_of(run.out, "remote:") == "340 events");
  CHECK(value_of(run.out, "local:") == "300 events");
  CHECK(contains(run.out, "40 new events"));
  // It downloads nothing: one request for one event.
  CHECK(ws.server().request_count() == 1);
  CHECK(ws.server().stats().last_limit == 1u);
  CHECK(ws.metadata()["events_stored"] == 300);
}

TEST_CASE("cli::remote lists every configured study with its remote count", "[e2e][cli]") {
  Workspace ws;
  ws.add_events(120);
  std::map<std::string, std::string> env;
  add_second_study(ws, 25, env);

  auto run = ws.bdd({"remote"}, env);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == 0);
  auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "e2e-study\t" + ws.server().base_url() + "\t120 events");
  CHECK(lines[1] == "second-study\t" + ws.server().base_url() + "\t25 events");
}

TEST_CASE("cli::config lists study configs and where each key comes from", "[e2e][cli]") {
  Workspace ws;
  std::map<std::string, std::string> env;
  add_second_study(ws, 1, env);
  // A third study with no key anywhere.
  json config = ws.config();
  config["study_name"] = "keyless";
  config["api"]["api_key"] = "${BEHAVERSE_API_KEY_KEYLESS}";
  std::ofstream(ws.dir() / "study_configs" / "keyless.json") << config.dump(2);

  auto run = ws.bdd({"config"}, env);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == 0);
  auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("e2e-study\t", 0) == 0);
  CHECK(contains(lines[0], "BEHAVERSE_API_KEY_E2E_STUDY"));
  CHECK(lines[1].rfind("keyless\t", 0) == 0);
  CHECK(contains(lines[1], "no API key"));
  CHECK(contains(lines[1], "BEHAVERSE_API_KEY_KEYLESS"));
  CHECK(lines[2].rfind("second-study\t", 0) == 0);
  CHECK(contains(lines[2], "BEHAVERSE_API_KEY_SECOND_STUDY"));
  CHECK_FALSE(contains(run.out + run.err, Workspace::k_key));
  CHECK_FALSE(contains(run.out + run.err, "second-key-1a2b"));
  CHECK(ws.server().request_count() == 0);
}

TEST_CASE("cli::create-config writes a config that reads its key from the environment",
          "[e2e][cli]") {
  Workspace ws;
  const auto path = ws.dir() / "study_configs" / "new-study.json";
  auto run = ws.bdd({"create-config", "new-study"});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == 0);
  REQUIRE(stdfs::exists(path));
  const std::string text = read_text(path);
  CHECK(contains(text, "${BEHAVERSE_API_KEY_NEW_STUDY}"));
  json created = json::parse(text);
  CHECK(created["study_name"] == "new-study");
  CHECK(created["api"]["api_key"] == "${BEHAVERSE_API_KEY_NEW_STUDY}");
  CHECK(created["storage"]["partition_naming"] == "plain");
  CHECK(contains(run.out, "BEHAVERSE_API_KEY_NEW_STUDY"));

  // It is a valid config: `bdd config` reads it.
  auto listed = ws.bdd({"config"});
  CHECK(listed.exit_code == 0);
  CHECK(contains(listed.out, "new-study\t"));

  auto again = ws.bdd({"create-config", "new-study"});
  INFO("second stdout: " << again.out << "\nstderr: " << again.err);
  CHECK(again.exit_code == k_exit_config);
  CHECK(again.err.rfind("bdd: error: ", 0) == 0);
  CHECK(contains(again.err, "new-study.json"));
  CHECK(read_text(path) == text);

  auto invalid = ws.bdd({"create-config", "../evil"});
  CHECK(invalid.exit_code == k_exit_usage);
  CHECK_FALSE(stdfs::exists(ws.dir() / "evil.json"));
  CHECK_FALSE(stdfs::exists(ws.dir().parent_path() / "evil.json"));
}

TEST_CASE("cli::test-connection checks the key", "[e2e][cli]") {
  Workspace ws;
  ws.add_events(42);

  auto good = ws.bdd({"test-connection", Workspace::k_study});
  INFO("stdout: " << good.out << "\nstderr: " << good.err);
  CHECK(good.exit_code == 0);
  CHECK(contains(good.out, "e2e-study: OK"));
  CHECK(contains(good.out, "42 events"));

  auto all = ws.bdd({"test-connection"});
  CHECK(all.exit_code == 0);
  CHECK(contains(all.out, "e2e-study: OK"));

  auto bad = ws.bdd({"test-connection", Workspace::k_study},
                    {{"BEHAVERSE_API_KEY_E2E_STUDY", "WRONG-key-9999"}});
  INFO("bad stdout: " << bad.out << "\nstderr: " << bad.err);
  CHECK(bad.exit_code == k_exit_auth);
  CHECK(bad.err.rfind("bdd: error: ", 0) == 0);
  CHECK(contains(bad.err, "the API key was rejected"));
}

TEST_CASE("cli::rm refuses without --force off a terminal and deletes with it", "[e2e][cli]") {
  Workspace ws;
  ws.add_events(100);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto files_before = ws.all_files();

  auto refused = ws.bdd({"rm", Workspace::k_study});
  INFO("refused stdout: " << refused.out << "\nstderr: " << refused.err);
  CHECK(refused.exit_code != 0);
  CHECK(contains(refused.err, "--force"));
  CHECK(ws.all_files() == files_before);
  check_exact_copy(ws);

  // "y" on stdin is not a confirmation when stdin is not a terminal.
  bdd::test::ProcessOptions options = ws.process_options();
  options.stdin_text = "y\n";
  auto piped = bdd::test::run_bdd({"rm", Workspace::k_study}, options);
  CHECK(piped.exit_code != 0);
  CHECK(stdfs::exists(ws.study_dir()));

  auto removed = ws.bdd({"rm", "--force", Workspace::k_study});
  INFO("removed stdout: " << removed.out << "\nstderr: " << removed.err);
  CHECK(removed.exit_code == 0);
  CHECK_FALSE(stdfs::exists(ws.study_dir()));
  CHECK(stdfs::exists(ws.config_path()));

  auto status = ws.bdd({"status", Workspace::k_study});
  CHECK(status.exit_code == 0);
  CHECK(contains(status.out, "downloaded:       no"));

  auto nothing = ws.bdd({"rm", "--force", Workspace::k_study});
  CHECK(nothing.exit_code != 0);
  CHECK(nothing.err.rfind("bdd: error: ", 0) == 0);
}

TEST_CASE("cli::help and version", "[e2e][cli]") {
  Workspace ws;

  auto version = ws.bdd({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("bdd ", 0) == 0);
  CHECK(line_count(version.out) == 1);

  auto help = ws.bdd({"--help"});
  INFO("help: " << help.out);
  CHECK(help.exit_code == 0);
  for (const char* command : {"download",
                              "status",
                              "log",
                              "fetch",
                              "remote",
                              "test-connection",
                              "config",
                              "create-config",
                              "rm"}) {
    CHECK(contains(help.out, command));
  }

  for (const auto& args :
       std::vector<std::vector<std::string>>{{"help", "download"}, {"download", "--help"}}) {
    auto run = ws.bdd(args);
    INFO("bdd " << args[0] << " " << args[1] << ": " << run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(contains(run.out, "--fresh"));
    CHECK(contains(run.out, "study"));
  }

  auto none = ws.bdd({});
  CHECK(none.exit_code == k_exit_usage);
  CHECK(ws.server().request_count() == 0);
}

TEST_CASE("cli::usage mistakes exit 2 with a clear message", "[e2e][cli]") {
  Workspace ws;
  ws.add_events(10);

  auto typo = ws.bdd({"downlaod", Workspace::k_study});
  INFO("typo stderr: " << typo.err);
  CHECK(typo.exit_code == k_exit_usage);
  CHECK(
      contains(typo.err, "bdd: error: 'downlaod' is not a bdd command; did you mean 'download'?"));

  for (const char* study : {"../x", "a/b", ".hidden", "-x", ""}) {
    auto run = ws.bdd({"download", study});
    INFO("study \"" << study << "\": " << run.err);
    CHECK(run.exit_code == k_exit_usage);
  }
  auto bad_flag = ws.bdd({"download", "--frsh", Workspace::k_study});
  CHECK(bad_flag.exit_code == k_exit_usage);

  CHECK(ws.server().request_count() == 0);
  CHECK_FALSE(stdfs::exists(ws.dir() / "data"));
  CHECK_FALSE(stdfs::exists(ws.dir().parent_path() / "x"));
}

TEST_CASE("cli::progress is plain when stderr is not a terminal, absent with -q",
          "[e2e][cli][progress]") {
  Workspace ws(json{{"download", {{"default_page_size", 50}, {"max_concurrent_requests", 1}}}});
  ws.add_events(600);
  bdd::fake_api::Faults faults;
  faults.latency_ms = 10;
  ws.server().set_faults(faults);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK_FALSE(contains(run.err, "\r"));
  CHECK_FALSE(contains(run.err, "\033["));
  CHECK(line_count(run.out) == 1);

  ws.add_events(100);
  auto quiet = ws.bdd({"-q", "download", Workspace::k_study});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.out.empty());
  CHECK(quiet.err.empty());
  check_exact_copy(ws);

  auto quiet_noop = ws.bdd({"-q", "download", Workspace::k_study});
  CHECK(quiet_noop.exit_code == 0);
  CHECK(quiet_noop.out.empty());
  CHECK(quiet_noop.err.empty());
}
