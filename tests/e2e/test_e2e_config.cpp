// End-to-end: where bdd looks for its settings and key, what it says when they are wrong or
// missing (before contacting the server), where it writes, and how it refuses to build on data
// files that were edited by hand.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace {

using bdd::test::check_exact_copy;
using bdd::test::contains;
using bdd::test::line_count;
using bdd::test::ProcessResult;
using bdd::test::read_text;
using bdd::test::TempDir;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

using enum bdd::cli::ExitCode;
constexpr const char* k_key_variable = "BEHAVERSE_API_KEY_E2E_STUDY";

// `bdd <args>` in the workspace with no key in the environment.
ProcessResult run_without_key(const Workspace& ws,
                              const std::vector<std::string>& args,
                              std::map<std::string, std::string> env = {}) {
  auto options = ws.process_options(std::move(env));
  options.env.erase(k_key_variable);
  return bdd::test::run_bdd(args, options);
}

void check_config_error(const Workspace& ws, const ProcessResult& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == k_exit_config);
  CHECK(run.err.rfind("bdd: error: ", 0) == 0);
  CHECK(line_count(run.err) == 1);
  CHECK(ws.server().request_count() == 0);
  CHECK_FALSE(stdfs::exists(ws.dir() / "data"));
}

} // namespace

TEST_CASE("config::key missing everywhere fails before any request and lists what was tried",
          "[e2e][config]") {
  Workspace ws;
  ws.add_events(10);
  auto run = run_without_key(ws, {"download", Workspace::k_study});
  check_config_error(ws, run);
  CHECK(contains(run.err, "no API key for study"));
  CHECK(contains(run.err, "BEHAVERSE_API_KEY_E2E_STUDY"));
  CHECK(contains(run.err, "study_configs/e2e-study.json"));
  CHECK(contains(run.err, "BEHAVERSE_API_KEY,"));
  CHECK(contains(run.err, ".env"));

  SECTION("a placeholder key counts as none") {
    auto placeholder = run_without_key(
        ws, {"download", Workspace::k_study}, {{"BEHAVERSE_API_KEY", "your-api-key-here"}});
    check_config_error(ws, placeholder);
  }
  SECTION("test-connection and fetch say the same") {
    check_config_error(ws, run_without_key(ws, {"test-connection", Workspace::k_study}));
    check_config_error(ws, run_without_key(ws, {"fetch", Workspace::k_study}));
  }
}

