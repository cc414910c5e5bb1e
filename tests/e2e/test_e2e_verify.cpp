// End-to-end: `bdd verify` proves a local copy complete and intact, names the file of every
// kind of damage (cut short, appended to, deleted, a byte flipped in place), `bdd download`
// refuses to build on a damaged copy and says how to repair it, and `bdd download --repair`
// ends with exactly the server's events again. `--remote` compares with the server.

#include <bdd/cli/exit_codes.hpp>
#include <bdd/core/sha256.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/checks.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using bdd::fake_api::Faults;
using bdd::test::check_exact_copy;
using bdd::test::contains;
using bdd::test::layout;
using bdd::test::read_text;
using bdd::test::wait_until;
using bdd::test::Workspace;
using nlohmann::json;
namespace stdfs = std::filesystem;

using enum bdd::cli::ExitCode;

std::string read_bytes(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const stdfs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

void check_verify_clean(const Workspace& ws, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"verify", Workspace::k_study};
  args.insert(args.end(), extra.begin(), extra.end());
  auto run = ws.bdd(args);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code == 0);
  CHECK(contains(run.out, "verified " + std::to_string(ws.server_ids().size()) + " events"));
  CHECK(contains(run.out, ": OK"));
}

// Every line of .bdd/manifest.sha256 is `<sha256>  <path>` of a data file as it is now.
void check_manifest(const Workspace& ws) {
  std::istringstream manifest(read_text(ws.study_dir() / ".bdd" / "manifest.sha256"));
  std::size_t lines = 0;
  for (std::string line; std::getline(manifest, line); ++lines) {
    REQUIRE(line.size() > 66);
    CHECK(line.substr(64, 2) == "  ");
    CHECK(line.substr(0, 64) == bdd::sha256_hex(read_bytes(ws.study_dir() / line.substr(66))));
  }
  CHECK(lines == (ws.format() == "sqlite" ? 0 : ws.data_files().size()));
}

// The data files of `ws` relative to the study folder, '/'-separated, in the order verify reads
// them (sorted as strings).
std::vector<std::string> relative_files(const Workspace& ws) {
  std::vector<std::string> out;
  for (const auto& file : ws.data_files()) {
    out.push_back(file.lexically_relative(ws.study_dir()).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// Where a finding stands in the order of a single-threaded walk of the files: "missing" first,
// then file by file in `files` order the file's manifest findings, its duplicates by line and
// where it stopped parsing, then the comparisons with the state.
std::tuple<int, std::size_t, int, std::uint64_t> order_of(const json& finding,
                                                          const std::vector<std::string>& files) {
  const std::string kind = finding["kind"];
  if (kind == "missing") {
    return {0, 0, 0, 0};
  }
  const auto file = std::find(files.begin(), files.end(), finding["file"].get<std::string>());
  if (kind == "lost" || kind == "count" || kind == "unrecorded" || file == files.end()) {
    return {2, 0, 0, 0};
  }
  const int phase = kind == "duplicate" ? 1 : kind == "parse" ? 2 : 0;
  return {1, static_cast<std::size_t>(file - files.begin()), phase, finding["line"]};
}

// The scratch folders and their lock files verifies keep under `.bdd/` (`verify-<pid>-<n>`).
std::vector<std::string> verify_scratch(const Workspace& ws) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(ws.study_dir() / ".bdd", ec)) {
    if (entry.path().filename().string().starts_with("verify")) {
      names.push_back(entry.path().filename().string());
    }
  }
  return names;
}

// Start `bdd verify --remote` (slow: the server made to answer each page after 200 ms) and stop it
// (SIGSTOP) while it holds the study's lock: once its scratch folder exists, which it makes under
// the lock and removes before letting it go.
std::unique_ptr<bdd::test::BackgroundProcess> stopped_verify(Workspace& ws) {
  Faults slow;
  slow.latency_ms = 200;
  ws.server().set_faults(slow);
  auto verify = ws.start_bdd({"verify", Workspace::k_study, "--remote"});
  REQUIRE(wait_until([&] { return !verify_scratch(ws).empty() || !verify->running(); },
                     std::chrono::seconds(30)));
  verify->send_signal(SIGSTOP);
  REQUIRE(verify->running());
  REQUIRE(verify_scratch(ws).size() == 2); // the folder and its lock file
  return verify;
}

} // namespace

