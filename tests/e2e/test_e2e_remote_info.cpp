// End-to-end: `bdd remote-info`, what the server says about a study from a few requests (the
// total, the stored times of the first and last events, the new events, the size and time
// estimates), never downloading it.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::lines_of;
using bdd::test::ProcessResult;
using bdd::test::Workspace;
using nlohmann::json;

using enum bdd::cli::ExitCode;

const std::vector<std::string> k_formats = {"json", "jsonl", "csv", "sqlite", "parquet"};

// The value of the `name:` line of the text output (names are padded to one width).
std::string value_of(const std::string& text, const std::string& name) {
  for (const auto& line : lines_of(text)) {
    if (line.rfind(name + ":", 0) == 0) {
      auto value = line.substr(name.size() + 1);
      value.erase(0, value.find_first_not_of(' '));
      return value;
    }
  }
  return "";
}

json one_json_line(const ProcessResult& run) {
  auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 1);
  return json::parse(lines.front());
}

std::string stored_of(const Workspace& ws, std::size_t index) {
  return ws.server_events().at(index)["stored"].get<std::string>();
}

ProcessResult
remote_info(const Workspace& ws, bool as_json, std::map<std::string, std::string> env = {}) {
  std::vector<std::string> args = {"remote-info", Workspace::k_study};
  if (as_json) {
    args.emplace_back("--json");
  }
  auto run = ws.bdd(args, std::move(env));
  CHECK_FALSE(contains(run.out + run.err, Workspace::k_key));
  return run;
}

} // namespace

TEST_CASE("cli::remote-info describes a 5,000-event study from 2 requests", "[e2e][remote-info]") {
  Workspace ws;
  ws.add_events(5000);

  auto run = remote_info(ws, false);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  // The first event, then the last page at the configured page size (100); nothing more.
  CHECK(ws.server().request_count() == 2);
  CHECK(ws.server().stats().events_served == 101);
  CHECK(value_of(run.out, "study") == Workspace::k_study);
  CHECK(value_of(run.out, "remote total") == "5000 events");
  CHECK(value_of(run.out, "oldest stored") == stored_of(ws, 0));
  CHECK(value_of(run.out, "newest stored") == stored_of(ws, 4999));
  CHECK(value_of(run.out, "local copy") == "none (`bdd download e2e-study` makes one)");
  CHECK(value_of(run.out, "requests").rfind("2 (101 events on 2 pages, ", 0) == 0);
  for (const auto& format : k_formats) {
    INFO(format);
    const auto size = value_of(run.out, "size as " + format);
    CHECK(contains(size, "(estimate: 5000 events x "));
    CHECK(contains(size, " bytes per event (sampled from 101 events on 2 pages) x ratio "));
    CHECK(contains(size, " measured for " + format + ")"));
    CHECK(size.find_first_of("123456789") == 0); // a positive size first
  }
  CHECK(contains(value_of(run.out, "size as jsonl"), "MB, configured ("));
  CHECK(contains(value_of(run.out, "download time"),
                 " (estimate: 50 pages of 100 events, 3 in flight: 17 rounds x "));
  CHECK(contains(value_of(run.out, "download time"),
                 " ms per page, measured on a page of 100 events)"));
  // Nothing was written locally.
  CHECK_FALSE(std::filesystem::exists(ws.study_dir()));
}

