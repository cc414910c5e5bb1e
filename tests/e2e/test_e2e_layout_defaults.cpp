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

// Write the study config with `storage` (an object) as its storage settings besides
// data_directory: `{}` for a study that follows the defaults. The Workspace's own copy of the
// config stays as it is (its readers need a format), so this file reads the data by itself.
void write_storage(const Workspace& ws, const json& storage) {
  json config = ws.config();
  config["storage"] = json{{"data_directory", "data"}};
  config["storage"].update(storage);
  std::ofstream(ws.config_path()) << config.dump(2);
}

void check_ok(const ProcessResult& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == bdd::cli::k_exit_success);
}

// Every data file (`events.<format>`, outside bdd's dot folders) relative to the study folder,
// sorted.
std::vector<std::string> data_files(const Workspace& ws) {
  std::vector<std::string> out;
  for (auto it = stdfs::recursive_directory_iterator(ws.study_dir());
       it != stdfs::recursive_directory_iterator();
       ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && name.starts_with('.')) {
      it.disable_recursion_pending();
    } else if (it->is_regular_file() && name.starts_with("events.")) {
      out.push_back(it->path().lexically_relative(ws.study_dir()).generic_string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The ids of every stored event, sorted (a nested layout does not keep server order).
std::vector<std::string> stored_ids(const Workspace& ws) {
  std::vector<std::string> ids;
  for (const auto& file : data_files(ws)) {
    for (const auto& event : bdd::test::read_events(ws.study_dir() / file)) {
      ids.push_back(event["id"].get<std::string>());
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> server_ids(const Workspace& ws) {
  auto ids = ws.server_ids();
  std::sort(ids.begin(), ids.end());
  return ids;
}

} // namespace

TEST_CASE("download without storage settings writes one events.json array", "[e2e][layout]") {
  Workspace ws;
  write_storage(ws, json::object());
  ws.add_events(250);
  check_ok(ws.bdd({"download", Workspace::k_study}));
  CHECK(data_files(ws) == std::vector<std::string>{"events.json"});
  CHECK(json::parse(bdd::test::read_text(ws.study_dir() / "events.json")).is_array());
  CHECK(stored_ids(ws) == server_ids(ws));
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
  write_storage(ws, json::object());
  const auto original = ws.dir() / "settings" / "default_config.json";
  stdfs::create_directories(original.parent_path());
  json defaults = json::object();
  defaults["storage"]["default_format"] = format;
  defaults["storage"]["folder_structure"] = folders;
  std::ofstream(original) << defaults.dump();
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
    CHECK(stored_ids(ws) == server_ids(ws));
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
    write_storage(ws, json::parse(R"({"default_format": "jsonl"})"));
    const auto run = ws.bdd({"download", Workspace::k_study});
    INFO(run.err);
    CHECK(run.exit_code == bdd::cli::k_exit_config);
    CHECK(contains(run.err, "is stored as " + format));
    CHECK(contains(run.err, "--fresh"));
    CHECK(data_files(ws) == first_files);
  }
}

TEST_CASE("download names folders user_id=... with partition_naming hive, and keeps the naming",
          "[e2e][layout]") {
  Workspace ws;
  write_storage(ws, json::parse(R"({"default_format": "jsonl", "partition_naming": "hive",
                                    "folder_structure": ["by_user_id", "by_date"]})"));
  ws.add_events(300);
  check_ok(ws.bdd({"download", Workspace::k_study}));
  const auto files = data_files(ws);
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    INFO(file);
    CHECK(file.starts_with("user_id="));
    CHECK(contains(file, "/date="));
  }
  CHECK(stored_ids(ws) == server_ids(ws));
  CHECK(ws.metadata()["partition_naming"] == "hive");
  const auto status = ws.bdd({"status", Workspace::k_study, "--json"});
  INFO(status.out << status.err);
  REQUIRE(status.exit_code == bdd::cli::k_exit_success);
  CHECK(json::parse(status.out)["partition_naming"] == "hive");
  ws.add_events(100);

  SECTION("the recorded naming is kept when the study config stops naming it") {
    write_storage(ws, json::parse(R"({"default_format": "jsonl",
                                      "folder_structure": ["by_user_id", "by_date"]})"));
    check_ok(ws.bdd({"download", Workspace::k_study}));
    for (const auto& file : data_files(ws)) {
      INFO(file);
      CHECK(file.starts_with("user_id="));
    }
    CHECK(stored_ids(ws) == server_ids(ws));
    check_ok(ws.bdd({"verify", Workspace::k_study}));
  }
  SECTION("switching the naming is refused, pointing at --fresh, which then rebuilds it") {
    write_storage(ws, json::parse(R"({"default_format": "jsonl", "partition_naming": "plain",
                                      "folder_structure": ["by_user_id", "by_date"]})"));
    const auto run = ws.bdd({"download", Workspace::k_study});
    INFO(run.err);
    CHECK(run.exit_code == bdd::cli::k_exit_config);
    CHECK(contains(run.err, "in hive folders"));
    CHECK(contains(run.err, "--fresh"));
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
    CHECK(data_files(ws) == files); // nothing written
    check_ok(ws.bdd({"download", Workspace::k_study, "--fresh"}));
    for (const auto& file : data_files(ws)) {
      INFO(file);
      CHECK_FALSE(contains(file, "="));
    }
    CHECK(stored_ids(ws) == server_ids(ws));
    CHECK(ws.metadata()["partition_naming"] == "plain");
  }
}

TEST_CASE("an unknown partition_naming is refused naming the valid ones", "[e2e][layout]") {
  Workspace ws;
  write_storage(ws, json::parse(R"({"partition_naming": "Hive"})"));
  const auto run = ws.bdd({"config"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == bdd::cli::k_exit_config);
  CHECK(contains(run.out, "storage.partition_naming \"Hive\" is not supported (use \"plain\""));
  CHECK(contains(run.out, "\"hive\""));
  write_storage(ws, json::parse(R"({"partition_naming": "hive"})"));
  const auto shown = ws.bdd({"config", "--json"});
  INFO(shown.out);
  REQUIRE(shown.exit_code == bdd::cli::k_exit_success);
  CHECK(json::parse(shown.out).at(0)["partition_naming"] == "hive");
}
