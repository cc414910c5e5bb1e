#pragma once

// A fake Behaverse events API, as the project's API spec describes it, served over HTTP on
// 127.0.0.1 for end-to-end tests (in-process), the demo server and the benchmark. It plays the
// documented behaviour and the variants the spec leaves open (capped pages, no `total`, 401 or
// 403), and injects faults on demand. Misuse of the C++ API (unknown study, index out of range)
// throws std::invalid_argument or std::out_of_range; errors inside request handlers never escape,
// they become HTTP answers.

#include <fake_api/event_generator.hpp>
#include <fake_api/mutation.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::fake_api {

struct StudyOptions {
  std::string name; // as it appears in the path once percent-decoded; any bytes allowed
  std::string key;  // the Bearer key that opens this study and no other
  // Answer a wrong key with 403 instead of 401 (the spec allows either).
  bool forbidden_status_403 = false;
};

// Every fault the events endpoint can inject. Control endpoints are never faulted.
enum class FaultKind {
  http_500, // 500 with a {"detail"} body
  http_502, // 502 with a {"detail"} body
  http_503, // 503 with a {"detail"} body
  http_429, // 429 with `Retry-After: retry_after_seconds` (no header if that is negative)
  // The connection is reset (RST) before any byte of the response is sent. libcurl silently
  // retries this once when it happens on a reused keep-alive connection; `next_reset = 2` gets
  // past that.
  reset,
  truncate,     // a 200 whose Content-Length promises the page but only half is sent, then close
  invalid_json, // a complete 200 whose body is not JSON: half a page, or an HTML error page
  slow,         // sleep `slow_ms`, then answer normally
  // Hostile answers (drawn only from their `next_*` counters; they have no probability):
  // a 200 with `Content-Encoding: gzip` whose small, chunked body inflates to `gzip_bomb_mib` MiB
  // (`{"events":[` and then spaces), compressed on the fly so the server holds no such buffer;
  gzip_bomb,
  // a chunked 200 that never ends (`{"events":[` then events, forever, until the client leaves);
  endless_body,
  // raw bytes on the socket that are no HTTP response ("HTTP/1.1 2OO OK" and then garbage), then
  // the connection is closed;
  malformed_status,
  no_content, // a 204 No Content, no body
  // an error answer (status `echo_key_status`) whose `detail` quotes the request's key, or its
  // first `echo_key_prefix` characters, as a careless server would.
  echo_key,
};
inline constexpr std::size_t k_fault_kind_count = 13;

// Returns the snake_case name used in control-endpoint JSON ("http_500", "reset", ...).
std::string_view fault_kind_name(FaultKind kind);

// Which faults to inject. Faults strike only requests that passed auth and parameter checks, so
// "the next K requests" counts requests that would otherwise have been answered with a page.
// Each request first consumes one `next_*` counter, checked in `FaultKind` order; if all are zero,
// one draw from an RNG seeded with `seed` picks a kind with the `p_*` probabilities (checked in
// `FaultKind` order, their sum capped at 1). Same seed and same request order, same faults.
// Faults never touch stored events.
struct Faults {
  double p_500 = 0;
  double p_502 = 0;
  double p_503 = 0;
  double p_429 = 0;
  double p_reset = 0;
  double p_truncate = 0;
  double p_invalid_json = 0;
  double p_slow = 0;
  int next_500 = 0;
  int next_502 = 0;
  int next_503 = 0;
  int next_429 = 0;
  int next_reset = 0;
  int next_truncate = 0;
  int next_invalid_json = 0;
  int next_slow = 0;
  int retry_after_seconds = 1; // sent with 429; negative: send no Retry-After
  int slow_ms = 2000;          // how long a `slow` fault sleeps
  int latency_ms = 0;          // added to every events request, faulted or not (benchmarks)
  std::uint64_t seed = 1;
  // Hostile answers (see FaultKind::gzip_bomb and after).
  int next_gzip_bomb = 0;
  int next_endless_body = 0;
  int next_malformed_status = 0;
  int next_no_content = 0;
  int next_echo_key = 0;
  int gzip_bomb_mib = 4096;  // decoded size of a gzip bomb, in MiB
  int echo_key_prefix = 0;   // characters of the key an echo_key answer quotes; 0: all of it
  int echo_key_status = 401; // the status of an echo_key answer
};

struct ServerOptions {
  std::size_t max_limit = 1000;    // pages hold at most this many events, whatever `limit` asks
  std::size_t default_limit = 100; // `limit` when the query has none
  bool omit_total = false;         // leave `total` out of pages (a plausible real-server variant)
  // Answer every request as if it asked for offset 0 (a broken proxy or a wrong base_url).
  bool ignore_offset = false;
  // Worker threads. Each open keep-alive connection holds one, so a client with more
  // connections than this stalls until one idles out (5 s).
  int threads = 32;
  // PEM files of a certificate and its private key: serve HTTPS instead of HTTP (both or
  // neither; `start()` throws std::runtime_error if they cannot be loaded). For tests of TLS
  // verification.
  std::string tls_certificate;
  std::string tls_private_key;
};

