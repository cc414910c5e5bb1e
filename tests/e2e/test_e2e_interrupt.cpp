// End-to-end: interrupted downloads. A download killed at any instant (SIGKILL, so nothing of
// bdd runs) continues on the next run to exactly the server's events, none twice, in every
// format; a killed `--fresh` leaves the old copy usable; Ctrl-C (SIGINT) or SIGTERM stops
// cleanly with exit 130 after saving; and a second download of the same study is refused.

#include <bdd/cli/exit_codes.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <support/checks.hpp>
#include <support/workspace.hpp>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using bdd::fake_api::Faults;
using bdd::test::check_exact_copy;
using bdd::test::contains;
using bdd::test::describe_difference;
using bdd::test::read_text;
using bdd::test::repeated;
using bdd::test::wait_until;
using bdd::test::Workspace;
using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

using enum bdd::cli::ExitCode;
constexpr int k_killed = 128 + SIGKILL;

// A download of 3000 events in pages of 50, one request at a time, 50 ms each: about 3 s, so
// that bdd commits (every 2 s) during the run and a kill can land before or after a commit.
json slow_download(const std::string& format, const json& layout) {
  return {{"storage", {{"default_format", format}, {"folder_structure", layout}}},
          {"download", {{"default_page_size", 50}, {"max_concurrent_requests", 1}}}};
}

void add_latency(Workspace& ws, int latency_ms) {
  Faults faults;
  faults.latency_ms = latency_ms;
  ws.server().set_faults(faults);
}

// After the interrupted runs: no latency, bigger pages, three connections. The cursor does not
// depend on either setting.
void speed_up(Workspace& ws) {
  add_latency(ws, 0);
  ws.update_config({{"download", {{"default_page_size", 100}, {"max_concurrent_requests", 3}}}});
}

// Start `bdd <args>`, wait until `ready()` holds (at most 30 s) and then `delay` more, SIGKILL it
// if it still runs, and wait for it. Returns true if the kill struck a running process, as its
// exit status tells (a run can end by itself between the test's look and the kill).
bool kill_when(const Workspace& ws,
               const std::vector<std::string>& args,
               const std::function<bool()>& ready,
               milliseconds delay) {
  auto process = ws.start_bdd(args);
  wait_until([&] { return ready() || !process->running(); }, std::chrono::seconds(30));
  std::this_thread::sleep_for(delay);
  if (process->running()) {
    process->send_signal(SIGKILL);
  }
  auto result = process->wait(std::chrono::seconds(60));
  REQUIRE(result);
  INFO("stdout: " << result->out << "\nstderr: " << result->err);
  const bool struck = result->exit_code == k_killed;
  CHECK((struck || result->exit_code == 0));
  return struck;
}

// Where a kill landed, read from what the killed run left (not from timing): the events the
// state records as committed, and whether a commit was under way: the state's journal holds the
// files a commit began to create, or a data file holds bytes (or is a file) the state does not
// record yet (a commit written, not yet recorded). SQLite data files are left out of the size
// check: their transaction is their own journal.
struct Landing {
  std::int64_t committed = 0;
  bool inside_commit = false;
};

Landing landing_of(const Workspace& ws) {
  Landing out;
  const auto state = ws.study_dir() / ".bdd" / "state.sqlite";
  if (!std::filesystem::exists(state)) {
    return out;
  }
  SQLite::Database db(state.string(), SQLite::OPEN_READWRITE); // WAL: a reader needs -shm
  SQLite::Statement stored(db, "SELECT value FROM meta WHERE key = 'events_stored'");
  if (stored.executeStep()) {
    out.committed = std::stoll(stored.getColumn(0).getString());
  }
  std::map<std::string, std::int64_t> recorded;
  SQLite::Statement files(db, "SELECT path, size FROM files");
  while (files.executeStep()) {
    recorded[files.getColumn(0).getString()] = files.getColumn(1).getInt64();
  }
  for (const auto& file : ws.data_files()) {
    if (file.extension() == ".sqlite") {
      continue;
    }
    const auto size = static_cast<std::int64_t>(std::filesystem::file_size(file));
    const auto known = recorded.find(file.lexically_relative(ws.study_dir()).generic_string());
    out.inside_commit = out.inside_commit || known == recorded.end() || size > known->second;
  }
  // The journal of a commit that began (new files) and was not recorded.
  out.inside_commit =
      out.inside_commit || db.execAndGet("SELECT COUNT(*) FROM pending").getInt() > 0;
  return out;
}

