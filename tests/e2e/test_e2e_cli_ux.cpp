// End-to-end: what a user meets on the command line (issue 12): one-line errors with a hint,
// global options after the command, "did you mean", help, and consistent exit codes and JSON.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::line_count;
using bdd::test::lines_of;
using bdd::test::ProcessResult;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;
namespace cli = bdd::cli;

std::string joined(const std::vector<std::string>& args) {
  std::string text;
  for (const auto& arg : args) {
    text += (text.empty() ? "" : " ") + arg;
  }
  return text;
}

// A command-line mistake: exit 2, nothing on stdout, `bdd: error: ...` and at most one
// `hint: ...` line on stderr.
void check_usage_error(const ProcessResult& run) {
  auto lines = lines_of(run.err);
  CHECK(run.exit_code == cli::k_exit_usage);
  CHECK(run.out.empty());
  REQUIRE(!lines.empty());
  CHECK(lines.size() <= 2);
  CHECK(lines[0].rfind("bdd: error: ", 0) == 0);
  // Lower case after the prefix, as every bdd message (CLI11's own start with a capital).
  const std::string message = lines[0].substr(std::string("bdd: error: ").size());
  auto letter = std::find_if(
      message.begin(), message.end(), [](unsigned char c) { return std::isalpha(c) != 0; });
  CHECK((letter == message.end() || std::islower(static_cast<unsigned char>(*letter)) != 0));
  if (lines.size() == 2) {
    CHECK(lines[1].rfind("hint: ", 0) == 0);
  }
  CHECK_FALSE(contains(run.err, "Run with --help"));
}

} // namespace

TEST_CASE("cli::every command-line mistake is one error line and a hint, exit 2",
          "[e2e][cli][ux]") {
  Workspace ws;
  const std::string study = Workspace::k_study;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"download", "--frsh", study},
       "unknown option '--frsh' for 'bdd download'; did you mean "
       "'--fresh'?"},
      {{"download"}, "missing the <study> argument of 'bdd download'"},
      {{"log", study, "-n", "abc"},
       "invalid value for option --max-count ('abc' is not a whole number of 1 or more)"},
      {{"--config"}, "option --config needs a value"},
      {{"download", study, "--config"}, "option --config needs a value"},
      {{"status", study, "extra"}, "unexpected argument 'extra' for 'bdd status'"},
      {{"download", study, "status"}, "unexpected argument 'status' for 'bdd download'"},
      {{}, "no command given"},
      {{"--frob"}, "unknown option '--frob' for 'bdd'"},
      {{"download", "--repair", "--fresh", study}, ""},
      {{"help", "nosuchthing"}, "'nosuchthing' is not a bdd command"},
  };
  for (const auto& [args, expected] : cases) {
    auto run = ws.bdd(args);
    INFO("bdd " << joined(args) << "\nstdout: " << run.out << "\nstderr: " << run.err);
    check_usage_error(run);
    CHECK(contains(run.err, expected));
  }

  auto hinted = ws.bdd({"download", "--frsh", study});
  CHECK(lines_of(hinted.err).back() == "hint: see 'bdd download --help'");
  CHECK(ws.server().request_count() == 0);
}

TEST_CASE("cli::a mistyped command suggests the nearest one", "[e2e][cli][ux]") {
  Workspace ws;
  const std::vector<std::pair<std::string, std::string>> typos = {
      {"dl", "download"},
      {"downlod", "download"},
      {"downlaod", "download"},
      {"stat", "status"},
      {"verfy", "verify"},
      {"conifg", "config"},
      {"remot", "remote"},
  };
  for (const auto& [typo, meant] : typos) {
    auto run = ws.bdd({typo, Workspace::k_study});
    INFO("bdd " << typo << ": " << run.err);
    check_usage_error(run);
    CHECK(contains(
        run.err, "bdd: error: '" + typo + "' is not a bdd command; did you mean '" + meant + "'?"));
  }
}

TEST_CASE("cli::global options are accepted after the command", "[e2e][cli][ux]") {
  Workspace ws;
  ws.add_events(20);

  // -q after the command: nothing on stdout.
  auto quiet = ws.bdd({"download", Workspace::k_study, "-q"});
  INFO("download -q: " << quiet.out << quiet.err);
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.out.empty());

  // -C after the command, run from somewhere else.
  auto options = ws.process_options();
  options.cwd = ws.dir().parent_path();
  auto elsewhere =
      bdd::test::run_bdd({"status", Workspace::k_study, "-C", ws.dir().string()}, options);
  INFO("status -C: " << elsewhere.out << elsewhere.err);
  CHECK(elsewhere.exit_code == 0);
  CHECK(contains(elsewhere.out, "events stored:    20"));

  // --log-file and -v after the command, --config between the study and them.
  auto logged = ws.bdd({"status",
                        Workspace::k_study,
                        "--config",
                        Workspace::k_study,
                        "--log-file",
                        "run.jsonl",
                        "-v"});
  INFO("status --log-file: " << logged.out << logged.err);
  CHECK(logged.exit_code == 0);
  CHECK(stdfs::exists(ws.dir() / "run.jsonl"));

  // An option the command does not know and that is not global is still refused.
  check_usage_error(ws.bdd({"status", Workspace::k_study, "--fresh"}));
}

