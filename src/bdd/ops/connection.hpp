#pragma once

#include <bdd/api/client.hpp>
#include <bdd/config/config.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace bdd::ops {

// The API client settings of a study's config; `stop` (may be null) interrupts requests.
api::ClientOptions client_options(const config::Config& config,
                                  const std::atomic<bool>* stop = nullptr);

// Makes one API client (one connection) per call.
using ClientFactory = std::function<std::unique_ptr<api::Client>()>;

// The libcurl clients of a study's config.
ClientFactory curl_clients(const config::Config& config, const std::atomic<bool>* stop = nullptr);

// The study's events in server order from `from`, with the config's page size and concurrency,
// through clients made by `make_client` (the config's libcurl clients when empty). `prepare_event`
// runs on each event on the fetching threads (see api::StreamOptions).
std::unique_ptr<api::PageStream>
open_event_stream(const config::Config& config,
                  std::uint64_t from,
                  const std::atomic<bool>* stop = nullptr,
                  std::function<void(model::Event&)> prepare_event = {},
                  const ClientFactory& make_client = {});

} // namespace bdd::ops