// The stage a kill landed in, given the events committed when its run started.
std::string stage_of(const Landing& landing, std::int64_t committed_before) {
  if (landing.inside_commit) {
    return "inside a commit";
  }
  return landing.committed == committed_before ? "before the run's first commit"
                                               : "between commits";
}

// Start `bdd <args>` and SIGKILL it the instant a commit writes to a data file or makes a leaf's
// folder (inotify on every folder of the study), which is after the commit's write began and,
// unless the kill is late, before its record. Watching starts after the run's first request, once
// the roll-back of a killed run before it is done. Returns true if the kill struck a running
// process.
bool kill_inside_commit(const Workspace& ws, const std::vector<std::string>& args) {
  auto process = ws.start_bdd(args);
  wait_until([&] { return ws.server().request_count() >= 1 || !process->running(); },
             std::chrono::seconds(30));
  const int watch = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  REQUIRE(watch >= 0);
  const auto add = [watch](const std::filesystem::path& dir) {
    return ::inotify_add_watch(watch, dir.c_str(), IN_MODIFY | IN_CREATE) >= 0;
  };
  REQUIRE(add(ws.study_dir()));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(ws.study_dir())) {
    if (entry.is_directory() && entry.path().filename() != ".bdd") {
      add(entry.path());
    }
  }
  bool struck = false;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!struck && process->running() && Clock::now() < deadline) {
    pollfd ready{watch, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) {
      continue;
    }
    alignas(inotify_event) char buffer[4096];
    const ssize_t n = ::read(watch, buffer, sizeof buffer);
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      // A data file written or created, or a folder for new leaves (nested layouts; the folders
      // are made as the commit writes its first event there).
      const std::string_view name = event->len > 0 ? event->name : "";
      const bool leaf_folder = (event->mask & IN_ISDIR) != 0 && !name.starts_with(".");
      if (name.starts_with("events.") || leaf_folder) {
        process->send_signal(SIGKILL);
        struck = true;
        break;
      }
    }
  }
  ::close(watch);
  if (!struck && process->running()) {
    process->send_signal(SIGKILL);
  }
  auto result = process->wait(std::chrono::seconds(60));
  REQUIRE(result);
  INFO("stdout: " << result->out << "\nstderr: " << result->err);
  struck = result->exit_code == k_killed;
  CHECK((struck || result->exit_code == 0));
  return struck;
}

} // namespace

