#pragma once

#include <bdd/core/result.hpp>
#include <bdd/model/event.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bdd::api {

// The time one run may spend waiting between attempts, shared by all of the run's Clients (they
// hold it through a `std::shared_ptr`). Thread-safe.
class WaitBudget {
public:
  explicit WaitBudget(std::chrono::milliseconds limit) : m_limit(limit) {}
  // Takes `delay` out of the budget and returns true; or, when the waits already taken plus
  // `delay` would exceed the limit, takes nothing and returns false.
  bool take(std::chrono::milliseconds delay);
  std::chrono::milliseconds limit() const { return m_limit; }
  std::chrono::milliseconds taken() const;

private:
  const std::chrono::milliseconds m_limit;
  std::atomic<std::int64_t> m_taken_ms{0};
};

// One retry about to be waited for, for `ClientOptions::on_retry`.
struct RetryNotice {
  std::string shown_url;           // the request, with no key and no URL user information
  std::string reason;              // why the attempt failed, e.g. "HTTP 429 Too Many Requests"
  std::chrono::milliseconds delay; // the wait before the retry
  bool server_asked = false;       // `delay` comes from the server's Retry-After (capped)
  int retry = 1;                   // which retry follows the wait: 1 for the second attempt
  int max_retries = 0;             // `ClientOptions::max_retries`
};

// One request answered or failed, for `ClientOptions::on_request` (bdd -v shows each one).
struct RequestNotice {
  std::string method = "GET";
  std::string shown_url;                // the request, with no key and no URL user information
  long status = 0;                      // the HTTP status; 0 when no response came (see `failure`)
  std::uint64_t bytes = 0;              // the response body, decoded
  std::chrono::milliseconds elapsed{0}; // from sending the request to the end of the answer
  std::string failure; // why the attempt brought no usable page (redacted), or "" for a page
  int attempt = 1;     // 1 for the first attempt at this request
};

