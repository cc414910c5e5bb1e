// End-to-end: keeping a study current. Incremental runs add exactly what is new (ties at the
// boundary and server-side insertions included) without downloading the study again; servers
// that cap `limit` or omit `total` lose nothing; `--fresh` rebuilds the study and keeps history.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

using bdd::test::check_exact_copy;
using bdd::test::contains;
using bdd::test::describe_difference;
using bdd::test::read_text;
using bdd::test::repeated;
using bdd::test::Workspace;
using nlohmann::json;
using enum bdd::cli::ExitCode;
namespace stdfs = std::filesystem;

json storage(const std::string& format, const json& layout) {
  return {{"storage", {{"default_format", format}, {"folder_structure", layout}}}};
}

// Every data file under the study, relative path -> content.
std::map<std::string, std::string> snapshot(const stdfs::path& study_dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : stdfs::recursive_directory_iterator(study_dir)) {
    auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind("events.", 0) == 0) {
      files[entry.path().lexically_relative(study_dir).string()] = read_text(entry.path());
    }
  }
  return files;
}

bool is_prefix_of(const std::vector<std::string>& prefix, const std::vector<std::string>& all) {
  return prefix.size() <= all.size() && std::equal(prefix.begin(), prefix.end(), all.begin());
}

} // namespace

TEST_CASE("download::incremental adds exactly the new events and records each run",
          "[e2e][download][incremental]") {
  struct Variant {
    const char* format;
    json layout;
  };
  const Variant variant = GENERATE(Variant{"jsonl", json::array()},
                                   Variant{"json", json::array({"by_user_id", "by_date"})},
                                   Variant{"csv", json::array({"by_event_type", "by_user_id"})},
                                   Variant{"sqlite", json::array()});
  INFO("format " << variant.format << ", folder_structure " << variant.layout.dump());
  Workspace ws(storage(variant.format, variant.layout));
  ws.add_events(299);
  // The last event before the first run and one appended after it share `stored`: a tool that
  // filters by "stored > newest local" loses the second.
  ws.server().append(
      Workspace::k_study,
      {R"({"id":"tie-1","stored":"2025-10-06T00:00:00.000Z","types":["tie"],"base":{"userId":"u1","index":1}})"});

  auto first = ws.bdd({"download", Workspace::k_study});
  INFO("first run stdout: " << first.out << "\nstderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  check_exact_copy(ws);
  const json first_metadata = ws.metadata();

  ws.server().append(
      Workspace::k_study,
      {R"({"id":"tie-2","stored":"2025-10-06T00:00:00.000Z","types":["tie"],"base":{"userId":"u1","index":2}})"});
  ws.add_events(119);
  ws.server().reset_stats();

  auto second = ws.bdd({"download", Workspace::k_study});
  INFO("second run stdout: " << second.out << "\nstderr: " << second.err);
  REQUIRE(second.exit_code == 0);
  CHECK(contains(second.out, "downloaded 120 new events for e2e-study"));
  check_exact_copy(ws);
  // Incremental means the old events are not fetched again (one overlap event and prefetch
  // aside).
  CHECK(ws.server().stats().events_served <= 120 + 100);

  json metadata = ws.metadata();
  CHECK(metadata["events_stored"] == 420);
  CHECK(metadata["remote_total"] == 420);
  CHECK(metadata["first_download"] == first_metadata["first_download"]);

  json history = ws.history();
  REQUIRE(history.size() == 2);
  CHECK(history[0]["type"] == "full");
  CHECK(history[1]["type"] == "incremental");
  CHECK(history[1]["status"] == "success");
  CHECK(history[1]["events_added"] == 120);
  CHECK(history[1]["remote_total"] == 420);
  const std::string described = read_text(ws.study_dir() / ".metadata.json");
  const std::string manifest = read_text(ws.study_dir() / ".bdd" / "manifest.sha256");

  ws.server().reset_stats();
  auto third = ws.bdd({"download", Workspace::k_study});
  INFO("third run stdout: " << third.out << "\nstderr: " << third.err);
  REQUIRE(third.exit_code == 0);
  CHECK(third.out.empty()); // a run that finds nothing prints nothing (cron mails every line)
  CHECK(ws.server().request_count() <= 2);
  check_exact_copy(ws);
  history = ws.history();
  REQUIRE(history.size() == 3);
  CHECK(history[2]["type"] == "incremental");
  CHECK(history[2]["status"] == "no_new_events");
  CHECK(history[2]["events_added"] == 0);
  CHECK(history[2]["error"].is_null());
  // Nothing changed, so neither did the description: `last_update` is the last commit's time.
  CHECK(read_text(ws.study_dir() / ".metadata.json") == described);
  CHECK(read_text(ws.study_dir() / ".bdd" / "manifest.sha256") == manifest);
}

TEST_CASE("download::incremental picks up events inserted on the server before the cursor",
          "[e2e][download][incremental]") {
  Workspace ws(storage("jsonl", json::array()));
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);

  bdd::fake_api::GeneratorOptions options;
  options.count = 20;
  options.seed = 7;
  ws.server().insert_generated(Workspace::k_study, 100, options);
  ws.add_events(10);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(contains(run.out, "downloaded 30 new events"));
  // The order of the local file is the order of arrival, so compare as sets.
  auto expected = ws.server_ids();
  auto stored = ws.stored_ids();
  INFO(describe_difference(expected, stored));
  CHECK(repeated(stored).empty());
  std::sort(expected.begin(), expected.end());
  std::sort(stored.begin(), stored.end());
  CHECK(stored == expected);
  CHECK(ws.metadata()["events_stored"] == 330);
}