// What the server has seen since start or the last `reset_stats()`.
struct Stats {
  std::uint64_t requests = 0; // events-endpoint requests, whatever their outcome
  // Events-endpoint requests by the study name in the path (decoded), known or not.
  std::map<std::string, std::uint64_t> requests_per_study;
  // Complete responses by HTTP status; resets and truncations are counted only in `faults`.
  std::map<int, std::uint64_t> responses_by_status;
  std::array<std::uint64_t, k_fault_kind_count> faults{}; // indexed by FaultKind
  std::uint64_t events_served = 0;                        // events in complete 200 pages
  std::uint64_t bytes_served = 0;                         // body bytes of complete 200 pages
  std::optional<std::uint64_t> last_offset;               // as parsed from the last valid request
  std::optional<std::uint64_t> last_limit;                // as asked, before the cap

  // Faults of one kind injected so far.
  std::uint64_t fault_count(FaultKind kind) const { return faults[static_cast<std::size_t>(kind)]; }
  // Faults of every kind injected so far.
  std::uint64_t total_faults() const;
};

// The fake server. All methods are thread-safe and may be called while it serves: mutations
// take an exclusive lock on the events, page rendering a shared one, so a page is always a
// consistent snapshot.
//
// HTTP surface (127.0.0.1 only):
//   GET /v1/studies/{study}/events?offset=N&limit=M   the API, see the spec
//   /_control/...                                      no auth; the C++ API over HTTP, listed
//                                                      in control_api.cpp and by `GET /_control`
class FakeApi {
public:
  explicit FakeApi(ServerOptions options = {});
  ~FakeApi(); // stops the server if it runs
  FakeApi(const FakeApi&) = delete;
  FakeApi& operator=(const FakeApi&) = delete;

  // Binds 127.0.0.1:`port` (0 picks a free port) and serves on background threads. Returns the
  // port once connections are accepted. Throws std::runtime_error if the port cannot be bound,
  // std::logic_error if already running.
  int start(int port = 0);
  // Stops serving and waits for the worker threads, cutting short any injected sleep. Idempotent.
  void stop();
  int port() const;             // 0 when not running
  std::string base_url() const; // "http[s]://127.0.0.1:<port>", no trailing slash

  // Adds an empty study. Throws std::invalid_argument if a study of that name exists.
  void add_study(StudyOptions study);
  // Replaces a study's key, e.g. to revoke the old one.
  void set_study_key(std::string_view study, std::string key);

  // Appends events as given; each string is served verbatim between commas, unchecked, so a
  // test can plant anything (keep it valid JSON unless that is the point).
  void append(std::string_view study, std::vector<std::string> events);
  // Generates events that continue the study's generated sequence (`start_index` and
  // `start_time_ms` in `options` are replaced), appends them and returns them as served.
  std::vector<std::string> append_generated(std::string_view study, GeneratorOptions options);
  // Inserts before position `index` (0..total). Throws std::out_of_range past the end.
  void insert(std::string_view study, std::size_t index, std::vector<std::string> events);
  // As `append_generated`, but inserted before position `index`: their `stored` times are newer
  // than their neighbours', the drift an unordered server would show.
  std::vector<std::string>
  insert_generated(std::string_view study, std::size_t index, GeneratorOptions options);
  // Removes up to `count` events from position `index`; the total shrinks. Throws
  // std::out_of_range if `index` > total.
  void remove(std::string_view study, std::size_t index, std::size_t count);
  // Swaps the ranges [first, first + first_count) and [second, second + second_count), which must
  // not overlap and must lie inside the study (else std::out_of_range); events between them shift
  // when the lengths differ. Models a server whose order is not stable.
  void swap_ranges(std::string_view study,
                   std::size_t first,
                   std::size_t first_count,
                   std::size_t second,
                   std::size_t second_count);

  std::size_t total(std::string_view study) const;
  std::vector<std::string> events(std::string_view study) const; // a copy, in served order
  std::vector<std::string> study_names() const;

  // Replaces the fault configuration and reseeds the fault RNG.
  void set_faults(const Faults& faults);
  Faults faults() const; // with `next_*` counters as they are now

  void set_max_limit(std::size_t max_limit); // 0 is treated as 1
  void set_omit_total(bool omit_total);
  void set_ignore_offset(bool ignore_offset);
  ServerOptions options() const;

  Stats stats() const;
  void reset_stats();
  std::uint64_t request_count() const;                       // `stats().requests`
  std::uint64_t request_count(std::string_view study) const; // for one study name

  // Scheduled mutations (mutation.hpp, mutation_schedule.cpp): drift while a client pages.
  // Applies `mutation` to `study`'s list at the `after_requests`-th events request of that study
  // counted from now (1: the next one), right after that request's answer is rendered (or before
  // it, or instead of a page, as `mutation` says). Counted requests are those that passed auth and
  // parameter checks, as for faults; a request answered by a scheduled `fail_status` is not
  // faulted. Each call counts from its own moment; mutations due at the same request apply in
  // the order scheduled. With concurrent requests, "after" means after the answer to the counted
  // request was rendered: one counted later but rendered earlier still sees the old list. Throws
  // std::invalid_argument for an unknown study or `after_requests` 0.
  void schedule(std::string_view study, std::size_t after_requests, Mutation mutation);
  std::vector<ScheduledMutation> scheduled() const;       // pending, in scheduling order
  std::vector<AppliedMutation> applied_mutations() const; // oldest first
  void clear_schedule(); // drops the pending mutations and the applied log

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace bdd::fake_api
