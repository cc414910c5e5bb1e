// The programmatic API (include/bdd/bdd.hpp) against the fake API on 127.0.0.1.
#include <bdd/bdd.hpp>
#include <bdd/config/config.hpp>

#include <catch2/catch.hpp>
#include <support/workspace.hpp>

using bdd::test::Workspace;

namespace {

std::map<std::string, std::string> key_environment(const std::string& key) {
  return {{bdd::config::study_key_variable(Workspace::k_study), key}};
}

} // namespace

TEST_CASE("library::Downloader downloads, resumes and reports status", "[library]") {
  Workspace ws;
  ws.add_events(700);
  bdd::Downloader downloader(ws.dir(), key_environment(Workspace::k_key));

  std::uint64_t progress_calls = 0;
  auto first = downloader.download(Workspace::k_study, false, [&](const bdd::Progress& progress) {
    ++progress_calls;
    CHECK(progress.events_added <= 700);
  });
  REQUIRE(first.outcome.ok);
  CHECK(first.events_added == 700);
  CHECK(first.events_stored == 700);
  CHECK(progress_calls > 0);
  CHECK(ws.stored_ids() == ws.server_ids());

  ws.add_events(50);
  auto second = downloader.download(Workspace::k_study);
  REQUIRE(second.outcome.ok);
  CHECK(second.events_added == 50);
  CHECK(ws.stored_ids() == ws.server_ids());

  auto status = downloader.status(Workspace::k_study);
  REQUIRE(status.outcome.ok);
  CHECK(status.downloaded);
  CHECK(status.events_stored == 750);
  CHECK(status.remote_total == std::optional<std::uint64_t>(750));
}

TEST_CASE("library::Downloader reports a rejected key as an auth failure", "[library]") {
  Workspace ws;
  ws.add_events(10);
  bdd::Downloader downloader(ws.dir(), key_environment("wrong-key-123"));
  auto summary = downloader.download(Workspace::k_study);
  CHECK_FALSE(summary.outcome.ok);
  CHECK(summary.outcome.error_kind == "auth");
  CHECK(summary.outcome.message.find("wrong-key-123") == std::string::npos);
  CHECK(ws.stored_ids().empty());
}

TEST_CASE("library::Downloader status of a study never downloaded", "[library]") {
  Workspace ws;
  bdd::Downloader downloader(ws.dir(), key_environment(Workspace::k_key));
  auto status = downloader.status(Workspace::k_study);
  REQUIRE(status.outcome.ok);
  CHECK_FALSE(status.downloaded);
  CHECK(ws.server().request_count() == 0);
}
