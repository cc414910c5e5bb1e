// ops::CommitPipeline alone, on a real state and writer in a temporary folder: what it is handed
// is durable after wait, a failed write is reported and rolled back, batches land in order, and
// the records of batches that are not durable are stored together.

#include "scripted_server.hpp"

#include <bdd/ops/commit_pipeline.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/writer.hpp>
#include <bdd/tracking/manifest.hpp>
#include <bdd/tracking/state.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace ops_test;
using bdd::ops::CommitPipeline;

// A study folder with its state and writer, as ops::download opens them.
struct Study {
  explicit Study(std::vector<std::string> folders) {
    config = make_config(dir.path(), "jsonl");
    config.folder_structure = std::move(folders);
    stdfs::create_directories(path());
    auto opened = bdd::tracking::open_state(path(), bdd::tracking::StateAccess::exclusive);
    REQUIRE(opened);
    state = std::move(*opened);
    std::vector<bdd::storage::Level> levels;
    for (const auto& name : config.folder_structure) {
      levels.push_back(*bdd::storage::parse_level(name));
    }
    auto made = bdd::storage::make_writer("jsonl", {path(), "s", levels});
    REQUIRE(made);
    writer = std::move(*made);
  }
  stdfs::path path() const { return dir.path() / "s"; }

  CommitPipeline::Options options() const {
    CommitPipeline::Options out;
    out.work_dir = path();
    out.format = "jsonl";
    out.remedy = "repair it";
    return out;
  }

  // Writes `ids` (of `user`) and returns their commit, extending `base`, and their digests.
  bdd::tracking::CommitRecord write(const bdd::tracking::Cursor& base,
                                    const std::vector<std::string>& ids,
                                    CommitPipeline::Ids& digests,
                                    const std::string& user = "") {
    bdd::tracking::CommitRecord commit;
    commit.cursor = base;
    for (const auto& id : ids) {
      std::string json = event_json(id);
      if (!user.empty()) {
        const std::string field = R"("userId":")";
        json.replace(json.find(field) + field.size(), 2, user);
      }
      bdd::model::Event event = bdd::model::normalise_compact(std::move(json));
      event.digest = bdd::model::content_digest(event.raw);
      REQUIRE(writer->write(event));
      commit.new_ids.push_back(id);
      commit.new_digests.push_back(event.digest);
      digests.emplace(id, event.digest);
    }
    commit.cursor.offset += ids.size();
    commit.cursor.events_stored += ids.size();
    commit.cursor.last_id = ids.back();
    commit.seams.push_back({commit.cursor.offset, commit.cursor.last_id});
    commit.durable = true;
    return commit;
  }

  TempDir dir;
  bdd::config::Config config;
  std::unique_ptr<bdd::tracking::State> state;
  std::unique_ptr<bdd::storage::Writer> writer;
};

std::vector<std::string> numbered(int from, int count) {
  std::vector<std::string> ids;
  for (int i = from; i < from + count; ++i) {
    ids.push_back("e" + std::to_string(i));
  }
  return ids;
}

// Every file the state records has the size and hash it records.
void check_files_recorded(Study& study) {
  auto files = study.state->files();
  REQUIRE(files);
  REQUIRE_FALSE(files->empty());
  for (const auto& file : *files) {
    INFO("file " << file.path);
    const stdfs::path path = study.path() / file.path;
    CHECK(stdfs::file_size(path) == file.size);
    auto hash = bdd::tracking::extend_file_hash(
        path, "", file.size, bdd::storage::rewritten_tail("jsonl").size());
    REQUIRE(hash);
    CHECK(hash->sha256 == file.sha256);
  }
}

// A state that counts the reads of file records it is asked for and forwards every call.
class CountingState final : public bdd::tracking::State {
public:
  explicit CountingState(State& inner) : m_inner(inner) {}
  int file_reads = 0;         // calls of files_at
  std::size_t paths_read = 0; // the paths they asked for

