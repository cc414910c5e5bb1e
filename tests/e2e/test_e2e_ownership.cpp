// End-to-end: bdd touches only what it owns. A lost or stale state (`.bdd/` deleted, or an older
// one restored beside newer data) is refused before anything is written, never turned into a
// second copy of every event, and `--repair` then makes the copy exact; a row deleted by hand
// from a sqlite copy is found by `verify` and by the next `download`. `rm` deletes only a folder
// that carries bdd's marker, and never what a link inside it points to. A link or a foreign file
// at a leaf path is refused and nothing is written through it. A study with no config never
// sends the key to the built-in default host.
//
// Nothing here may touch anything outside the test's temp dirs even when bdd is wrong: every
// link planted points at a sibling temp dir holding a canary file that the test checks.

#include <bdd/cli/exit_codes.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/process.hpp>
#include <support/temp_dir.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using bdd::test::check_exact_copy;
using bdd::test::contains;
using bdd::test::ProcessResult;
using bdd::test::read_text;
using bdd::test::repeated;
using bdd::test::TempDir;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

using enum bdd::cli::ExitCode;
constexpr const char* k_canary = "canary: bdd must never change or delete this file\n";

json layout(const std::string& format, bool nested) {
  return {
      {"storage",
       {{"default_format", format},
        {"folder_structure", nested ? json::array({"by_user_id", "by_date"}) : json::array()}}}};
}

void add_events(Workspace& ws, std::size_t count) {
  bdd::fake_api::GeneratorOptions options;
  options.count = count;
  options.users = 4;
  options.days = 2;
  ws.server().append_generated(Workspace::k_study, options);
}

void download_ok(const Workspace& ws, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"download", Workspace::k_study};
  args.insert(args.end(), extra.begin(), extra.end());
  auto run = ws.bdd(args);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
}

// Every regular file under `dir` except bdd's history (which records each run), path -> content.
std::map<std::string, std::string> snapshot(const stdfs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    const auto relative = entry.path().lexically_relative(dir).string();
    if (entry.is_regular_file() && !entry.is_symlink() && relative != ".download_history.json"
        && relative.rfind(".bdd", 0) != 0) {
      files[relative] = read_text(entry.path());
    }
  }
  return files;
}

// The run was refused with one error line that names the fix, exit 8, and wrote no data.
void check_refused_for_repair(const ProcessResult& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == k_exit_storage);
  CHECK(contains(run.err, "bdd: error: "));
  CHECK(contains(run.err, "bdd download " + std::string(Workspace::k_study) + " --repair"));
}

void check_no_duplicates(const Workspace& ws) {
  const auto stored = ws.stored_ids();
  INFO("stored twice: " << repeated(stored).size());
  CHECK(repeated(stored).empty());
}

const std::vector<std::string> k_formats = {"json", "jsonl", "csv", "sqlite"};

} // namespace

TEST_CASE("e2e: a deleted .bdd/ is refused before anything is written, and --repair makes the "
          "copy exact",
          "[e2e][ownership]") {
  for (const auto& format : k_formats) {
    for (const bool nested : {false, true}) {
      DYNAMIC_SECTION(format << (nested ? " nested" : " flat")) {
        Workspace ws(layout(format, nested));
        add_events(ws, 300);
        download_ok(ws);
        add_events(ws, 50);
        SECTION("state deleted") {
          stdfs::remove_all(ws.study_dir() / ".bdd");
        }
        SECTION("state and metadata deleted") {
          stdfs::remove_all(ws.study_dir() / ".bdd");
          stdfs::remove(ws.study_dir() / ".metadata.json");
        }
        const auto before = snapshot(ws.study_dir());
        auto run = ws.bdd({"download", Workspace::k_study});
        check_refused_for_repair(run);
        CHECK(snapshot(ws.study_dir()) == before);
        check_no_duplicates(ws);

        download_ok(ws, {"--repair"});
        check_exact_copy(ws);
        download_ok(ws); // and it goes on as usual
        check_exact_copy(ws);
      }
    }
  }
}

TEST_CASE("e2e: an older .bdd/ restored beside newer data is refused, and --repair makes the "
          "copy exact",
          "[e2e][ownership]") {
  for (const auto& format : k_formats) {
    for (const bool nested : {false, true}) {
      DYNAMIC_SECTION(format << (nested ? " nested" : " flat")) {
        Workspace ws(layout(format, nested));
        add_events(ws, 200);
        download_ok(ws);
        TempDir backup;
        stdfs::copy(
            ws.study_dir() / ".bdd", backup.path() / ".bdd", stdfs::copy_options::recursive);
        add_events(ws, 150);
        download_ok(ws);
        add_events(ws, 20);
        stdfs::remove_all(ws.study_dir() / ".bdd");
        stdfs::copy(
            backup.path() / ".bdd", ws.study_dir() / ".bdd", stdfs::copy_options::recursive);
        const auto before = snapshot(ws.study_dir());
        auto run = ws.bdd({"download", Workspace::k_study});
        check_refused_for_repair(run);
        CHECK(snapshot(ws.study_dir()) == before);
        check_no_duplicates(ws);

        download_ok(ws, {"--repair"});
        check_exact_copy(ws);
      }
    }
  }
}