TEST_CASE("cli::-- ends the options, as in git", "[e2e][cli][ux]") {
  Workspace ws;
  ws.add_events(20);
  REQUIRE(ws.bdd({"download", Workspace::k_study, "-q"}).exit_code == 0);

  // Before the command it ends the global options; the command's own arguments follow.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-C", ".", "--", "status", Workspace::k_study},
        std::vector<std::string>{"--", "status", Workspace::k_study},
        std::vector<std::string>{"-q", "--", "status", Workspace::k_study, "--json"},
        std::vector<std::string>{"status", "--", Workspace::k_study}}) {
    auto run = ws.bdd(args);
    INFO("bdd " << joined(args) << ": " << run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.err.empty());
    CHECK((contains(run.out, "events stored:    20") || contains(run.out, "\"events_stored\":20")));
  }
  // After `--` the word is the command even when it looks like an option, and after the command
  // an option-like word is the study (here not a valid one), not an option.
  auto dashed = ws.bdd({"--", "--help"});
  INFO("bdd -- --help: " << dashed.err);
  check_usage_error(dashed);
  CHECK(contains(dashed.err, "bdd: error: '--help' is not a bdd command"));
  auto study = ws.bdd({"status", "--", "-q"});
  INFO("bdd status -- -q: " << study.out << study.err);
  CHECK(study.exit_code == cli::k_exit_usage);
  CHECK(contains(study.err, "\"-q\""));
  // `--` is never reported as an unknown option: what is missing is named.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status", "--"}, std::vector<std::string>{"-C", ".", "--"}}) {
    auto run = ws.bdd(args);
    INFO("bdd " << joined(args) << ": " << run.err);
    check_usage_error(run);
    CHECK_FALSE(contains(run.err, "'--'"));
  }
  CHECK(contains(ws.bdd({"status", "--"}).err, "missing the <study> argument of 'bdd status'"));
  CHECK(contains(ws.bdd({"-C", ".", "--"}).err, "no command given"));
}

TEST_CASE("cli::the word after a global option that takes a value is its value, wherever it is",
          "[e2e][cli][ux]") {
  // Global options are read after the command too, so `bdd status --config my-study` gives
  // --config the study's name and leaves the study missing: a usage error, never a run on
  // another study.
  Workspace ws;
  for (const std::string option : {"--config", "-C", "--log-file"}) {
    auto run = ws.bdd({"status", option, Workspace::k_study});
    INFO("status " << option << " <study>: " << run.err);
    check_usage_error(run);
    CHECK(contains(run.err, "bdd: error: missing the <study> argument of 'bdd status'"));
  }
  // A study named like a command is the study, with global options before or after it.
  json config = ws.config();
  config["study_name"] = "status";
  std::ofstream(ws.dir() / "study_configs" / "status.json") << config.dump(2);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status", "status", "-q"},
        std::vector<std::string>{"-q", "status", "status"},
        std::vector<std::string>{"status", "-C", ".", "status"}}) {
    auto run = ws.bdd(args);
    INFO("bdd " << joined(args) << ": " << run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(contains(run.out, "study:            status\n"));
    CHECK(contains(run.out, "downloaded:       no"));
  }
}

TEST_CASE("cli::help shows the same text either way and the exit codes", "[e2e][cli][ux]") {
  Workspace ws;
  auto via_help = ws.bdd({"help", "download"});
  auto via_flag = ws.bdd({"download", "--help"});
  CHECK(via_help.exit_code == 0);
  CHECK(via_flag.exit_code == 0);
  CHECK(via_help.out == via_flag.out);
  CHECK(contains(via_help.out, "Usage: bdd download "));
  // The global options are named in every command's help, since they may follow it.
  CHECK(contains(via_help.out, "--log-file"));

  auto top = ws.bdd({"--help"});
  CHECK(top.exit_code == 0);
  CHECK(contains(top.out, "bdd help exit-codes"));
  auto bare_help = ws.bdd({"help"});
  CHECK(bare_help.exit_code == 0);
  CHECK(contains(bare_help.out, "Usage: bdd [OPTIONS]"));
  CHECK(contains(bare_help.out, "download"));

  auto codes = ws.bdd({"help", "exit-codes"});
  INFO(codes.out);
  CHECK(codes.exit_code == 0);
  for (int code : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 130}) {
    bool listed = false;
    for (const auto& line : lines_of(codes.out)) {
      std::istringstream in(line);
      int number = -1;
      listed = listed || ((in >> number) && number == code);
    }
    CHECK(listed);
  }
}

