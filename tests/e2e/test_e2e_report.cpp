// End-to-end: `bdd report`. A hand-made study with known sequence gaps, a duplicated index, a
// silent participant, an event type that stops, an unknown user, times out of line with their
// storage, both event shapes: the report's numbers are checked exactly, in --json, in the CSV
// files and on stdout, for every filter and for the study stored as flat and nested jsonl,
// sqlite and parquet.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::parse_csv;
using bdd::test::read_text;
using bdd::test::Workspace;
using json = nlohmann::json;
namespace stdfs = std::filesystem;
using enum bdd::cli::ExitCode;

const char* const k_study = Workspace::k_study;

std::string web(const std::string& id,
                const std::string& user,
                int index,
                const std::string& time,
                const std::string& stored,
                const std::string& type) {
  return R"({"id":")" + id + R"(","stored":")" + stored + R"(","timestamp":")" + time
         + R"(","types":[")" + type
         + R"("],"element_id":"btn","page_url":"https://x.org/p","base":{"userId":")" + user
         + R"(","index":)" + std::to_string(index) + R"(},"data":{"rt":300}})";
}

std::string game(const std::string& user,
                 int index,
                 const std::string& time,
                 const std::string& stored,
                 const std::string& extra = "") {
  return "{" + extra + R"("stored":")" + stored + R"(","types":["TrialEnded"],"object":{"userId":")"
         + user + R"(","index":)" + std::to_string(index) + R"(,"tsGenerated":")" + time + R"("}})";
}

// alice (web): indexes 1-3, 6, 7, 9-11, one a day; 4, 5 and 8 are missing.
// bob (game): indexes 1-6 on 01-01 and 01-02, index 3 twice (a copy with an id of its own),
//   then silent until the study's last event on 01-12.
// carol (web): pageview 01-01 and 01-02, click 01-10 (stored an hour before its timestamp) and
//   01-12 (stored three days after it): silent 8 days while alice is active.
// two events without a user id on 01-08.
std::vector<std::string> study_events() {
  std::vector<std::string> events = {
      game("bob", 1, "2025-01-01T08:01:00.000Z", "2025-01-01T08:01:01.000Z"),
      game("bob", 2, "2025-01-01T08:02:00.000Z", "2025-01-01T08:02:01.000Z"),
      game("bob", 3, "2025-01-01T08:03:00.000Z", "2025-01-01T08:03:01.000Z"),
      game(
          "bob", 3, "2025-01-01T08:03:00.000Z", "2025-01-01T08:03:30.000Z", R"("id":"bob-dup-3",)"),
      web("a1", "alice", 1, "2025-01-01T10:00:00.000Z", "2025-01-01T10:00:01.000Z", "click"),
      web("c1", "carol", 1, "2025-01-01T12:00:00.000Z", "2025-01-01T12:00:01.000Z", "pageview"),
      game("bob", 4, "2025-01-02T08:04:00.000Z", "2025-01-02T08:04:01.000Z"),
      game("bob", 5, "2025-01-02T08:05:00.000Z", "2025-01-02T08:05:01.000Z"),
      game("bob", 6, "2025-01-02T08:06:00.000Z", "2025-01-02T08:06:01.000Z"),
      web("a2", "alice", 2, "2025-01-02T10:00:00.000Z", "2025-01-02T10:00:01.000Z", "click"),
      web("c2", "carol", 2, "2025-01-02T12:00:00.000Z", "2025-01-02T12:00:01.000Z", "pageview"),
      web("a3", "alice", 3, "2025-01-03T10:00:00.000Z", "2025-01-03T10:00:01.000Z", "click"),
      web("a6", "alice", 6, "2025-01-06T10:00:00.000Z", "2025-01-06T10:00:01.000Z", "click"),
      web("a7", "alice", 7, "2025-01-07T10:00:00.000Z", "2025-01-07T10:00:01.000Z", "click"),
      R"({"id":"anon-1","stored":"2025-01-08T10:00:01.000Z","timestamp":"2025-01-08T10:00:00.000Z","types":["click"],"base":{"sessionId":"s1"}})",
      R"({"id":"anon-2","stored":"2025-01-08T11:00:01.000Z","timestamp":"2025-01-08T11:00:00.000Z","types":["click"],"base":{"sessionId":"s1"}})",
      web("a9", "alice", 9, "2025-01-09T10:00:00.000Z", "2025-01-09T10:00:01.000Z", "click"),
      web("a10", "alice", 10, "2025-01-10T10:00:00.000Z", "2025-01-10T10:00:01.000Z", "click"),
      web("c3", "carol", 3, "2025-01-10T12:00:00.000Z", "2025-01-10T11:00:00.000Z", "click"),
      web("a11", "alice", 11, "2025-01-11T10:00:00.000Z", "2025-01-11T10:00:01.000Z", "click"),
      web("c4", "carol", 4, "2025-01-12T12:00:00.000Z", "2025-01-15T12:00:00.000Z", "click"),
  };
  return events;
}

