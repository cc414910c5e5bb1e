// Crash safety of the json, jsonl and csv writers: journal first, rollback, damaged files.
#include "storage_readers.hpp"
#include "storage_test_helpers.hpp"

#include <bdd/storage/layout.hpp>
#include <bdd/storage/writer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>
#include <sys/resource.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::model::Event;
using bdd::storage::FileExtent;
using bdd::storage::Level;
using namespace bdd::test;

TEST_CASE("storage::Writer::commit journals pre-commit sizes before changing anything",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  TempDir dir;
  const std::vector<Level> levels{Level::by_user_id};
  auto writer = make_test_writer(format, dir.path(), levels);
  write_all(*writer, generated_events(10, 2, 1)); // users u0, u1
  auto first = writer->commit([&](const std::vector<FileExtent>& before) -> bdd::Result<void> {
    CHECK(before.size() == 2);
    for (const auto& extent : before) {
      CHECK(extent.size == 0);
    }
    CHECK(snapshot(dir.path()).empty()); // not even a directory yet
    return bdd::ok();
  });
  REQUIRE(first);

  std::map<std::string, std::uint64_t> after_first;
  for (const auto& extent : *first) {
    after_first[extent.relative_path] = extent.size;
  }
  write_all(*writer, generated_events(9, 3, 1, 10)); // users u1, u2, u0
  const auto before_second = snapshot(dir.path());
  bool called = false;
  auto second = writer->commit([&](const std::vector<FileExtent>& before) -> bdd::Result<void> {
    called = true;
    CHECK(snapshot(dir.path()) == before_second);
    std::map<std::string, std::uint64_t> journaled;
    for (const auto& extent : before) {
      journaled[extent.relative_path] = extent.size;
    }
    CHECK(journaled
          == std::map<std::string, std::uint64_t>{
              {"u0/events." + format, after_first["u0/events." + format]},
              {"u1/events." + format, after_first["u1/events." + format]},
              {"u2/events." + format, 0}});
    return bdd::ok();
  });
  REQUIRE(second);
  CHECK(called);
  CHECK(second->size() == 3);
}

