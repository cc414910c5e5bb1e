// ops::download against a scripted server held in memory: the server's list is mutated after a
// chosen request (insertions, deletions, reorders, a page retried after the list shifted), and
// every run must end with each event the server holds stored exactly once, whatever the format.
// No HTTP, no sleeping: each case runs in milliseconds; tests/e2e covers the real server.

#include <bdd/api/client.hpp>
#include <bdd/model/event.hpp>
#include <bdd/ops/download.hpp>
#include <bdd/storage/reader.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

namespace stdfs = std::filesystem;
using bdd::api::Client;
using bdd::api::Page;

// The server's list, shared by every client of a run; `mutations[n]` runs right after request
// number n (1-based) is answered.
struct ScriptedServer {
  std::mutex mutex;
  std::vector<std::string> ids;
  std::uint64_t cap = 1000; // events a response holds at most
  int requests = 0;
  std::map<int, std::function<void(std::vector<std::string>&)>> mutations;
  // Request numbers that fail once, with the list mutated before the retry is answered (what a
  // Client that retries a 500 sees).
  std::map<int, std::function<void(std::vector<std::string>&)>> retried;
  std::set<std::string> unusable; // served as items that are not usable events
  std::set<std::string> edited;   // served with other content than at first

  void append(int count) {
    for (int i = 0; i < count; ++i) {
      ids.push_back("e" + std::to_string(next_id++));
    }
  }
  std::string fresh_id() { return "n" + std::to_string(next_id++); }

  int next_id = 0;
};

std::string event_json(const std::string& id) {
  // Two users, so that a nested layout has more than one leaf.
  const std::string user = id.back() % 2 == 0 ? "u0" : "u1";
  return R"({"id":")" + id
         + R"(","stored":"2025-01-01T00:00:00.000Z","types":["t"],"base":{"userId":")" + user
         + R"(","index":1}})";
}

class ScriptedClient final : public Client {
public:
  explicit ScriptedClient(ScriptedServer& server) : m_server(server) {}

  bdd::Result<Page> fetch_page(std::uint64_t offset, std::uint64_t limit) override {
    const std::lock_guard lock(m_server.mutex);
    const int request = ++m_server.requests;
    Page page;
    page.offset = offset;
    if (auto retried = m_server.retried.find(request); retried != m_server.retried.end()) {
      retried->second(m_server.ids); // the first attempt failed; the retry sees the change
      page.attempts = 2;
    }
    page.total = m_server.ids.size();
    const std::uint64_t end =
        std::min<std::uint64_t>(m_server.ids.size(), offset + std::min(limit, m_server.cap));
    for (std::uint64_t i = offset; i < end; ++i) {
      const std::string& id = m_server.ids[i];
      if (m_server.unusable.count(id) != 0) {
        bdd::model::Event item;
        item.id = "unusable:" + id;
        item.raw = "\xEF\xBB\xBF{\"id\":\"" + id + "\"}";
        item.unusable = "starts with a byte order mark";
        page.events.push_back(std::move(item));
        continue;
      }
      std::string json = event_json(id);
      if (m_server.edited.count(id) != 0) {
        json.insert(json.size() - 1, R"(,"edited":true)");
      }
      page.events.push_back(bdd::model::normalise_compact(std::move(json)));
      page.bytes += page.events.back().raw.size();
    }
    if (auto mutation = m_server.mutations.find(request); mutation != m_server.mutations.end()) {
      mutation->second(m_server.ids);
    }
    return page;
  }

private:
  ScriptedServer& m_server;
};

struct TempDir {
  TempDir() {
    std::random_device random;
    // tmpfs when there is one: every commit fsyncs, which proves nothing here.
    const stdfs::path base =
        stdfs::is_directory("/dev/shm") ? stdfs::path("/dev/shm") : stdfs::temp_directory_path();
    path = base / ("bdd-ops-" + std::to_string(random()));
    stdfs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    stdfs::remove_all(path, ec);
  }
  stdfs::path path;
};

bdd::config::Config make_config(const stdfs::path& dir, const std::string& format) {
  bdd::config::Config config;
  config.study_name = "s";
  config.api_key = "k";
  config.data_directory = dir;
  config.format = format;
  config.folder_structure =
      format == "sqlite" ? std::vector<std::string>{} : std::vector<std::string>{"by_user_id"};
  config.page_size = 100;
  config.max_concurrent_requests = 1; // requests in a fixed order: the script counts them
  return config;
}

bdd::Result<bdd::ops::DownloadReport> run(const bdd::config::Config& config,
                                          ScriptedServer& server) {
  bdd::ops::DownloadOptions options;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  return bdd::ops::download(config, options);
}

