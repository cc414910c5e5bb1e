#pragma once

#include <bdd/api/client.hpp>
#include <bdd/config/config.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace bdd::ops {

// The API client settings of a study's config; `stop` (may be null) interrupts requests. Retry
// waits over 2 s are logged as warnings ("server asked to wait 600 s (HTTP 429 Too Many
// Requests), retry 1 of 3"), shorter ones at debug level (-v); a new wait budget of
// `config.max_total_wait` is attached (share one by copying the options).
api::ClientOptions client_options(const config::Config& config,
                                  const std::atomic<bool>* stop = nullptr);

// A wait budget of `config.max_total_wait`, for the Clients of one run.
std::shared_ptr<api::WaitBudget> make_wait_budget(const config::Config& config);

// Makes one API client (one connection) per call.
using ClientFactory = std::function<std::unique_ptr<api::Client>()>;

// The libcurl clients of a study's config, all drawing on `wait_budget` (a new budget when null).
ClientFactory curl_clients(const config::Config& config,
                           const std::atomic<bool>* stop = nullptr,
                           std::shared_ptr<api::WaitBudget> wait_budget = {});

// What the clients of one run received: every answered request (pages, and the single-event
// requests that check seams and where the list ends), their response bytes, the retries before
// them and the time waited for those. Shared by the clients of `counting_clients`; thread-safe.
struct TransferCounts {
  std::atomic<std::uint64_t> pages{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> waited_ms{0};
};

// The clients of `make_client`, each adding what it receives to `counts`.
ClientFactory counting_clients(ClientFactory make_client, std::shared_ptr<TransferCounts> counts);

// The study's events in server order from `from`, with the config's page size and concurrency,
// through clients made by `make_client` (the config's libcurl clients with `wait_budget` when
// empty). `prepare_event` runs on each event on the fetching threads (see api::StreamOptions).
// Pass the run's own budget to make every stream and probe of a run draw on one budget.
std::unique_ptr<api::PageStream>
open_event_stream(const config::Config& config,
                  std::uint64_t from,
                  const std::atomic<bool>* stop = nullptr,
                  std::function<void(model::Event&)> prepare_event = {},
                  const ClientFactory& make_client = {},
                  std::shared_ptr<api::WaitBudget> wait_budget = {});

} // namespace bdd::ops