TEST_CASE("interrupt::sigkill at random instants then a rerun gives exactly the server's events",
          "[e2e][interrupt]") {
  struct Variant {
    const char* format;
    json layout;
    unsigned seed;
  };
  const Variant variant = GENERATE(Variant{"json", json::array({"by_user_id", "by_date"}), 1},
                                   Variant{"jsonl", json::array(), 2},
                                   Variant{"jsonl", json::array({"by_user_id", "by_date"}), 3},
                                   Variant{"csv", json::array({"by_event_type", "by_user_id"}), 4},
                                   Variant{"sqlite", json::array(), 5});
  Workspace ws(slow_download(variant.format, variant.layout));
  ws.add_events(3000);
  add_latency(ws, 50);

  // Three kills at random points: soon after the first commit (bdd commits every 2 s, and the
  // download takes longer), after a random number of requests of the next run, and at a random
  // time. Progress-based points keep the kills inside the runs however fast the server is.
  std::mt19937 rng(variant.seed);
  const auto random_ms = [&rng](int low, int high) {
    return milliseconds(std::uniform_int_distribution<int>(low, high)(rng));
  };
  const milliseconds after_commit = random_ms(0, 400);
  const auto requests = static_cast<std::uint64_t>(random_ms(2, 20).count());
  const milliseconds request_delay = random_ms(0, 60);
  const milliseconds anytime = random_ms(0, 2500);
  INFO("format " << variant.format << ", folder_structure " << variant.layout.dump() << "; kills "
                 << after_commit.count() << " ms after the first commit, " << request_delay.count()
                 << " ms after request " << requests << ", " << anytime.count()
                 << " ms after the first request");
  const std::vector<std::string> download = {"download", Workspace::k_study};
  const auto metadata = ws.study_dir() / ".metadata.json";
  int kills = 0;
  int runs = 0;
  // Where each kill landed, from what it left: the kills must not all land in one stage.
  std::set<std::string> stages;
  std::string landings;
  const auto record_landing = [&](bool struck, std::int64_t committed_before) {
    ++runs;
    kills += struck ? 1 : 0;
    if (struck) {
      const auto stage = stage_of(landing_of(ws), committed_before);
      stages.insert(stage);
      landings += (landings.empty() ? "" : "; ") + stage;
    }
  };
  // The first commit comes while the download still runs (it takes over 3 s), so this kill lands
  // in a run that has saved part of its work.
  const bool first_struck = kill_when(
      ws, download, [&] { return std::filesystem::exists(metadata); }, after_commit);
  CHECK(first_struck);
  record_landing(first_struck, 0);
  ws.server().reset_stats();
  auto committed = landing_of(ws).committed;
  // However much the first run kept (it depends on when its commits became durable), the kill
  // comes within the first half of what the second run has left to read, so it lands inside it.
  const auto pages_left =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, 3000 - committed) / 50);
  const std::uint64_t kill_after = std::clamp<std::uint64_t>(pages_left / 2, 1, requests);
  record_landing(
      kill_when(
          ws, download, [&] { return ws.server().request_count() >= kill_after; }, request_delay),
      committed);
  ws.server().reset_stats();
  committed = landing_of(ws).committed;
  record_landing(kill_when(
                     ws, download, [&] { return ws.server().request_count() >= 1; }, anytime),
                 committed);
  CHECK(kills >= 2);
  // Random instants rarely fall inside a commit (its write and record take milliseconds): one
  // more run is killed as a commit writes, in the text formats, where the state tells a written
  // commit from a recorded one. On a loaded machine the kill can come after the record (the
  // test reacts slower than bdd commits): then it is tried again, with new events each time so
  // that every try has a commit to strike (a late kill may have recorded all there was).
  if (variant.format != std::string("sqlite")) {
    for (int attempt = 0; attempt < 8 && stages.count("inside a commit") == 0; ++attempt) {
      ws.add_events(attempt == 0 ? 3000 : 500);
      ws.server().reset_stats();
      committed = landing_of(ws).committed;
      record_landing(kill_inside_commit(ws, download), committed);
    }
    INFO("kills landed: " << landings);
    CHECK(stages.count("inside a commit") == 1);
  }
  INFO("kills landed: " << landings);
  CHECK(stages.size() >= 2);

  speed_up(ws);
  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("final run stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  check_exact_copy(ws);
  CHECK(ws.metadata()["events_stored"] == ws.server_ids().size());

  // Killed runs are recorded as interrupted by the next run; none is left "running".
  json history = ws.history();
  REQUIRE(history.size() == static_cast<std::size_t>(runs + 1));
  int interrupted = 0;
  for (const auto& record : history) {
    CHECK(record["status"] != "running");
    interrupted += record["status"] == "interrupted" ? 1 : 0;
  }
  CHECK(interrupted == kills);
  CHECK(history.back()["status"] != "failed");
  // What the first killed run committed was kept: the next run resumed after it.
  CHECK(history[1]["start_offset"] > 0);
}