TEST_CASE("config::key is found in .env, in a ${VAR} set by .env, or in BEHAVERSE_API_KEY",
          "[e2e][config]") {
  Workspace ws;
  ws.add_events(50);

  SECTION("the study's variable in .env") {
    std::ofstream(ws.dir() / ".env") << k_key_variable << "=" << Workspace::k_key << "\n";
    auto run = run_without_key(ws, {"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
  }
  SECTION("a ${VAR} in the config that only .env sets") {
    ws.update_config({{"api", {{"api_key", "${LAB_KEY}"}}}});
    std::ofstream(ws.dir() / ".env") << "export LAB_KEY='" << Workspace::k_key << "'\n";
    auto run = run_without_key(ws, {"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
  }
  SECTION("the shared BEHAVERSE_API_KEY") {
    auto run = run_without_key(
        ws, {"download", Workspace::k_study}, {{"BEHAVERSE_API_KEY", Workspace::k_key}});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
  }
  check_exact_copy(ws);
}

TEST_CASE("config::file errors name the file and the key", "[e2e][config]") {
  Workspace ws;
  ws.add_events(10);
  const std::string file = "study_configs/e2e-study.json";

  SECTION("malformed JSON") {
    std::ofstream(ws.config_path()) << "{\n  \"api\": {\n    \"timeout\": 10,\n  }\n";
    auto run = ws.bdd({"download", Workspace::k_study});
    check_config_error(ws, run);
    CHECK(contains(run.err, file));
    CHECK(contains(run.err, "invalid JSON"));
    CHECK(contains(run.err, "line 4"));
  }
  SECTION("an unknown key, with a suggestion") {
    ws.update_config({{"storage", {{"defualt_format", "csv"}}}});
    auto run = ws.bdd({"download", Workspace::k_study});
    check_config_error(ws, run);
    CHECK(contains(run.err, file));
    CHECK(contains(run.err, "storage.defualt_format"));
    CHECK(contains(run.err, "default_format"));
  }
  SECTION("a value of the wrong type") {
    ws.update_config({{"download", {{"default_page_size", "many"}}}});
    auto run = ws.bdd({"download", Workspace::k_study});
    check_config_error(ws, run);
    CHECK(contains(run.err, file));
    CHECK(contains(run.err, "download.default_page_size"));
    CHECK(contains(run.err, "\"many\""));
  }
  SECTION("an unsupported format") {
    ws.update_config({{"storage", {{"default_format", "orc"}}}});
    auto run = ws.bdd({"download", Workspace::k_study});
    check_config_error(ws, run);
    CHECK(contains(run.err, "storage.default_format"));
  }
  SECTION("an unknown folder level") {
    ws.update_config({{"storage", {{"folder_structure", {"by_user", "by_date"}}}}});
    auto run = ws.bdd({"download", Workspace::k_study});
    check_config_error(ws, run);
    CHECK(contains(run.err, "storage.folder_structure"));
    CHECK(contains(run.err, "by_user"));
  }
  SECTION("an error in settings/default_config.json names that file") {
    std::filesystem::create_directories(ws.dir() / "settings");
    std::ofstream(ws.dir() / "settings" / "default_config.json")
        << R"({"api": {"max_retries": -1}})";
    auto run = ws.bdd({"download", Workspace::k_study});
    check_config_error(ws, run);
    CHECK(contains(run.err, "settings/default_config.json"));
    CHECK(contains(run.err, "api.max_retries"));
  }
}

TEST_CASE("config::directories -C, an absolute data_directory and a bare study_configs work",
          "[e2e][config]") {
  Workspace ws;
  ws.add_events(200);

  SECTION("only study_configs/<study>.json in the directory") {
    std::vector<std::string> entries;
    for (const auto& entry : stdfs::directory_iterator(ws.dir())) {
      entries.push_back(entry.path().filename().string());
    }
    REQUIRE(entries == std::vector<std::string>{"study_configs"});
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
    check_exact_copy(ws);
    CHECK(stdfs::exists(ws.dir() / "data" / Workspace::k_study));
  }
  SECTION("-C from another working directory") {
    TempDir elsewhere;
    auto options = ws.process_options();
    options.cwd = elsewhere.path();
    auto run =
        bdd::test::run_bdd({"-C", ws.dir().string(), "download", Workspace::k_study}, options);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
    check_exact_copy(ws);
    CHECK(stdfs::is_empty(elsewhere.path()));

    auto status =
        bdd::test::run_bdd({"-C", ws.dir().string(), "status", Workspace::k_study}, options);
    CHECK(status.exit_code == 0);
    CHECK(contains(status.out, "200"));
  }
  SECTION("an absolute storage.data_directory") {
    TempDir store;
    ws.update_config({{"storage", {{"data_directory", (store.path() / "store").string()}}}});
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
    CHECK(ws.study_dir() == store.path() / "store" / Workspace::k_study);
    check_exact_copy(ws);
    CHECK_FALSE(stdfs::exists(ws.dir() / "data"));
  }
  SECTION("--config with a path") {
    stdfs::create_directories(ws.dir() / "elsewhere");
    stdfs::rename(ws.config_path(), ws.dir() / "elsewhere" / "lab.json");
    auto run = ws.bdd({"--config", "elsewhere/lab.json", "download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
    check_exact_copy(ws);
  }
}

TEST_CASE("download::integrity refuses to extend a data file edited by hand", "[e2e][config]") {
  struct Edit {
    const char* name;
    const char* format;
    nlohmann::json layout;
  };
  const Edit edit = GENERATE(Edit{"append", "jsonl", json::array()},
                             Edit{"truncate", "jsonl", json::array()},
                             Edit{"append", "csv", json::array({"by_user_id", "by_date"})},
                             Edit{"truncate", "json", json::array({"by_event_type", "by_user_id"})},
                             Edit{"delete", "csv", json::array()},
                             Edit{"delete", "sqlite", json::array()},
                             Edit{"truncate", "sqlite", json::array()});
  INFO(edit.name << " a " << edit.format << " file in " << edit.layout.dump());
  Workspace ws(
      json{{"storage", {{"default_format", edit.format}, {"folder_structure", edit.layout}}}});
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(300); // new events for every leaf, so a careless run would append to it

  const auto files = ws.data_files();
  REQUIRE_FALSE(files.empty());
  const auto target = files[files.size() / 2];
  std::string original = read_text(target);
  std::string edited = original;
  if (std::string(edit.name) == "append") {
    edited += "garbage typed by hand\n";
    std::ofstream(target, std::ios::binary | std::ios::app) << "garbage typed by hand\n";
  } else if (std::string(edit.name) == "truncate") {
    edited = original.substr(0, original.size() / 2);
    stdfs::resize_file(target, edited.size());
  } else {
    stdfs::remove(target);
  }

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == k_exit_storage);
  CHECK(run.err.rfind("bdd: error: ", 0) == 0);
  CHECK(contains(run.err, target.filename().string()));
  CHECK(contains(run.err, target.parent_path().filename().string()));
  CHECK(contains(run.err, "--fresh"));
  if (std::string(edit.name) == "delete") {
    CHECK_FALSE(stdfs::exists(target));
  } else {
    CHECK(read_text(target) == edited);
  }
  json history = ws.history();
  REQUIRE(history.size() == 2);
  CHECK(history[1]["status"] == "failed");

  auto fresh = ws.bdd({"download", Workspace::k_study, "--fresh"});
  INFO("fresh stdout: " << fresh.out << "\nstderr: " << fresh.err);
  REQUIRE(fresh.exit_code == 0);
  check_exact_copy(ws);
}
