#include "remote.hpp"

#include "study.hpp"

namespace bdd::ops {

Result<RemoteComparison> compare_with_remote(const config::Config& config) {
  BDD_TRY_ASSIGN(auto status, study_status(config));
  BDD_TRY_ASSIGN(std::uint64_t total, remote_total(config));
  RemoteComparison out;
  out.remote_total = total;
  out.local_events = status.metadata ? status.metadata->events_stored : 0;
  out.new_events = total > out.local_events ? total - out.local_events : 0;
  out.fewer_on_server = out.local_events > total ? out.local_events - total : 0;
  return out;
}

Result<ConnectionCheck> check_connection(const config::Config& config) {
  auto started = std::chrono::steady_clock::now();
  BDD_TRY_ASSIGN(std::uint64_t total, remote_total(config));
  ConnectionCheck out;
  out.remote_total = total;
  out.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return out;
}

} // namespace bdd::ops