TEST_CASE("interrupt::sigkill during --fresh keeps the old copy and a rerun completes",
          "[e2e][interrupt][fresh]") {
  Workspace ws(slow_download("jsonl", json::array({"by_user_id", "by_date"})));
  ws.add_events(1500);
  speed_up(ws);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  auto old_ids = ws.stored_ids();
  std::sort(old_ids.begin(), old_ids.end());
  ws.add_events(1000);
  ws.update_config(slow_download("jsonl", json::array({"by_user_id", "by_date"})));
  add_latency(ws, 50);

  // The rebuild takes 50 requests; kill it after a random number of them.
  std::mt19937 rng(42);
  const auto requests = static_cast<std::uint64_t>(std::uniform_int_distribution<int>(2, 45)(rng));
  const milliseconds delay(std::uniform_int_distribution<int>(0, 60)(rng));
  INFO("kill " << delay.count() << " ms after request " << requests);
  ws.server().reset_stats();
  CHECK(kill_when(
      ws,
      {"download", Workspace::k_study, "--fresh"},
      [&] { return ws.server().request_count() >= requests; },
      delay));

  // The copy researchers use is untouched by the unfinished rebuild.
  auto ids = ws.stored_ids();
  std::sort(ids.begin(), ids.end());
  INFO(describe_difference(old_ids, ids));
  CHECK(ids == old_ids);
  CHECK(ws.metadata()["events_stored"] == 1500);

  speed_up(ws);
  SECTION("rerun with --fresh") {
    auto run = ws.bdd({"download", Workspace::k_study, "--fresh"});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    check_exact_copy(ws);
    json history = ws.history();
    REQUIRE(history.size() == 3);
    CHECK(history[0]["status"] == "success");
    CHECK(history[1]["type"] == "fresh");
    CHECK(history[1]["status"] == "interrupted");
    CHECK(history[2]["type"] == "fresh");
    CHECK(history[2]["status"] == "success");
    CHECK(history[2]["events_added"] == 2500);
  }
  SECTION("rerun without --fresh") {
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    check_exact_copy(ws);
    CHECK(ws.metadata()["events_stored"] == 2500);
  }
}

