// End-to-end: what scripts and cron rely on. The --json output of status, log, fetch, remote,
// config and download (parsed, fields and values checked), `download --exit-code`, the JSON lines
// logs (--log-file and the daily log of a non-interactive download), no colour off a terminal,
// and the warning about API keys in files other users can read.

#include <bdd/cli/exit_codes.hpp>
#include <bdd/core/clock.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::is_utc_time;
using bdd::test::lines_of;
using bdd::test::read_text;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

using enum bdd::cli::ExitCode;

// stdout holds exactly one line of JSON: parse it.
json one_json_line(const std::string& out) {
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 1);
  return json::parse(lines.front());
}

std::vector<json> json_lines(const stdfs::path& path) {
  std::vector<json> records;
  for (const auto& line : lines_of(read_text(path))) {
    records.push_back(json::parse(line));
  }
  return records;
}

std::string canonical(const std::string& path) {
  return stdfs::weakly_canonical(path).string();
}

} // namespace

TEST_CASE("cli::download --json ends with one JSON line; --exit-code gives 10 when nothing new",
          "[e2e][scripting]") {
  Workspace ws;
  ws.add_events(250);

  auto first = ws.bdd({"download", "--json", "--exit-code", Workspace::k_study});
  INFO("stdout: " << first.out << "\nstderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  json summary = one_json_line(first.out);
  CHECK(summary["study"] == Workspace::k_study);
  CHECK(summary["status"] == "success");
  CHECK(summary["exit_code"] == 0);
  CHECK(summary["type"] == "full");
  CHECK(summary["events_received"] == 250);
  CHECK(summary["events_added"] == 250);
  CHECK(summary["duplicates_skipped"] == 0);
  CHECK(summary["pages"] == 3);
  CHECK(summary["bytes"].get<std::uint64_t>() > 0);
  CHECK(summary["events_stored"] == 250);
  CHECK(summary["remote_total"] == 250);
  CHECK(canonical(summary["study_dir"]) == canonical(ws.study_dir().string()));
  CHECK(summary["error"].is_null());
  CHECK(summary["warnings"] == json::array());

  auto again = ws.bdd({"download", "--json", "--exit-code", Workspace::k_study});
  INFO("stdout: " << again.out << "\nstderr: " << again.err);
  CHECK(again.exit_code == k_exit_no_new_events);
  json nothing = one_json_line(again.out);
  CHECK(nothing["status"] == "no_new_events");
  CHECK(nothing["exit_code"] == k_exit_no_new_events);
  CHECK(nothing["type"] == "incremental");
  CHECK(nothing["events_added"] == 0);
  CHECK(nothing["events_stored"] == 250);
  CHECK(nothing["error"].is_null());

  // Without --exit-code a run with nothing new is a plain success.
  CHECK(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(10);
  auto more = ws.bdd({"download", "--exit-code", Workspace::k_study});
  CHECK(more.exit_code == 0);
  CHECK(contains(more.out, "downloaded 10 new events"));
}

TEST_CASE("cli::download --json reports a failure as JSON, the error once on stderr",
          "[e2e][scripting]") {
  Workspace ws;
  ws.add_events(50);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);

  auto wrong = ws.bdd({"download", "--json", Workspace::k_study},
                      {{"BEHAVERSE_API_KEY_E2E_STUDY", "wrong-key"}});
  INFO("stdout: " << wrong.out << "\nstderr: " << wrong.err);
  CHECK(wrong.exit_code == k_exit_auth);
  json summary = one_json_line(wrong.out);
  CHECK(summary["status"] == "failed");
  CHECK(summary["exit_code"] == k_exit_auth);
  REQUIRE(summary["error"].is_string());
  CHECK(contains(wrong.err, "bdd: error: " + summary["error"].get<std::string>()));
  CHECK(lines_of(wrong.err).size() == 1);
  CHECK(summary["events_added"] == 0);
  CHECK(summary["events_stored"] == 50);
  CHECK(summary["type"] == "incremental");
  CHECK_FALSE(contains(wrong.out, "wrong-key"));

  // No key at all: the config cannot be resolved, still one JSON line.
  stdfs::remove(ws.dir() / ".env");
  auto no_key =
      ws.bdd({"download", "--json", Workspace::k_study}, {{"BEHAVERSE_API_KEY_E2E_STUDY", ""}});
  CHECK(no_key.exit_code == k_exit_config);
  json missing = one_json_line(no_key.out);
  CHECK(missing["status"] == "failed");
  CHECK(missing["study_dir"].is_null());
  CHECK(missing["type"].is_null());
}

TEST_CASE("cli::status, log and fetch --json", "[e2e][scripting]") {
  Workspace ws(
      json{{"storage", {{"default_format", "csv"}, {"folder_structure", {"by_user_id"}}}}});
  ws.add_events(120);

  auto before = ws.bdd({"status", "--json", Workspace::k_study});
  INFO("stdout: " << before.out << "\nstderr: " << before.err);
  CHECK(before.exit_code == 0);
  json empty = one_json_line(before.out);
  CHECK(empty["downloaded"] == false);
  CHECK(empty["events_stored"] == 0);
  CHECK(empty["format"] == "csv");
  CHECK(empty["last_run"].is_null());
  CHECK(empty["first_download"].is_null());

  auto fetch_before = ws.bdd({"fetch", "--json", Workspace::k_study});
  CHECK(fetch_before.exit_code == 0);
  CHECK(one_json_line(fetch_before.out)
        == json{{"study", Workspace::k_study},
                {"remote_total", 120},
                {"local_events", 0},
                {"new_events", 120}});

  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(30);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);

  auto after = ws.bdd({"status", "--json", Workspace::k_study});
  INFO("stdout: " << after.out << "\nstderr: " << after.err);
  CHECK(after.exit_code == 0);
  json status = one_json_line(after.out);
  CHECK(status["study"] == Workspace::k_study);
  CHECK(canonical(status["study_dir"]) == canonical(ws.study_dir().string()));
  CHECK(status["downloaded"] == true);
  CHECK(status["format"] == "csv");
  CHECK(status["folder_structure"] == json::array({"by_user_id"}));
  CHECK(status["events_stored"] == 150);
  CHECK(status["remote_total"] == 150);
  CHECK(is_utc_time(status["first_download"]));
  CHECK(is_utc_time(status["last_update"]));
  CHECK(status["newest_stored_timestamp"].is_string());
  REQUIRE(status["last_run"].is_object());
  CHECK(status["last_run"]["status"] == "success");
  CHECK(status["last_run"]["events_added"] == 30);

  auto log = ws.bdd({"log", "--json", Workspace::k_study});
  CHECK(log.exit_code == 0);
  json runs = one_json_line(log.out);
  REQUIRE(runs.is_array());
  REQUIRE(runs.size() == 2);
  // Newest first, the field names of .download_history.json.
  json history = ws.history();
  CHECK(runs[0] == history.back());
  CHECK(runs[1] == history.front());
  CHECK(runs[0]["type"] == "incremental");
  CHECK(runs[1]["events_added"] == 120);
  json newest = one_json_line(ws.bdd({"log", "--json", "-n", "1", Workspace::k_study}).out);
  CHECK(newest.size() == 1);
  CHECK(newest[0]["run_id"] == runs[0]["run_id"]);

  auto fetch = ws.bdd({"fetch", "--json", Workspace::k_study});
  CHECK(one_json_line(fetch.out)["new_events"] == 0);

  // An error: stdout gets {"error": {kind, message}}, stderr the usual line.
  auto bad = ws.bdd({"fetch", "--json", Workspace::k_study},
                    {{"BEHAVERSE_API_KEY_E2E_STUDY", "wrong-key"}});
  CHECK(bad.exit_code == k_exit_auth);
  json error = one_json_line(bad.out);
  CHECK(error["error"]["kind"] == "auth");
  CHECK(contains(bad.err, "bdd: error: " + error["error"]["message"].get<std::string>()));
  // A study with no config and no local data is unknown: not found, as without --json.
  auto unknown = ws.bdd({"status", "--json", "no-such-study"});
  CHECK(unknown.exit_code == bdd::cli::k_exit_not_found);
  CHECK(one_json_line(unknown.out)["error"]["kind"] == "not_found");
}

