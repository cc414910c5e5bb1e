#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>

#include <chrono>
#include <cstdint>

namespace bdd::ops {

// The server's count of a study's events against the local copy's (`bdd fetch`).
struct RemoteComparison {
  std::uint64_t remote_total = 0; // events the server holds now
  std::uint64_t local_events = 0; // events stored locally (0 if never downloaded)
  std::uint64_t new_events = 0;   // remote_total - local_events, or 0 when the server holds fewer
  std::uint64_t fewer_on_server = 0; // local_events - remote_total, or 0 (deleted on the server)
};

// Read the local status and ask the server for its total (one request for one event). Fails as
// `study_status` and `remote_total` do.
Result<RemoteComparison> compare_with_remote(const config::Config& config);

// What `bdd test-connection` learns from one request with the study's key.
struct ConnectionCheck {
  std::uint64_t remote_total = 0;
  std::chrono::milliseconds latency{0}; // of the request, retries included
};

// Ask the server for the study's total with its key and time the answer. Fails as
// `remote_total` does (Errc::auth for a rejected key, Errc::not_found for an unknown study...).
Result<ConnectionCheck> check_connection(const config::Config& config);

} // namespace bdd::ops