TEST_CASE("e2e: a row deleted by hand from events.sqlite is found by verify and by the next "
          "download",
          "[e2e][ownership]") {
  Workspace ws(layout("sqlite", false));
  add_events(ws, 250);
  download_ok(ws);
  const auto database = ws.study_dir() / "events.sqlite";
  {
    SQLite::Database db(database.string(), SQLite::OPEN_READWRITE);
    db.exec("DELETE FROM events WHERE rowid = 100");
  }
  auto verify = ws.bdd({"verify", Workspace::k_study});
  INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code != 0);
  CHECK(contains(verify.out + verify.err, "249"));

  add_events(ws, 10);
  auto run = ws.bdd({"download", Workspace::k_study});
  check_refused_for_repair(run);
  CHECK(contains(run.err, "249"));

  download_ok(ws, {"--repair"});
  // Every event once; the one put back comes last (rows keep the order they were stored in).
  auto stored = ws.stored_ids();
  auto expected = ws.server_ids();
  std::sort(stored.begin(), stored.end());
  std::sort(expected.begin(), expected.end());
  CHECK(stored == expected);
}

TEST_CASE("e2e: rm deletes only a folder bdd made for the study", "[e2e][ownership]") {
  Workspace ws;
  TempDir outside; // what a wrong rm would hit
  const auto canary = outside.write("canary.txt", k_canary);

  SECTION("a data_directory folder without bdd's marker is refused, with or without --force") {
    // The study's folder is someone else's: a configured data_directory pointing at a home.
    const auto home = outside.path() / "home";
    stdfs::create_directories(home / Workspace::k_study);
    const auto precious = home / Workspace::k_study / "thesis.txt";
    std::ofstream(precious) << k_canary;
    ws.update_config({{"storage", {{"data_directory", home.string()}}}});
    for (const bool force : {true, false}) {
      std::vector<std::string> args = {"rm", Workspace::k_study};
      if (force) {
        args.push_back("--force");
      }
      auto run = ws.bdd(args);
      INFO("stdout: " << run.out << "\nstderr: " << run.err);
      CHECK(run.exit_code != 0);
      if (force) {
        CHECK(contains(run.err, "not a study folder made by bdd"));
      }
      REQUIRE(stdfs::exists(precious));
      CHECK(read_text(precious) == k_canary);
    }
  }

  SECTION("a study with a .metadata.json naming another study is refused") {
    add_events(ws, 20);
    download_ok(ws);
    stdfs::remove_all(ws.study_dir() / ".bdd");
    auto metadata = ws.metadata();
    metadata["study_name"] = "another-study";
    std::ofstream(ws.study_dir() / ".metadata.json") << metadata.dump();
    auto run = ws.bdd({"rm", Workspace::k_study, "--force"});
    CHECK(run.exit_code != 0);
    CHECK(stdfs::exists(ws.study_dir() / ".metadata.json"));
  }

  SECTION("a link inside the study is removed, not followed, and the study is gone at once") {
    add_events(ws, 20);
    download_ok(ws);
    stdfs::create_directory_symlink(outside.path(), ws.study_dir() / "link-to-outside");
    stdfs::create_symlink(canary, ws.study_dir() / "link-to-canary");
    // A leftover of an interrupted rm is finished off.
    const auto leftover =
        ws.study_dir().parent_path() / ("." + std::string(Workspace::k_study) + ".removing-1");
    stdfs::create_directories(leftover / ".bdd");
    auto run = ws.bdd({"rm", Workspace::k_study, "--force"});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
    CHECK_FALSE(stdfs::exists(stdfs::symlink_status(ws.study_dir())));
    CHECK_FALSE(stdfs::exists(leftover));
    REQUIRE(stdfs::exists(canary));
    CHECK(read_text(canary) == k_canary);
    // Nothing of the study is left beside its lock.
    for (const auto& entry : stdfs::directory_iterator(ws.study_dir().parent_path())) {
      const auto name = entry.path().filename().string();
      INFO("left in the data folder: " << name);
      CHECK((!contains(name, Workspace::k_study) || name == ".e2e-study.lock"));
    }
  }
}

