// End-to-end: local storage failures. A write past the file size limit, a full disk (a small
// tmpfs), a data folder bdd may not write and a data folder path through a regular file each stop
// bdd with one clear error line and exit code 8; what was stored before stays intact and
// verifiable, and a run with the problem gone ends with exactly the server's events. The full disk
// needs root or a user namespace (`unshare -rm`); without either that test fails and says why.

#include <bdd/cli/exit_codes.hpp>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/process.hpp>
#include <support/workspace.hpp>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using bdd::test::check_exact_copy;
using bdd::test::contains;
using bdd::test::layout;
using bdd::test::ProcessOptions;
using bdd::test::ProcessResult;
using bdd::test::read_text;
using bdd::test::repeated;
using bdd::test::run_bdd;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

using enum bdd::cli::ExitCode;
// The user the unwritable-folder test runs bdd as when the tests run as root: `nobody`.
constexpr unsigned k_unprivileged_id = 65534;

// Few users and one day, so that a nested layout has a few large leaves rather than hundreds of
// tiny ones: a size limit must be reachable by a data file, not only by bdd's own state.
void add_events(Workspace& ws, std::size_t count) {
  bdd::fake_api::GeneratorOptions options;
  options.count = count;
  options.users = 2;
  options.days = 1;
  ws.server().append_generated(Workspace::k_study, options);
}

// `count` events on the server and a download that stores them all: the copy that a failing
// run afterwards must leave intact. Returns the stored ids.
std::vector<std::string> download_first_events(Workspace& ws, std::size_t count) {
  add_events(ws, count);
  auto first = ws.bdd({"download", Workspace::k_study});
  INFO("first run stdout: " << first.out << "\nstderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  auto stored = ws.stored_ids();
  REQUIRE(stored.size() == count);
  return stored;
}

// Every regular file under `dir`, relative path -> content.
std::map<std::string, std::string> snapshot(const stdfs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[entry.path().lexically_relative(dir).string()] = read_text(entry.path());
    }
  }
  return files;
}

// Give or take away the write permission of `dir` and everything in it (for the owner too).
void set_writable(const stdfs::path& dir, bool writable) {
  std::error_code ec;
  if (!stdfs::exists(dir, ec)) {
    return;
  }
  const auto mode = [writable](bool is_dir) {
    return stdfs::perms((is_dir ? 0555 : 0444) | (writable ? 0200 : 0));
  };
  stdfs::permissions(dir, mode(true), ec);
  for (const auto& entry : stdfs::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_symlink()) {
      stdfs::permissions(entry.path(), mode(entry.is_directory()), ec);
    }
  }
}

std::uint64_t largest_file(const stdfs::path& dir) {
  std::uint64_t largest = 0;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      largest = std::max<std::uint64_t>(largest, entry.file_size());
    }
  }
  return largest;
}

std::vector<std::string> lines_starting_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) {
      found.push_back(line);
    }
  }
  return found;
}

// A failed run printed exactly one error line, as its last line, and it holds every `needle`.
void check_error_line(const ProcessResult& run, const std::vector<std::string>& needles) {
  const auto errors = lines_starting_with(run.err, "bdd: error: ");
  REQUIRE(errors.size() == 1);
  REQUIRE(run.err.size() >= errors.front().size() + 1);
  CHECK(run.err.substr(run.err.size() - errors.front().size() - 1) == errors.front() + "\n");
  for (const auto& needle : needles) {
    INFO("the error line should contain: " << needle);
    CHECK(contains(errors.front(), needle));
  }
}

// The study verifies clean and holds, without duplicates, every id in `before` and nothing the
// server lacks: the failed run damaged nothing and stored no stranger.
void check_intact(const Workspace& ws, const std::vector<std::string>& before) {
  auto verify = ws.bdd({"verify", Workspace::k_study});
  INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(contains(verify.out, ": OK"));
  const auto stored = ws.stored_ids();
  CHECK(repeated(stored).empty());
  auto server = ws.server_ids();
  std::sort(server.begin(), server.end());
  for (const auto& id : stored) {
    if (!std::binary_search(server.begin(), server.end(), id)) {
      FAIL("stored id " << id << " is not on the server");
    }
  }
  auto have = stored;
  std::sort(have.begin(), have.end());
  std::size_t lost = 0;
  for (const auto& id : before) {
    lost += std::binary_search(have.begin(), have.end(), id) ? 0 : 1;
  }
  CHECK(lost == 0);
  CHECK(ws.metadata()["events_stored"] == stored.size());
}

// The run after the problem is gone completes the copy.
void check_recovers(const Workspace& ws) {
  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("recovery run stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  check_exact_copy(ws);
  CHECK(ws.metadata()["events_stored"] == ws.server_ids().size());
  auto verify = ws.bdd({"verify", Workspace::k_study});
  INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code == 0);
}