// Every id stored in the study, in file order (with repeats, if any).
std::vector<std::string> stored_ids(const bdd::config::Config& config) {
  const stdfs::path study = config.data_directory / config.study_name;
  auto files = bdd::storage::list_data_files(study, config.format);
  REQUIRE(files);
  std::vector<std::string> ids;
  for (const auto& file : *files) {
    auto reader = bdd::storage::open_reader(config.format, study / file);
    REQUIRE(reader);
    while (true) {
      auto record = (*reader)->next();
      REQUIRE(record);
      if (!*record) {
        break;
      }
      ids.push_back((**record).id);
    }
  }
  return ids;
}

// The copy holds every id of `expected` once, and besides only ids of `deleted_allowed`.
void check_exact(const bdd::config::Config& config,
                 const std::vector<std::string>& expected,
                 const std::set<std::string>& deleted_allowed = {}) {
  const auto ids = stored_ids(config);
  std::multiset<std::string> counted(ids.begin(), ids.end());
  for (const auto& id : expected) {
    INFO("event " << id);
    CHECK(counted.count(id) == 1);
  }
  for (const auto& id : ids) {
    INFO("stored event " << id);
    CHECK(counted.count(id) == 1);
    const bool on_server = std::find(expected.begin(), expected.end(), id) != expected.end();
    CHECK((on_server || deleted_allowed.count(id) == 1));
  }
}

using Mutation = std::function<void(ScriptedServer&, std::vector<std::string>&)>;

} // namespace

TEST_CASE("ops::download with no drift makes at most one request more than pages", "[ops][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "json", "csv", "sqlite");
  INFO("format " << format);
  const int concurrency = GENERATE(1, 3);
  INFO("concurrency " << concurrency);
  TempDir dir;
  ScriptedServer server;
  server.append(1200);
  auto config = make_config(dir.path, format);
  config.max_concurrent_requests = concurrency; // prefetched requests chain like the others
  auto first = run(config, server);
  REQUIRE(first);
  CHECK(first->run.events_added == 1200);
  CHECK(first->warnings.empty());
  CHECK(server.requests <= 12 + 1);
  check_exact(config, server.ids);

  server.requests = 0;
  auto noop = run(config, server);
  REQUIRE(noop);
  CHECK(noop->run.events_added == 0);
  CHECK(server.requests == 1); // the seam re-read that also shows nothing is new

  server.append(250);
  server.requests = 0;
  auto more = run(config, server);
  REQUIRE(more);
  CHECK(more->run.events_added == 250);
  CHECK(more->warnings.empty());
  CHECK(server.requests <= 3 + 1);
  check_exact(config, server.ids);
}

TEST_CASE("ops::download stores every event once when the list changes during a run",
          "[ops][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "json", "csv", "sqlite");
  struct Case {
    const char* name;
    bool retried; // applied while request 5 is retried rather than after it
    Mutation mutate;
  };
  const std::vector<Case> cases = {
      {"one deleted before the position and one appended",
       false,
       [](ScriptedServer& s, std::vector<std::string>& ids) {
         ids.erase(ids.begin() + 42);
         ids.push_back(s.fresh_id());
       }},
      {"one inserted before the position",
       false,
       [](ScriptedServer& s, std::vector<std::string>& ids) {
         ids.insert(ids.begin() + 17, s.fresh_id());
       }},
      {"the list reversed",
       false,
       [](ScriptedServer&, std::vector<std::string>& ids) {
         std::reverse(ids.begin(), ids.end());
       }},
      {"an event moved from ahead to behind the position",
       false,
       [](ScriptedServer&, std::vector<std::string>& ids) {
         std::rotate(ids.begin() + 100, ids.begin() + 900, ids.begin() + 901);
       }},
      {"several deleted before the position",
       false,
       [](ScriptedServer&, std::vector<std::string>& ids) {
         ids.erase(ids.begin() + 10, ids.begin() + 13);
       }},
      {"one inserted while a page is retried",
       true,
       [](ScriptedServer& s, std::vector<std::string>& ids) {
         ids.insert(ids.begin() + 3, s.fresh_id());
       }},
  };
  for (const Case& c : cases) {
    INFO("format " << format << ", " << c.name);
    TempDir dir;
    ScriptedServer server;
    server.append(1200);
    const std::vector<std::string> before = server.ids;
    auto& slot = c.retried ? server.retried : server.mutations;
    slot[5] = [&server, &c](std::vector<std::string>& ids) { c.mutate(server, ids); };
    const auto config = make_config(dir.path, format);
    auto first = run(config, server);
    REQUIRE(first);
    CHECK_FALSE(first->warnings.empty());
    const std::set<std::string> deleted(before.begin(), before.end());
    check_exact(config, server.ids, deleted);

    auto again = run(config, server);
    REQUIRE(again);
    CHECK(again->run.events_added == 0);
    check_exact(config, server.ids, deleted);
  }
}

