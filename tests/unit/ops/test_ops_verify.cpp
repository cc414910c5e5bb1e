// ops::verify reads the files of a study on worker threads: a stop request (SIGINT, SIGTERM)
// ends it with Errc::interrupted instead of a report that claims files it did not read, and
// without one it reads every file.

#include "scripted_server.hpp"

#include <bdd/ops/verify.hpp>
#include <bdd/storage/reader.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>

namespace {

using namespace ops_test;

} // namespace

TEST_CASE("ops::verify reads every file, and stops with Errc::interrupted when asked to",
          "[ops][verify]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "csv");
  INFO("format " << format);
  TempDir dir;
  ScriptedServer server;
  server.append(40000); // more batches per file than wait at once
  auto config = make_config(dir.path(), format);
  config.page_size = 1000;
  REQUIRE(run(config, server));
  const auto files = bdd::storage::list_data_files(dir.path() / config.study_name, format);
  REQUIRE(files);
  REQUIRE(files->size() >= 2); // one per user: both workers busy

  std::atomic<bool> stop{false};
  bdd::ops::VerifyOptions options;
  options.stop = &stop;
  auto report = bdd::ops::verify(config, options);
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->files == files->size());
  CHECK(report->events == 40000);

  stop = true; // as the SIGINT handler sets it
  auto stopped = bdd::ops::verify(config, options);
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error().code == bdd::Errc::interrupted);
  CHECK(stopped.error().message.find("run it again") != std::string::npos);

  // Set while the workers run: the verify ends, interrupted or, if it was quicker, complete.
  stop = false;
  std::thread stopper([&] { stop = true; });
  auto raced = bdd::ops::verify(config, options);
  stopper.join();
  if (raced) {
    CHECK(raced->events == 40000);
  } else {
    CHECK(raced.error().code == bdd::Errc::interrupted);
  }
  // The lock was released: the study can be verified again.
  stop = false;
  CHECK(bdd::ops::verify(config, options));
}
