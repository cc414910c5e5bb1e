// The download history: run records keep their warnings across a save and a read, and histories
// written before the field existed (or hand-edited) still read.
#include <bdd/tracking/records.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace stdfs = std::filesystem;
using bdd::test::TempDir;

namespace {

nlohmann::json read_json(const stdfs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

bdd::tracking::RunRecord finished_run(std::string run_id) {
  bdd::tracking::RunRecord run;
  run.run_id = std::move(run_id);
  run.started_at = "2025-11-18T10:00:00Z";
  run.ended_at = "2025-11-18T10:00:05Z";
  run.type = "incremental";
  run.status = "success";
  run.events_added = 3;
  run.remote_total = 40;
  run.bdd_version = "0.1.0";
  return run;
}

} // namespace

TEST_CASE("tracking::save_run keeps the warnings of a run, in order", "[tracking]") {
  TempDir dir;
  auto drifted = finished_run("run-1");
  drifted.warnings = {"the server's event list changed before offset 200",
                      "the server now holds 150 events, fewer than the 200 already downloaded"};
  REQUIRE(bdd::tracking::save_run(dir.path(), drifted));
  REQUIRE(bdd::tracking::save_run(dir.path(), finished_run("run-2")));

  auto runs = bdd::tracking::read_history(dir.path());
  REQUIRE(runs);
  REQUIRE(runs->size() == 2);
  CHECK((*runs)[0].warnings == drifted.warnings);
  CHECK((*runs)[1].warnings.empty());

  // On disk: an array of strings, and an empty array (not a missing key) for a quiet run.
  const auto document = read_json(bdd::tracking::history_path(dir.path()));
  CHECK(document[0]["warnings"] == nlohmann::json(drifted.warnings));
  CHECK(document[1]["warnings"] == nlohmann::json::array());
}

TEST_CASE("tracking::read_history reads histories without warnings or with odd ones",
          "[tracking]") {
  TempDir dir;
  // As bdd wrote it before runs had warnings, then a hand-edited record.
  std::ofstream(bdd::tracking::history_path(dir.path())) << R"([
    {"run_id": "old", "started_at": "2025-11-18T10:00:00Z", "ended_at": "2025-11-18T10:00:05Z",
     "type": "full", "status": "success", "events_received": 7, "events_added": 7,
     "duplicates_skipped": 0, "pages": 1, "bytes": 900, "start_offset": 0, "remote_total": 7,
     "error": null, "bdd_version": "0.1.0"},
    {"run_id": "edited", "status": "success", "warnings": ["kept", 3, null, "also kept"]},
    {"run_id": "wrong type", "status": "success", "warnings": "not an array"}
  ])";

  auto runs = bdd::tracking::read_history(dir.path());
  REQUIRE(runs);
  REQUIRE(runs->size() == 3);
  CHECK((*runs)[0].run_id == "old");
  CHECK((*runs)[0].events_added == 7);
  CHECK((*runs)[0].remote_total == 7u);
  CHECK((*runs)[0].warnings.empty());
  CHECK((*runs)[1].warnings == std::vector<std::string>{"kept", "also kept"});
  CHECK((*runs)[2].warnings.empty());

  // Saving another run rewrites the old records with the field added.
  REQUIRE(bdd::tracking::save_run(dir.path(), finished_run("new")));
  const auto document = read_json(bdd::tracking::history_path(dir.path()));
  REQUIRE(document.size() == 4);
  CHECK(document[0]["warnings"] == nlohmann::json::array());
  CHECK(document[0]["events_added"] == 7);
}
