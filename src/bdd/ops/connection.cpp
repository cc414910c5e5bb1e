#include "connection.hpp"

#include <bdd/api/retry.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace bdd::ops {

namespace {

// Waits longer than this are shown as warnings; shorter ones only with -v (debug).
constexpr std::chrono::milliseconds k_announced_wait{2'000};

void log_retry(const api::RetryNotice& notice) {
  const std::string retry =
      "retry " + std::to_string(notice.retry) + " of " + std::to_string(notice.max_retries);
  if (notice.delay > k_announced_wait) {
    if (notice.server_asked) {
      spdlog::warn(
          "server asked to wait {} ({}), {}", api::delay_text(notice.delay), notice.reason, retry);
    } else {
      spdlog::warn("waiting {} after {}, {}", api::delay_text(notice.delay), notice.reason, retry);
    }
    return;
  }
  spdlog::debug("GET {}: {}; {} in {}{}",
                notice.shown_url,
                notice.reason,
                retry,
                api::delay_text(notice.delay),
                notice.server_asked ? " (as the server asked)" : "");
}

// -v: every request, with its answer, size and time (the URL carries no key; see RequestNotice).
void log_request(const api::RequestNotice& notice) {
  const std::string attempt =
      notice.attempt > 1 ? ", attempt " + std::to_string(notice.attempt) : std::string();
  if (notice.status == 0) {
    spdlog::debug("{} {}: {} after {} ms{}",
                  notice.method,
                  notice.shown_url,
                  notice.failure,
                  notice.elapsed.count(),
                  attempt);
    return;
  }
  // A refused answer is named by its failure ("HTTP 503 Service Unavailable", "HTTP 200 with a
  // body that is not valid JSON"), a page by its status.
  spdlog::debug("{} {}: {}, {} bytes in {} ms{}",
                notice.method,
                notice.shown_url,
                notice.failure.empty() ? "HTTP " + std::to_string(notice.status) : notice.failure,
                notice.bytes,
                notice.elapsed.count(),
                attempt);
}

// A Client that counts what its inner one receives (see TransferCounts).
class CountingClient final : public api::Client {
public:
  CountingClient(std::unique_ptr<api::Client> inner, std::shared_ptr<TransferCounts> counts)
      : m_inner(std::move(inner)),
        m_counts(std::move(counts)) {}

  Result<api::Page> fetch_page(std::uint64_t offset, std::uint64_t limit) override {
    Result<api::Page> page = m_inner->fetch_page(offset, limit);
    if (page) {
      m_counts->pages += 1;
      m_counts->bytes += page->bytes;
      m_counts->retries += static_cast<std::uint64_t>(std::max(0, page->attempts - 1));
      m_counts->waited_ms +=
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, page->waited.count()));
    }
    return page;
  }

  void cancel() override { m_inner->cancel(); }

private:
  std::unique_ptr<api::Client> m_inner;
  std::shared_ptr<TransferCounts> m_counts;
};

} // namespace

ClientFactory counting_clients(ClientFactory make_client, std::shared_ptr<TransferCounts> counts) {
  return [make_client = std::move(make_client), counts = std::move(counts)] {
    return std::make_unique<CountingClient>(make_client(), counts);
  };
}

api::ClientOptions client_options(const config::Config& config, const std::atomic<bool>* stop) {
  api::ClientOptions client;
  client.base_url = config.base_url;
  client.api_key = config.api_key;
  client.study = config.study_name;
  client.timeout = config.timeout;
  client.max_retries = config.max_retries;
  client.retry_delay = config.retry_delay;
  client.verify_tls = config.verify_tls;
  client.stop = stop;
  client.max_response_bytes = config.max_response_bytes;
  client.wait_budget = make_wait_budget(config);
  client.on_retry = &log_retry;
  client.on_request = &log_request;
  return client;
}

std::shared_ptr<api::WaitBudget> make_wait_budget(const config::Config& config) {
  return std::make_shared<api::WaitBudget>(config.max_total_wait);
}

ClientFactory curl_clients(const config::Config& config,
                           const std::atomic<bool>* stop,
                           std::shared_ptr<api::WaitBudget> wait_budget) {
  api::ClientOptions client = client_options(config, stop);
  if (wait_budget) {
    client.wait_budget = std::move(wait_budget);
  }
  // Every Client made holds the same budget: concurrent retries share one run's wait.
  return [client] { return api::make_client(client); };
}

std::unique_ptr<api::PageStream> open_event_stream(const config::Config& config,
                                                   std::uint64_t from,
                                                   const std::atomic<bool>* stop,
                                                   std::function<void(model::Event&)> prepare_event,
                                                   const ClientFactory& make_client,
                                                   std::shared_ptr<api::WaitBudget> wait_budget) {
  api::StreamOptions stream;
  stream.start_offset = from;
  stream.page_size = static_cast<std::uint64_t>(config.page_size);
  stream.concurrency = config.max_concurrent_requests;
  stream.stop = stop;
  stream.prepare_event = std::move(prepare_event);
  return api::make_page_stream(
      stream, make_client ? make_client : curl_clients(config, stop, std::move(wait_budget)));
}

} // namespace bdd::ops
