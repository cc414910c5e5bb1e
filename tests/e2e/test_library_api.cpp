// The programmatic API (include/bdd/bdd.hpp) against the fake API on 127.0.0.1.
#include <bdd/bdd.hpp>
#include <bdd/config/config.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/workspace.hpp>

#include <algorithm>
#include <atomic>

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

TEST_CASE("library::Downloader history and verify of a downloaded study", "[library]") {
  Workspace ws;
  ws.add_events(120);
  bdd::Downloader downloader(ws.dir(), key_environment(Workspace::k_key));
  REQUIRE(downloader.download(Workspace::k_study).outcome.ok);
  ws.add_events(30);
  REQUIRE(downloader.download(Workspace::k_study).outcome.ok);

  auto history = downloader.history(Workspace::k_study);
  REQUIRE(history.outcome.ok);
  REQUIRE(history.runs.size() == 2);
  const auto first = nlohmann::json::parse(history.runs[0]);
  const auto second = nlohmann::json::parse(history.runs[1]);
  CHECK(first["type"] == "full");
  CHECK(first["events_added"] == 120);
  CHECK(second["type"] == "incremental");
  CHECK(second["events_added"] == 30);

  auto verified = downloader.verify(Workspace::k_study);
  REQUIRE(verified.outcome.ok);
  CHECK(verified.ok);
  CHECK(verified.events == 150);
  CHECK(verified.findings.empty());

  auto status = downloader.status(Workspace::k_study);
  CHECK(status.format == "jsonl");
  CHECK(status.folder_structure.empty());
}

TEST_CASE("library::Downloader events reads the local copy in export order with filters",
          "[library]") {
  Workspace ws;
  ws.add_events(300);
  bdd::Downloader downloader(ws.dir(), key_environment(Workspace::k_key));
  REQUIRE(downloader.download(Workspace::k_study).outcome.ok);

  std::vector<nlohmann::json> events;
  auto reader = downloader.events(Workspace::k_study);
  while (auto text = reader.next()) {
    events.push_back(nlohmann::json::parse(*text));
  }
  REQUIRE(reader.outcome().ok);
  REQUIRE(events.size() == 300);
  std::vector<std::string> ids;
  for (const auto& event : events) {
    ids.push_back(event["id"].get<std::string>());
  }
  auto sorted_ids = ws.server_ids();
  auto read_ids = ids;
  std::sort(sorted_ids.begin(), sorted_ids.end());
  std::sort(read_ids.begin(), read_ids.end());
  CHECK(read_ids == sorted_ids);
  for (std::size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i - 1]["stored_timestamp"] <= events[i]["stored_timestamp"]);
  }

  const std::string user = events[0]["user_id"];
  bdd::EventQuery query;
  query.users = {user};
  std::size_t kept = 0;
  auto filtered = downloader.events(Workspace::k_study, query);
  while (auto text = filtered.next()) {
    CHECK(nlohmann::json::parse(*text)["user_id"] == user);
    ++kept;
  }
  CHECK(kept
        == static_cast<std::size_t>(std::count_if(
            events.begin(), events.end(), [&](const auto& e) { return e["user_id"] == user; })));

  query = {};
  query.since = "not a time";
  auto bad = downloader.events(Workspace::k_study, query);
  CHECK_FALSE(bad.next());
  CHECK(bad.outcome().error_kind == "usage");
}

TEST_CASE("library::EventReader destroyed early releases the study's lock", "[library]") {
  Workspace ws;
  ws.add_events(9000); // more than the reader reads ahead
  bdd::Downloader downloader(ws.dir(), key_environment(Workspace::k_key));
  REQUIRE(downloader.download(Workspace::k_study).outcome.ok);
  {
    auto reader = downloader.events(Workspace::k_study);
    REQUIRE(reader.next());
    CHECK(downloader.download(Workspace::k_study).outcome.error_kind == "locked");
  }
  CHECK(downloader.download(Workspace::k_study).outcome.ok);
}

TEST_CASE("library::Downloader download stops when its stop flag is set", "[library]") {
  Workspace ws;
  ws.add_events(3000);
  bdd::Downloader downloader(ws.dir(), key_environment(Workspace::k_key));
  std::atomic<bool> stop{false};
  bdd::DownloadRequest request;
  request.stop = &stop;
  request.on_progress = [&stop](const bdd::Progress& progress) {
    if (progress.events_received >= 500) {
      stop = true;
    }
  };
  auto stopped = downloader.download(Workspace::k_study, request);
  CHECK(stopped.outcome.error_kind == "interrupted");
  auto status = downloader.status(Workspace::k_study);
  CHECK(status.events_stored < 3000);
  REQUIRE(downloader.download(Workspace::k_study).outcome.ok);
  CHECK(ws.stored_ids() == ws.server_ids());
}