  bdd::Result<std::vector<bdd::tracking::FileRecord>>
  files_at(const std::vector<std::string>& paths) override {
    ++file_reads;
    paths_read += paths.size();
    return m_inner.files_at(paths);
  }
  bdd::Result<bdd::tracking::Cursor> cursor() override { return m_inner.cursor(); }
  bdd::Result<std::vector<bdd::tracking::FileRecord>> pending() override {
    return m_inner.pending();
  }
  bdd::Result<void> begin_commit(const std::vector<bdd::tracking::FileRecord>& before) override {
    return m_inner.begin_commit(before);
  }
  bdd::Result<void> finish_commit(const bdd::tracking::CommitRecord& record) override {
    return m_inner.finish_commit(record);
  }
  bdd::Result<void> clear_pending() override { return m_inner.clear_pending(); }
  bdd::Result<bool> contains(const std::string& id) override { return m_inner.contains(id); }
  bdd::Result<Stored> lookup(const std::string& id) override { return m_inner.lookup(id); }
  void end_reads() override { m_inner.end_reads(); }
  bdd::Result<std::vector<bdd::tracking::FileRecord>> files() override { return m_inner.files(); }
  bdd::Result<std::uint64_t> id_count() override { return m_inner.id_count(); }
  bdd::Result<std::optional<bdd::tracking::Seam>> seam_in(std::uint64_t offset,
                                                          std::uint64_t before) override {
    return m_inner.seam_in(offset, before);
  }
  bdd::Result<bool> quarantined(const std::string& id) override { return m_inner.quarantined(id); }
  bdd::Result<std::vector<bdd::tracking::QuarantinedItem>> quarantine() override {
    return m_inner.quarantine();
  }
  bdd::Result<void> reset() override { return m_inner.reset(); }
  bdd::Result<std::vector<std::string>> doomed() override { return m_inner.doomed(); }
  bdd::Result<void> forget_doomed(const std::vector<std::string>& paths) override {
    return m_inner.forget_doomed(paths);
  }
  bdd::Result<std::optional<std::int64_t>> tree_checked_at() override {
    return m_inner.tree_checked_at();
  }
  bdd::Result<void> set_tree_checked_at(std::int64_t unix_seconds) override {
    return m_inner.set_tree_checked_at(unix_seconds);
  }

private:
  State& m_inner;
};

} // namespace

TEST_CASE("ops::CommitPipeline reads the state's records of a commit's files at once, not one "
          "by one",
          "[ops][commit]") {
  // Each read of its own takes and releases SQLite's file locks: a commit of a deep
  // folder_structure that creates thousands of files made thousands of them.
  Study study({"by_user_id"});
  CountingState counting(*study.state);
  constexpr int k_users = 20;
  std::vector<std::string> all;
  // A commit of one event for each of k_users users from `first_user` on: k_users files.
  auto commit_users = [&](CommitPipeline& pipeline, int first_user) {
    REQUIRE(pipeline.make_room());
    bdd::tracking::CommitRecord commit;
    commit.cursor = pipeline.handed_off();
    CommitPipeline::Ids digests;
    for (int user = first_user; user < first_user + k_users; ++user) {
      const std::string name{static_cast<char>('a' + user / 10),
                             static_cast<char>('0' + user % 10)};
      auto one = study.write(commit.cursor, {"e" + std::to_string(all.size())}, digests, name);
      commit.cursor = one.cursor;
      commit.new_ids.push_back(one.new_ids.front());
      commit.new_digests.push_back(one.new_digests.front());
      commit.seams = one.seams;
      all.push_back(one.new_ids.front());
    }
    commit.durable = true;
    pipeline.hand_off(std::move(commit), std::move(digests));
  };
  {
    auto start = counting.cursor();
    REQUIRE(start);
    CommitPipeline pipeline(counting, *study.writer, *start, study.options());
    commit_users(pipeline, 0);       // new files
    commit_users(pipeline, k_users); // new files, none the commit before wrote
    REQUIRE(pipeline.wait());
    CHECK_FALSE(pipeline.failure());
  }
  {
    // A later run appends to the first commit's files: their records come from the state.
    auto start = counting.cursor();
    REQUIRE(start);
    CommitPipeline pipeline(counting, *study.writer, *start, study.options());
    commit_users(pipeline, 0);
    REQUIRE(pipeline.wait());
    CHECK_FALSE(pipeline.failure());
  }
  // At most one read per commit, of every file that the commit before did not write.
  CHECK(counting.file_reads <= 3);
  CHECK(counting.paths_read == static_cast<std::size_t>(3 * k_users));
  auto files = study.state->files();
  REQUIRE(files);
  CHECK(files->size() == static_cast<std::size_t>(2 * k_users));
  check_files_recorded(study);
  check_exact(study.config, all);
}

