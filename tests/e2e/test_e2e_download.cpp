// End-to-end: `bdd download` of a fresh study in every format and folder layout, checked the way
// a researcher relies on the result: exactly the server's events, normalised fields, the raw
// event kept whole, files where the layout says, metadata and history that tell the truth.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using bdd::test::check_exact_copy;
using bdd::test::check_files_confined;
using bdd::test::contains;
using bdd::test::data_field;
using bdd::test::is_utc_time;
using bdd::test::read_events;
using bdd::test::text_field;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

// A web-style event whose `stored` day (UTC) differs from its `timestamp` day, so a layout that
// dates by the wrong field puts it in the wrong folder. Its `data` has a comma, quotes and a
// line break, which CSV must quote.
constexpr const char* k_web_event =
    R"({"id":"6744c1e2f1a9b3c0d2e4f5a6","stored":"2025-11-18T23:30:00.532Z",)"
    R"("timestamp":"2025-11-19T00:10:01.120Z","types":["click","ui"],"element_id":"btn-start",)"
    R"("page_url":"https://example.org/study/p1","base":{"userId":"user_A","index":1},)"
    R"("data":{"note":"a, \"quoted\"\nline","n":1.5}})";
// A game-style event: no top-level id or timestamp.
constexpr const char* k_game_event =
    R"({"stored":"2025-11-18T10:05:00.000Z","types":["TrialEnded"],)"
    R"("object":{"userId":"P-007","index":42,"tsGenerated":"2025-11-18T10:04:59.870Z"}})";
// A web event stored late on the 18th in UTC-2, which is the 19th in UTC.
constexpr const char* k_offset_event =
    R"({"id":"offset-1","stored":"2025-11-18T23:30:00-02:00","timestamp":"2025-11-18T23:29:00-02:00",)"
    R"("types":["scroll"],"base":{"userId":"user_B","index":3}})";

const std::vector<json> k_layouts = {
    json::array(),
    json::array({"by_user_id", "by_date"}),
    json::array({"by_event_type", "by_user_id"}),
};

json find_event(const std::vector<json>& events, const std::string& id) {
  auto it = std::find_if(events.begin(), events.end(), [&](const json& event) {
    return event.at("id").get<std::string>() == id;
  });
  return it == events.end() ? json() : *it;
}

bool file_holds(const stdfs::path& path, const std::string& id) {
  return stdfs::exists(path) && !find_event(read_events(path), id).is_null();
}

// The id the spec derives for a generated (non-hostile) event, computed without bdd's code.
std::string spec_id(const json& raw) {
  if (raw.contains("id") && raw["id"].is_string()) {
    return raw["id"].get<std::string>();
  }
  for (const char* key : {"object", "base"}) {
    if (raw.contains(key) && !raw.contains("timestamp")) {
      const json& inner = raw[key];
      return inner.at("userId").get<std::string>() + "_" + inner.at("index").dump();
    }
  }
  return "";
}

// Where the layout puts an event of `user` stored on `day` with type `type`.
stdfs::path leaf_of(const Workspace& ws,
                    const json& layout,
                    const std::string& user,
                    const std::string& day,
                    const std::string& type) {
  stdfs::path dir = ws.study_dir();
  if (ws.format() != "sqlite") {
    for (const auto& level : layout) {
      dir /= level == "by_user_id" ? user : level == "by_date" ? day : type;
    }
  }
  return dir / ("events." + ws.format());
}

} // namespace