TEST_CASE("interrupt::signal stops cleanly with exit 130 after saving", "[e2e][interrupt]") {
  const int signal_number = GENERATE(SIGINT, SIGTERM);
  INFO("signal " << signal_number);
  Workspace ws(slow_download("csv", json::array()));
  ws.add_events(3000);
  add_latency(ws, 30);

  auto process = ws.start_bdd({"download", Workspace::k_study});
  REQUIRE(wait_until([&] { return ws.server().request_count() >= 15; }, std::chrono::seconds(20)));
  auto signalled = Clock::now();
  process->send_signal(signal_number);
  auto result = process->wait(std::chrono::seconds(20));
  REQUIRE(result);
  auto stop_time = Clock::now() - signalled;
  INFO("stdout: " << result->out << "\nstderr: " << result->err);
  CHECK(result->exit_code == k_exit_interrupted);
  CHECK(stop_time < std::chrono::seconds(3));
  CHECK(contains(result->err, "bdd: error: interrupted; "));
  CHECK(contains(result->err, "new events were saved"));
  CHECK(contains(result->err, "run the same command to continue"));

  // What was received before the signal is saved, in order, and the records agree.
  auto stored = ws.stored_ids();
  auto server = ws.server_ids();
  CHECK(repeated(stored).empty());
  CHECK(stored.size() >= 14 * 50);
  CHECK(stored.size() < server.size());
  CHECK(std::equal(stored.begin(), stored.end(), server.begin()));
  CHECK(ws.metadata()["events_stored"] == stored.size());
  json history = ws.history();
  REQUIRE(history.size() == 1);
  CHECK(history[0]["status"] == "interrupted");
  CHECK(history[0]["events_added"] == stored.size());
  CHECK(history[0]["error"].is_string());

  speed_up(ws);
  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("rerun stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  check_exact_copy(ws);
  history = ws.history();
  REQUIRE(history.size() == 2);
  CHECK(history[1]["type"] == "incremental");
  CHECK(history[1]["status"] == "success");
  CHECK(history[1]["events_added"] == server.size() - stored.size());
}

TEST_CASE("interrupt::lock a second download of the same study is refused with exit 7",
          "[e2e][interrupt][lock]") {
  Workspace ws(slow_download("jsonl", json::array()));
  ws.add_events(1500);
  add_latency(ws, 40);

  auto first = ws.start_bdd({"download", Workspace::k_study});
  const std::string holder = "pid " + std::to_string(first->pid());
  REQUIRE(wait_until([&] { return contains(read_text(ws.lock_path()), holder); },
                     std::chrono::seconds(20)));

  auto second = ws.bdd({"download", Workspace::k_study});
  INFO("second stdout: " << second.out << "\nstderr: " << second.err);
  CHECK(second.exit_code == k_exit_locked);
  CHECK(second.err.rfind("bdd: error: ", 0) == 0);
  CHECK(contains(second.err, holder));
  CHECK(contains(second.err, "already running"));

  auto rm = ws.bdd({"rm", "--force", Workspace::k_study});
  INFO("rm stdout: " << rm.out << "\nstderr: " << rm.err);
  CHECK(rm.exit_code == k_exit_locked);
  CHECK(std::filesystem::exists(ws.study_dir()));

  REQUIRE(first->running());
  auto result = first->wait(std::chrono::seconds(60));
  REQUIRE(result);
  INFO("first stdout: " << result->out << "\nstderr: " << result->err);
  CHECK(result->exit_code == 0);
  check_exact_copy(ws);
  // The refused run left no record: it never got past the lock.
  CHECK(ws.history().size() == 1);
}

TEST_CASE("interrupt::crash inside a commit is rolled back by the next run",
          "[e2e][interrupt][commit]") {
  // What a kill between "journal written" and "commit recorded" leaves: the state's journal holds
  // the sizes before the commit, and the data files hold part of the commit's bytes. Random
  // kills rarely land in that window, so the test builds it by hand.
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "json", "csv");
  INFO("format " << format);
  Workspace ws(json{{"storage",
                     {{"default_format", format},
                      {"folder_structure", json::array({"by_user_id", "by_date"})}}}});
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);

  const auto state = ws.study_dir() / ".bdd" / "state.sqlite";
  const std::string ext = "events." + format;
  const std::string existing = ws.data_files().front().lexically_relative(ws.study_dir()).string();
  const std::string created = "zz-user/2025-10-01/" + ext;
  {
    SQLite::Database db(state.string(), SQLite::OPEN_READWRITE);
    SQLite::Statement size(db, "SELECT size FROM files WHERE path = ?");
    size.bind(1, existing);
    REQUIRE(size.executeStep());
    const auto old_size = size.getColumn(0).getInt64();
    REQUIRE(old_size
            == static_cast<std::int64_t>(std::filesystem::file_size(ws.study_dir() / existing)));
    db.exec("INSERT INTO pending(path, size) VALUES('" + existing + "', " + std::to_string(old_size)
            + "), ('" + created + "', 0)");
  }
  // Part of the commit reached the files: an existing leaf gained half an event (in JSON over
  // the document's closing "\n]}\n", which a commit rewrites) and a new leaf was created.
  {
    const auto path = ws.study_dir() / existing;
    const auto size = std::filesystem::file_size(path);
    std::filesystem::resize_file(path, size - (format == "json" ? 4 : 0));
    std::ofstream(path, std::ios::binary | std::ios::app) << ",\n{\"id\":\"half-written\",\"user";
    std::filesystem::create_directories(ws.study_dir() / "zz-user" / "2025-10-01");
    std::ofstream(ws.study_dir() / created, std::ios::binary) << "{\"id\":\"half-created\"";
  }
  ws.add_events(50);

  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(contains(run.err, "rolled back an unfinished commit"));
  CHECK_FALSE(std::filesystem::exists(ws.study_dir() / "zz-user"));
  check_exact_copy(ws);
  CHECK(ws.metadata()["events_stored"] == 350);
}

