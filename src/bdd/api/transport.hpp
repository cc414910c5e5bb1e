#pragma once

// Internal to bdd::api: the seam between the HTTP client logic (client.cpp) and libcurl
// (curl_client.cpp, the only file that includes <curl/curl.h>).

#include "client.hpp"
#include "retry.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace bdd::api {

// A complete HTTP response, whatever its status.
struct HttpResponse {
  long status = 0;
  std::string body;                       // decoded (gzip/deflate already undone)
  std::optional<std::string> retry_after; // the Retry-After header, if any
  std::optional<std::string> location;    // the Location header, if any
};

// Sends one GET. A non-2xx status is an `HttpResponse`, not a failure: only transport failures
// (DNS, connect, TLS, timeout, reset, truncated body, interruption) are `Failure`s, with
// `retryable` set when sending the request again may help. Not thread-safe except `cancel`.
class Transport {
public:
  virtual ~Transport() = default;
  virtual std::variant<HttpResponse, Failure> get(const std::string& url) = 0;
  // Makes the transfer in progress and all later ones fail at once with Errc::interrupted. Safe
  // to call from any thread.
  virtual void cancel() = 0;
  // Hands back the body of a response the caller is done with, so that the next response is
  // received into memory already mapped instead of fresh pages the kernel must zero (a page of
  // 1000 events is ~600 KB). Optional: a transport may ignore it.
  // NOLINTNEXTLINE(performance-unnecessary-value-param): a sink, moved into transports that keep it
  virtual void recycle(std::string /*body*/) {}
};

// The libcurl transport for `options` (headers, timeouts, TLS, `stop`, `max_response_bytes`). One
// easy handle kept for the transport's life, so that requests reuse the connection. A body that
// grows past `max_response_bytes` once decoded is cut off there and is a non-retryable
// Errc::protocol `Failure`; an answer that is no HTTP (a malformed status line) is a retryable
// Errc::protocol `Failure`, "the server sent a malformed HTTP response".
std::unique_ptr<Transport> make_curl_transport(const ClientOptions& options);

// A `Client` that sends its requests through `transport` and retries as `Client::fetch_page`
// says, waiting `options.retry_delay`-based backoff between attempts.
std::unique_ptr<Client> make_client(std::unique_ptr<Transport> transport,
                                    const ClientOptions& options);

// The page in a 200 response body requested at `offset`: a JSON object with an `events` array
// and an optional `total` (a non-negative integer, or null for none); other members are ignored
// and each event is normalised with `model::normalise_compact`. An item of `events` that cannot
// be an event (not an object, invalid UTF-8, a byte order mark before it, nested deeper than
// `model::k_max_json_depth`, not valid JSON) stays at its position as an event marked
// `model::Event::unusable` (see `model::unusable_event`), so the page's other events are kept.
// A body that is not such an object, nests deeper than the limit outside `events`, or whose
// `events` array is broken so that an item's end cannot be found, is a retryable Errc::protocol
// `Failure` (a later attempt may get a whole body).
std::variant<Page, Failure> parse_page_body(std::string_view body, std::uint64_t offset);

} // namespace bdd::api