json report_json(const Workspace& ws, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"report", k_study, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto run = ws.bdd(args);
  INFO(run.err);
  REQUIRE(run.exit_code == k_exit_success);
  REQUIRE(bdd::test::line_count(run.out) == 1);
  return json::parse(run.out);
}

const json& participant(const json& doc, const std::string& id) {
  for (const auto& p : doc["participants"]) {
    if (p["user_id"] == id) {
      return p;
    }
  }
  FAIL("no participant " << id);
  throw std::logic_error("unreachable");
}

std::vector<std::string> finding_kinds(const json& doc) {
  std::vector<std::string> out;
  for (const auto& f : doc["findings"]) {
    out.push_back(f["kind"].get<std::string>() + ":"
                  + f.value("user_id", f.value("event_type", std::string())));
  }
  return out;
}

} // namespace

TEST_CASE("report --json gives exact numbers for a study with known gaps, duplicates and "
          "silences",
          "[e2e][report]") {
  Workspace ws;
  ws.server().append(k_study, study_events());
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
  const json doc = report_json(ws);

  CHECK(doc["study"] == k_study);
  CHECK(doc["filters"]["since"].is_null());
  CHECK(doc["filters"]["time_field"] == "timestamp");
  CHECK(bdd::test::is_utc_time(doc["generated_at"]));
  CHECK(doc["overview"]
        == json{{"events", 21},
                {"participants", 4},
                {"event_types", 3},
                {"first_event", "2025-01-01T08:01:00.000Z"},
                {"last_event", "2025-01-12T12:00:00.000Z"},
                {"days", 10},
                {"events_without_time", 0}});
  CHECK(doc["events_per_day"]
        == json::parse(R"([{"date":"2025-01-01","events":6},{"date":"2025-01-02","events":5},
            {"date":"2025-01-03","events":1},{"date":"2025-01-06","events":1},
            {"date":"2025-01-07","events":1},{"date":"2025-01-08","events":2},
            {"date":"2025-01-09","events":1},{"date":"2025-01-10","events":2},
            {"date":"2025-01-11","events":1},{"date":"2025-01-12","events":1}])"));
  CHECK(doc["event_types"] == json::parse(R"([
            {"event_type":"click","events":12,"first_event":"2025-01-01T10:00:00.000Z","last_event":"2025-01-12T12:00:00.000Z"},
            {"event_type":"TrialEnded","events":7,"first_event":"2025-01-01T08:01:00.000Z","last_event":"2025-01-02T08:06:00.000Z"},
            {"event_type":"pageview","events":2,"first_event":"2025-01-01T12:00:00.000Z","last_event":"2025-01-02T12:00:00.000Z"}])"));

  const json& alice = participant(doc, "alice");
  CHECK(alice["events"] == 8);
  CHECK(alice["active_days"] == 8);
  CHECK(alice["first_event"] == "2025-01-01T10:00:00.000Z");
  CHECK(alice["last_event"] == "2025-01-11T10:00:00.000Z");
  CHECK(alice["longest_silence_seconds"] == 259200.0);
  CHECK(alice["missing_indexes"] == 3);
  CHECK(alice["missing_ranges"] == json::parse("[[4,5],[8,8]]"));
  CHECK(alice["duplicate_indexes"] == 0);
  CHECK(alice["events_by_type"] == json{{"click", 8}});
  const json& bob = participant(doc, "bob");
  CHECK(bob["events"] == 7);
  CHECK(bob["duplicate_indexes"] == 1);
  CHECK(bob["missing_indexes"] == 0);
  CHECK(bob["active_days"] == 2);
  const json& carol = participant(doc, "carol");
  CHECK(carol["longest_silence_seconds"] == 691200.0);
  CHECK(carol["events_by_type"] == json{{"click", 2}, {"pageview", 2}});
  const json& unknown = participant(doc, "unknown");
  CHECK(unknown["events"] == 2);
  CHECK(unknown["events_without_index"] == 2);
  CHECK(unknown["longest_silence_seconds"] == 3600.0);
  CHECK(doc["participants"][0]["user_id"] == "alice"); // sorted by user id

  CHECK(doc["activity"]["days"].size() == 12);
  CHECK(doc["activity"]["days"][0] == "2025-01-01");
  CHECK(doc["activity"]["days"][11] == "2025-01-12");
  CHECK(doc["activity"]["rows"][0]
        == json::parse(R"({"user_id":"alice","counts":[1,1,1,0,0,1,1,0,1,1,1,0]})"));
  CHECK(doc["sequence_gaps"] == json::parse(R"([{"user_id":"alice","from":4,"to":5,"count":2},
                           {"user_id":"alice","from":8,"to":8,"count":1}])"));

  CHECK(finding_kinds(doc)
        == std::vector<std::string>{"sequence_gap:alice",
                                    "duplicate_index:bob",
                                    "unknown_user:",
                                    "silent_participant:bob",
                                    "silent_participant:carol",
                                    "stopped_event_type:TrialEnded",
                                    "stopped_event_type:pageview",
                                    "time_after_stored:",
                                    "time_far_before_stored:"});
  CHECK(doc["findings"][0]["message"]
        == "participant \"alice\" is missing 3 events of their own sequence (indexes 4-5, 8; "
           "seen 1 to 11): lost before or on the server");
  CHECK(doc["findings"][3]["message"]
        == "participant \"bob\" has sent nothing for 10.2 days, since 2025-01-02T08:06:00.000Z, "
           "while others were active until 2025-01-12T12:00:00.000Z");
  CHECK(doc["findings"][7]["examples"] == json::parse(R"(["c3"])"));
  CHECK(doc["findings"][8]["examples"] == json::parse(R"(["c4"])"));
  CHECK(doc["findings"][8]["message"]
        == "1 event was stored more than 24 hours after their timestamp: sent late, or the "
           "device's clock is behind");
  CHECK(doc["findings"][2]["message"]
        == "2 events have no user id (counted as the participant \"unknown\")");

  bool checked = false;
  for (const auto& row : doc["missing_fields"]) {
    if (row["event_type"] == "TrialEnded" && row["field"] == "element_id") {
      CHECK(row["missing"] == 7);
      CHECK(row["share"] == 1.0);
    } else if (row["event_type"] == "TrialEnded" && row["field"] == "data.id") {
      CHECK(row["missing"] == 6);
    } else if (row["event_type"] == "click" && row["field"] == "user_id") {
      CHECK(row["missing"] == 2);
      CHECK(row["events"] == 12);
    } else if (row["event_type"] == "click" && row["field"] == "data.base.userId") {
      CHECK(row["missing"] == 2);
      checked = true;
    }
  }
  CHECK(checked);

  SECTION("--silence-days moves the threshold") {
    const json wide = report_json(ws, {"--silence-days", "11"});
    CHECK(finding_kinds(wide)
          == std::vector<std::string>{"sequence_gap:alice",
                                      "duplicate_index:bob",
                                      "unknown_user:",
                                      "time_after_stored:",
                                      "time_far_before_stored:"});
  }
}