TEST_CASE("interrupt::crash after the data was written but before it was recorded is rolled "
          "back",
          "[e2e][interrupt][commit]") {
  // Most commits journal nothing: the study is marked open for the run and the recorded sizes
  // are the journal. A kill after the writer appended (or a power cut that lost the unsynced
  // record of the commit) leaves files longer than recorded, with the mark.
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "json", "csv");
  INFO("format " << format);
  Workspace ws(json{{"storage", {{"default_format", format}}}});
  ws.add_events(200);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto data = ws.data_files().front();
  const auto recorded = std::filesystem::file_size(data);

  SECTION("with the mark, the extra bytes are cut off and downloaded again") {
    {
      SQLite::Database db((ws.study_dir() / ".bdd" / "state.sqlite").string(),
                          SQLite::OPEN_READWRITE);
      db.exec("INSERT INTO meta(key, value) VALUES('open', '1')");
    }
    std::filesystem::resize_file(data, recorded - (format == "json" ? 4 : 0));
    std::ofstream(data, std::ios::binary | std::ios::app) << ",\n{\"id\":\"appended\",\"user";
    ws.add_events(30);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(contains(run.err, "rolled back an unfinished commit"));
    check_exact_copy(ws);
    CHECK(ws.metadata()["events_stored"] == 230);
    CHECK(ws.bdd({"verify", Workspace::k_study}).exit_code == 0);
  }
  SECTION("without it, a longer file is damage: refused, named, nothing changed") {
    std::ofstream(data, std::ios::binary | std::ios::app) << "edited by hand\n";
    const auto edited = std::filesystem::file_size(data);
    ws.add_events(30);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == k_exit_storage);
    CHECK(contains(run.err, data.filename().string()));
    CHECK(std::filesystem::file_size(data) == edited);
  }
}

TEST_CASE("interrupt::signal during --fresh keeps the old copy and says what happened",
          "[e2e][interrupt][fresh]") {
  Workspace ws(slow_download("jsonl", json::array()));
  ws.add_events(1000);
  speed_up(ws);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto old_ids = ws.stored_ids();
  ws.add_events(1000);
  ws.update_config(slow_download("jsonl", json::array()));
  add_latency(ws, 30);
  ws.server().reset_stats();

  auto process = ws.start_bdd({"download", Workspace::k_study, "--fresh"});
  REQUIRE(wait_until([&] { return ws.server().request_count() >= 10; }, std::chrono::seconds(20)));
  process->send_signal(SIGINT);
  auto result = process->wait(std::chrono::seconds(20));
  REQUIRE(result);
  INFO("stdout: " << result->out << "\nstderr: " << result->err);
  CHECK(result->exit_code == k_exit_interrupted);
  CHECK(result->err.rfind("bdd: error: ", 0) == std::string::npos); // a notice comes first
  CHECK(contains(result->err, "bdd: error: interrupted"));
  // The rebuild was not swapped in: the old copy is what the study holds, and the message must
  // not promise that running again continues the rebuild.
  CHECK(ws.stored_ids() == old_ids);
  CHECK(contains(result->err, "unchanged"));
  CHECK(contains(result->err, "--fresh"));
  json history = ws.history();
  REQUIRE(history.size() == 2);
  CHECK(history[1]["type"] == "fresh");
  CHECK(history[1]["status"] == "interrupted");

  speed_up(ws);
  auto run = ws.bdd({"download", Workspace::k_study, "--fresh"});
  INFO("rerun stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  check_exact_copy(ws);
}

TEST_CASE("interrupt::crash during the --fresh swap is repaired by the next run",
          "[e2e][interrupt][fresh]") {
  // A --fresh run renames <study> to .<study>.old, the rebuilt folder to <study>, then deletes the
  // old one. Build by hand what a crash between those steps leaves.
  Workspace ws;
  ws.add_events(200);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto old_dir =
      ws.study_dir().parent_path() / (std::string(".") + Workspace::k_study + ".old");

  SECTION("after the first rename: the old copy is put back") {
    std::filesystem::rename(ws.study_dir(), old_dir);
    ws.add_events(20);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(contains(run.err, "restoring"));
    CHECK(contains(run.out, "downloaded 20 new events"));
  }
  SECTION("after the second rename: the leftover old copy is deleted") {
    std::filesystem::copy(ws.study_dir(), old_dir, std::filesystem::copy_options::recursive);
    auto run = ws.bdd({"download", Workspace::k_study});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(run.out.empty()); // nothing new: nothing on stdout
  }
  CHECK_FALSE(std::filesystem::exists(old_dir));
  check_exact_copy(ws);
}
