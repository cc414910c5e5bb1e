#pragma once

// FakeApi's insides, shared by fake_api.cpp (life cycle, C++ API, the events endpoint) and
// control_api.cpp (the /_control endpoints). Not part of the public interface.

#include "fault_injector.hpp"
#include "mutation_schedule.hpp"
#include "study_store.hpp"

#include <fake_api/fake_api.hpp>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

namespace bdd::fake_api {

struct FakeApi::Impl {
  explicit Impl(const ServerOptions& options);

  // Configuration that handlers read on every request.
  std::atomic<std::size_t> max_limit;
  std::atomic<std::size_t> default_limit;
  std::atomic<bool> omit_total;
  std::atomic<bool> ignore_offset;
  int threads;
  std::string tls_certificate; // empty: plain HTTP
  std::string tls_private_key;

  StudyStore store;
  FaultInjector faults;

  mutable std::mutex stats_mutex;
  Stats stats;

  std::mutex lifecycle_mutex; // serialises start() and stop()
  std::unique_ptr<httplib::Server> server;
  std::thread server_thread;
  std::atomic<int> port{0};

  // Injected sleeps wait on this so that stop() can cut them short.
  std::mutex sleep_mutex;
  std::condition_variable sleep_wakeup;
  bool stopping = false;

  MutationSchedule mutations; // FakeApi::schedule

  ServerOptions options() const;
  std::vector<std::string> append_generated(std::string_view study, GeneratorOptions options);
  std::vector<std::string>
  insert_generated(std::string_view study, std::size_t index, GeneratorOptions options);

  // Sleeps `ms` milliseconds or until stop(), whichever comes first.
  void sleep_ms(int ms);
  // True once stop() began: endless bodies end then.
  bool is_stopping();

  void handle_events(const httplib::Request& request, httplib::Response& response);
  // Registers the /_control endpoints (control_api.cpp).
  void install_control_routes(httplib::Server& routes);

  // Stats bookkeeping, each under `stats_mutex`.
  void count_status(int status);
  void count_fault(FaultKind kind);
};

// Sets `response` to a JSON body with `status`.
void reply_json(httplib::Response& response, int status, std::string body);
// Sets `response` to `status` with a {"detail": `detail`} body.
void reply_detail(httplib::Response& response, int status, std::string_view detail);

} // namespace bdd::fake_api
