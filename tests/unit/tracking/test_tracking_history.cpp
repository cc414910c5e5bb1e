// The download history: one JSON shape for a run record, histories of older versions still read,
// runs that found nothing fold into one record, and a year of runs every 5 minutes stays small.
#include <bdd/tracking/records.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::tracking::RunRecord;

namespace {

// "2025-01-01T00:00:00Z" plus `minutes`, as bdd writes times (enough for a year of runs).
std::string time_at(std::uint64_t minutes) {
  constexpr std::uint64_t k_day = 24 * 60;
  static constexpr int k_month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::uint64_t day = minutes / k_day;
  int month = 0;
  while (month < 11 && day >= static_cast<std::uint64_t>(k_month_days[month])) {
    day -= static_cast<std::uint64_t>(k_month_days[month]);
    ++month;
  }
  char text[32];
  std::snprintf(text,
                sizeof text,
                "2025-%02d-%02lluT%02llu:%02llu:00Z",
                month + 1,
                static_cast<unsigned long long>(day + 1),
                static_cast<unsigned long long>((minutes % k_day) / 60),
                static_cast<unsigned long long>(minutes % 60));
  return text;
}

RunRecord run_at(std::uint64_t minutes, const std::string& status, std::uint64_t added) {
  RunRecord run;
  run.run_id = time_at(minutes) + "-4242";
  run.started_at = time_at(minutes);
  run.ended_at = time_at(minutes + 1);
  run.type = "incremental";
  run.status = status;
  run.events_received = added;
  run.events_added = added;
  run.pages = 1;
  run.bytes = 120 + added * 300;
  run.start_offset = 50'000 + minutes;
  run.remote_total = 50'000 + minutes + added;
  run.bdd_version = "0.1.0";
  if (status == "failed") {
    run.error = "GET http://api.example.org/v1/studies/s/events?offset=50000&limit=1000: HTTP 503 "
                "Service Unavailable after 4 attempts";
  }
  return run;
}

// What `ops::download` does with every run: a "running" record first, then the finished one.
void record_run(std::vector<RunRecord>& runs, const RunRecord& finished) {
  RunRecord running = finished;
  running.status = "running";
  running.ended_at.clear();
  running.events_received = running.events_added = running.pages = running.bytes = 0;
  running.error.clear();
  bdd::tracking::add_run(runs, running);
  bdd::tracking::add_run(runs, finished);
}

std::uintmax_t written_size(const std::vector<RunRecord>& runs) {
  bdd::test::TempDir dir;
  REQUIRE(bdd::tracking::write_history(dir.path(), runs));
  auto reread = bdd::tracking::read_history(dir.path());
  REQUIRE(reread);
  CHECK(reread->size() == runs.size());
  return stdfs::file_size(bdd::tracking::history_path(dir.path()));
}

} // namespace

TEST_CASE("tracking::run_to_json is the record's one shape and reads back", "[tracking]") {
  RunRecord run = run_at(0, "success", 12);
  run.warnings = {"the server's event list changed before offset 200"};
  run.retries = 2;
  run.retry_wait_seconds = 1.5;
  run.changed_on_server = 1;
  const auto json = bdd::tracking::run_to_json(run);
  // The names `bdd log --json` has always used, in its order, then the fields of folded runs.
  std::vector<std::string> keys;
  for (const auto& item : json.items()) {
    keys.push_back(item.key());
  }
  CHECK(keys
        == std::vector<std::string>{"run_id",
                                    "started_at",
                                    "ended_at",
                                    "type",
                                    "status",
                                    "events_received",
                                    "events_added",
                                    "duplicates_skipped",
                                    "pages",
                                    "bytes",
                                    "start_offset",
                                    "remote_total",
                                    "error",
                                    "bdd_version",
                                    "warnings",
                                    "retries",
                                    "retry_wait_seconds",
                                    "deleted_on_server",
                                    "unusable_events",
                                    "changed_on_server",
                                    "runs",
                                    "last_started_at"});
  CHECK(json["error"].is_null());
  CHECK(json["last_started_at"].is_null());
  CHECK(json["runs"] == 1);

  const RunRecord back = bdd::tracking::run_from_json(nlohmann::json::parse(json.dump()));
  CHECK(bdd::tracking::run_to_json(back) == json);
}

TEST_CASE("tracking::read_history reads the indented history of earlier versions", "[tracking]") {
  bdd::test::TempDir dir;
  // Exactly as bdd 0.1 wrote it (json::dump(2), keys sorted, no `runs`).
  dir.write(".download_history.json", R"([
  {
    "bdd_version": "0.1.0",
    "bytes": 900,
    "duplicates_skipped": 0,
    "ended_at": "2025-11-18T10:00:05Z",
    "error": null,
    "events_added": 7,
    "events_received": 7,
    "pages": 1,
    "remote_total": 7,
    "run_id": "2025-11-18T10:00:00Z-100",
    "started_at": "2025-11-18T10:00:00Z",
    "start_offset": 0,
    "status": "success",
    "type": "full",
    "warnings": []
  },
  {
    "bdd_version": "0.1.0",
    "bytes": 40,
    "ended_at": "2025-11-18T10:05:01Z",
    "error": null,
    "events_added": 0,
    "pages": 1,
    "run_id": "2025-11-18T10:05:00Z-101",
    "started_at": "2025-11-18T10:05:00Z",
    "status": "no_new_events",
    "type": "incremental"
  }
]
)");
  auto runs = bdd::tracking::read_history(dir.path());
  REQUIRE(runs);
  REQUIRE(runs->size() == 2);
  CHECK((*runs)[0].events_added == 7);
  CHECK((*runs)[0].runs == 1);
  CHECK((*runs)[1].runs == 1);
  CHECK((*runs)[1].last_started_at.empty());

  // The next no-op run folds into the old no-op record; the file stays one JSON array.
  RunRecord next = run_at(0, "no_new_events", 0);
  next.run_id = "2025-11-18T10:10:00Z-102";
  next.started_at = "2025-11-18T10:10:00Z";
  next.ended_at = "2025-11-18T10:10:01Z";
  REQUIRE(bdd::tracking::save_run(dir.path(), next));
  const auto document =
      nlohmann::json::parse(bdd::test::read_text(bdd::tracking::history_path(dir.path())));
  REQUIRE(document.is_array());
  REQUIRE(document.size() == 2);
  CHECK(document[1]["runs"] == 2);
  CHECK(document[1]["started_at"] == "2025-11-18T10:05:00Z");
  CHECK(document[1]["last_started_at"] == "2025-11-18T10:10:00Z");
  CHECK(document[1]["ended_at"] == "2025-11-18T10:10:01Z");
  CHECK(document[1]["pages"] == 2);
}