TEST_CASE("verify::a fresh download verifies clean in every format, with a matching manifest",
          "[e2e][verify]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv", "sqlite");
  INFO(format);
  Workspace ws(layout(format, json::array({"by_user_id"})));
  ws.add_events(250, true);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  ws.add_events(120, true); // a second run appends: the hashes continue from the midstate
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  check_verify_clean(ws);
  check_manifest(ws);
  CHECK(verify_scratch(ws).empty());

  auto as_json = ws.bdd({"verify", Workspace::k_study, "--json"});
  REQUIRE(as_json.exit_code == 0);
  const json report = json::parse(as_json.out);
  CHECK(report["study"] == Workspace::k_study);
  CHECK(report["ok"] == true);
  CHECK(report["events"] == 370);
  CHECK(report["findings"] == json::array());
}

TEST_CASE("verify::damage is named, download refuses, and --repair restores the server's events",
          "[e2e][verify][repair]") {
  struct Damage {
    const char* name;
    const char* format;
    bool size_changes; // download checks sizes only: a same-size edit is verify's to find
  };
  const Damage damage = GENERATE(Damage{"truncate a JSON file mid-event", "json", true},
                                 Damage{"append garbage", "jsonl", true},
                                 Damage{"cut a CSV row in half", "csv", true},
                                 Damage{"delete a leaf file", "jsonl", true},
                                 Damage{"flip a byte in the middle", "json", false},
                                 Damage{"flip a byte in the middle", "csv", false});
  INFO(damage.name << " (" << damage.format << ")");
  Workspace ws(layout(damage.format, json::array({"by_user_id"})));
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);

  // The biggest leaf, so that its middle is inside an event.
  stdfs::path victim = ws.data_files().front();
  for (const auto& file : ws.data_files()) {
    if (stdfs::file_size(file) > stdfs::file_size(victim)) {
      victim = file;
    }
  }
  const std::string relative = victim.lexically_relative(ws.study_dir()).generic_string();
  std::string bytes = read_bytes(victim);
  const std::string name = damage.name;
  if (name == "truncate a JSON file mid-event" || name == "cut a CSV row in half") {
    write_bytes(victim, bytes.substr(0, bytes.size() - 25));
  } else if (name == "append garbage") {
    write_bytes(victim, bytes + "{\"not\": \"an event\"\n");
  } else if (name == "delete a leaf file") {
    stdfs::remove(victim);
  } else {
    const std::size_t middle = bytes.size() / 2;
    bytes[middle] = bytes[middle] == 'x' ? 'y' : 'x';
    write_bytes(victim, bytes);
  }

  auto verify = ws.bdd({"verify", Workspace::k_study});
  INFO("verify stdout: " << verify.out << "\nstderr: " << verify.err);
  CHECK(verify.exit_code == k_exit_verify_failed);
  CHECK(contains(verify.out, relative));
  CHECK(contains(verify.out, "problem"));
  CHECK(contains(verify.out, "--repair"));
  if (!damage.size_changes) {
    CHECK(contains(verify.out, "checksum: "));
  }

  ws.add_events(40);
  if (damage.size_changes) {
    auto refused = ws.bdd({"download", Workspace::k_study});
    INFO("download stderr: " << refused.err);
    CHECK(refused.exit_code == k_exit_storage);
    CHECK(contains(refused.err, relative));
    CHECK(contains(refused.err, "bdd verify " + std::string(Workspace::k_study)));
    CHECK(contains(refused.err, "--repair"));
    CHECK(contains(refused.err, "--fresh"));
  }

  auto repaired = ws.bdd({"download", Workspace::k_study, "--repair"});
  INFO("repair stdout: " << repaired.out << "\nstderr: " << repaired.err);
  REQUIRE(repaired.exit_code == 0);
  check_exact_copy(ws);
  check_verify_clean(ws);
  CHECK(ws.history().back()["type"] == "repair");
  if (name != "delete a leaf file") {
    CHECK(stdfs::exists(ws.study_dir() / ".bdd" / "quarantine"));
  }
}