TEST_CASE("download::formats stores exactly the server's events in every format and layout",
          "[e2e][download]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv", "sqlite");
  const json layout = k_layouts[GENERATE(0u, 1u, 2u)];
  INFO("format " << format << ", folder_structure " << layout.dump());

  Workspace ws(json{{"storage", {{"default_format", format}, {"folder_structure", layout}}}});
  ws.add_events(400);
  ws.server().append(Workspace::k_study, {k_web_event, k_game_event, k_offset_event});
  ws.add_events(97);
  const std::size_t total = ws.server().total(Workspace::k_study);
  REQUIRE(total == 500);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(contains(run.out, "downloaded 500 new events for e2e-study"));

  check_exact_copy(ws);

  // The server's ids follow the spec's rules for both shapes (checked without bdd's code).
  const auto server_events = ws.server_events();
  std::vector<std::string> expected_ids;
  for (const auto& raw : server_events) {
    expected_ids.push_back(spec_id(raw));
  }
  CHECK(ws.server_ids() == expected_ids);

  const auto events = ws.stored_events();
  for (const auto& event : events) {
    for (const char* key : {"id",
                            "user_id",
                            "event_type",
                            "timestamp",
                            "stored_timestamp",
                            "element_id",
                            "page_url",
                            "data"}) {
      INFO("event " << event.dump() << " has no " << key);
      REQUIRE(event.contains(key));
    }
  }

  { // web events are normalised as the spec says
    json web = find_event(events, "6744c1e2f1a9b3c0d2e4f5a6");
    REQUIRE(web.is_object());
    CHECK(text_field(web, "user_id") == "user_A");
    CHECK(text_field(web, "event_type") == "click");
    CHECK(text_field(web, "timestamp") == "2025-11-19T00:10:01.120Z");
    CHECK(text_field(web, "stored_timestamp") == "2025-11-18T23:30:00.532Z");
    CHECK(text_field(web, "element_id") == "btn-start");
    CHECK(text_field(web, "page_url") == "https://example.org/study/p1");
    CHECK(data_field(web) == json::parse(k_web_event));
  }

  { // game events are normalised as the spec says
    json game = find_event(events, "P-007_42");
    REQUIRE(game.is_object());
    CHECK(text_field(game, "user_id") == "P-007");
    CHECK(text_field(game, "event_type") == "TrialEnded");
    CHECK(text_field(game, "timestamp") == "2025-11-18T10:04:59.870Z");
    CHECK(text_field(game, "stored_timestamp") == "2025-11-18T10:05:00.000Z");
    CHECK(text_field(game, "element_id") == bdd::test::k_null_field);
    CHECK(text_field(game, "page_url") == bdd::test::k_null_field);
    CHECK(data_field(game) == json::parse(k_game_event));
  }

  { // events are in the folder the layout names, dated by the UTC day of `stored`
    CHECK(file_holds(leaf_of(ws, layout, "user_A", "2025-11-18", "click"),
                     "6744c1e2f1a9b3c0d2e4f5a6"));
    CHECK(file_holds(leaf_of(ws, layout, "P-007", "2025-11-18", "TrialEnded"), "P-007_42"));
    CHECK(file_holds(leaf_of(ws, layout, "user_B", "2025-11-19", "scroll"), "offset-1"));
    if (format == "sqlite" || layout.empty()) {
      REQUIRE(ws.data_files().size() == 1);
      CHECK(ws.data_files().front() == ws.study_dir() / ("events." + format));
    } else {
      // Every leaf sits exactly one folder per level below the study.
      for (const auto& file : ws.data_files()) {
        auto relative = file.lexically_relative(ws.study_dir());
        CHECK(static_cast<std::size_t>(std::distance(relative.begin(), relative.end()))
              == layout.size() + 1);
      }
    }
  }

  { // metadata and history describe the download
    json metadata = ws.metadata();
    REQUIRE(metadata.is_object());
    CHECK(metadata["study_name"] == Workspace::k_study);
    CHECK(metadata["events_stored"] == total);
    CHECK(metadata["remote_total"] == total);
    CHECK(metadata["format"] == format);
    CHECK(metadata["folder_structure"] == layout);
    CHECK(is_utc_time(metadata["first_download"]));
    CHECK(is_utc_time(metadata["last_update"]));

    json history = ws.history();
    REQUIRE(history.is_array());
    REQUIRE(history.size() == 1);
    const json& record = history[0];
    CHECK(record["type"] == "full");
    CHECK(record["status"] == "success");
    CHECK(record["events_added"] == total);
    CHECK(record["events_received"] == total);
    CHECK(record["duplicates_skipped"] == 0);
    CHECK(record["remote_total"] == total);
    CHECK(record["error"].is_null());
    CHECK(is_utc_time(record["started_at"]));
    CHECK(is_utc_time(record["ended_at"]));
  }

  if (format == "json") {
    { // every json file is one valid array of events (what pandas.read_json reads as a table)
      std::size_t counted = 0;
      for (const auto& file : ws.data_files()) {
        INFO("file " << file.string());
        json document = json::parse(bdd::test::read_text(file));
        REQUIRE(document.is_array());
        for (const auto& event : document) {
          CHECK(event["study_name"] == Workspace::k_study);
        }
        counted += document.size();
      }
      CHECK(counted == total);
    }
  }

  if (format == "csv") {
    { // csv files start with the header of the normalised fields
      for (const auto& file : ws.data_files()) {
        auto rows = bdd::test::parse_csv(bdd::test::read_text(file));
        REQUIRE_FALSE(rows.empty());
        const auto& header = rows.front();
        for (const char* column : {"id",
                                   "user_id",
                                   "event_type",
                                   "element_id",
                                   "timestamp",
                                   "stored_timestamp",
                                   "page_url",
                                   "data"}) {
          CHECK(std::find(header.begin(), header.end(), column) != header.end());
        }
        for (std::size_t r = 1; r < rows.size(); ++r) {
          CHECK(rows[r].size() == header.size());
        }
      }
    }
  }
}