TEST_CASE("cli::remote-info --json has every field, and the new events of a local copy",
          "[e2e][remote-info][scripting]") {
  Workspace ws;
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(4700);
  ws.server().reset_stats();

  auto run = remote_info(ws, true);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(ws.server().request_count() == 2);
  const auto info = nlohmann::ordered_json::parse(lines_of(run.out).at(0));
  std::vector<std::string> keys;
  for (const auto& item : info.items()) {
    keys.push_back(item.key());
  }
  CHECK(keys
        == std::vector<std::string>{"study",
                                    "remote_total",
                                    "oldest_stored",
                                    "newest_stored",
                                    "local_events",
                                    "new_events",
                                    "requests",
                                    "sampled_pages",
                                    "sampled_events",
                                    "sampled_bytes",
                                    "bytes_per_event",
                                    "format",
                                    "size_estimates",
                                    "download_estimate"});
  CHECK(info["study"] == Workspace::k_study);
  CHECK(info["remote_total"] == 5000);
  CHECK(info["oldest_stored"] == stored_of(ws, 0));
  CHECK(info["newest_stored"] == stored_of(ws, 4999));
  CHECK(info["local_events"] == 300);
  CHECK(info["new_events"] == 4700);
  CHECK(info["requests"] == 2);
  CHECK(info["sampled_pages"] == 2);
  CHECK(info["sampled_events"] == 101);
  // The sample is the two answers' bodies, as the server counted them.
  CHECK(info["sampled_bytes"] == ws.server().stats().bytes_served);
  CHECK(info["bytes_per_event"].get<double>()
        == Approx(static_cast<double>(ws.server().stats().bytes_served) / 101));
  CHECK(info["format"] == "jsonl");
  const double per_event = info["bytes_per_event"].get<double>();
  CHECK(per_event > 100);
  REQUIRE(info["size_estimates"].is_object());
  CHECK(info["size_estimates"].size() == k_formats.size());
  for (const auto& format : k_formats) {
    INFO(format);
    const auto& size = info["size_estimates"][format];
    const double ratio = size["ratio"].get<double>();
    CHECK(ratio > 0);
    CHECK(size["bytes"].get<double>() == Approx(5000 * per_event * ratio).epsilon(1e-6));
    CHECK(size["estimate"].get<std::string>().rfind("estimate: 5000 events x ", 0) == 0);
    CHECK(contains(size["estimate"].get<std::string>(), "measured for " + format));
  }
  const auto& time = info["download_estimate"];
  REQUIRE(time.is_object());
  CHECK(time["pages"] == 50);
  CHECK(time["page_size"] == 100);
  CHECK(time["concurrency"] == 3);
  CHECK(time["latency_ms"].get<double>() > 0);
  CHECK(time["seconds"].get<double>() == Approx(17 * time["latency_ms"].get<double>() / 1000));
  CHECK(time["estimate"].get<std::string>().rfind(
            "estimate: 50 pages of 100 events, 3 in flight: 17 rounds x ", 0)
        == 0);

  auto text = remote_info(ws, false);
  CHECK(value_of(text.out, "local copy")
        == "300 events; 4700 new events on the server (run `bdd download e2e-study`)");
  // The local copy was read, not changed.
  CHECK(ws.metadata()["events_stored"] == 300);
}

TEST_CASE("cli::remote-info on an empty study, one event, and a server without total",
          "[e2e][remote-info]") {
  Workspace ws;

  SECTION("an empty study: one request, nothing to estimate") {
    auto run = remote_info(ws, true);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(ws.server().request_count() == 1);
    json info = one_json_line(run);
    CHECK(info["remote_total"] == 0);
    CHECK(info["oldest_stored"].is_null());
    CHECK(info["newest_stored"].is_null());
    CHECK(info["sampled_events"] == 0);
    CHECK(info["bytes_per_event"].is_null());
    CHECK(info["size_estimates"].is_null());
    CHECK(info["download_estimate"].is_null());
    auto text = remote_info(ws, false);
    CHECK(value_of(text.out, "remote total") == "0 events");
    CHECK(value_of(text.out, "oldest stored") == "none (the study is empty)");
    CHECK(value_of(text.out, "download size") == "nothing to download (the study is empty)");
  }
  SECTION("one event: one request") {
    ws.add_events(1);
    auto run = remote_info(ws, true);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(ws.server().request_count() == 1);
    json info = one_json_line(run);
    CHECK(info["remote_total"] == 1);
    CHECK(info["oldest_stored"] == stored_of(ws, 0));
    CHECK(info["newest_stored"] == stored_of(ws, 0));
    CHECK(info["sampled_events"] == 1);
    CHECK(info["download_estimate"]["pages"] == 1);
    CHECK(info["size_estimates"]["csv"]["bytes"].get<double>() > 0);
  }
  SECTION("no total: the first page is sampled, the rest is unknown") {
    ws.add_events(500);
    ws.server().set_omit_total(true);
    auto run = remote_info(ws, true);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(ws.server().request_count() == 2);
    json info = one_json_line(run);
    CHECK(info["remote_total"].is_null());
    CHECK(info["oldest_stored"] == stored_of(ws, 0));
    CHECK(info["newest_stored"].is_null());
    CHECK(info["sampled_events"] == 101);
    CHECK(info["bytes_per_event"].get<double>() > 0);
    CHECK(info["new_events"].is_null());
    CHECK(info["size_estimates"].is_null());
    CHECK(info["download_estimate"].is_null());
    auto text = remote_info(ws, false);
    CHECK(value_of(text.out, "remote total") == "unknown (the server reports no total)");
    CHECK(value_of(text.out, "download time") == "unknown (the server reports no total)");
  }
}