TEST_CASE("cli::config exits non-zero and says what is wrong when a config is invalid",
          "[e2e][cli][ux]") {
  Workspace ws;
  auto good = ws.bdd({"config"});
  INFO("valid: " << good.out << good.err);
  CHECK(good.exit_code == 0);

  std::ofstream(ws.dir() / "study_configs" / "broken.json") << R"({"api": {"timeout": "slow"}})";
  for (const bool as_json : {false, true}) {
    auto run = as_json ? ws.bdd({"config", "--json"}) : ws.bdd({"config"});
    INFO("json " << as_json << ": " << run.out << run.err);
    CHECK(run.exit_code == cli::k_exit_config);
    CHECK(contains(run.out, "api.timeout must be a number of seconds"));
    CHECK(lines_of(run.err).size() == 1);
    CHECK(contains(run.err, "bdd: error: the config of study \"broken\" is invalid"));
    // The valid study is still listed.
    CHECK(contains(run.out, Workspace::k_study));
    if (as_json) {
      CHECK(line_count(run.out) == 1);
      CHECK(json::parse(run.out).size() == 2);
    }
  }
}

TEST_CASE("cli::config shows a key that came from .env as such", "[e2e][cli][ux]") {
  Workspace ws;
  std::ofstream(ws.dir() / ".env") << "BEHAVERSE_API_KEY_E2E_STUDY=" << Workspace::k_key << "\n";
  stdfs::permissions(ws.dir() / ".env", stdfs::perms::owner_read | stdfs::perms::owner_write);
  auto options = ws.process_options();
  options.env.erase("BEHAVERSE_API_KEY_E2E_STUDY"); // only .env has it

  auto text = bdd::test::run_bdd({"config"}, options);
  INFO("config: " << text.out << text.err);
  CHECK(text.exit_code == 0);
  CHECK(contains(text.out, "API key from BEHAVERSE_API_KEY_E2E_STUDY (from .env)"));
  CHECK_FALSE(contains(text.out, Workspace::k_key));

  auto as_json = bdd::test::run_bdd({"config", "--json"}, options);
  INFO("config --json: " << as_json.out << as_json.err);
  REQUIRE(as_json.exit_code == 0);
  CHECK(json::parse(as_json.out)[0]["key_source"] == "BEHAVERSE_API_KEY_E2E_STUDY (from .env)");

  // From the process environment, no "(from .env)", though .env has the same variable.
  auto from_environment = ws.bdd({"config"});
  CHECK(contains(from_environment.out, "API key from BEHAVERSE_API_KEY_E2E_STUDY\t"));

  // And the key from .env works for a download.
  ws.add_events(5);
  auto download = bdd::test::run_bdd({"download", Workspace::k_study}, options);
  INFO("download: " << download.err);
  CHECK(download.exit_code == 0);
}

