// End-to-end: `bdd export --partition-by`. The folder of hive folders holds every event once,
// each partition's file exactly the export (as the oracle computes it) of that partition's
// events, in order; it appears whole, is refused where it cannot be written, and replaces an
// old one only with --force. DuckDB reads such a folder in tests/loaders/hive.sh.

#include "export_oracle.hpp"

#include <bdd/cli/exit_codes.hpp>
#include <bdd/storage/layout.hpp>

#include <catch2/catch.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::read_text;
using bdd::test::Workspace;
namespace stdfs = std::filesystem;
using enum bdd::cli::ExitCode;
using bdd::storage::Level;

const char* const k_study = Workspace::k_study;

// Every file under `dir`, relative, '/'-separated.
std::map<std::string, std::string> files_under(const stdfs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory()) {
      out[entry.path().lexically_relative(dir).generic_string()] = read_text(entry.path());
    }
  }
  return out;
}

} // namespace

TEST_CASE("export --partition-by writes one file per hive folder, each in export order",
          "[e2e][export]") {
  Workspace ws;
  ws.add_events(900);
  ws.server().append(
      k_study,
      {R"({"id":"p1","stored":"2030-01-01T00:00:01.000Z","base":{"userId":"a=b/c"}})",
       R"({"id":"p2","stored":"2030-01-02T00:00:01.000Z","base":{"userId":""}})",
       R"({"id":"p3","stored":"2030-01-02T00:00:02.000Z","types":["x y"]})"});
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
  const auto expected =
      bdd::test::expected_export(bdd::test::server_events_normalised(ws.server().events(k_study)));
  REQUIRE(expected.size() == 903);

  const auto [keys, levels] = GENERATE(table<std::string, std::vector<Level>>({
      {"user_id,date", {Level::by_user_id, Level::by_date}},
      {"event_type,user_id", {Level::by_event_type, Level::by_user_id}},
  }));
  INFO(keys);
  std::map<std::string, std::vector<bdd::model::Event>> partitions;
  for (const auto& event : expected) {
    partitions[bdd::storage::leaf_directory_string(
                   event, levels, bdd::storage::PartitionNaming::hive)
               + "/part-0.jsonl"]
        .push_back(event);
  }
  std::map<std::string, std::string> want;
  for (const auto& [file, events] : partitions) {
    want[file] = bdd::test::as_jsonl(events, k_study);
  }
  CHECK(want.contains("user_id=a%3Db%2Fc/date=2030-01-01/part-0.jsonl")
        == (keys == "user_id,date"));

  const stdfs::path out = ws.dir() / "parts";
  const auto export_with = [&](std::vector<std::string> flags) {
    std::vector<std::string> command = {
        "export", k_study, "--format", "jsonl", "--partition-by", keys, "-o", out.string()};
    command.insert(command.end(), flags.begin(), flags.end());
    return ws.bdd(command);
  };
  auto run = export_with({"--json"});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == k_exit_success);
  CHECK(files_under(out) == want);
  const auto summary = nlohmann::json::parse(run.out);
  CHECK(summary["rows"] == 903);
  CHECK(summary["partitions"] == want.size());
  for (const auto& entry : stdfs::directory_iterator(ws.dir())) {
    CHECK_FALSE(entry.path().filename().string().starts_with(".parts")); // no staging left
  }

  SECTION("an existing output is kept without --force, replaced with it") {
    auto again = export_with({});
    CHECK(again.exit_code == k_exit_usage);
    CHECK(contains(again.err, "already exists"));
    CHECK(files_under(out) == want);
    stdfs::create_directories(out / "stale");
    std::ofstream(out / "stale" / "old.jsonl") << "old\n";
    auto forced = export_with({"--force"});
    INFO(forced.err);
    REQUIRE(forced.exit_code == k_exit_success);
    CHECK(files_under(out) == want);
  }
}

TEST_CASE("export --partition-by refuses what it cannot write, in one line", "[e2e][export]") {
  Workspace ws;
  ws.add_events(50);
  REQUIRE(ws.bdd({"download", k_study}).exit_code == k_exit_success);
  const std::string out = (ws.dir() / "parts").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--partition-by", "user"}, "unknown key \"user\" (use user_id, date and event_type"},
      {{"--partition-by", "date,date"}, "names \"date\" twice"},
      {{"--partition-by", "date", "-o", "-"}, "not standard output"},
      {{"--partition-by", "date", "--zip", "-o", out + ".zip"}, "not a zip"},
      {{"--partition-by", "date", "--format", "xlsx", "-o", out}, "(use csv, jsonl, json, parquet)"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> command = {"export", k_study};
    command.insert(command.end(), args.begin(), args.end());
    auto run = ws.bdd(command);
    INFO(run.err);
    CHECK(run.exit_code == k_exit_usage);
    CHECK(contains(run.err, message));
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
    CHECK_FALSE(stdfs::exists(out));
  }
}