struct ClientOptions {
  std::string base_url; // e.g. "https://api.behaverse.org"; a trailing '/' is ignored
  std::string api_key;  // sent only as "Authorization: Bearer <key>"; never logged
  std::string study;
  std::chrono::milliseconds timeout{30'000};    // whole request
  int max_retries = 3;                          // retries after the first attempt
  std::chrono::milliseconds retry_delay{1'000}; // first backoff; doubles, with jitter, capped
  bool verify_tls = true;
  // Checked while waiting and during transfers; when it becomes true, requests stop early and
  // fail with Errc::interrupted. May be null.
  const std::atomic<bool>* stop = nullptr;
  // The largest response body accepted, counted in decoded bytes as they arrive (a gzip bomb is
  // stopped at this size, not at its compressed one). Past it the request fails at once, without
  // retries, with Errc::protocol.
  std::uint64_t max_response_bytes = std::uint64_t{256} << 20U;
  // The run's budget of retry waits, shared with its other Clients; null: no limit but each
  // wait's own cap. A retry whose wait does not fit fails at once with Errc::network.
  std::shared_ptr<WaitBudget> wait_budget;
  // Called before each retry wait, on the thread of `fetch_page`; may be empty. Must be
  // thread-safe when the options are shared by several Clients.
  std::function<void(const RetryNotice&)> on_retry;
  // Called after every attempt, answered or not, on the thread of `fetch_page`; may be empty.
  // Thread-safe like `on_retry`.
  std::function<void(const RequestNotice&)> on_request;
};

// One page as the server sent it.
struct Page {
  std::uint64_t offset = 0;            // of events[0]; from a PageStream, after slicing
  std::optional<std::uint64_t> total;  // as this response reported it; nullopt if it had none
  std::vector<model::Event> events;    // normalised, in server order
  std::uint64_t bytes = 0;             // size of the whole response body, decompressed
  int attempts = 1;                    // requests made, retries included
  std::chrono::milliseconds waited{0}; // time spent waiting before the retries of this page
  // From a PageStream: the id of the event at `offset - 1` in the same response, which every
  // request but the first of a study re-reads (see PageStream); nullopt when `offset` is 0 or the
  // server's page cap leaves no room for the overlap.
  std::optional<std::string> seam_id;
};

// The longest wait a server's Retry-After can impose before one retry (10 minutes); a longer
// request is cut to this, and only what is waited counts against `WaitBudget`.
inline constexpr std::chrono::milliseconds k_max_retry_after{600'000};

// Fetches pages of one study's events. One Client is one connection: not thread-safe.
class Client {
public:
  virtual ~Client() = default;
  // GET {base_url}/v1/studies/{study}/events?offset=&limit= with up to 1 + `max_retries`
  // attempts: 429 and 5xx wait Retry-After when sent (capped at 10 minutes, `k_max_retry_after`);
  // 408, 429, 5xx, DNS and connect failures, timeouts, resets, truncated bodies, malformed HTTP
  // responses, 2xx other than 200 (e.g. 204) and unusable 200 bodies back off exponentially with
  // jitter (`retry_delay` doubled per attempt, capped at 60 s). Every wait is announced through
  // `on_retry` and taken from `wait_budget`; a wait the budget cannot cover ends the request at
  // once (the failure's own Errc, not retryable, with a hint naming api.max_total_wait_seconds).
  // A body over `max_response_bytes` fails at once with Errc::protocol.
  // 401/403 (Errc::auth), 404 (Errc::not_found), other 4xx (Errc::bad_request), 3xx
  // (Errc::config) and an empty key (Errc::config) fail at once. Retries that run out give
  // Errc::network, or Errc::protocol for unusable answers, with `retryable` set. One-line message
  // that names the request (no key, no URL user information), the failure, the server's `detail`
  // (redacted, cut to ~200 bytes), the attempts made and a hint, e.g.
  // `GET https://api.behaverse.org/v1/studies/demo/events?offset=0&limit=1000: HTTP 401
  // Unauthorized: "Not authenticated" (the API key was rejected)`. `stop` or `cancel` give
  // Errc::interrupted.
  virtual Result<Page> fetch_page(std::uint64_t offset, std::uint64_t limit) = 0;

  // Makes the request in progress, and every later one, fail promptly with Errc::interrupted
  // (transfers and retry waits are woken up). Unlike the rest of Client, safe to call from another
  // thread while `fetch_page` runs; there is no way back. The default does nothing, for fakes.
  virtual void cancel() {}
};

// The libcurl client: one easy handle per Client, so consecutive requests reuse the connection.
// Sends `Accept: application/json`, `User-Agent: bdd/<version>`, accepts compressed bodies and
// follows no redirects (a 3xx fails with Errc::config), so the key never reaches another host.
std::unique_ptr<Client> make_client(const ClientOptions& options);

// How a PageStream ended (see PageStream::end).
struct StreamEnd {
  enum class Kind {
    // A response showed the list ending at the end position: the last page handed out reported a
    // `total` equal to its own end, or a request that re-read the event before the end position
    // found nothing after it (then `seam_id` is that event's id, for the caller to check).
    confirmed,
    // The latest `total` says the list ends at or before the end position, but no response
    // showed it: the list may have changed since. A stream opened at the end position tells.
    by_total,
    // The request that re-read the event before the end position came back empty: the list is
    // now shorter than what was handed out, so events were deleted before it.
    seam_missing,
  };
  Kind kind = Kind::confirmed;
  std::uint64_t offset = 0; // the end position: where the next stream would start
  std::optional<std::string> seam_id;
};

// The events of a study in server order, from `start_offset` to the end, fetched with up to
// `concurrency` requests in flight (one Client each). Used from one thread.
//
// Every request for a position p > 0 starts one event early, at p - 1, and asks for one event
// more than `page_size`: the overlap re-reads the event the previous page ended with, at no cost
// in requests, so that the caller can check (with `Page::seam_id`) that the server's list did not
// shift between two requests. Paging ends when a response shows the list ends (see StreamEnd),
// when the next position reaches the latest `total` seen, or when a page comes back empty; never
// because a page was short (servers cap `limit`). Events appended while paging are followed up
// to the last `total` seen. A page is never dropped because of a `total`: a response with events
// beyond its own `total` makes the stream ignore totals (see `inconsistent_total`).
class PageStream {
public:
  virtual ~PageStream() = default;
  // The next page in order (never empty), or nullopt at the end. Pages are contiguous: each
  // starts where the previous one ended. After an error the stream is finished and every later
  // call returns the same error. A server that answers different offsets with the same events
  // (one that ignores `offset`) is an Errc::protocol error.
  virtual Result<std::optional<Page>> next() = 0;

  // How the stream ended; meaningful once `next` returned nullopt.
  virtual StreamEnd end() const { return {}; }

  // True when the stream ended because a page at the next offset came back empty although the
  // latest `total` said more events exist (a server inconsistency the caller should warn about).
  virtual bool ended_before_total() const { return false; }

  // The latest `total` the server reported (from the most recently sent request that has been
  // answered), or nullopt if no response carried one.
  virtual std::optional<std::uint64_t> latest_total() const { return std::nullopt; }

  // The first `total` seen that was below the events its own response held, if any.
  virtual std::optional<std::uint64_t> inconsistent_total() const { return std::nullopt; }

  // False once the server's page cap (one event) left no room for the seam: then pages come
  // without `seam_id`, and the caller must check the seams itself.
  virtual bool overlapping() const { return true; }
};

struct StreamOptions {
  std::uint64_t start_offset = 0;
  std::uint64_t page_size = 1000; // the `limit` asked for; 0 counts as 1
  int concurrency = 3;            // requests in flight at most, one Client each; clamped to 1..64
  // Usually the same flag as ClientOptions::stop. When it becomes true, `next` fails promptly with
  // Errc::interrupted even if a Client does not notice. May be null.
  const std::atomic<bool>* stop = nullptr;
  // Run on every event of a page on the thread that fetched it, before the page is handed out:
  // per-event work that needs no order (the writer's formatting) then spreads over the fetching
  // threads instead of queueing on the consumer's. Must be thread-safe. May be empty.
  std::function<void(model::Event&)> prepare_event;
  // Prefetching stops while the pages received and not yet handed out hold this many bytes of
  // response bodies; the page the caller needs next is always requested. With the response size
  // limit of each Client this bounds the stream's memory for pages of any size.
  std::uint64_t max_buffered_bytes = std::uint64_t{32} << 20;
};

// Creates the stream and starts fetching at once. `make` builds one Client per connection (tests
// may pass their own); it is called `concurrency` times, here, on the calling thread. At most about
// 2 * `concurrency` pages are held in memory. The first error ends the stream: `next` returns it
// and the other requests are cancelled. The destructor cancels requests in flight and joins the
// workers without waiting for the server.
std::unique_ptr<PageStream> make_page_stream(const StreamOptions& options,
                                             const std::function<std::unique_ptr<Client>()>& make);

} // namespace bdd::api
