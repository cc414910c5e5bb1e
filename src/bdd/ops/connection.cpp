#include "connection.hpp"

namespace bdd::ops {

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
  return client;
}

ClientFactory curl_clients(const config::Config& config, const std::atomic<bool>* stop) {
  return [client = client_options(config, stop)] { return api::make_client(client); };
}

std::unique_ptr<api::PageStream> open_event_stream(const config::Config& config,
                                                   std::uint64_t from,
                                                   const std::atomic<bool>* stop,
                                                   std::function<void(model::Event&)> prepare_event,
                                                   const ClientFactory& make_client) {
  api::StreamOptions stream;
  stream.start_offset = from;
  stream.page_size = static_cast<std::uint64_t>(config.page_size);
  stream.concurrency = config.max_concurrent_requests;
  stream.stop = stop;
  stream.prepare_event = std::move(prepare_event);
  return api::make_page_stream(stream, make_client ? make_client : curl_clients(config, stop));
}

} // namespace bdd::ops