TEST_CASE("verify::--remote checks every server id and reports deletions without failing",
          "[e2e][verify][remote]") {
  Workspace ws(layout("sqlite", json::array()));
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  check_verify_clean(ws, {"--remote"});

  SECTION("events deleted on the server are a warning") {
    ws.server().remove(Workspace::k_study, 10, 3);
    auto run = ws.bdd({"verify", Workspace::k_study, "--remote", "--json"});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 0);
    const json report = json::parse(run.out);
    CHECK(report["ok"] == true);
    std::size_t deleted = 0;
    for (const auto& finding : report["findings"]) {
      deleted += finding["kind"] == "deleted_on_server" ? 1 : 0;
      CHECK(finding["error"] == false);
    }
    CHECK(deleted == 3);
  }
  SECTION("events not downloaded yet fail") {
    ws.add_events(5);
    auto run = ws.bdd({"verify", Workspace::k_study, "--remote"});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == k_exit_verify_failed);
    CHECK(contains(run.out, "not_downloaded: "));
  }
}

TEST_CASE("verify::a download killed at a random instant verifies clean after the rerun",
          "[e2e][verify][interrupt]") {
  json config = layout("json", json::array({"by_user_id", "by_date"}));
  config["download"] = {{"default_page_size", 50}, {"max_concurrent_requests", 1}};
  Workspace ws(config);
  ws.add_events(1500);
  Faults slow;
  slow.latency_ms = 40;
  ws.server().set_faults(slow);
  for (int delay_ms : {150, 900}) {
    auto process = ws.start_bdd({"download", Workspace::k_study});
    wait_until(
        [&] { return stdfs::exists(ws.study_dir() / ".metadata.json") || !process->running(); },
        std::chrono::seconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (process->running()) {
      process->send_signal(SIGKILL);
    }
    REQUIRE(process->wait(std::chrono::seconds(60)));
  }
  ws.server().set_faults({});
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  check_exact_copy(ws);
  check_verify_clean(ws);
}

TEST_CASE("verify::a damaged multi-file study lists its findings in file order, the same each run",
          "[e2e][verify]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  Workspace ws(layout(format, json::array({"by_user_id"})));
  ws.add_events(600);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const std::vector<std::string> files = relative_files(ws);
  REQUIRE(files.size() >= 8);
  auto path = [&](std::size_t i) { return ws.study_dir() / files[i]; };
  const std::uint64_t first_line = format == "jsonl" ? 1 : 2; // of a file's first event

  // A duplicate across files: the first event of files[0] also in files[2].
  std::string record = split_lines(read_bytes(path(0)))[first_line - 1];
  std::uint64_t duplicate_line = 0;
  std::string target = read_bytes(path(2));
  if (format == "json") {
    if (record.back() == ',') {
      record.pop_back();
    }
    const std::size_t head = target.find('\n') + 1;
    target.insert(head, record + ",\n");
    duplicate_line = 2;
  } else {
    duplicate_line = split_lines(target).size() + 1;
    target += record + "\n"; // a CSV line keeps its '\r'
  }
  write_bytes(path(2), target);
  // A byte changed in place, an untracked copy sorted last, a cut file, a deleted file.
  std::string edited = read_bytes(path(3));
  edited[edited.size() / 2] = edited[edited.size() / 2] == 'x' ? 'y' : 'x';
  write_bytes(path(3), edited);
  const std::string untracked = "~extra/events." + format;
  stdfs::create_directories(ws.study_dir() / "~extra");
  stdfs::copy_file(path(1), ws.study_dir() / untracked);
  const std::string cut = read_bytes(path(4));
  std::size_t cut_at = cut.size() * 2 / 3;
  cut_at -= cut[cut_at - 1] == '\n' ? 1 : 0; // inside a line, so that it cannot parse
  write_bytes(path(4), cut.substr(0, cut_at));
  std::vector<std::string> deleted_ids;
  for (const auto& event : bdd::test::read_events(path(5))) {
    deleted_ids.push_back(event["id"].get<std::string>());
  }
  stdfs::remove(path(5));
  std::vector<std::string> on_disk = files;
  on_disk.erase(on_disk.begin() + 5);
  on_disk.push_back(untracked);

  auto run = ws.bdd({"verify", Workspace::k_study, "--json"});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.exit_code == k_exit_verify_failed);
  for (int again = 0; again < 2; ++again) { // the workers' timing never shows
    CHECK(ws.bdd({"verify", Workspace::k_study, "--json"}).out == run.out);
  }
  const json report = json::parse(run.out);
  CHECK(report["files"] == on_disk.size());
  const json& findings = report["findings"];
  for (std::size_t i = 1; i < findings.size(); ++i) {
    INFO(findings[i - 1] << " before " << findings[i]);
    CHECK(order_of(findings[i - 1], on_disk) <= order_of(findings[i], on_disk));
  }
  auto listed = [&](const std::string& kind, const std::string& file) {
    std::vector<json> out;
    for (const auto& finding : findings) {
      if (finding["kind"] == kind && finding["file"] == file) {
        out.push_back(finding);
      }
    }
    return out;
  };
  const auto duplicate = listed("duplicate", files[2]);
  REQUIRE(duplicate.size() == 1);
  CHECK(duplicate[0]["line"] == duplicate_line);
  CHECK(contains(duplicate[0]["message"].get<std::string>(),
                 files[0] + ":" + std::to_string(first_line)));
  CHECK(listed("size", files[2]).size() == 1);
  CHECK(listed("checksum", files[3]).size() == 1);
  CHECK(listed("untracked", untracked).size() == 1);
  const std::size_t copied = bdd::test::read_events(path(1)).size();
  const auto copies = listed("duplicate", untracked);
  REQUIRE(copies.size() == copied);
  for (std::size_t i = 0; i < copies.size(); ++i) {
    CHECK(contains(copies[i]["message"].get<std::string>(),
                   files[1] + ":" + std::to_string(copies[i]["line"].get<int>())));
  }
  CHECK(listed("size", files[4]).size() == 1);
  CHECK(listed("parse", files[4]).size() == 1);
  CHECK(listed("missing", files[5]).size() == 1);
  std::vector<std::string> lost; // the deleted file's, those after the cut, an edited id
  for (const auto& finding : listed("lost", "")) {
    lost.push_back(finding["id"].get<std::string>());
  }
  REQUIRE(lost.size() < 50);
  for (const auto& id : deleted_ids) {
    CHECK(std::find(lost.begin(), lost.end(), id) != lost.end());
  }
}

