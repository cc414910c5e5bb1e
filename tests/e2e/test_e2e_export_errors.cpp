// End-to-end: what `bdd export` refuses, each with one error line and its exit code: a study
// never downloaded, an unfinished commit, an output inside the study folder, a bad time value,
// a write that fails (the partial output removed); and the study lock: an export waits for a
// running download, saying so, and not for another export.

#include <bdd/cli/exit_codes.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/process.hpp>
#include <support/workspace.hpp>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

namespace {

using bdd::test::contains;
using bdd::test::HeldLock;
using bdd::test::line_count;
using bdd::test::read_text;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;
using enum bdd::cli::ExitCode;

const char* const k_study = Workspace::k_study;

void check_one_error(const bdd::test::ProcessResult& run,
                     int code,
                     const std::vector<std::string>& parts) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == code);
  CHECK(line_count(run.err) == 1);
  CHECK(run.err.starts_with("bdd: error: "));
  for (const auto& part : parts) {
    CHECK(contains(run.err, part));
  }
  CHECK_FALSE(contains(run.err, Workspace::k_key));
}

// No output and no temporary file in the workspace's top folder.
void check_no_output(const Workspace& ws) {
  for (const auto& entry : stdfs::directory_iterator(ws.dir())) {
    const std::string name = entry.path().filename().string();
    INFO(name);
    CHECK_FALSE(contains(name, "export"));
    CHECK_FALSE(name.ends_with(".tmp"));
    CHECK_FALSE(name.starts_with(".bdd-export-"));
  }
}

std::unique_ptr<Workspace> downloaded(std::size_t count = 200) {
  auto ws = std::make_unique<Workspace>(
      json{{"storage", {{"folder_structure", json::array({"by_user_id"})}}}});
  ws->add_events(count, true);
  REQUIRE(ws->bdd({"download", k_study}).exit_code == 0);
  return ws;
}

} // namespace

TEST_CASE("export::a study never downloaded is a usage error that says to download it",
          "[e2e][export]") {
  Workspace ws;
  auto run = ws.bdd({"export", k_study});
  check_one_error(run, k_exit_usage, {"no local data", "bdd download " + std::string(k_study)});
  check_no_output(ws);
  auto as_json = ws.bdd({"export", k_study, "--json"});
  CHECK(as_json.exit_code == k_exit_usage);
  const json summary = json::parse(as_json.out);
  CHECK(summary["ok"] == false);
  CHECK(summary["error"]["kind"] == "usage");
  CHECK(summary["rows"].is_null());
}

TEST_CASE("export::bad arguments are usage errors naming the value", "[e2e][export]") {
  auto ws = downloaded(50);
  check_one_error(ws->bdd({"export", k_study, "--since", "yesterday"}),
                  k_exit_usage,
                  {"--since \"yesterday\"", "YYYY-MM-DD"});
  check_one_error(ws->bdd({"export", k_study, "--until", "2025-10-02T10:00"}),
                  k_exit_usage,
                  {"--until \"2025-10-02T10:00\"", "time zone"});
  check_one_error(ws->bdd({"export", k_study, "--since", "2025-10-03", "--until", "2025-10-02"}),
                  k_exit_usage,
                  {"not before"});
  check_one_error(ws->bdd({"export", k_study, "--format", "xml"}), k_exit_usage, {"xml"});
  check_one_error(
      ws->bdd({"export", k_study, "--users-file", "missing.txt"}), k_exit_usage, {"missing.txt"});
  check_one_error(ws->bdd({"export", k_study, "--json", "-o", "-"}), k_exit_usage, {"--json"});
  check_no_output(*ws);
}

TEST_CASE("export::an output inside the study folder is refused", "[e2e][export]") {
  auto ws = downloaded(50);
  const std::string inside = "data/" + std::string(k_study) + "/out.csv";
  check_one_error(
      ws->bdd({"export", k_study, "-o", inside}), k_exit_usage, {"inside the study folder"});
  // The same folder reached another way.
  check_one_error(
      ws->bdd(
          {"export", k_study, "-o", "data/../data/" + std::string(k_study) + "/sub/../out.csv"}),
      k_exit_usage,
      {"inside the study folder"});
  CHECK_FALSE(stdfs::exists(ws->study_dir() / "out.csv"));
  // Beside it is fine.
  CHECK(ws->bdd({"export", k_study, "-o", "data/out.csv"}).exit_code == k_exit_success);
}