TEST_CASE("ops::CommitPipeline makes a batch handed off durable by the end of wait",
          "[ops][commit]") {
  Study study({"by_user_id"});
  auto start = study.state->cursor();
  REQUIRE(start);
  // The batch's write waits for the test: meanwhile its ids are found as stored, in flight.
  std::promise<void> go;
  auto options = study.options();
  options.before_write = [gate = go.get_future().share()] { gate.wait(); };
  CommitPipeline pipeline(*study.state, *study.writer, *start, std::move(options));
  CommitPipeline::Ids digests;
  const auto ids = numbered(0, 10);
  auto commit = study.write(*start, ids, digests);
  const auto cursor = commit.cursor;
  REQUIRE(pipeline.make_room());
  pipeline.hand_off(std::move(commit), digests);
  CHECK(pipeline.handed_off().offset == 10);
  CHECK(pipeline.settled().offset == 0);
  auto in_flight = pipeline.lookup("e3");
  go.set_value(); // before any REQUIRE: the pipeline waits for its batch when destroyed
  REQUIRE(in_flight);
  CHECK(in_flight->found);
  CHECK(in_flight->digest == digests.at("e3"));

  REQUIRE(pipeline.wait());
  CHECK_FALSE(pipeline.failure());
  CHECK(pipeline.settled().offset == cursor.offset);
  auto recorded = study.state->cursor();
  REQUIRE(recorded);
  CHECK(recorded->offset == 10);
  CHECK(recorded->events_stored == 10);
  CHECK(recorded->last_id == "e9");
  for (const auto& id : ids) {
    auto stored = study.state->lookup(id);
    REQUIRE(stored);
    CHECK(stored->found);
    CHECK(stored->digest == digests.at(id));
  }
  auto missing = pipeline.lookup("e10");
  REQUIRE(missing);
  CHECK_FALSE(missing->found);
  check_files_recorded(study);
  check_exact(study.config, ids);
}

TEST_CASE("ops::CommitPipeline reports a failed write once and rolls it back", "[ops][commit]") {
  Study study({"by_user_id"});
  auto start = study.state->cursor();
  REQUIRE(start);
  CommitPipeline pipeline(*study.state, *study.writer, *start, study.options());
  CommitPipeline::Ids first_ids;
  auto first = study.write(*start, numbered(0, 4), first_ids);
  REQUIRE(pipeline.make_room());
  pipeline.hand_off(std::move(first), std::move(first_ids));
  REQUIRE(pipeline.wait());
  const auto committed = pipeline.settled();
  auto files_before = study.state->files();
  REQUIRE(files_before);

  // The second batch appends to u0's file, and to a user whose folder cannot be made: a file
  // is in its place.
  std::ofstream(study.path() / "blocked") << "in the way";
  CommitPipeline::Ids second_ids;
  auto second = study.write(committed, {"e4", "e6"}, second_ids, "u0");
  CommitPipeline::Ids third_ids;
  auto third = study.write(second.cursor, {"x1"}, third_ids, "blocked");
  // One batch of both (what the writer holds since the last seal).
  second.cursor = third.cursor;
  second.new_ids.insert(second.new_ids.end(), third.new_ids.begin(), third.new_ids.end());
  second.new_digests.insert(
      second.new_digests.end(), third.new_digests.begin(), third.new_digests.end());
  second_ids.merge(third_ids);
  REQUIRE(pipeline.make_room());
  pipeline.hand_off(std::move(second), std::move(second_ids));

  auto refused = pipeline.make_room(); // no batch may follow a failed one
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == bdd::Errc::storage);
  auto waited = pipeline.wait();
  REQUIRE_FALSE(waited);
  CHECK(waited.error().message == refused.error().message);
  REQUIRE(pipeline.failure());
  CHECK(pipeline.failure()->message == refused.error().message);
  CHECK(pipeline.settled().offset == committed.offset);

  auto rolled_back = pipeline.roll_back();
  REQUIRE(rolled_back);
  auto pending = study.state->pending();
  REQUIRE(pending);
  CHECK(pending->empty());
  auto recorded = study.state->cursor();
  REQUIRE(recorded);
  CHECK(recorded->offset == committed.offset);
  auto files_after = study.state->files();
  REQUIRE(files_after);
  CHECK(files_after->size() == files_before->size());
  check_files_recorded(study);
  check_exact(study.config, numbered(0, 4));
  auto lost = study.state->lookup("e4");
  REQUIRE(lost);
  CHECK_FALSE(lost->found);
}