TEST_CASE("verify::a study of many files is read in parallel and every file counted",
          "[e2e][verify]") {
  Workspace ws(layout("jsonl", json::array({"by_user_id", "by_date"})));
  ws.add_events(3000);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const std::vector<std::string> files = relative_files(ws);
  REQUIRE(files.size() >= 150);
  auto clean = ws.bdd({"verify", Workspace::k_study, "--json"});
  INFO("stdout: " << clean.out << "\nstderr: " << clean.err);
  REQUIRE(clean.exit_code == 0);
  const json report = json::parse(clean.out);
  CHECK(report["files"] == files.size());
  CHECK(report["events"] == 3000);

  // Every file copied once more into a folder sorted last: more duplicates than are listed;
  // the listed ones are the first in file order, then one finding counts the rest.
  for (const auto& file : files) {
    const stdfs::path copy = ws.study_dir() / "~copy" / file;
    stdfs::create_directories(copy.parent_path());
    stdfs::copy_file(ws.study_dir() / file, copy);
  }
  auto damaged = ws.bdd({"verify", Workspace::k_study, "--json"});
  REQUIRE(damaged.exit_code == k_exit_verify_failed);
  const json findings = json::parse(damaged.out)["findings"];
  std::vector<json> duplicates;
  for (const auto& finding : findings) {
    if (finding["kind"] == "duplicate") {
      duplicates.push_back(finding);
    }
  }
  REQUIRE(duplicates.size() == 51);
  CHECK(duplicates.back()["message"] == "2950 more findings of this kind");
  std::size_t expected = 0; // the first 50 events of the copies, in file order
  for (const auto& file : files) {
    const auto lines = split_lines(read_bytes(ws.study_dir() / file));
    for (std::size_t line = 1; line <= lines.size() && expected < 50; ++line, ++expected) {
      CHECK(duplicates[expected]["file"] == "~copy/" + file);
      CHECK(duplicates[expected]["line"] == line);
    }
  }
  CHECK(expected == 50);
}