// A small tmpfs mounted on `mount_point` for the life of the object, unmounted however the test
// ends. Needs CAP_SYS_ADMIN over the mount namespace: root, or root of a user namespace.
class SmallDisk {
public:
  SmallDisk(const stdfs::path& mount_point, std::uint64_t bytes) : m_path(mount_point) {
    stdfs::create_directories(mount_point);
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      m_error = std::strerror(errno);
      return;
    }
    m_mounted = true;
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  ~SmallDisk() {
    if (m_mounted) {
      ::umount2(m_path.c_str(), MNT_DETACH);
    }
  }

  bool mounted() const { return m_mounted; }
  const std::string& error() const { return m_error; }

  // Fill the disk with a file outside the study folder until only about `bytes` are free.
  void fill_leaving(std::uint64_t bytes) {
    struct statvfs info {};
    REQUIRE(::statvfs(m_path.c_str(), &info) == 0);
    const auto available = static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
    REQUIRE(available > bytes);
    const stdfs::path filler = m_path / "filler";
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    const int allocated = ::posix_fallocate(fd, 0, static_cast<off_t>(available - bytes));
    ::close(fd);
    REQUIRE(allocated == 0);
  }
  // Remove the filler: "free some space", as bdd's message says.
  void free_space() { stdfs::remove(m_path / "filler"); }

private:
  stdfs::path m_path;
  bool m_mounted = false;
  std::string m_error;
};

constexpr const char* k_full_disk_test =
    "storage::a full disk fails with exit 8 and keeps the copy intact";

} // namespace

TEST_CASE("storage::a write past the file size limit fails with exit 8 and keeps the copy intact",
          "[e2e][storage]") {
  struct Variant {
    const char* format;
    json folders;
  };
  const Variant variant = GENERATE(Variant{"jsonl", json::array()},
                                   Variant{"json", json::array()},
                                   Variant{"csv", json::array()},
                                   Variant{"sqlite", json::array()},
                                   Variant{"jsonl", json::array({"by_user_id", "by_date"})},
                                   Variant{"json", json::array({"by_user_id", "by_date"})},
                                   Variant{"csv", json::array({"by_date", "by_user_id"})});
  INFO("format " << variant.format << ", folder_structure " << variant.folders.dump());
  Workspace ws(layout(variant.format, variant.folders));
  const auto before = download_first_events(ws, 200);

  // Three times as many new events: every data file (or SQLite's write-ahead log) must grow by
  // far more than the margin, while bdd's own small files stay below the limit.
  add_events(ws, 600);
  const std::uint64_t limit = largest_file(ws.dir()) + 16 * 1024;
  ProcessOptions options = ws.process_options();
  options.limits[RLIMIT_FSIZE] = limit;
  auto limited = run_bdd({"download", Workspace::k_study}, options);
  INFO("limited run (RLIMIT_FSIZE " << limit << ") stdout: " << limited.out
                                    << "\nstderr: " << limited.err);
  // 153 would be death by SIGXFSZ: no message, no history record.
  REQUIRE(limited.exit_code == k_exit_storage);
  check_error_line(limited, {"events."});
  const auto error = lines_starting_with(limited.err, "bdd: error: ").front();
  CHECK((contains(error, "file too large") || contains(error, "disk is full")));
  CHECK_FALSE(contains(limited.out, "downloaded"));

  json history = ws.history();
  REQUIRE(history.size() == 2);
  CHECK(history[1]["status"] == "failed");
  CHECK(contains(history[1]["error"].get<std::string>(), "events."));

  check_intact(ws, before);
  check_recovers(ws);
}

// Commits run on their own thread, so the paging side learns that one failed only at its next
// commit. Whatever ends the run before that (here Ctrl-C while pages still arrive), the run
// must end with the storage error, not as "interrupted" with events said to be saved that were
// rolled back.
TEST_CASE("storage::a commit that fails before an interruption is reported as the failure",
          "[e2e][storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "json", "csv", "sqlite");
  INFO("format " << format);
  Workspace ws(layout(format, json::array()));
  const auto before = download_first_events(ws, 200);

  add_events(ws, 3000); // 30 pages of 100
  bdd::fake_api::Faults slow;
  slow.latency_ms = 300; // about 3 s in all with 3 requests in flight
  ws.server().set_faults(slow);
  ProcessOptions options = ws.process_options();
  options.limits[RLIMIT_FSIZE] = largest_file(ws.dir()) + 16 * 1024;
  bdd::test::BackgroundProcess run({"download", Workspace::k_study}, options);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  run.send_signal(SIGINT);
  auto result = run.wait(std::chrono::seconds(30));
  REQUIRE(result);
  INFO("interrupted run stdout: " << result->out << "\nstderr: " << result->err);
  CHECK(result->exit_code == k_exit_storage);
  check_error_line(*result, {"events."});
  const auto error = lines_starting_with(result->err, "bdd: error: ").front();
  CHECK((contains(error, "file too large") || contains(error, "disk is full")));
  CHECK_FALSE(contains(result->err, "saved"));

  json history = ws.history();
  REQUIRE(history.size() == 2);
  CHECK(history[1]["status"] == "failed");
  CHECK(history[1]["events_added"] == 0); // the failed commit took them back

  ws.server().set_faults({});
  check_intact(ws, before);
  check_recovers(ws);
}

