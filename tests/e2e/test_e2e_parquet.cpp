// End-to-end: the `parquet` storage format. Part files per leaf folder, compaction (made
// frequent with BDD_PARQUET_COMPACT_PARTS=2), kill -9 at random instants and during compaction,
// then a rerun: exactly the server's events, read back by bdd (export, verify) and by DuckDB;
// a corrupted part is named by verify and set aside by --repair.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <support/checks.hpp>
#include <support/process.hpp>
#include <support/workspace.hpp>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace stdfs = std::filesystem;
using bdd::fake_api::Faults;
using bdd::test::contains;
using bdd::test::repeated;
using bdd::test::Workspace;
using nlohmann::json;
using std::chrono::milliseconds;

const std::map<std::string, std::string> k_compact_often = {{"BDD_PARQUET_COMPACT_PARTS", "2"}};

json parquet_config(const json& layout, int page_size) {
  return {{"storage", {{"default_format", "parquet"}, {"folder_structure", layout}}},
          {"download", {{"default_page_size", page_size}, {"max_concurrent_requests", 1}}}};
}

void set_latency(Workspace& ws, int latency_ms) {
  Faults faults;
  faults.latency_ms = latency_ms;
  ws.server().set_faults(faults);
}

std::vector<stdfs::path> part_files(const Workspace& ws) {
  std::vector<stdfs::path> out;
  std::error_code ec;
  for (stdfs::recursive_directory_iterator it(ws.study_dir(), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename() == ".bdd") {
      it.disable_recursion_pending();
    } else if (it->path().extension() == ".parquet") {
      out.push_back(it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The non-empty lines of `text`.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

// The ids of the stored events as `bdd export` reads them from the part files.
std::vector<std::string> exported_ids(const Workspace& ws) {
  auto run = ws.bdd({"export", Workspace::k_study, "--format", "jsonl", "-o", "-"});
  INFO("export stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  std::vector<std::string> ids;
  for (const auto& line : lines_of(run.out)) {
    ids.push_back(json::parse(line).at("id").get<std::string>());
  }
  return ids;
}

// The ids DuckDB reads with read_parquet('<study>/**/*.parquet').
std::vector<std::string> duckdb_ids(const Workspace& ws) {
  const stdfs::path loaders = stdfs::path(BDD_SOURCE_DIR) / "tests" / "loaders";
  bdd::test::ProcessOptions options;
  options.env["NODE_PATH"] = (loaders / "node_modules").string();
  auto run = bdd::test::run_process(
      "/usr/bin/env",
      {"node", (loaders / "duckdb_ids.js").string(), ws.study_dir().string()},
      options);
  INFO("DuckDB (npm ci in tests/loaders, see scripts/install-deps.sh): " << run.err);
  REQUIRE(run.exit_code == 0);
  return lines_of(run.out);
}

void check_exact_parquet_copy(const Workspace& ws) {
  const auto server = sorted(ws.server_ids());
  const auto ours = exported_ids(ws);
  CHECK(repeated(ours).empty());
  CHECK(sorted(ours) == server);
  const auto duck = duckdb_ids(ws);
  CHECK(repeated(duck).empty());
  CHECK(sorted(duck) == server);
  auto verified = ws.bdd({"verify", Workspace::k_study});
  INFO("verify: " << verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK(ws.metadata()["events_stored"] == server.size());
}

// Start a download and SIGKILL it once `ready()` holds (polled every millisecond, at most 30 s)
// and `delay` more. True if the kill struck a running process.
template <typename Ready>
bool kill_when(const Workspace& ws, const Ready& ready, milliseconds delay) {
  auto process = ws.start_bdd({"download", Workspace::k_study}, k_compact_often);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (process->running() && !ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  std::this_thread::sleep_for(delay);
  const bool struck = process->running();
  if (struck) {
    process->send_signal(SIGKILL);
  }
  auto result = process->wait(std::chrono::seconds(60));
  REQUIRE(result);
  INFO("stderr: " << result->err);
  CHECK(result->exit_code == (struck ? 128 + SIGKILL : 0));
  return struck;
}

// The merged parts ("...-c.parquet") in the study.
std::vector<stdfs::path> merged_parts(const Workspace& ws) {
  auto parts = part_files(ws);
  std::erase_if(parts,
                [](const stdfs::path& part) { return !part.stem().string().ends_with("-c"); });
  return parts;
}

bool merged_part_exists(const Workspace& ws) {
  return !merged_parts(ws).empty();
}

// Start a download and SIGKILL it the instant a merged part ("...-c.parquet") is created in a
// leaf folder (inotify on every folder of the study): compaction has begun and, with many
// leaves, not ended. True if the kill struck a running process.
bool kill_in_compaction(const Workspace& ws) {
  const int watch = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  REQUIRE(watch >= 0);
  for (const auto& entry : stdfs::recursive_directory_iterator(ws.study_dir())) {
    if (entry.is_directory() && entry.path().filename() != ".bdd") {
      ::inotify_add_watch(watch, entry.path().c_str(), IN_CREATE);
    }
  }
  auto process = ws.start_bdd({"download", Workspace::k_study}, k_compact_often);
  bool struck = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!struck && process->running() && std::chrono::steady_clock::now() < deadline) {
    pollfd ready{watch, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) {
      continue;
    }
    alignas(inotify_event) char buffer[4096];
    const ssize_t n = ::read(watch, buffer, sizeof buffer);
    for (ssize_t at = 0; at < n && !struck;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->len > 0 && std::string_view(event->name).ends_with("-c.parquet")) {
        process->send_signal(SIGKILL);
        struck = true;
      }
    }
  }
  ::close(watch);
  auto result = process->wait(std::chrono::seconds(60));
  REQUIRE(result);
  INFO("stderr: " << result->err);
  CHECK(result->exit_code == (struck ? 128 + SIGKILL : 0));
  return struck;
}

} // namespace

TEST_CASE("parquet::a download stores part files that compaction merges, read back exactly",
          "[e2e][parquet]") {
  Workspace ws(parquet_config(json::array({"by_user_id"}), 100));
  ws.add_events(1500);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto leaves = part_files(ws).size();
  CHECK(leaves > 1);
  for (const auto& part : part_files(ws)) {
    CHECK(part.filename().string().starts_with("part-"));
  }
  // Each later run adds one part to every leaf it touches, and the leaf's newest parts, a few
  // KiB together, are merged at the end of the run: every leaf keeps one part, the merged one.
  const auto folders = [&ws] {
    std::set<stdfs::path> out;
    for (const auto& part : part_files(ws)) {
      out.insert(part.parent_path());
    }
    return out.size();
  };
  CHECK(folders() > 1);
  for (int run = 0; run < 2; ++run) {
    ws.add_events(300);
    auto result = ws.bdd({"download", Workspace::k_study});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(merged_part_exists(ws));
    CHECK(part_files(ws).size() == folders());
    check_exact_parquet_copy(ws);
  }
}

TEST_CASE("parquet::sigkill at random instants and during compaction, then a rerun gives exactly "
          "the server's events",
          "[e2e][parquet][interrupt]") {
  const unsigned seed = GENERATE(1U, 2U);
  Workspace ws(parquet_config(json::array({"by_event_type", "by_user_id"}), 50));
  ws.add_events(2000);
  set_latency(ws, 30);
  std::mt19937 rng(seed);
  const auto random_ms = [&rng](int low, int high) {
    return milliseconds(std::uniform_int_distribution<int>(low, high)(rng));
  };
  int kills = 0;
  // Random instants of runs that each add events (so that every run commits and compacts).
  for (int run = 0; run < 3; ++run) {
    const auto delay = random_ms(0, 1500);
    INFO("run " << run << " killed " << delay.count() << " ms after its first request");
    ws.server().reset_stats();
    kills += kill_when(
                 ws, [&] { return ws.server().request_count() >= 1; }, delay)
                 ? 1
                 : 0;
    ws.add_events(200);
  }
  CHECK(kills >= 1);
  // Kills as compaction writes a merged part, or just after: a run with no latency reaches its
  // compaction at once, and every leaf has parts from the runs before.
  set_latency(ws, 0);
  int compaction_kills = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    // One run that adds a part to every leaf (compacting those past 2), then one killed as soon
    // as a merged part appears that was not there before it: the leaves it touches hold 3 parts.
    ws.add_events(200);
    REQUIRE(ws.bdd({"download", Workspace::k_study}, k_compact_often).exit_code == 0);
    ws.add_events(200);
    compaction_kills += kill_in_compaction(ws) ? 1 : 0;
  }
  CHECK(compaction_kills >= 1);
  auto run = ws.bdd({"download", Workspace::k_study}, k_compact_often);
  INFO("final run: " << run.err);
  REQUIRE(run.exit_code == 0);
  check_exact_parquet_copy(ws);
  for (const auto& record : ws.history()) {
    CHECK(record["status"] != "running");
  }
}

TEST_CASE("parquet::verify names a corrupted part file and --repair downloads its events again",
          "[e2e][parquet][verify]") {
  Workspace ws(parquet_config(json::array({"by_user_id"}), 100));
  ws.add_events(1000);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto parts = part_files(ws);
  REQUIRE(!parts.empty());
  const stdfs::path damaged = parts.front();
  {
    std::fstream file(damaged, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(stdfs::file_size(damaged));
    file.seekg(size / 2);
    char byte = 0;
    file.read(&byte, 1);
    file.seekp(size / 2);
    byte = static_cast<char>(byte ^ 0x5a);
    file.write(&byte, 1);
  }
  auto verified = ws.bdd({"verify", Workspace::k_study});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code != 0);
  const std::string relative = damaged.lexically_relative(ws.study_dir()).generic_string();
  CHECK(contains(verified.out + verified.err, relative));

  auto repaired = ws.bdd({"download", Workspace::k_study, "--repair"});
  INFO(repaired.out << repaired.err);
  REQUIRE(repaired.exit_code == 0);
  check_exact_parquet_copy(ws);
}