TEST_CASE("cli::remote-info finds the end of a list that grew or a server that caps pages",
          "[e2e][remote-info]") {
  Workspace ws;
  ws.add_events(5000);

  SECTION("events appended after the first request") {
    ws.server().schedule(Workspace::k_study, 1, bdd::fake_api::Mutation::append(7));
    auto run = remote_info(ws, true);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(ws.server().request_count() == 3);
    json info = one_json_line(run);
    CHECK(info["remote_total"] == 5007);
    CHECK(info["newest_stored"] == stored_of(ws, 5006));
  }
  SECTION("pages capped at 40 events: the download's page size is the cap") {
    ws.server().set_max_limit(40);
    auto run = remote_info(ws, true);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(ws.server().request_count() == 3);
    json info = one_json_line(run);
    CHECK(info["newest_stored"] == stored_of(ws, 4999));
    CHECK(info["sampled_events"] == 42);
    CHECK(info["download_estimate"]["page_size"] == 40);
    CHECK(info["download_estimate"]["pages"] == 125);
  }
}

TEST_CASE("cli::remote-info fails as fetch does", "[e2e][remote-info]") {
  Workspace ws;
  ws.add_events(10);

  SECTION("a study the server does not know") {
    json config = ws.config();
    config["study_name"] = "ghost-study";
    config["api"]["api_key"] = "${BEHAVERSE_API_KEY_GHOST_STUDY}";
    std::ofstream(ws.dir() / "study_configs" / "ghost-study.json") << config.dump(2);
    const std::map<std::string, std::string> env = {{"BEHAVERSE_API_KEY_GHOST_STUDY", "some-key"}};
    auto fetch = ws.bdd({"fetch", "ghost-study"}, env);
    auto run = ws.bdd({"remote-info", "ghost-study"}, env);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(fetch.exit_code == k_exit_not_found);
    CHECK(run.exit_code == fetch.exit_code);
    CHECK(contains(run.err, "HTTP 404"));
    CHECK(run.out.empty());
    CHECK_FALSE(contains(run.out + run.err, "some-key"));
  }
  SECTION("a wrong key, with --json") {
    const std::map<std::string, std::string> env = {{"BEHAVERSE_API_KEY_E2E_STUDY", "wrong-key"}};
    auto fetch = ws.bdd({"fetch", "--json", Workspace::k_study}, env);
    auto run = ws.bdd({"remote-info", "--json", Workspace::k_study}, env);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(fetch.exit_code == k_exit_auth);
    CHECK(run.exit_code == fetch.exit_code);
    json error = one_json_line(run);
    CHECK(error == one_json_line(fetch));
    CHECK(error["error"]["kind"] == "auth");
    CHECK(contains(run.err, "bdd: error: " + error["error"]["message"].get<std::string>()));
    CHECK_FALSE(contains(run.out + run.err, "wrong-key"));
  }
}