TEST_CASE(k_full_disk_test, "[e2e][storage]") {
  // Mounting needs root. Otherwise this test runs itself again as root of a user and mount
  // namespace of its own (`unshare -rm`), where it may mount a tmpfs that only it sees. A skip
  // would hide the one check that bdd survives ENOSPC, so if neither works the test fails.
  if (::geteuid() != 0) {
    ProcessOptions options;
    auto inner = bdd::test::run_process(
        "/usr/bin/env",
        {"unshare", "-rm", "--", stdfs::read_symlink("/proc/self/exe").string(), k_full_disk_test},
        options);
    INFO("not root, so ran this test under `unshare -rm`; exit code " << inner.exit_code
                                                                      << ", output:\n"
                                                                      << inner.out << inner.err);
    CHECK(inner.exit_code == 0);
    return;
  }
  struct Variant {
    const char* format;
    json folders;
  };
  const Variant variant = GENERATE(Variant{"jsonl", json::array()},
                                   Variant{"json", json::array({"by_user_id", "by_date"})},
                                   Variant{"sqlite", json::array()});
  INFO("format " << variant.format << ", folder_structure " << variant.folders.dump());
  Workspace ws(layout(variant.format, variant.folders));
  SmallDisk disk(ws.dir() / "data", 8u << 20);
  if (!disk.mounted()) {
    FAIL("cannot mount a tmpfs on " << (ws.dir() / "data").string() << ": " << disk.error());
  }
  const auto before = download_first_events(ws, 200);

  // Room for bdd's small files, not for 600 more events (about 500 kB).
  add_events(ws, 600);
  disk.fill_leaving(64 * 1024);
  const auto kept = snapshot(ws.study_dir());
  auto full = ws.bdd({"download", Workspace::k_study});
  INFO("full-disk run stdout: " << full.out << "\nstderr: " << full.err);
  REQUIRE(full.exit_code == k_exit_storage);
  check_error_line(full, {"data/e2e-study/", "no space left on device", "free some space"});
  CHECK_FALSE(contains(full.out, "downloaded"));
  // The data files hold exactly what they held before the failed run (SQLite's own journal
  // keeps its database consistent; its file may still change).
  if (variant.format != std::string("sqlite")) {
    for (const auto& [path, content] : kept) {
      if (stdfs::path(path).filename().string().rfind("events.", 0) == 0) {
        INFO("data file " << path);
        CHECK(read_text(ws.study_dir() / path) == content);
      }
    }
  }

  // verify needs a little room for its scratch id index: free some, as the message says.
  disk.free_space();
  check_intact(ws, before);
  check_recovers(ws);
}

TEST_CASE("storage::a data folder bdd cannot write fails with exit 8 and damages nothing",
          "[e2e][storage]") {
  Workspace ws;
  // As root, bdd runs as `nobody`, for whom the root-owned data folder is read-only; otherwise
  // as the test's own user, with the write permission taken away.
  const bool root = ::geteuid() == 0;
  ProcessOptions options = ws.process_options();
  if (root) {
    options.run_as = k_unprivileged_id;
    // `nobody` must be able to read the workspace (mkdtemp makes it private).
    stdfs::permissions(ws.dir(), stdfs::perms(0755));
  }
  const stdfs::path data = ws.dir() / "data";
  // Restores write permission whatever way the test ends, so that the workspace can be removed.
  struct Restore {
    stdfs::path dir;
    ~Restore() { set_writable(dir, true); }
  } restore{data};
  const auto lock_down = [&] {
    if (!root) {
      set_writable(data, false);
    }
  };

  SECTION("an existing study") {
    ws.add_events(150);
    REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
    ws.add_events(50);
    const auto before = snapshot(ws.dir());
    const auto before_ids = ws.stored_ids();
    lock_down();
    auto run = run_bdd({"download", Workspace::k_study}, options);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == k_exit_storage);
    check_error_line(run, {data.filename().string() + "/", "permission denied", "permissions"});
    CHECK(snapshot(ws.dir()) == before);
    set_writable(data, true);
    check_intact(ws, before_ids);
    check_recovers(ws);
  }

  SECTION("a first download") {
    stdfs::create_directories(data);
    ws.add_events(150);
    lock_down();
    auto run = run_bdd({"download", Workspace::k_study}, options);
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.exit_code == k_exit_storage);
    check_error_line(run, {"data/", "permission denied", "permissions"});
    CHECK(stdfs::is_empty(data));
    set_writable(data, true);
    check_recovers(ws);
  }
}

TEST_CASE("storage::a data folder path through a regular file fails with exit 8",
          "[e2e][storage]") {
  Workspace ws(json{{"storage", {{"data_directory", "blocker/data"}}}});
  ws.add_events(50);
  const stdfs::path blocker = ws.dir() / "blocker";
  std::ofstream(blocker) << "not a directory\n";
  auto run = ws.bdd({"download", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == k_exit_storage);
  check_error_line(run, {"blocker/data", "not a directory"});
  CHECK(read_text(blocker) == "not a directory\n");

  stdfs::remove(blocker);
  check_recovers(ws);
}