TEST_CASE("cli::remote and config --json", "[e2e][scripting]") {
  Workspace ws;
  ws.add_events(40);
  // A second study whose key the server rejects.
  json config = ws.config();
  config["study_name"] = "other-study";
  config["api"]["api_key"] = "${BEHAVERSE_API_KEY_OTHER_STUDY}";
  std::ofstream(ws.dir() / "study_configs" / "other-study.json") << config.dump(2);
  std::map<std::string, std::string> env{{"BEHAVERSE_API_KEY_OTHER_STUDY", "other-key"}};

  auto remote = ws.bdd({"remote", "--json"}, env);
  INFO("stdout: " << remote.out << "\nstderr: " << remote.err);
  CHECK(remote.exit_code == k_exit_failure);
  json studies = one_json_line(remote.out);
  REQUIRE(studies.size() == 2);
  CHECK(studies[0]["study"] == Workspace::k_study);
  CHECK(studies[0]["remote_total"] == 40);
  CHECK(studies[0]["error"].is_null());
  CHECK(studies[0]["base_url"] == ws.config()["api"]["base_url"]);
  CHECK(studies[1]["study"] == "other-study");
  CHECK(studies[1]["remote_total"].is_null());
  CHECK(studies[1]["error"].is_string());

  auto listed = ws.bdd({"config", "--json"}, env);
  INFO("stdout: " << listed.out << "\nstderr: " << listed.err);
  CHECK(listed.exit_code == 0);
  CHECK_FALSE(contains(listed.out, Workspace::k_key));
  CHECK_FALSE(contains(listed.out, "other-key"));
  json configs = one_json_line(listed.out);
  REQUIRE(configs.size() == 2);
  const json& first = configs[0];
  CHECK(first["study"] == Workspace::k_study);
  CHECK(first["key_set"] == true);
  CHECK(first["key_source"] == "BEHAVERSE_API_KEY_E2E_STUDY");
  CHECK(first["format"] == "jsonl");
  CHECK(first["folder_structure"] == json::array());
  CHECK(canonical(first["config_file"]) == canonical(ws.config_path().string()));
  CHECK(canonical(first["data_directory"]) == canonical((ws.dir() / "data").string()));
  CHECK(first["error"].is_null());
  auto unset = ws.bdd({"config", "--json"});
  CHECK(one_json_line(unset.out)[1]["key_set"] == false);
  CHECK(one_json_line(unset.out)[1]["key_source"].is_null());
}

