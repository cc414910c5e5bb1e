#pragma once

#include <bdd/core/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace bdd::api {

// One failed attempt at a request, in words for the user. `to_error` turns it into the `Error`
// that `Client::fetch_page` returns once it gives up.
struct Failure {
  Errc code = Errc::network;
  bool retryable = false; // the same request may succeed if sent again
  std::string what;       // e.g. "HTTP 503 Service Unavailable", "connection refused"
  std::string detail;     // server-provided text (already redacted and shortened), or empty
  std::string hint;       // advice for the user, or empty
  std::optional<std::chrono::milliseconds> retry_after; // server-requested wait, capped
};

// The `Error` for `failure` of `GET <shown_url>` after `attempts` requests:
// `GET <url>: <what>[: "<detail>"][ after N attempts][ (<hint>)]`. "after N attempts" appears when
// the failure was retryable (the retries ran out) or more than one attempt was made. Every
// occurrence of `secret` and any URL user information is redacted from the whole message.
Error to_error(const Failure& failure,
               std::string_view shown_url,
               int attempts,
               std::string_view secret);

// How long to wait between attempts.
struct RetryPolicy {
  std::chrono::milliseconds first_delay{1'000};
  std::chrono::milliseconds max_delay{60'000};        // cap of the exponential backoff
  std::chrono::milliseconds max_retry_after{600'000}; // cap of a server's Retry-After
};

// The wait after failed attempt number `attempt` (1-based) without a Retry-After:
// `first_delay * 2^(attempt-1)` capped at `max_delay`, with equal jitter (a uniformly random value
// between half of that and all of it), so that parallel workers do not retry in lockstep.
std::chrono::milliseconds
backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng);

// The wait a `Retry-After` header value asks for: a non-negative number of seconds, or an HTTP
// date (IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT") relative to `now`; a date in the past
// means no wait. Returns nullopt for anything else. The result is capped at `cap`.
std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now,
                  std::chrono::milliseconds cap);

// `delay` for a message: "250 ms" below a second, "1.5 s" below 10 s, else whole seconds ("600 s").
std::string delay_text(std::chrono::milliseconds delay);

// The standard reason phrase of an HTTP status ("Not Found"), or "" for an unusual one.
std::string_view reason_phrase(long status);

// Classifies a non-2xx HTTP status. 408, 429 and 5xx are retryable (Errc::network), with
// `retry_after` from `retry_after_header` when it parses; 401/403 are Errc::auth, 404
// Errc::not_found, 3xx Errc::config (redirects are not followed), every other status
// Errc::bad_request. `body` supplies `detail` when it is JSON with a "detail" member (a string, or
// any JSON shown compactly), with `secret` redacted, control characters replaced by spaces and
// cut to about 200 bytes.
Failure classify_status(long status,
                        std::string_view body,
                        const std::optional<std::string>& retry_after_header,
                        const std::optional<std::string>& location_header,
                        std::string_view secret,
                        const RetryPolicy& policy);

// `text` made fit for one line of a message: control characters become spaces, `secret` is
// redacted, and it is cut at a UTF-8 boundary to at most `max_bytes` bytes plus "...".
std::string
sanitise_server_text(std::string_view text, std::string_view secret, std::size_t max_bytes);

} // namespace bdd::api