TEST_CASE("tracking::add_run folds consecutive plain no-op runs only", "[tracking]") {
  std::vector<RunRecord> runs;
  record_run(runs, run_at(0, "success", 5));
  for (std::uint64_t i = 1; i <= 12; ++i) {
    record_run(runs, run_at(i * 5, "no_new_events", 0));
  }
  REQUIRE(runs.size() == 2);
  CHECK(runs[1].runs == 12);
  CHECK(runs[1].started_at == time_at(5));
  CHECK(runs[1].last_started_at == time_at(60));
  CHECK(runs[1].ended_at == time_at(61));
  CHECK(runs[1].pages == 12);
  CHECK(runs[1].start_offset == 50'060); // where the latest run started

  // A run with new events, a failure or a no-op with a warning each get a record of their own.
  record_run(runs, run_at(65, "success", 1));
  record_run(runs, run_at(70, "no_new_events", 0));
  record_run(runs, run_at(75, "failed", 0));
  record_run(runs, run_at(80, "no_new_events", 0));
  RunRecord warned = run_at(85, "no_new_events", 0);
  warned.warnings = {"the server now holds 10 events, fewer than the 20 already downloaded"};
  record_run(runs, warned);
  record_run(runs, run_at(90, "no_new_events", 0));
  RunRecord repair = run_at(95, "no_new_events", 0);
  repair.type = "repair";
  record_run(runs, repair);
  REQUIRE(runs.size() == 9);
  for (std::size_t i = 2; i < runs.size(); ++i) {
    CHECK(runs[i].runs == 1);
  }
  CHECK(runs.back().type == "repair");
}

TEST_CASE("tracking::add_run keeps a year of runs every 5 minutes under 1 MiB", "[tracking]") {
  constexpr std::uint64_t k_runs = 365 * 24 * 12; // 105,120
  SECTION("new events every hour, a failure every day") {
    std::vector<RunRecord> runs;
    for (std::uint64_t i = 0; i < k_runs; ++i) {
      const std::uint64_t minutes = i * 5;
      const char* status = i % 288 == 7 ? "failed" : i % 12 == 0 ? "success" : "no_new_events";
      record_run(runs, run_at(minutes, status, std::string(status) == "success" ? 40 : 0));
    }
    // (The running record takes a place until its run folds into the record before.)
    CHECK(runs.size() >= bdd::tracking::k_max_history_records - 1);
    CHECK(runs.size() <= bdd::tracking::k_max_history_records);
    CHECK(runs.front().started_at == time_at(0)); // the first download stays
    CHECK(runs.back().runs == 11);
    CHECK(runs.back().started_at == time_at((k_runs - 11) * 5));
    CHECK(runs.back().last_started_at == time_at((k_runs - 1) * 5));
    CHECK(written_size(runs) < (std::uintmax_t{1} << 20U));
  }
  SECTION("new events in every run") {
    std::vector<RunRecord> runs;
    for (std::uint64_t i = 0; i < k_runs; ++i) {
      record_run(runs, run_at(i * 5, "success", 3));
    }
    CHECK(runs.size() == bdd::tracking::k_max_history_records);
    CHECK(runs.front().started_at == time_at(0));
    CHECK(runs[1].started_at == time_at((k_runs - bdd::tracking::k_max_history_records + 1) * 5));
    CHECK(written_size(runs) < (std::uintmax_t{1} << 20U));
  }
  SECTION("nothing new, ever") {
    std::vector<RunRecord> runs;
    for (std::uint64_t i = 0; i < k_runs; ++i) {
      record_run(runs, run_at(i * 5, "no_new_events", 0));
    }
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].runs == k_runs);
    CHECK(written_size(runs) < 1024);
  }
}

TEST_CASE("tracking::save_run folds no-op runs on disk and keeps the file one JSON array",
          "[tracking]") {
  bdd::test::TempDir dir;
  REQUIRE(bdd::tracking::save_run(dir.path(), run_at(0, "success", 5)));
  for (std::uint64_t i = 1; i <= 50; ++i) {
    REQUIRE(bdd::tracking::save_run(dir.path(), run_at(i * 5, "no_new_events", 0)));
  }
  const std::string text = bdd::test::read_text(bdd::tracking::history_path(dir.path()));
  const auto document = nlohmann::json::parse(text);
  REQUIRE(document.size() == 2);
  CHECK(document[1]["runs"] == 50);
  // One record per line, between the brackets.
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);
}