TEST_CASE("ops::CommitPipeline stores batches in the order they were handed off", "[ops][commit]") {
  Study study({}); // one file: its order is the commits' order
  auto start = study.state->cursor();
  REQUIRE(start);
  // Earlier batches are slower to write: they must still be recorded and described first.
  std::mutex mutex;
  int writes = 0;
  std::vector<std::uint64_t> described;
  auto options = study.options();
  options.before_write = [&] {
    int n = 0;
    {
      const std::lock_guard lock(mutex);
      n = writes++;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(8 - n));
  };
  options.describe = [&](const bdd::tracking::Cursor& cursor) -> bdd::Result<void> {
    const std::lock_guard lock(mutex);
    described.push_back(cursor.offset);
    return bdd::ok();
  };
  CommitPipeline pipeline(*study.state, *study.writer, *start, std::move(options));
  std::vector<std::string> all;
  std::uint64_t settled = 0;
  for (int batch = 0; batch < 8; ++batch) {
    const auto ids = numbered(batch * 5, 5);
    all.insert(all.end(), ids.begin(), ids.end());
    REQUIRE(pipeline.make_room());
    CHECK(pipeline.settled().offset >= settled); // never back
    settled = pipeline.settled().offset;
    CommitPipeline::Ids digests;
    auto commit = study.write(pipeline.handed_off(), ids, digests);
    pipeline.hand_off(std::move(commit), std::move(digests));
  }
  REQUIRE(pipeline.wait());
  CHECK(pipeline.settled().offset == 40);
  CHECK(described == std::vector<std::uint64_t>{5, 10, 15, 20, 25, 30, 35, 40});
  auto recorded = study.state->cursor();
  REQUIRE(recorded);
  CHECK(recorded->offset == 40);
  CHECK(recorded->last_id == "e39");
  CHECK(stored_ids(study.config) == all);
  check_files_recorded(study);
}

TEST_CASE("ops::CommitPipeline stores the records of batches that are not durable together, "
          "finding their ids meanwhile",
          "[ops][commit]") {
  Study study({"by_user_id"}); // two users: files that one batch changes and the next does not
  auto start = study.state->cursor();
  REQUIRE(start);
  CommitPipeline pipeline(*study.state, *study.writer, *start, study.options());
  std::vector<std::string> all;
  const std::size_t batches = CommitPipeline::k_batches_per_record + 2;
  for (std::size_t batch = 0; batch < batches; ++batch) {
    const auto ids = numbered(static_cast<int>(batch) * 3, 3);
    all.insert(all.end(), ids.begin(), ids.end());
    REQUIRE(pipeline.make_room());
    CommitPipeline::Ids digests;
    auto commit = study.write(pipeline.handed_off(), ids, digests, batch % 2 == 0 ? "u0" : "u1");
    commit.durable = false;
    // The list was read again from offset 2: the seams after it are forgotten, also those of
    // the records not stored yet.
    if (batch == 2) {
      commit.forget_seams_from = 4;
    }
    pipeline.hand_off(std::move(commit), std::move(digests));
    // Every id handed off is stored, whether its batch is in flight, waits for its record to be
    // stored, or is in the state.
    for (const auto& id : all) {
      auto found = pipeline.lookup(id);
      REQUIRE(found);
      CHECK(found->found);
    }
    // Stored in groups: the state's cursor is where one of them ended.
    auto recorded = pipeline.with_state([](bdd::tracking::State& state) { return state.cursor(); });
    REQUIRE(recorded);
    CHECK(recorded->offset % (3 * CommitPipeline::k_batches_per_record) == 0);
  }
  REQUIRE(pipeline.wait());
  CHECK(pipeline.settled().offset == 3 * batches);
  auto recorded = study.state->cursor();
  REQUIRE(recorded);
  CHECK(recorded->offset == 3 * batches);
  CHECK(recorded->events_stored == 3 * batches);
  CHECK(recorded->last_id == all.back());
  auto files_hold = stored_ids(study.config); // file by file: u0's, then u1's
  std::sort(files_hold.begin(), files_hold.end());
  auto expected = all;
  std::sort(expected.begin(), expected.end());
  CHECK(files_hold == expected);
  for (const auto& id : all) {
    auto stored = study.state->lookup(id);
    REQUIRE(stored);
    CHECK(stored->found);
  }
  // The seams at 3 (batch 0) and from 9 on (batch 2 and after) are kept; the one at 6 (batch 1,
  // after 4) is forgotten.
  auto first = study.state->seam_in(0, 100);
  REQUIRE(first);
  REQUIRE(*first);
  CHECK((*first)->offset == 3);
  auto next = study.state->seam_in(4, 100);
  REQUIRE(next);
  REQUIRE(*next);
  CHECK((*next)->offset == 9);
  check_files_recorded(study);
  check_exact(study.config, all);
}