TEST_CASE("download::hostile values stay inside the study folder in every format",
          "[e2e][download][security]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv", "sqlite");
  const json layout = k_layouts[GENERATE(1u, 2u)];
  INFO("format " << format << ", folder_structure " << layout.dump());

  Workspace ws(json{{"storage", {{"default_format", format}, {"folder_structure", layout}}}});
  ws.add_events(300, true);
  // Hand-made hostile events on top of the generator's, one per trick.
  ws.server().append(
      Workspace::k_study,
      {R"({"id":"nasty-up","stored":"2025-11-18T10:00:00Z","types":["../../../escape"],"base":{"userId":"../../escape","index":5}})",
       R"({"id":"nasty-slash","stored":"2025-11-18T10:00:01Z","types":["a/b"],"base":{"userId":"/etc/passwd","index":6}})",
       R"({"id":"nasty-dots","stored":"2025-11-18T10:00:02Z","types":[".."],"base":{"userId":".","index":7}})",
       R"({"id":"nasty-empty","stored":"not a date","types":[""],"base":{"userId":"","index":8}})",
       R"({"id":"nasty-nul","stored":"2025-11-18T10:00:03Z","types":["a\u0000b"],"base":{"userId":"x\\..\\..\\y","index":9}})",
       R"({"stored":"2025-11-18T10:00:04Z","types":null,"note":"no id at all, \"quotes\", commas,\r\nCRLF"})"});
  ws.add_events(100, true);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);

  check_exact_copy(ws);
  check_files_confined(ws);
  const auto stored = ws.stored_ids();
  for (const char* id : {"nasty-up", "nasty-slash", "nasty-dots", "nasty-empty", "nasty-nul"}) {
    CHECK(std::count(stored.begin(), stored.end(), id) == 1);
  }

  // Nothing but the study folder, its lock and the daily logs appeared in the data directory.
  for (const auto& entry : stdfs::directory_iterator(ws.study_dir().parent_path())) {
    INFO("entry " << entry.path().string());
    auto name = entry.path().filename().string();
    CHECK((name == Workspace::k_study || name == std::string(".") + Workspace::k_study + ".lock"
           || name == ".logs"));
  }
  if (format != "sqlite") {
    for (const auto& file : ws.data_files()) {
      auto relative = file.lexically_relative(ws.study_dir());
      INFO("file " << relative.string());
      CHECK(static_cast<std::size_t>(std::distance(relative.begin(), relative.end()))
            == layout.size() + 1);
      for (const auto& part : relative) {
        CHECK_FALSE(part.string().empty());
        CHECK(part.string().front() != '.');
        CHECK(part.string().size() <= 255);
      }
    }
  }
}