TEST_CASE("verify::a data file replaced by a link to an identical copy is refused, not followed",
          "[e2e][verify][links]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "sqlite");
  INFO(format);
  Workspace ws(layout(format, json::array()));
  ws.add_events(40);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  const auto files = ws.data_files();
  REQUIRE(files.size() == 1);
  // A follower would read the same bytes and say OK: only refusing the link itself can fail it.
  const stdfs::path outside = ws.dir() / ("outside." + format);
  stdfs::rename(files.front(), outside);
  stdfs::create_symlink(outside, files.front());

  auto run = ws.bdd({"verify", Workspace::k_study});
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.exit_code != 0);
  CHECK(contains(run.out + run.err, "symbolic link"));
  CHECK(contains(run.out + run.err, "events." + format));
  CHECK_FALSE(contains(run.out, ": OK"));
}

TEST_CASE("verify::takes the lock shared: exports and verifies run beside it, a download does "
          "not",
          "[e2e][verify][lock]") {
  Workspace ws(layout("jsonl", json::array({"by_user_id"})));
  ws.add_events(600);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  auto first = stopped_verify(ws);
  const auto held = verify_scratch(ws);
  // Beside a verify: another verify and an export run at once, neither waits.
  auto second = ws.bdd({"verify", Workspace::k_study});
  INFO("second verify: " << second.out << second.err);
  CHECK(second.exit_code == 0);
  CHECK_FALSE(contains(second.err, "waiting"));
  auto exported = ws.bdd({"export", Workspace::k_study, "-o", "beside.jsonl"});
  INFO("export: " << exported.err);
  CHECK(exported.exit_code == 0);
  CHECK_FALSE(contains(exported.err, "waiting"));
  // The second verify cleaned up only what no process holds: the first's folder is still there.
  CHECK(verify_scratch(ws) == held);
  // A download cannot change the files under it: refused, as under an export.
  ws.add_events(40);
  auto download = ws.bdd({"download", Workspace::k_study});
  INFO("download: " << download.err);
  CHECK(download.exit_code == k_exit_locked);
  CHECK(contains(download.err, "bdd verify"));

  first->send_signal(SIGCONT);
  auto result = first->wait(std::chrono::seconds(60));
  REQUIRE(result);
  INFO("first verify: " << result->out << result->err);
  // The 40 events are new on the server, not damage.
  CHECK(result->exit_code == k_exit_verify_failed);
  CHECK(contains(result->out, "40 new events on the server"));
  CHECK(verify_scratch(ws).empty());
  ws.server().set_faults(Faults{});
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  check_verify_clean(ws);
}

TEST_CASE("verify::waits for a running download and finds no damage after it",
          "[e2e][verify][lock]") {
  // 40 pages, one at a time, 100 ms each: the download runs for over 4 s.
  Workspace ws(json{{"storage", {{"default_format", "csv"}}},
                    {"download", {{"default_page_size", 50}, {"max_concurrent_requests", 1}}}});
  ws.add_events(2000);
  Faults slow;
  slow.latency_ms = 100;
  ws.server().set_faults(slow);
  auto download = ws.start_bdd({"download", Workspace::k_study});
  const std::string holder = "pid " + std::to_string(download->pid());
  // The download holds the lock and is reading pages.
  REQUIRE(wait_until(
      [&] {
        return ws.server().request_count() >= 2 && contains(read_text(ws.lock_path()), holder);
      },
      std::chrono::seconds(30)));
  auto verify = ws.bdd({"verify", Workspace::k_study});
  auto downloaded = download->wait(std::chrono::seconds(60));
  REQUIRE(downloaded);
  INFO("download: " << downloaded->err << "\nverify: " << verify.out << verify.err);
  REQUIRE(downloaded->exit_code == 0);
  CHECK(verify.exit_code == 0);
  CHECK(contains(verify.err, "waiting for the running download"));
  CHECK(contains(verify.err, holder));
  CHECK(contains(verify.out, "verified 2000 events"));
}

TEST_CASE("verify::what a killed verify left is removed by the next one", "[e2e][verify][lock]") {
  Workspace ws;
  ws.add_events(300);
  REQUIRE(ws.bdd({"download", Workspace::k_study}).exit_code == 0);
  auto killed = stopped_verify(ws);
  killed->send_signal(SIGKILL);
  REQUIRE(killed->wait(std::chrono::seconds(60)));
  CHECK(verify_scratch(ws).size() == 2);
  // And what a verify of an older bdd left, under the name it used.
  std::ofstream(ws.study_dir() / ".bdd" / "verify-ids.sqlite") << "left by a killed run";
  ws.server().set_faults(Faults{});
  check_verify_clean(ws);
  CHECK(verify_scratch(ws).empty());
}