TEST_CASE("cli::--log-file writes JSON lines with the error and never the key",
          "[e2e][scripting]") {
  Workspace ws;
  ws.add_events(60);

  auto done = ws.bdd({"--log-file", "run.jsonl", "download", Workspace::k_study});
  INFO("stderr: " << done.err);
  REQUIRE(done.exit_code == 0);
  auto records = json_lines(ws.dir() / "run.jsonl");
  REQUIRE(records.size() >= 2);
  for (const auto& record : records) {
    CHECK(is_utc_time(record["time"]));
    CHECK(record["level"].is_string());
    CHECK(record["study"] == Workspace::k_study);
    CHECK(record["command"] == "download");
    CHECK(record["message"].is_string());
  }
  CHECK(contains(records.front()["message"].get<std::string>(), "started"));
  CHECK(records.back()["exit_code"] == 0);
  // Not interactive and --log-file given: no daily log.
  CHECK_FALSE(stdfs::exists(ws.dir() / "data" / ".logs"));

  auto failed = ws.bdd({"--log-file", "run.jsonl", "download", Workspace::k_study},
                       {{"BEHAVERSE_API_KEY_E2E_STUDY", "wrong-key-9"}});
  CHECK(failed.exit_code == k_exit_auth);
  auto all = json_lines(ws.dir() / "run.jsonl");
  const json& end = all.back();
  CHECK(end["exit_code"] == k_exit_auth);
  CHECK(end["level"] == "error");
  const json& error = all[all.size() - 2];
  CHECK(error["level"] == "error");
  CHECK(contains(failed.err, "bdd: error: " + error["message"].get<std::string>()));

  auto log_text = read_text(ws.dir() / "run.jsonl");
  CHECK_FALSE(contains(log_text, Workspace::k_key));
  CHECK_FALSE(contains(log_text, "wrong-key-9"));

  // A log file that cannot be opened is a storage error.
  auto unwritable = ws.bdd({"--log-file", "no/such/dir/x.jsonl", "status", Workspace::k_study});
  CHECK(unwritable.exit_code == k_exit_storage);
  CHECK(contains(unwritable.err, "cannot open log file"));
}

