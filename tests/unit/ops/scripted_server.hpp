#pragma once

// A scripted in-memory Behaverse server for ops tests, and helpers to check a study's copy: the
// server's list is mutated after chosen requests; clients answer from it without HTTP.

#include <bdd/api/client.hpp>
#include <bdd/config/config.hpp>
#include <bdd/model/event.hpp>
#include <bdd/ops/download.hpp>
#include <bdd/storage/reader.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ops_test {

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
  std::size_t padding = 0;        // bytes of filler in every event (see event_json)

  void append(int count) {
    for (int i = 0; i < count; ++i) {
      ids.push_back("e" + std::to_string(next_id++));
    }
  }
  std::string fresh_id() { return "n" + std::to_string(next_id++); }

  int next_id = 0;
};

inline std::string event_json(const std::string& id, std::size_t padding = 0) {
  // Two users, so that a nested layout has more than one leaf.
  const std::string user = id.back() % 2 == 0 ? "u0" : "u1";
  std::string json = R"({"id":")" + id
                     + R"(","stored":"2025-01-01T00:00:00.000Z","types":["t"],"base":{"userId":")"
                     + user + R"(","index":1})";
  if (padding > 0) { // a big event: a string field of `padding` bytes, in one allocation
    json.reserve(json.size() + padding + 16);
    json += R"(,"pad":")";
    json.append(padding, 'x');
    json += '"';
  }
  json += '}';
  return json;
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
      std::string json = event_json(id, m_server.padding);
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

using bdd::test::TempDir;

inline bdd::config::Config make_config(const stdfs::path& dir, const std::string& format) {
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

inline bdd::Result<bdd::ops::DownloadReport> run(const bdd::config::Config& config,
                                                 ScriptedServer& server) {
  bdd::ops::DownloadOptions options;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  return bdd::ops::download(config, options);
}

// Every id stored in the study, in file order (with repeats, if any).
inline std::vector<std::string> stored_ids(const bdd::config::Config& config) {
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
inline void check_exact(const bdd::config::Config& config,
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
} // namespace ops_test