TEST_CASE("storage::Writer::commit changes nothing when the journal fails", "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  TempDir dir;
  const std::vector<Level> levels{Level::by_user_id, Level::by_date};
  auto writer = make_test_writer(format, dir.path(), levels);
  const auto first = generated_events(20, 2, 2);
  write_all(*writer, first);
  REQUIRE(writer->commit(accept_journal()));
  const auto before = snapshot(dir.path());

  const auto second = generated_events(20, 4, 3, 20);
  write_all(*writer, second);
  auto failed = writer->commit([](const std::vector<FileExtent>&) -> bdd::Result<void> {
    return bdd::Error(bdd::Errc::storage, "cannot write \".bdd/journal\": disk full");
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == bdd::Errc::storage);
  CHECK(failed.error().message == "cannot write \".bdd/journal\": disk full");
  CHECK(snapshot(dir.path()) == before);

  // The batch is still queued: a later commit writes it.
  REQUIRE(writer->commit(accept_journal()));
  CHECK(read_all(format, dir.path())
        == expected_leaves(concat_events(first, second), levels, format));
}

TEST_CASE("storage::Writer::rollback restores the files of the previous commit after a crash",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  TempDir dir;
  const std::vector<Level> levels{Level::by_user_id, Level::by_date};
  const auto first = concat_events(hostile_events(), generated_events(30, 3, 2));
  {
    auto writer = make_test_writer(format, dir.path(), levels);
    write_all(*writer, first);
    REQUIRE(writer->commit(accept_journal()));
  }
  const auto after_first = snapshot(dir.path());

  // Batch 2 touches existing leaves and creates new leaves and directories.
  std::vector<FileExtent> journal;
  {
    auto writer = make_test_writer(format, dir.path(), levels);
    write_all(*writer, concat_events(generated_events(40, 5, 4, 100), hostile_events()));
    auto committed =
        writer->commit([&](const std::vector<FileExtent>& before) -> bdd::Result<void> {
          journal = before;
          return bdd::ok();
        });
    REQUIRE(committed);
  }
  REQUIRE(snapshot(dir.path()) != after_first);

  SECTION("after a complete but unrecorded commit") {}
  SECTION("after a torn commit") {
    // What a crash mid-write can leave: half an event over the old tail, a half-created file.
    for (const auto& extent : journal) {
      const auto path = dir.path() / extent.relative_path;
      if (extent.size == 0) {
        // A new file's first bytes are its head's: a json writer tells a study's layout by them.
        write_text(path, format == "json" ? "[\n{\"stu" : "{\"stu");
      } else {
        stdfs::resize_file(path, extent.size + 7);
      }
    }
  }

  // The next run: a fresh writer undoes every journaled file.
  auto writer = make_test_writer(format, dir.path(), levels);
  for (const auto& extent : journal) {
    REQUIRE(writer->rollback(extent));
  }
  CHECK(snapshot(dir.path()) == after_first);
  CHECK(read_all(format, dir.path()) == expected_leaves(first, levels, format));

  // Rolling back twice (a crash during recovery) changes nothing more.
  for (const auto& extent : journal) {
    REQUIRE(writer->rollback(extent));
  }
  CHECK(snapshot(dir.path()) == after_first);

  // And the study can grow again from there.
  write_all(*writer, generated_events(5, 5, 1, 500));
  REQUIRE(writer->commit(accept_journal()));
  CHECK(read_all(format, dir.path())
        == expected_leaves(concat_events(first, generated_events(5, 5, 1, 500)), levels, format));
}

TEST_CASE("storage::Writer::commit refuses to append to a damaged file", "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  TempDir dir;
  auto writer = make_test_writer(format, dir.path());
  write_all(*writer, generated_events(3, 1, 1));
  REQUIRE(writer->commit(accept_journal()));
  const auto path = dir.path() / ("events." + format);
  stdfs::resize_file(path, stdfs::file_size(path) - 2);
  const auto damaged = snapshot(dir.path());

  write_all(*writer, generated_events(3, 1, 1, 3));
  bool journaled = false;
  auto result = writer->commit([&](const std::vector<FileExtent>&) -> bdd::Result<void> {
    journaled = true;
    return bdd::ok();
  });
  REQUIRE_FALSE(result);
  CHECK_FALSE(journaled);
  CHECK(result.error().code == bdd::Errc::storage);
  CHECK(result.error().message
        == "cannot append to \"" + path.string()
               + "\": it does not end with a complete event (was it edited or cut short?)");
  CHECK(snapshot(dir.path()) == damaged);
}

TEST_CASE("storage::Writer::rollback refuses files that are not the writer's", "[storage]") {
  TempDir dir;
  auto writer = make_test_writer("jsonl", dir.path());
  write_all(*writer, generated_events(3, 1, 1));
  REQUIRE(writer->commit(accept_journal()));
  const auto before = snapshot(dir.path());

  for (const char* path : {"../events.jsonl",
                           "a/../../events.jsonl",
                           "/etc/events.jsonl",
                           "",
                           "events.csv",
                           "x/./events.jsonl"}) {
    INFO(path);
    auto result = writer->rollback({path, 0});
    REQUIRE_FALSE(result);
    CHECK(result.error().code == bdd::Errc::storage);
  }
  CHECK(writer->rollback({"../events.jsonl", 0}).error().message
        == "cannot roll back \"../events.jsonl\": not an events.jsonl file inside \""
               + dir.path().string() + "\"");

  auto longer =
      writer->rollback({"events.jsonl", stdfs::file_size(dir.path() / "events.jsonl") + 1});
  REQUIRE_FALSE(longer);
  CHECK(longer.error().message.find("fewer than the") != std::string::npos);
  CHECK(snapshot(dir.path()) == before);

  SECTION("a file that never got created is already rolled back") {
    CHECK(writer->rollback({"new/dir/events.jsonl", 0}));
  }
}

TEST_CASE("storage::Writer::commit reports file errors naming the file", "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  TempDir dir;
  auto writer = make_test_writer(format, dir.path(), {Level::by_user_id});
  write_text(dir.path() / "u0", "a file where a directory must go");
  write_all(*writer, generated_events(2, 1, 1));
  auto result = writer->commit(accept_journal());
  REQUIRE_FALSE(result);
  CHECK(result.error().code == bdd::Errc::storage);
  CHECK(result.error().message
        == "cannot open \"" + (dir.path() / "u0" / ("events." + format)).string()
               + "\": not a directory");
}

TEST_CASE("storage::Writer::commit handles thousands of leaves with a few descriptors",
          "[storage]") {
  TempDir dir;
  const auto count_fds = [] {
    return std::distance(stdfs::directory_iterator("/proc/self/fd"), stdfs::directory_iterator());
  };
  const std::vector<Level> levels{Level::by_user_id, Level::by_date};
  auto writer = make_test_writer("jsonl", dir.path(), levels);
  const auto events = generated_events(100 * 10 * 2, 100, 10); // 1000 leaves, 2 events each
  write_all(*writer, events);

  // A descriptor limit far below the number of leaves proves that files are not held open.
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  const auto fds_before = count_fds();
  rlimit tight = original;
  tight.rlim_cur = static_cast<rlim_t>(fds_before + 16);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  auto extents = writer->commit(accept_journal());
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &original) == 0);

  REQUIRE(extents);
  CHECK(extents->size() == 1000);
  CHECK(count_fds() == fds_before);
  CHECK(read_all("jsonl", dir.path()) == expected_leaves(events, levels, "jsonl"));
}

TEST_CASE("storage::Writer::commit of many leaves stops at one it cannot create and rolls back",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv", "json");
  INFO(format);
  TempDir dir;
  const std::vector<Level> levels{Level::by_user_id};
  const auto first = generated_events(400, 200, 1); // leaves u0 .. u199
  auto writer = make_test_writer(format, dir.path(), levels);
  write_all(*writer, first);
  REQUIRE(writer->commit(accept_journal()));

  // 600 leaves, enough to be written by several threads: 200 grow, 400 are new, and one of
  // the new ones cannot be created. Its folder's name becomes a regular file once the sizes are
  // taken (while the journal is written), so the failure comes while writing.
  const auto second = generated_events(1200, 600, 1, 1000);
  write_all(*writer, second);
  const auto before = snapshot(dir.path());
  const stdfs::path blocked = dir.path() / "u450" / ("events." + format);
  std::vector<FileExtent> journal;
  auto failed = writer->commit([&](const std::vector<FileExtent>& extents) -> bdd::Result<void> {
    journal = extents;
    write_text(blocked.parent_path(), "not a folder");
    return bdd::ok();
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message == "cannot create \"" + blocked.string() + "\": not a directory");
  REQUIRE(journal.size() == 600);

  for (const auto& extent : journal) {
    REQUIRE(writer->rollback(extent));
  }
  stdfs::remove_all(blocked.parent_path());
  CHECK(snapshot(dir.path()) == before);

  // The batch stays queued: with the obstacle gone, the same commit succeeds.
  auto committed = writer->commit(accept_journal());
  REQUIRE(committed);
  CHECK(committed->size() == 600);
  CHECK(read_all(format, dir.path())
        == expected_leaves(concat_events(first, second), levels, format));
}
