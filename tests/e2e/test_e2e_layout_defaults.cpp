// End-to-end: the storage layout a study gets. A new study with no storage settings gets bdd's
// defaults (one events.json); a study that holds data keeps the layout it was downloaded with
// when the defaults change, and only its own study config can ask for another one.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::ProcessResult;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

// The study config without storage.default_format and storage.folder_structure: the study
// follows the defaults.
void use_default_layout(Workspace& ws) {
  ws.update_config({{"storage", {{"default_format", nullptr}, {"folder_structure", nullptr}}}});
}

void check_ok(const ProcessResult& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == bdd::cli::k_exit_success);
}

// Every data file's path relative to the study folder.
std::vector<std::string> data_files(const Workspace& ws) {
  std::vector<std::string> out;
  for (const auto& file : ws.data_files()) {
    out.push_back(file.lexically_relative(ws.study_dir()).generic_string());
  }
  return out;
}

} // namespace

TEST_CASE("download without storage settings writes one events.json array", "[e2e][layout]") {
  Workspace ws;
  use_default_layout(ws);
  ws.add_events(250);
  check_ok(ws.bdd({"download", Workspace::k_study}));
  CHECK(data_files(ws) == std::vector<std::string>{"events.json"});
  CHECK(json::parse(bdd::test::read_text(ws.study_dir() / "events.json")).is_array());
  CHECK(ws.stored_ids() == ws.server_ids());
  CHECK(ws.metadata()["format"] == "json");
  CHECK(ws.metadata()["folder_structure"] == json::array());
}

TEST_CASE("download keeps an existing study's layout when the defaults change", "[e2e][layout]") {
  // The lab's defaults when the study was first downloaded: the original tool's settings, or
  // another format than bdd's default.
  const auto [format, folders] = GENERATE(table<std::string, json>({
      {"json", json{"by_user_id", "by_date"}},
      {"csv", json::array()},
  }));
  INFO(format << " " << folders.dump());
  Workspace ws;
  use_default_layout(ws);
  const auto original = ws.dir() / "settings" / "default_config.json";
  stdfs::create_directories(original.parent_path());
  std::ofstream(original)
      << json{{"storage", {{"default_format", format}, {"folder_structure", folders}}}}.dump();
  ws.add_events(300);
  check_ok(ws.bdd({"download", Workspace::k_study}));
  const auto first_files = data_files(ws);
  REQUIRE_FALSE(first_files.empty());
  const auto check_layout = [&] {
    for (const auto& file : data_files(ws)) {
      INFO(file);
      CHECK(std::count(file.begin(), file.end(), '/') == static_cast<long>(folders.size()));
      CHECK(file.ends_with("events." + format));
    }
    CHECK(ws.stored_ids() == ws.server_ids());
    CHECK(ws.metadata()["format"] == format);
    CHECK(ws.metadata()["folder_structure"] == folders);
  };
  check_layout();

  // Then bdd's defaults (one events.json) take over: the study goes on as it was.
  stdfs::remove(original);
  ws.add_events(200);

  SECTION("an incremental run appends in the recorded layout") {
    check_ok(ws.bdd({"download", Workspace::k_study}));
    check_layout();
    if (format != "json") {
      CHECK_FALSE(stdfs::exists(ws.study_dir() / "events.json"));
    }
    check_ok(ws.bdd({"verify", Workspace::k_study}));
  }
  SECTION("--fresh rebuilds it in the recorded layout") {
    check_ok(ws.bdd({"download", Workspace::k_study, "--fresh"}));
    check_layout();
  }
  SECTION("a study config that asks for another layout is refused, naming the fix") {
    ws.update_config({{"storage", {{"default_format", "jsonl"}}}});
    const auto run = ws.bdd({"download", Workspace::k_study});
    INFO(run.err);
    CHECK(run.exit_code == bdd::cli::k_exit_config);
    CHECK(contains(run.err, "is stored as " + format));
    CHECK(contains(run.err, "--fresh"));
    CHECK(data_files(ws) == first_files);
  }
}