TEST_CASE("e2e: a link at a leaf path is refused and nothing is written through it",
          "[e2e][ownership]") {
  for (const auto& format : k_formats) {
    for (const bool nested : {false, true}) {
      if (format == "sqlite" && nested) {
        continue; // one database whatever the folders
      }
      DYNAMIC_SECTION(format << (nested ? " nested" : " flat")) {
        Workspace ws(layout(format, nested));
        TempDir outside;
        add_events(ws, 200);
        download_ok(ws);
        add_events(ws, 100);
        // Replace a stored leaf (or, nested, the folder of one) by a link to a copy outside:
        // same bytes, same size, so only refusing links keeps bdd from writing there.
        const auto files = ws.data_files();
        REQUIRE_FALSE(files.empty());
        const auto leaf = files.front();
        const auto target = nested ? leaf.parent_path() : leaf;
        const auto copy = outside.path() / "copy";
        stdfs::copy(target, copy, stdfs::copy_options::recursive);
        const auto canary = outside.write("canary.txt", k_canary);
        const auto before = snapshot(outside.path());
        stdfs::remove_all(target);
        if (nested) {
          stdfs::create_directory_symlink(copy, target);
        } else {
          stdfs::create_symlink(copy, target);
        }
        auto run = ws.bdd({"download", Workspace::k_study});
        INFO("stdout: " << run.out << "\nstderr: " << run.err);
        CHECK(run.exit_code == k_exit_storage);
        CHECK(contains(run.err, "symbolic link"));
        CHECK(contains(run.err, target.lexically_relative(ws.dir()).string()));
        CHECK(snapshot(outside.path()) == before);
        CHECK(read_text(canary) == k_canary);
      }
    }
  }
}

TEST_CASE("e2e: a file bdd did not write at a leaf path is refused, not appended to",
          "[e2e][ownership]") {
  for (const auto& format : {"json", "jsonl", "csv"}) {
    for (const bool nested : {false, true}) {
      DYNAMIC_SECTION(format << (nested ? " nested" : " flat")) {
        // Learn where the events go, then start over with a stranger's file at one such path.
        Workspace ws(layout(format, nested));
        add_events(ws, 100);
        download_ok(ws);
        const auto leaf = ws.data_files().front();
        const std::string foreign = read_text(leaf); // well formed: only ownership tells
        stdfs::remove_all(ws.study_dir());
        stdfs::create_directories(leaf.parent_path());
        std::ofstream(leaf) << foreign;
        auto run = ws.bdd({"download", Workspace::k_study});
        INFO("stdout: " << run.out << "\nstderr: " << run.err);
        CHECK(run.exit_code == k_exit_storage);
        CHECK(contains(run.err, leaf.lexically_relative(ws.dir()).string()));
        CHECK(read_text(leaf) == foreign);
      }
    }
  }
}

TEST_CASE("e2e: events.sqlite as a link is refused and its target untouched", "[e2e][ownership]") {
  Workspace ws(layout("sqlite", false));
  TempDir outside;
  const auto canary = outside.write("canary.sqlite", k_canary);
  stdfs::create_directories(ws.study_dir());
  stdfs::create_symlink(canary, ws.study_dir() / "events.sqlite");
  add_events(ws, 30);
  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == k_exit_storage);
  CHECK(contains(run.err, "symbolic link"));
  CHECK(read_text(canary) == k_canary);
}

TEST_CASE("e2e: a study with no config never sends the key to the default host",
          "[e2e][ownership]") {
  Workspace ws;
  add_events(ws, 10);
  // Upper-cased, the study's key variable is the same one: the key is found, the config is not.
  std::string upper = Workspace::k_study;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  // Were bdd to try the default host anyway, this proxy (nothing listens) keeps it off the net.
  const std::map<std::string, std::string> no_internet = {{"https_proxy", "http://127.0.0.1:9"},
                                                          {"HTTPS_PROXY", "http://127.0.0.1:9"}};
  for (const auto& command : {"download", "test-connection"}) {
    DYNAMIC_SECTION(command) {
      auto run = ws.bdd({command, upper}, no_internet);
      INFO("stdout: " << run.out << "\nstderr: " << run.err);
      CHECK(run.exit_code == k_exit_config);
      CHECK(contains(run.err, "did you mean \"" + std::string(Workspace::k_study) + "\"?"));
      CHECK_FALSE(contains(run.err, "api.behaverse.org"));
    }
  }
  SECTION("a study unlike any configured one needs a host named in settings/default_config.json") {
    auto env = no_internet;
    env["BEHAVERSE_API_KEY_OTHER_STUDY"] = "k";
    auto run = ws.bdd({"download", "other-study"}, env);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == k_exit_config);
    CHECK(contains(run.err, "api.base_url"));
    // Named there, it is the user's explicit choice: the key goes to that host (the fake API).
    stdfs::create_directories(ws.dir() / "settings");
    std::ofstream(ws.dir() / "settings" / "default_config.json")
        << json{{"api", {{"base_url", ws.server().base_url()}}}}.dump();
    auto named = ws.bdd({"fetch", "other-study"}, env);
    INFO("stdout: " << named.out << "\nstderr: " << named.err);
    CHECK_FALSE(contains(named.err, "no config for study"));
    CHECK(named.exit_code != k_exit_config);
  }
}