TEST_CASE("report filters change the numbers as export's filters select events", "[e2e][report]") {
  Workspace ws;
  ws.server().append(k_study, study_events());
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);

  SECTION("--user") {
    const json doc = report_json(ws, {"--user", "alice"});
    CHECK(doc["overview"]["events"] == 8);
    CHECK(doc["overview"]["participants"] == 1);
    CHECK(finding_kinds(doc) == std::vector<std::string>{"sequence_gap:alice"});
    CHECK(doc["filters"]["users"] == json::parse(R"(["alice"])"));
  }
  SECTION("--users-file") {
    bdd::test::write_text(ws.dir() / "cohort.csv", "user_id\nbob\ncarol\n");
    const json doc = report_json(ws, {"--users-file", "cohort.csv"});
    CHECK(doc["overview"]["events"] == 11);
    CHECK(doc["overview"]["participants"] == 2);
  }
  SECTION("--event-type") {
    const json doc = report_json(ws, {"--event-type", "TrialEnded"});
    CHECK(doc["overview"]["events"] == 7);
    CHECK(finding_kinds(doc) == std::vector<std::string>{"duplicate_index:bob"});
  }
  SECTION("--since") {
    const json doc = report_json(ws, {"--since", "2025-01-09"});
    CHECK(doc["overview"]["events"] == 5);
    CHECK(participant(doc, "alice")["missing_indexes"] == 0);
    CHECK(doc["sequence_gaps"].empty());
  }
  SECTION("--until") {
    const json doc = report_json(ws, {"--until", "2025-01-02"});
    CHECK(doc["overview"]["events"] == 6);
  }
  SECTION("--time-field stored") {
    const json doc = report_json(ws, {"--time-field", "stored", "--since", "2025-01-13"});
    CHECK(doc["overview"]["events"] == 1);
    CHECK(doc["participants"][0]["user_id"] == "carol");
    CHECK(doc["filters"]["time_field"] == "stored_timestamp");
  }
  SECTION("a bad filter is a usage error") {
    const auto run = ws.bdd({"report", k_study, "--since", "yesterday"});
    CHECK(run.exit_code == k_exit_usage);
    CHECK(contains(run.err, "--since \"yesterday\" is not a date"));
  }
}

