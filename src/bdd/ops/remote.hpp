#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The comparison of `local_events` stored here with `remote_total` on the server.
RemoteComparison compare_counts(std::uint64_t local_events, std::uint64_t remote_total);

// The estimated size of a full download in one storage format (`bdd remote-info`).
struct SizeEstimate {
  std::string_view format; // its name, as in `formats()`
  double ratio = 0;        // bytes on disk per byte of API response, measured (remote.cpp)
  std::uint64_t bytes = 0; // remote_total x bytes_per_event x ratio
};

// The estimated time of a full download at the config's page size and concurrency.
struct TimeEstimate {
  std::uint64_t pages = 0;     // ceil(remote_total / page_size)
  std::uint64_t page_size = 0; // events per request: the configured size, or the server's cap
  int concurrency = 1;         // requests in flight (download.max_concurrent_requests)
  std::uint64_t rounds = 0;    // ceil(pages / concurrency)
  std::chrono::microseconds latency{0}; // of the timed request (see RemoteInfo::timed_events)
  std::chrono::microseconds time{0};    // rounds x latency
};

// What `bdd remote-info` learns about a study from the server (see `remote_info`).
struct RemoteInfo {
  std::optional<std::uint64_t> remote_total; // the latest total reported; nullopt: none reported
  std::optional<std::string> oldest_stored;  // stored time of the list's first event
  std::optional<std::string> newest_stored;  // of its last event; nullopt when not seen
  // The local copy, from its status (never its data): nullopt when there is none.
  std::optional<std::uint64_t> local_events;
  std::optional<RemoteComparison> comparison; // with a local copy and a known total

  int requests = 0;                      // requests made, all answered
  int sampled_pages = 0;                 // answers that held events
  std::uint64_t sampled_events = 0;      // events in those answers
  std::uint64_t sampled_bytes = 0;       // their response bodies, decompressed
  std::optional<double> bytes_per_event; // sampled_bytes / sampled_events; nullopt: no events
  std::uint64_t timed_events = 0; // events in the answer whose time is `TimeEstimate::latency`

  std::vector<SizeEstimate> sizes;  // one per format in `formats()` order; empty without a known
                                    // total above 0 and a sampled event
  std::optional<TimeEstimate> time; // nullopt without a known total above 0
};

// Ask the server about the study with at most 3 requests, whatever its size: the first event
// (offset 0, limit 1: the total and the oldest stored time), then the last page of the
// configured page size (the newest stored time, the event size sample, and the time of a
// request as a download makes them), then, only when the list grew meanwhile or the server
// capped that page short of the end, the last event. A server that reports no total gets the
// first page instead of the last and leaves the total, the newest time and the estimates
// unknown. Reads the local status as `compare_with_remote` does, never the data files. Fails as
// `study_status` and `remote_total` do.
Result<RemoteInfo> remote_info(const config::Config& config);

// What `bdd test-connection` learns from one request with the study's key.
struct ConnectionCheck {
  std::uint64_t remote_total = 0;
  std::chrono::milliseconds latency{0}; // of the request, retries included
};

// Ask the server for the study's total with its key and time the answer. Fails as
// `remote_total` does (Errc::auth for a rejected key, Errc::not_found for an unknown study...).
Result<ConnectionCheck> check_connection(const config::Config& config);

} // namespace bdd::ops