TEST_CASE("cli::a non-interactive download appends to the daily log under the data directory",
          "[e2e][scripting]") {
  Workspace ws;
  ws.add_events(30);
  auto logs = ws.dir() / "data" / ".logs";
  stdfs::create_directories(logs);
  // 35 old daily logs: only the newest 30 files (today's included) are kept.
  for (int day = 1; day <= 35; ++day) {
    char name[32];
    std::snprintf(name, sizeof name, "bdd-2020-01-%02d.jsonl", day);
    std::ofstream(logs / name) << "{}\n";
  }
  std::ofstream(logs / "notes.txt") << "kept\n";

  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  auto today = logs / ("bdd-" + bdd::utc_now().substr(0, 10) + ".jsonl");
  REQUIRE(stdfs::exists(today));
  auto records = json_lines(today);
  REQUIRE(records.size() >= 2);
  CHECK(records.front()["command"] == "download");
  CHECK(contains(records.front()["message"].get<std::string>(), "started"));
  CHECK(records.back()["exit_code"] == 0);
  CHECK_FALSE(contains(read_text(today), Workspace::k_key));

  std::size_t daily = 0;
  for (const auto& entry : stdfs::directory_iterator(logs)) {
    daily += entry.path().extension() == ".jsonl" ? 1 : 0;
  }
  CHECK(daily == 30);
  CHECK_FALSE(stdfs::exists(logs / "bdd-2020-01-06.jsonl"));
  CHECK(stdfs::exists(logs / "bdd-2020-01-07.jsonl"));
  CHECK(stdfs::exists(logs / "notes.txt"));

  // A second run appends to the same file.
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  CHECK(json_lines(today).size() > records.size());
}

TEST_CASE("cli::no colour off a terminal or with NO_COLOR; warnings about readable key files",
          "[e2e][scripting]") {
  Workspace ws;
  ws.add_events(10);

  auto failed = ws.bdd({"download", Workspace::k_study},
                       {{"BEHAVERSE_API_KEY_E2E_STUDY", "wrong"}, {"NO_COLOR", "1"}});
  CHECK(failed.exit_code == k_exit_auth);
  CHECK(failed.err.rfind("bdd: error: ", 0) == 0);
  CHECK_FALSE(contains(failed.err, "\x1b"));
  auto plain = ws.bdd({"fetch", "no-such-config-study"});
  CHECK_FALSE(contains(plain.err, "\x1b"));

  auto env_file = ws.dir() / ".env";
  std::ofstream(env_file) << "BEHAVERSE_API_KEY_E2E_STUDY=" << Workspace::k_key << "\n";
  stdfs::permissions(env_file,
                     stdfs::perms::owner_read | stdfs::perms::owner_write | stdfs::perms::group_read
                         | stdfs::perms::others_read);
  auto warned = ws.bdd({"fetch", Workspace::k_study});
  INFO("stderr: " << warned.err);
  CHECK(warned.exit_code == 0);
  CHECK(contains(warned.err,
                 "bdd: warning: \".env\" holds an API key and is readable by other users "
                 "(chmod 600 \".env\")"));
  CHECK_FALSE(contains(warned.err, "\x1b"));
  auto json_run = ws.bdd({"download", "--json", Workspace::k_study});
  json summary = one_json_line(json_run.out);
  REQUIRE(summary["warnings"].size() == 1);
  CHECK(contains(summary["warnings"][0].get<std::string>(), "\".env\" holds an API key"));

  stdfs::permissions(env_file, stdfs::perms::owner_read | stdfs::perms::owner_write);
  auto quiet = ws.bdd({"fetch", Workspace::k_study});
  CHECK(quiet.exit_code == 0);
  CHECK_FALSE(contains(quiet.err, "readable by other users"));
}