TEST_CASE("report --output writes CSV tables that parse back to the report's numbers",
          "[e2e][report]") {
  Workspace ws;
  ws.server().append(k_study, study_events());
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
  const stdfs::path out = ws.dir() / "tables";
  const auto run = ws.bdd({"report", k_study, "--output", out.string()});
  INFO(run.err);
  REQUIRE(run.exit_code == k_exit_success);
  CHECK(contains(run.out, "report of study e2e-study\n  events:        21\n"));
  CHECK(contains(run.out,
                 "  [high] participant \"alice\" is missing 3 events of their own sequence"));
  CHECK(contains(run.out, "wrote 4 tables and report.html to "));

  const auto participants = parse_csv(read_text(out / "participants.csv"));
  REQUIRE(participants.size() == 5);
  CHECK(participants[0]
        == std::vector<std::string>{"user_id",
                                    "events",
                                    "first_event",
                                    "last_event",
                                    "active_days",
                                    "longest_silence_seconds",
                                    "events_without_index",
                                    "missing_indexes",
                                    "duplicate_indexes",
                                    "sequence_checked",
                                    "missing_ranges",
                                    "events.click",
                                    "events.TrialEnded",
                                    "events.pageview"});
  CHECK(participants[1]
        == std::vector<std::string>{"alice",
                                    "8",
                                    "2025-01-01T10:00:00.000Z",
                                    "2025-01-11T10:00:00.000Z",
                                    "8",
                                    "259200.000000",
                                    "0",
                                    "3",
                                    "0",
                                    "true",
                                    "4-5 8-8",
                                    "8",
                                    "0",
                                    "0"});
  CHECK(participants[2][0] == "bob");
  CHECK(participants[2][8] == "1");

  const auto activity = parse_csv(read_text(out / "activity.csv"));
  REQUIRE(activity.size() == 5);
  CHECK(activity[0].size() == 13);
  CHECK(activity[0][1] == "2025-01-01");
  CHECK(activity[2]
        == std::vector<std::string>{
            "bob", "4", "3", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"});

  const auto gaps = parse_csv(read_text(out / "sequence_gaps.csv"));
  CHECK(gaps
        == std::vector<std::vector<std::string>>{{"user_id", "from", "to", "count"},
                                                 {"alice", "4", "5", "2"},
                                                 {"alice", "8", "8", "1"}});

  const auto missing = parse_csv(read_text(out / "missing_fields.csv"));
  REQUIRE(missing.size() > 1);
  CHECK(missing[0]
        == std::vector<std::string>{"event_type", "field", "events", "missing", "share"});
  CHECK(missing[1] == std::vector<std::string>{"TrialEnded", "id", "7", "0", "0"});
  const json doc = report_json(ws);
  CHECK(missing.size() == doc["missing_fields"].size() + 1);

  SECTION("a folder that is not empty needs --force") {
    const auto again = ws.bdd({"report", k_study, "--output", out.string()});
    CHECK(again.exit_code == k_exit_usage);
    CHECK(contains(again.err, "is not empty"));
    CHECK(ws.bdd({"report", k_study, "--output", out.string(), "--force", "-q"}).exit_code
          == k_exit_success);
  }
  SECTION("never inside the study folder") {
    const auto inside =
        ws.bdd({"report", k_study, "--output", (ws.study_dir() / "tables").string()});
    CHECK(inside.exit_code == k_exit_usage);
    CHECK(contains(inside.err, "is inside the study folder"));
    CHECK_FALSE(stdfs::exists(ws.study_dir() / "tables"));
  }
}

TEST_CASE("report reads every storage format and layout to the same report", "[e2e][report]") {
  json baseline;
  for (const auto& storage :
       {bdd::test::layout("jsonl", json::array()),
        bdd::test::layout("jsonl", json::parse(R"(["by_user_id","by_date"])")),
        bdd::test::layout("sqlite", json::array()),
        bdd::test::layout("parquet", json::parse(R"(["by_date"])"))}) {
    INFO(storage.dump());
    Workspace ws(storage);
    ws.server().append(k_study, study_events());
    REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
    json doc = report_json(ws);
    doc.erase("generated_at");
    if (baseline.is_null()) {
      baseline = doc;
      CHECK(doc["overview"]["events"] == 21);
    } else {
      CHECK(doc == baseline);
    }
  }
}

TEST_CASE("report refuses a study never downloaded and keeps server text out of formulas",
          "[e2e][report]") {
  Workspace ws;
  const auto never = ws.bdd({"report", k_study});
  CHECK(never.exit_code == k_exit_usage);
  CHECK(contains(never.err, "(run `bdd download e2e-study` first)"));
  const auto never_json = ws.bdd({"report", k_study, "--json"});
  CHECK(never_json.exit_code == k_exit_usage);
  CHECK(json::parse(never_json.out)["error"]["kind"] == "usage");

  ws.server().append(
      k_study,
      {R"j({"id":"f1","stored":"2025-01-01T00:00:01.000Z","types":["=HYPERLINK(1)"],"base":{"userId":"+1-555","index":1}})j"});
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
  const stdfs::path out = ws.dir() / "t";
  REQUIRE(ws.bdd({"report", k_study, "-o", out.string(), "-q"}).exit_code == k_exit_success);
  const auto participants = parse_csv(read_text(out / "participants.csv"));
  CHECK(participants[1][0] == "'+1-555");
  const auto missing = parse_csv(read_text(out / "missing_fields.csv"));
  CHECK(missing[1][0] == "'=HYPERLINK(1)");
  const json doc = report_json(ws);
  CHECK(doc["participants"][0]["user_id"] == "+1-555"); // the JSON keeps the value as it is
}