TEST_CASE("download::incremental events appended during a run are stored by the next run",
          "[e2e][download][incremental]") {
  Workspace ws(json{{"download", {{"default_page_size", 50}, {"max_concurrent_requests", 1}}}});
  ws.add_events(1000);
  bdd::fake_api::Faults faults;
  faults.latency_ms = 20;
  ws.server().set_faults(faults);

  std::thread appender([&ws] {
    bdd::test::wait_until([&ws] { return ws.server().request_count() >= 5; },
                          std::chrono::seconds(10));
    ws.add_events(150);
  });
  auto first = ws.bdd({"download", Workspace::k_study});
  appender.join();
  INFO("first run stdout: " << first.out << "\nstderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  auto stored = ws.stored_ids();
  CHECK(repeated(stored).empty());
  CHECK(stored.size() >= 1000);
  CHECK(is_prefix_of(stored, ws.server_ids()));

  auto second = ws.bdd({"download", Workspace::k_study});
  INFO("second run stdout: " << second.out << "\nstderr: " << second.err);
  REQUIRE(second.exit_code == 0);
  check_exact_copy(ws);
  CHECK(ws.metadata()["events_stored"] == 1150);
}

TEST_CASE("download::paging loses nothing when the server caps limit or omits total",
          "[e2e][download][paging]") {
  Workspace ws(json{{"download", {{"default_page_size", 100}, {"max_concurrent_requests", 3}}}});
  ws.add_events(503);

  SECTION("capped at 7 events a page") {
    ws.server().set_max_limit(7);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    check_exact_copy(ws);
    CHECK(ws.server().stats().last_limit == 101u); // page_size + 1: the seam
    CHECK(ws.metadata()["remote_total"] == 503);
  }
  SECTION("no total in the pages") {
    ws.server().set_omit_total(true);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    check_exact_copy(ws);
    CHECK(ws.metadata()["events_stored"] == 503);

    ws.add_events(61);
    auto again = ws.bdd({"download", Workspace::k_study});
    INFO("second run stdout: " << again.out << "\nstderr: " << again.err);
    REQUIRE(again.exit_code == 0);
    check_exact_copy(ws);
    CHECK(ws.metadata()["events_stored"] == 564);
  }
  SECTION("capped at 7 and no total") {
    ws.server().set_max_limit(7);
    ws.server().set_omit_total(true);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    check_exact_copy(ws);
  }
}

TEST_CASE("download::fresh rebuilds the study and keeps its history", "[e2e][download][fresh]") {
  Workspace ws(storage("jsonl", json::array({"by_user_id", "by_date"})));
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const json first_run = ws.history()[0];
  ws.add_events(50);

  SECTION("in the same layout") {
    auto run = ws.bdd({"download", Workspace::k_study, "--fresh"});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    check_exact_copy(ws);
    json history = ws.history();
    REQUIRE(history.size() == 2);
    CHECK(history[0] == first_run);
    CHECK(history[1]["type"] == "fresh");
    CHECK(history[1]["status"] == "success");
    CHECK(history[1]["events_added"] == 350);
    CHECK(ws.metadata()["events_stored"] == 350);
  }

  SECTION("in a new format, which a plain download refuses") {
    const auto before = snapshot(ws.study_dir());
    ws.update_config(storage("csv", json::array({"by_event_type", "by_user_id"})));
    auto refused = ws.bdd({"download", Workspace::k_study});
    INFO("refused run stdout: " << refused.out << "\nstderr: " << refused.err);
    CHECK(refused.exit_code == k_exit_config);
    CHECK(contains(refused.err, "bdd: error: "));
    CHECK(contains(refused.err, "--fresh"));
    CHECK(snapshot(ws.study_dir()) == before);

    auto run = ws.bdd({"download", Workspace::k_study, "--fresh"});
    INFO("fresh run stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    check_exact_copy(ws);
    for (const auto& [path, content] : snapshot(ws.study_dir())) {
      CHECK(stdfs::path(path).extension() == ".csv");
    }
    CHECK(ws.metadata()["format"] == "csv");
    json history = ws.history();
    REQUIRE(history.size() == 3);
    CHECK(history[0] == first_run);
    CHECK(history[1]["status"] == "failed");
    CHECK(history[2]["type"] == "fresh");
    CHECK(history[2]["status"] == "success");
  }

  // The rebuild's scratch folders are gone.
  for (const auto& entry : stdfs::directory_iterator(ws.study_dir().parent_path())) {
    auto name = entry.path().filename().string();
    CHECK_FALSE(contains(name, ".fresh"));
    CHECK_FALSE(contains(name, ".old"));
  }
}