TEST_CASE("cli::study_name in a study config must be the study", "[e2e][cli][ux]") {
  Workspace ws;
  ws.add_events(5);
  ws.update_config(json{{"study_name", "another-study"}});
  auto run = ws.bdd({"download", Workspace::k_study});
  INFO(run.err);
  CHECK(run.exit_code == cli::k_exit_config);
  CHECK(contains(run.err,
                 "bdd: error: study_configs/e2e-study.json: study_name is \"another-study\" but "
                 "the study is \"e2e-study\" (set study_name to \"e2e-study\" or remove it"));
  CHECK(ws.server().request_count() == 0);
  CHECK(ws.bdd({"config"}).exit_code == cli::k_exit_config);

  // study_name equal to the study is accepted.
  ws.update_config(json{{"study_name", Workspace::k_study}});
  CHECK(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
}

TEST_CASE("cli::test-connection --json is one line, never the key", "[e2e][cli][ux]") {
  Workspace ws;
  ws.add_events(7);

  auto good = ws.bdd({"test-connection", Workspace::k_study, "--json"});
  INFO("ok: " << good.out << good.err);
  REQUIRE(good.exit_code == 0);
  CHECK(line_count(good.out) == 1);
  json report = json::parse(good.out);
  CHECK(report["study"] == Workspace::k_study);
  CHECK(report["ok"] == true);
  CHECK(report["status"] == "ok");
  CHECK(report["base_url"] == ws.config()["api"]["base_url"]);
  CHECK(report["latency_ms"].is_number_integer());
  CHECK(report["remote_total"] == 7);
  CHECK(report["error"].is_null());

  auto text = ws.bdd({"test-connection", Workspace::k_study});
  CHECK(contains(text.out, "the study holds 7 events"));

  auto wrong = ws.bdd({"test-connection", Workspace::k_study, "--json"},
                      {{"BEHAVERSE_API_KEY_E2E_STUDY", "wrong-key-123"}});
  INFO("wrong key: " << wrong.out << wrong.err);
  CHECK(wrong.exit_code == cli::k_exit_auth);
  REQUIRE(line_count(wrong.out) == 1);
  json failed = json::parse(wrong.out);
  CHECK(failed["ok"] == false);
  CHECK(failed["status"] == "auth");
  CHECK(failed["error"]["kind"] == "auth");
  CHECK(failed["error"]["message"].is_string());
  CHECK(failed["remote_total"].is_null());
  CHECK(lines_of(wrong.err).size() == 1);
  CHECK_FALSE(contains(wrong.out, "wrong-key-123"));
  CHECK_FALSE(contains(good.out, Workspace::k_key));

  // Without a study: an array, one object per configured study.
  auto all = ws.bdd({"test-connection", "--json"});
  INFO("all: " << all.out << all.err);
  CHECK(all.exit_code == 0);
  REQUIRE(line_count(all.out) == 1);
  json array = json::parse(all.out);
  REQUIRE(array.is_array());
  REQUIRE(array.size() == 1);
  CHECK(array[0]["ok"] == true);
}

TEST_CASE("cli::verify --json is one line, also on failure", "[e2e][cli][ux]") {
  Workspace ws;
  ws.add_events(30);

  // Never downloaded: the error in the same object, non-zero exit.
  auto none = ws.bdd({"verify", Workspace::k_study, "--json"});
  INFO("none: " << none.out << none.err);
  CHECK(none.exit_code != 0);
  REQUIRE(line_count(none.out) == 1);
  json missing = json::parse(none.out);
  CHECK(missing["ok"] == false);
  CHECK(missing["error"]["kind"].is_string());

  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  auto good = ws.bdd({"verify", Workspace::k_study, "--json"});
  CHECK(good.exit_code == 0);
  CHECK(line_count(good.out) == 1);
  CHECK(json::parse(good.out)["ok"] == true);

  // A damaged file: the findings, on one line, and exit 9.
  auto files = ws.data_files();
  REQUIRE(!files.empty());
  {
    std::fstream file(files.front(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(5);
    file.put('#');
  }
  auto bad = ws.bdd({"verify", Workspace::k_study, "--json"});
  INFO("bad: " << bad.out << bad.err);
  CHECK(bad.exit_code == cli::k_exit_verify_failed);
  REQUIRE(line_count(bad.out) == 1);
  json report = json::parse(bad.out);
  CHECK(report["ok"] == false);
  CHECK(!report["findings"].empty());
  CHECK(report["error"].is_null());
}

TEST_CASE("cli::verify --remote with only new events says to download, not to repair",
          "[e2e][cli][ux]") {
  Workspace ws;
  ws.add_events(40);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(1);

  auto one = ws.bdd({"verify", Workspace::k_study, "--remote"});
  INFO("one new: " << one.out << one.err);
  CHECK(one.exit_code == cli::k_exit_verify_failed);
  CHECK(contains(one.out,
                 "verified 40 events in 1 file (server total 41): 1 new event on the server: run "
                 "bdd download e2e-study\n"));
  CHECK_FALSE(contains(one.out, "--repair"));

  ws.add_events(79); // more than verify lists one by one
  auto many = ws.bdd({"verify", Workspace::k_study, "--remote"});
  INFO("many new: " << many.out << many.err);
  CHECK(contains(many.out, ": 80 new events on the server: run bdd download e2e-study\n"));
  CHECK_FALSE(contains(many.out, "--repair"));

  // A real hole still asks for --repair.
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  auto files = ws.data_files();
  REQUIRE(files.size() == 1);
  std::string text = bdd::test::read_text(files.front());
  std::ofstream(files.front(), std::ios::trunc) << text.substr(text.find('\n') + 1);
  auto hole = ws.bdd({"verify", Workspace::k_study, "--remote"});
  INFO("hole: " << hole.out << hole.err);
  CHECK(hole.exit_code == cli::k_exit_verify_failed);
  CHECK(contains(hole.out, "--repair"));
}

TEST_CASE("cli::fetch and remote say 1 event, not 1 events", "[e2e][cli][ux]") {
  Workspace ws;
  ws.add_events(1);
  auto fetch = ws.bdd({"fetch", Workspace::k_study});
  INFO(fetch.out << fetch.err);
  CHECK(fetch.exit_code == 0);
  CHECK(contains(fetch.out, "remote: 1 event\n"));
  CHECK(contains(fetch.out, "local:  0 events\n"));
  CHECK(contains(fetch.out, "1 new event to download"));
  auto remote = ws.bdd({"remote"});
  CHECK(contains(remote.out, "\t1 event\n"));
}