TEST_CASE("ops::download finds changes made between runs before the resume point", "[ops][drift]") {
  TempDir dir;
  ScriptedServer server;
  server.append(1000);
  const auto config = make_config(dir.path, "jsonl");
  REQUIRE(run(config, server));
  // An insertion near the end: bisection re-reads only from the last seam before it.
  server.ids.insert(server.ids.begin() + 950, server.fresh_id());
  server.append(10);
  server.requests = 0;
  auto second = run(config, server);
  REQUIRE(second);
  CHECK(second->run.events_added == 11);
  CHECK(second->run.duplicates_skipped < 200);
  CHECK(server.requests < 20);
  check_exact(config, server.ids);
}

TEST_CASE("ops::download stops a server that keeps changing its list", "[ops][drift]") {
  TempDir dir;
  ScriptedServer server;
  server.append(500);
  for (int request = 2; request < 400; ++request) {
    server.mutations[request] = [&server](std::vector<std::string>& ids) {
      ids.insert(ids.begin(), server.fresh_id());
    };
  }
  const auto config = make_config(dir.path, "jsonl");
  auto result = run(config, server);
  REQUIRE_FALSE(result);
  CHECK(result.error().code == bdd::Errc::protocol);
  CHECK(server.requests < 400);
  // What it stored is exact: each event once.
  const auto ids = stored_ids(config);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
}

TEST_CASE("ops::download counts events deleted on the server and keeps them", "[ops][drift]") {
  TempDir dir;
  ScriptedServer server;
  server.append(300);
  const auto config = make_config(dir.path, "csv");
  REQUIRE(run(config, server));
  const std::vector<std::string> before = server.ids;
  server.ids.erase(server.ids.begin() + 20, server.ids.begin() + 23);
  auto second = run(config, server);
  REQUIRE(second);
  CHECK(second->run.events_added == 0);
  CHECK(second->run.deleted_on_server == 3);
  CHECK(second->events_stored == 300);
  check_exact(config, before); // nothing removed locally
}

TEST_CASE("ops::download quarantines unusable items and stores the rest of their page",
          "[ops][quarantine]") {
  TempDir dir;
  ScriptedServer server;
  server.append(250);
  // Item 120 is not a usable event (as the page parser marks one).
  server.unusable.insert(server.ids[120]);
  const auto config = make_config(dir.path, "jsonl");
  auto first = run(config, server);
  REQUIRE(first);
  CHECK(first->run.unusable_events == 1);
  CHECK(first->events_stored == 249);
  std::vector<std::string> usable = server.ids;
  usable.erase(usable.begin() + 120);
  check_exact(config, usable);
  CHECK(first->run.deleted_on_server == 0);

  // Read again (after a change before it), it is not quarantined twice; --strict fails.
  server.ids.insert(server.ids.begin(), server.fresh_id());
  bdd::ops::DownloadOptions options;
  options.strict = true;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  auto second = bdd::ops::download(config, options);
  REQUIRE(second);
  CHECK(second->run.unusable_events == 0);
  server.append(1);
  server.unusable.insert(server.ids.back());
  auto third = bdd::ops::download(config, options);
  REQUIRE_FALSE(third);
  CHECK(third.error().code == bdd::Errc::unusable_data);
  usable = server.ids;
  usable.erase(std::remove_if(usable.begin(),
                              usable.end(),
                              [&](const std::string& id) { return server.unusable.count(id); }),
               usable.end());
  check_exact(config, usable);
}

TEST_CASE("ops::download keeps the stored version of an event the server changed, and says so",
          "[ops][drift]") {
  const std::string format = GENERATE(as<std::string>{}, "jsonl", "sqlite");
  INFO("format " << format);
  TempDir dir;
  ScriptedServer server;
  server.append(200);
  const auto config = make_config(dir.path, format);
  REQUIRE(run(config, server));
  // Two events change; an insertion before them makes the next run read them again.
  server.edited = {server.ids[150], server.ids[151]};
  server.ids.insert(server.ids.begin() + 140, server.fresh_id());
  auto second = run(config, server);
  REQUIRE(second);
  CHECK(second->run.events_added == 1);
  CHECK(second->run.changed_on_server == 2);
  const bool named = std::any_of(
      second->warnings.begin(), second->warnings.end(), [&](const std::string& warning) {
        return warning.find("2 events changed on the server") != std::string::npos
               && warning.find(server.ids[151]) != std::string::npos;
      });
  CHECK(named);
  check_exact(config, server.ids);
}
