// End-to-end: `bdd export` writes the local copy as one file. The same study stored in each of
// the four formats and several folder structures exports to byte-identical csv, jsonl and json,
// equal to what the fake server's events give when normalised, filtered and sorted here; every
// filter and their combinations keep exactly the expected events and read only the folders
// they need; the output is written aside and renamed, never over an existing file without
// --force, to standard output with `-o -`, and readable by Python's csv and json modules.

#include "export_oracle.hpp"

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/process.hpp>
#include <support/workspace.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::layout;
using bdd::test::read_text;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;
using enum bdd::cli::ExitCode;

const char* const k_study = Workspace::k_study;

void write_bytes(const stdfs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A workspace whose study holds `count` hostile events, downloaded in two runs (so leaves are
// appended to), in `format` with `folders`.
std::unique_ptr<Workspace>
downloaded(const std::string& format, const json& folders, std::size_t count = 240) {
  auto ws = std::make_unique<Workspace>(layout(format, folders));
  ws->add_events(count / 2, true);
  auto first = ws->bdd({"download", k_study});
  REQUIRE(first.exit_code == 0);
  ws->add_events(count - count / 2, true);
  auto second = ws->bdd({"download", k_study});
  REQUIRE(second.exit_code == 0);
  return ws;
}

std::vector<bdd::model::Event> server_events(const Workspace& ws) {
  return bdd::test::server_events_normalised(ws.server().events(k_study));
}

json run_json(const bdd::test::ProcessResult& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(!run.out.empty());
  return json::parse(run.out);
}

// The export of `args` (after `export <study>`) to `name`, as bytes; REQUIREs success.
std::string
export_to(const Workspace& ws, const std::string& name, std::vector<std::string> args = {}) {
  std::vector<std::string> all = {"export", k_study, "--output", name, "--force"};
  all.insert(all.end(), args.begin(), args.end());
  auto run = ws.bdd(all);
  INFO("bdd " << all[2] << "... stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == k_exit_success);
  return read_text(ws.dir() / name);
}

// The ids column of a csv file as Python's csv module reads it (header first).
std::vector<std::string> python_csv_ids(const stdfs::path& path) {
  auto run =
      bdd::test::run_process("/usr/bin/python3",
                             {"-c",
                              "import csv, json, sys\n"
                              "with open(sys.argv[1], newline='', encoding='utf-8') as f:\n"
                              "    rows = list(csv.reader(f))\n"
                              "assert all(len(r) == 8 for r in rows), 'a row without 8 fields'\n"
                              "for r in rows[1:]: json.loads(r[7])\n"
                              "print(json.dumps([r[0] for r in rows]))\n",
                              path.string()},
                             {});
  INFO("python: " << run.err);
  REQUIRE(run.exit_code == 0);
  return json::parse(run.out).get<std::vector<std::string>>();
}

std::vector<std::string> display_ids(const std::vector<bdd::model::Event>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) {
    ids.emplace_back(bdd::model::display_id(e.id));
  }
  return ids;
}

} // namespace

TEST_CASE("export::every storage format and folder structure gives the same bytes, in export order",
          "[e2e][export]") {
  const std::vector<json> structures = {
      json::array(), json::array({"by_user_id", "by_date"}), json::array({"by_event_type"})};
  std::map<std::string, std::string> first_bytes; // output format -> bytes
  std::string expected_jsonl;
  for (const std::string format : {"jsonl", "json", "csv", "sqlite"}) {
    for (const auto& folders : structures) {
      if (format == "sqlite" && !folders.empty()) {
        continue; // one database whatever the structure
      }
      INFO(format << " " << folders.dump());
      auto ws = downloaded(format, folders);
      const auto expected = bdd::test::expected_export(server_events(*ws));
      REQUIRE(expected.size() == 240);
      expected_jsonl = bdd::test::as_jsonl(expected, k_study);
      for (const std::string out : {"csv", "jsonl", "json"}) {
        const std::string bytes = export_to(*ws, "out." + out, {"--format", out});
        if (out == "jsonl") {
          CHECK(bytes == expected_jsonl);
        }
        if (out == "csv") {
          auto ids = python_csv_ids(ws->dir() / "out.csv");
          REQUIRE(!ids.empty());
          CHECK(ids.front() == "id");
          ids.erase(ids.begin());
          CHECK(ids == display_ids(expected));
        }
        if (out == "json") {
          const json parsed = json::parse(bytes);
          REQUIRE(parsed.is_array());
          CHECK(parsed.size() == expected.size());
        }
        auto [it, inserted] = first_bytes.emplace(out, bytes);
        CHECK(it->second == bytes); // byte-identical to the first layout's
        // Twice: reproducible.
        CHECK(export_to(*ws, "again." + out, {"--format", out}) == bytes);
      }
    }
  }
}

TEST_CASE("export::the seed's example, the default output name, --force and standard output",
          "[e2e][export]") {
  auto ws = downloaded("jsonl", json::array({"by_user_id"}), 120);
  // The original tool's README example, unchanged.
  auto run = ws->bdd({"export", k_study, "--format", "csv", "--output", "my-data.csv"});
  INFO(run.err);
  REQUIRE(run.exit_code == k_exit_success);
  CHECK(contains(run.out, "exported 120 events"));
  const std::string csv = read_text(ws->dir() / "my-data.csv");
  CHECK(csv.starts_with("id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,"
                        "data\r\n"));

  // An existing file is never replaced without --force, and is left as it was.
  write_bytes(ws->dir() / "my-data.csv", "mine");
  auto refused = ws->bdd({"export", k_study, "--format", "csv", "--output", "my-data.csv"});
  CHECK(refused.exit_code == k_exit_usage);
  CHECK(contains(refused.err, "already exists"));
  CHECK(contains(refused.err, "--force"));
  CHECK(read_text(ws->dir() / "my-data.csv") == "mine");
  auto forced =
      ws->bdd({"export", k_study, "--format", "csv", "--output", "my-data.csv", "--force"});
  CHECK(forced.exit_code == k_exit_success);
  CHECK(read_text(ws->dir() / "my-data.csv") == csv);

  // Default: csv, <study>-export.csv in the working directory.
  auto defaulted = ws->bdd({"export", k_study});
  REQUIRE(defaulted.exit_code == k_exit_success);
  CHECK(read_text(ws->dir() / (std::string(k_study) + "-export.csv")) == csv);
  auto jsonl_default = ws->bdd({"export", k_study, "--format", "jsonl"});
  REQUIRE(jsonl_default.exit_code == k_exit_success);
  const std::string jsonl = read_text(ws->dir() / (std::string(k_study) + "-export.jsonl"));

  // Standard output: the same bytes, the summary on stderr; json cannot stream.
  auto to_stdout = ws->bdd({"export", k_study, "-o", "-"});
  CHECK(to_stdout.exit_code == k_exit_success);
  CHECK(to_stdout.out == csv);
  CHECK(contains(to_stdout.err, "exported 120 events"));
  auto jsonl_stdout = ws->bdd({"export", k_study, "--format", "jsonl", "--output", "-"});
  CHECK(jsonl_stdout.out == jsonl);
  auto json_stdout = ws->bdd({"export", k_study, "--format", "json", "-o", "-"});
  CHECK(json_stdout.exit_code == k_exit_usage);
  CHECK(contains(json_stdout.err, "standard output"));
  CHECK(json_stdout.out.empty());

  // A reader that stops early (`| head`): bdd ends quietly, as other tools do.
  auto piped = bdd::test::run_process(
      "/bin/sh",
      {"-c", std::string("'") + BDD_BINARY + "' export " + k_study + " -o - | head -c 1000"},
      ws->process_options());
  CHECK(piped.exit_code == 0);
  CHECK(piped.out == csv.substr(0, 1000));
  CHECK(piped.err.empty());

  // No temporary file is left beside the outputs.
  for (const auto& entry : stdfs::directory_iterator(ws->dir())) {
    const std::string name = entry.path().filename().string();
    CHECK_FALSE(name.ends_with(".tmp"));
    CHECK_FALSE(name.starts_with(".bdd-export-"));
  }
}

TEST_CASE("export::filters keep exactly the expected events, alone and combined", "[e2e][export]") {
  for (const std::string format : {"jsonl", "sqlite"}) {
    INFO(format);
    auto ws = downloaded(format, json::array({"by_user_id", "by_date"}), 300);
    const auto all = server_events(*ws);
    // Two users with events, and an event type.
    std::map<std::string, std::size_t> per_user;
    std::map<std::string, std::size_t> per_type;
    for (const auto& e : all) {
      per_user[e.user_id] += 1;
      per_type[e.event_type] += 1;
    }
    std::vector<std::pair<std::size_t, std::string>> by_count;
    for (const auto& [user, n] : per_user) {
      by_count.emplace_back(n, user);
    }
    std::sort(by_count.rbegin(), by_count.rend());
    const std::string user_a = by_count.at(0).second;
    const std::string user_b = by_count.at(1).second;
    const std::string type = per_type.begin()->first == "unknown"
                                 ? std::next(per_type.begin())->first
                                 : per_type.begin()->first;
    const auto check = [&](const std::vector<std::string>& args,
                           const std::function<bool(const bdd::model::Event&)>& keep) {
      INFO("filter:" << [&] {
        std::string s;
        for (const auto& a : args) {
          s += " " + a;
        }
        return s;
      }());
      const auto expected = bdd::test::expected_export(all, keep);
      CHECK(export_to(*ws,
                      "f.jsonl",
                      [&] {
                        auto a = args;
                        a.insert(a.begin(), {"--format", "jsonl"});
                        return a;
                      }())
            == bdd::test::as_jsonl(expected, k_study));
      return expected.size();
    };
    // The generated events span 2025-10-01 to 2025-10-06 (UTC).
    const auto ts_in =
        [](const bdd::model::Event& e, const std::string& from, const std::string& to) {
          return e.timestamp && *e.timestamp >= from && *e.timestamp < to;
        };
    const auto stored_in =
        [](const bdd::model::Event& e, const std::string& from, const std::string& to) {
          return e.stored_timestamp && *e.stored_timestamp >= from && *e.stored_timestamp < to;
        };
    CHECK(check({"--user", user_a}, [&](const auto& e) { return e.user_id == user_a; }) > 0);
    CHECK(check({"--user", user_a, "--user", user_b},
                [&](const auto& e) { return e.user_id == user_a || e.user_id == user_b; })
          > 0);
    CHECK(check({"--event-type", type}, [&](const auto& e) { return e.event_type == type; }) > 0);
    CHECK(check({"--since", "2025-10-02", "--until", "2025-10-03"},
                [&](const auto& e) { return ts_in(e, "2025-10-02", "2025-10-03"); })
          > 0);
    // An offset: 2025-10-02T02:00:00+02:00 is midnight UTC.
    CHECK(check({"--since", "2025-10-02T02:00:00+02:00"},
                [&](const auto& e) { return ts_in(e, "2025-10-02", "9999"); })
          > 0);
    CHECK(check({"--until", "2025-10-01T12:00:00Z", "--time-field", "stored"},
                [&](const auto& e) { return stored_in(e, "0000", "2025-10-01T12:00:00"); })
          > 0);
    // All kinds at once (the bytes are compared inside; the count may be small).
    static_cast<void>(check(
        {"--user", user_a, "--event-type", type, "--since", "2025-10-02", "--time-field", "stored"},
        [&](const auto& e) {
          return e.user_id == user_a && e.event_type == type && stored_in(e, "2025-10-02", "9999");
        }));
    // A users file: CSV with a header, the second id quoted.
    write_bytes(ws->dir() / "users.csv",
                "user_id,group\r\n" + user_a + ",1\r\n\"" + user_b + "\",2\r\n");
    CHECK(check({"--users-file", "users.csv"},
                [&](const auto& e) { return e.user_id == user_a || e.user_id == user_b; })
          > 0);
    // A plain list: one per line; and nobody matching gives an empty export, header only.
    write_bytes(ws->dir() / "users.txt", user_b + "\n");
    CHECK(check({"--users-file", "users.txt"}, [&](const auto& e) { return e.user_id == user_b; })
          > 0);
    CHECK(check({"--user", "nobody-has-this-id"}, [](const auto&) { return false; }) == 0);
    CHECK(export_to(*ws, "none.csv", {"--user", "nobody-has-this-id"})
          == "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n");
    CHECK(export_to(*ws, "none.json", {"--format", "json", "--user", "nobody"}) == "[]\n");
  }
}

TEST_CASE("export::a filter reads only the folders it needs; --json reports files read",
          "[e2e][export]") {
  auto ws = downloaded("jsonl", json::array({"by_user_id", "by_date"}), 300);
  const auto all = server_events(*ws);
  const std::string user = all.front().user_id;
  // Damage every leaf of every other user and of other days: a filter that skips them
  // succeeds, the whole export names the damage.
  std::size_t user_files = 0;
  std::size_t day_files = 0;
  const std::string user_folder = "/" + user + "/";
  for (const auto& path : ws->data_files()) {
    const std::string text = path.generic_string();
    const bool users = contains(text, user_folder);
    const bool day = contains(text, "/2025-10-02/");
    user_files += users ? 1 : 0;
    day_files += day ? 1 : 0;
    if (!users && !day) {
      write_bytes(path, "{not json\n");
    }
  }
  REQUIRE(user_files > 0);
  REQUIRE(day_files > 0);

  auto by_user = ws->bdd({"export", k_study, "--user", user, "--json", "-o", "u.csv"});
  INFO(by_user.err);
  CHECK(by_user.exit_code == k_exit_success);
  const json summary = run_json(by_user);
  CHECK(summary["ok"] == true);
  CHECK(summary["files"] == user_files);
  CHECK(summary["rows"]
        == std::count_if(all.begin(), all.end(), [&](const auto& e) { return e.user_id == user; }));
  CHECK(summary["filters"]["users"] == json::array({user}));
  CHECK(summary["output"] == (ws->dir() / "u.csv").string());
  CHECK(summary["format"] == "csv");
  CHECK(summary["bytes"] == read_text(ws->dir() / "u.csv").size());

  // Date folders are the UTC day of stored_timestamp: pruned with --time-field stored.
  auto by_day = ws->bdd({"export",
                         k_study,
                         "--since",
                         "2025-10-02",
                         "--until",
                         "2025-10-03",
                         "--time-field",
                         "stored",
                         "--json",
                         "-o",
                         "d.jsonl",
                         "-f",
                         "jsonl"});
  INFO(by_day.err);
  CHECK(by_day.exit_code == k_exit_success);
  CHECK(run_json(by_day)["files"] == day_files);

  // Everything: the first damaged file is named, with where to look next.
  auto whole = ws->bdd({"export", k_study, "-o", "all.csv"});
  CHECK(whole.exit_code == k_exit_storage);
  CHECK(contains(whole.err, "cannot read \""));
  CHECK(contains(whole.err, "events.jsonl\" at line 1"));
  CHECK(contains(whole.err, "bdd verify " + std::string(k_study)));
  CHECK(bdd::test::line_count(whole.err) == 1);
  CHECK_FALSE(stdfs::exists(ws->dir() / "all.csv"));
}