TEST_CASE("export::an unfinished commit is refused until a download completes it",
          "[e2e][export]") {
  auto ws = downloaded(50);
  {
    SQLite::Database state((ws->study_dir() / ".bdd" / "state.sqlite").string(),
                           SQLite::OPEN_READWRITE);
    state.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('open', '1')");
  }
  check_one_error(ws->bdd({"export", k_study}),
                  k_exit_storage,
                  {"unfinished commit", "bdd download " + std::string(k_study)});
  check_no_output(*ws);
  REQUIRE(ws->bdd({"download", k_study}).exit_code == 0);
  CHECK(ws->bdd({"export", k_study}).exit_code == k_exit_success);
}

TEST_CASE("export::a write that fails removes the partial output and exits with 8",
          "[e2e][export]") {
  auto ws = downloaded(300);
  auto whole = ws->bdd({"export", k_study, "-o", "whole.csv"});
  REQUIRE(whole.exit_code == k_exit_success);
  const auto size = stdfs::file_size(ws->dir() / "whole.csv");
  REQUIRE(size > 3 * (std::uint64_t{1} << 20) / 32);
  auto options = ws->process_options();
  options.limits[RLIMIT_FSIZE] = size / 3;
  auto limited = bdd::test::run_bdd({"export", k_study, "-o", "cut.csv"}, options);
  check_one_error(limited, k_exit_storage, {"cannot write", "cut.csv"});
  CHECK_FALSE(stdfs::exists(ws->dir() / "cut.csv"));
  for (const auto& entry : stdfs::directory_iterator(ws->dir())) {
    CHECK_FALSE(entry.path().filename().string().ends_with(".tmp"));
  }
}

TEST_CASE("export::waits for a running download, says so, and not for another export",
          "[e2e][export]") {
  auto ws = downloaded(50);
  const stdfs::path lock = ws->lock_path();
  {
    HeldLock shared(lock, LOCK_SH, "");
    auto run = ws->bdd({"export", k_study, "-o", "while-shared.csv"});
    CHECK(run.exit_code == k_exit_success);
    CHECK_FALSE(contains(run.err, "waiting"));
    // A download does not start under an export, and says why.
    auto download = ws->bdd({"download", k_study});
    CHECK(download.exit_code == k_exit_locked);
    CHECK(contains(download.err, "bdd export"));
  }
  HeldLock download(lock, LOCK_EX, "pid 4242 on testhost since 2026-01-01T00:00:00Z\n");
  auto exporting = ws->start_bdd({"export", k_study, "-o", "after.csv"});
  // It cannot finish while the lock is held.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(exporting->running());
  CHECK_FALSE(stdfs::exists(ws->dir() / "after.csv"));
  download.release();
  auto done = exporting->wait(std::chrono::seconds(60));
  REQUIRE(done);
  INFO(done->err);
  CHECK(done->exit_code == k_exit_success);
  CHECK(contains(done->err, "waiting for the running download"));
  CHECK(contains(done->err, "pid 4242 on testhost"));
  CHECK(stdfs::exists(ws->dir() / "after.csv"));

  // Ctrl-C while it waits: exit 130, nothing written.
  HeldLock again(lock, LOCK_EX, "pid 4242 on testhost since 2026-01-01T00:00:00Z\n");
  auto waiting = ws->start_bdd({"export", k_study, "-o", "never.csv"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  REQUIRE(waiting->running());
  waiting->send_signal(SIGINT);
  auto stopped = waiting->wait(std::chrono::seconds(60));
  REQUIRE(stopped);
  INFO(stopped->err);
  CHECK(stopped->exit_code == k_exit_interrupted);
  CHECK_FALSE(stdfs::exists(ws->dir() / "never.csv"));
  for (const auto& entry : stdfs::directory_iterator(ws->dir())) {
    CHECK_FALSE(entry.path().filename().string().ends_with(".tmp"));
  }
}
