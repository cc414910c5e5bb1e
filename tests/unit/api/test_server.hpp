#pragma once

// A scripted Behaverse API on 127.0.0.1 for the api tests: a list of synthetic events served with
// offset/limit paging, an optional cap on `limit`, growth between requests, and a queue of faults
// (statuses, bad bodies, truncated bodies, delays) played one per request.

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bdd::test {

// What the server does instead of (or before) answering a request normally.
struct Fault {
  enum class Kind {
    status,       // answer `status` with `body` and, if set, a Retry-After header
    invalid_json, // 200 with a body that is not JSON
    truncated,    // 200 whose body stops half way (Content-Length promises more)
    delay,        // wait `delay`, then answer normally (a client timeout fires first)
    empty_page,   // 200 with no events, but the true total
  };
  Kind kind = Kind::status;
  int status = 200;
  std::string body;
  std::optional<std::string> retry_after;
  std::chrono::milliseconds delay{0};

  static Fault http(int status, std::string body = {}, std::optional<std::string> retry_after = {});
  static Fault invalid_json();
  static Fault truncated();
  static Fault delayed(std::chrono::milliseconds delay);
  static Fault empty_page();
};

// One request as the server saw it.
struct RequestLog {
  std::string target; // path and query as sent
  std::optional<std::uint64_t> offset;
  std::optional<std::uint64_t> limit;
  std::string authorization;
  std::string user_agent;
  std::string accept;
  std::string accept_encoding;
  int remote_port = 0;
};

class TestServer {
public:
  static constexpr const char* k_key = "SECRET-KEY-123";
  static constexpr const char* k_study = "demo";

  // Starts serving `event_count` synthetic events for study `k_study` on a free port.
  explicit TestServer(std::size_t event_count = 0);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::string base_url() const;

  // Event `index` of the synthetic list (its "id" is "e<index>").
  static nlohmann::json event(std::size_t index);

  void set_event_count(std::size_t count);
  // Pages hold at most `cap` events whatever `limit` asks.
  void set_limit_cap(std::optional<std::uint64_t> cap);
  // Whether responses carry "total".
  void set_send_total(bool send);
  // After each successful page, append `per_request` events, until `max_appended` were added.
  void set_growth(std::size_t per_request, std::size_t max_appended);
  // Faults are played in order, one per request; once the queue is empty, `always` (if set)
  // applies to every request.
  void push_fault(Fault fault);
  void set_always(std::optional<Fault> fault);

  std::size_t request_count() const;
  std::vector<RequestLog> requests() const;
  std::size_t event_count() const;

private:
  void handle(const httplib::Request& request, httplib::Response& response);
  // Sleeps `delay` unless the server is shutting down.
  void sleep_for(std::chrono::milliseconds delay);

  std::unique_ptr<httplib::Server> m_server;
  std::thread m_thread;
  int m_port = 0;

  mutable std::mutex m_mutex;
  std::condition_variable m_stopping_cv;
  bool m_stopping = false;
  std::size_t m_event_count;
  std::optional<std::uint64_t> m_cap;
  bool m_send_total = true;
  std::size_t m_growth_per_request = 0;
  std::size_t m_growth_left = 0;
  std::deque<Fault> m_faults;
  std::optional<Fault> m_always;
  std::vector<RequestLog> m_requests;
};

} // namespace bdd::test
