#include "connection_reset.hpp"
#include "fake_api_impl.hpp"
#include "json_text.hpp"

#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <utility>

namespace bdd::fake_api {

namespace {

constexpr std::string_view k_events_prefix = "/v1/studies/";
constexpr std::string_view k_events_suffix = "/events";
constexpr std::string_view k_json = "application/json";

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Decodes %XX escapes; a malformed escape stays as it is, as Starlette leaves it.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// The study named by the raw request target "/v1/studies/<segment>/events[?query]". httplib
// routes on the decoded path, where "a%2Fb" has already become "a/b", so the segment is taken
// from the raw target and decoded here. Returns nullopt when the target has another shape.
std::optional<std::string> study_from_target(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.size() <= k_events_prefix.size() + k_events_suffix.size()
      || !target.starts_with(k_events_prefix) || !target.ends_with(k_events_suffix)) {
    return std::nullopt;
  }
  const auto segment = target.substr(
      k_events_prefix.size(), target.size() - k_events_prefix.size() - k_events_suffix.size());
  if (segment.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  return percent_decode(segment);
}

// The key from "Authorization: Bearer <key>" (scheme case-insensitive), or nullopt when the
// header is missing, uses another scheme or carries no key.
std::optional<std::string> bearer_key(const httplib::Request& request) {
  if (!request.has_header("Authorization")) {
    return std::nullopt;
  }
  const std::string value = request.get_header_value("Authorization");
  constexpr std::string_view k_scheme = "bearer ";
  if (value.size() <= k_scheme.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < k_scheme.size(); ++i) {
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(value[i]))) != k_scheme[i]) {
      return std::nullopt;
    }
  }
  const auto first = value.find_first_not_of(' ', k_scheme.size());
  const auto last = value.find_last_not_of(" \t");
  if (first == std::string::npos || last < first) {
    return std::nullopt;
  }
  return value.substr(first, last - first + 1);
}

// Digits only: no sign, no spaces, no exponent. Overflow is not a number either.
std::optional<std::uint64_t> parse_count(std::string_view text) {
  if (text.empty()
      || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// Serves `body` through a content provider rather than set_content(): httplib would otherwise
// gzip JSON for clients that accept it, which costs more CPU than everything else here.
// With `cut_at` below the size, only that much is sent after headers that promise it all, then
// the connection closes: a truncated body.
void send_body(httplib::Response& response,
               std::string body,
               std::string_view content_type,
               std::size_t cut_at) {
  auto shared = std::make_shared<const std::string>(std::move(body));
  const std::size_t size = shared->size();
  cut_at = std::min(cut_at, size);
  response.set_content_provider(
      size,
      std::string(content_type),
      [shared, cut_at](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        if (offset >= cut_at) {
          return false; // httplib closes the connection mid-body
        }
        return sink.write(shared->data() + offset, std::min(length, cut_at - offset));
      });
}

// Bodies for invalid_json faults, alternating so that a client cannot special-case one.
std::pair<std::string, std::string_view> invalid_body(std::uint64_t nth, const std::string& page) {
  if (nth % 2 == 0) {
    return {page.substr(0, page.size() / 2), k_json};
  }
  return {"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
          "Gateway</h1></center><hr><center>nginx</center></body></html>\n",
          "text/html"};
}

// Not a type httplib compresses itself (it would gzip "application/json" a second time).
constexpr std::string_view k_json_uncompressed = "application/json; charset=utf-8";

// A gzip stream of `{"events":[` and then spaces, `inflated` bytes in all, made chunk by chunk
// as the client reads, so the server never holds more than one chunk of either side.
class GzipBomb {
public:
  explicit GzipBomb(std::uint64_t inflated) : m_left(inflated) {
    // 15 + 16: a gzip header and trailer rather than a raw zlib stream.
    m_ok = deflateInit2(&m_zlib, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  GzipBomb(const GzipBomb&) = delete;
  GzipBomb& operator=(const GzipBomb&) = delete;
  ~GzipBomb() {
    if (m_ok) {
      deflateEnd(&m_zlib);
    }
  }

  // The next piece of compressed bytes; empty once the stream is complete.
  std::string next() {
    std::string out;
    // deflate may keep a whole input chunk of spaces to itself: feed it until it says something.
    while (out.empty() && m_ok && !m_finished) {
      out = feed();
    }
    return out;
  }

private:
  std::string feed() {
    static const std::string k_spaces(std::size_t{4} << 20U, ' ');
    std::string input;
    if (!m_started) {
      m_started = true;
      input = R"({"events":[)";
    }
    const std::uint64_t take = std::min<std::uint64_t>(m_left, k_spaces.size());
    m_left -= take;
    const int flush = m_left == 0 ? Z_FINISH : Z_NO_FLUSH;
    std::string out;
    const auto run = [&](const char* data, std::size_t size, int mode) {
      m_zlib.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
      m_zlib.avail_in = static_cast<uInt>(size);
      std::array<char, 64 * 1024> buffer{};
      int status = Z_OK;
      do {
        m_zlib.next_out = reinterpret_cast<Bytef*>(buffer.data());
        m_zlib.avail_out = static_cast<uInt>(buffer.size());
        status = deflate(&m_zlib, mode);
        out.append(buffer.data(), buffer.size() - m_zlib.avail_out);
      } while (m_zlib.avail_out == 0 || (mode == Z_FINISH && status != Z_STREAM_END));
    };
    if (!input.empty()) {
      run(input.data(), input.size(), Z_NO_FLUSH);
    }
    run(k_spaces.data(), static_cast<std::size_t>(take), flush);
    m_finished = flush == Z_FINISH;
    return out;
  }

  z_stream m_zlib{};
  std::uint64_t m_left;
  bool m_ok = false;
  bool m_started = false;
  bool m_finished = false;
};

std::unique_ptr<httplib::Server> make_server(const std::string& certificate,
                                             const std::string& private_key) {
  if (certificate.empty() && private_key.empty()) {
    return std::make_unique<httplib::Server>();
  }
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  auto server = std::make_unique<httplib::SSLServer>(certificate.c_str(), private_key.c_str());
  if (!server->is_valid()) {
    throw std::runtime_error("fake_api: cannot load the TLS certificate \"" + certificate
                             + "\" and key \"" + private_key + "\"");
  }
  return server;
#else
  throw std::runtime_error("fake_api: built without TLS support (CPPHTTPLIB_OPENSSL_SUPPORT)");
#endif
}

} // namespace

std::string_view fault_kind_name(FaultKind kind) {
  static constexpr std::array<std::string_view, k_fault_kind_count> k_names = {"http_500",
                                                                               "http_502",
                                                                               "http_503",
                                                                               "http_429",
                                                                               "reset",
                                                                               "truncate",
                                                                               "invalid_json",
                                                                               "slow",
                                                                               "gzip_bomb",
                                                                               "endless_body",
                                                                               "malformed_status",
                                                                               "no_content",
                                                                               "echo_key"};
  return k_names.at(static_cast<std::size_t>(kind));
}

std::uint64_t Stats::total_faults() const {
  std::uint64_t sum = 0;
  for (const auto count : faults) {
    sum += count;
  }
  return sum;
}

void reply_json(httplib::Response& response, int status, std::string body) {
  response.status = status;
  response.set_content(std::move(body), std::string(k_json));
}

void reply_detail(httplib::Response& response, int status, std::string_view detail) {
  reply_json(response, status, detail_body(detail));
}

FakeApi::Impl::Impl(const ServerOptions& options)
    : max_limit(std::max<std::size_t>(options.max_limit, 1)),
      default_limit(std::max<std::size_t>(options.default_limit, 1)),
      omit_total(options.omit_total),
      ignore_offset(options.ignore_offset),
      threads(std::max(options.threads, 1)),
      tls_certificate(options.tls_certificate),
      tls_private_key(options.tls_private_key) {}

ServerOptions FakeApi::Impl::options() const {
  ServerOptions out;
  out.max_limit = max_limit;
  out.default_limit = default_limit;
  out.omit_total = omit_total;
  out.ignore_offset = ignore_offset;
  out.threads = threads;
  out.tls_certificate = tls_certificate;
  out.tls_private_key = tls_private_key;
  return out;
}

std::vector<std::string> FakeApi::Impl::append_generated(std::string_view study,
                                                         GeneratorOptions options) {
  auto events = generate_events(store.claim_generation(study, options));
  store.append(study, events);
  return events;
}

std::vector<std::string> FakeApi::Impl::insert_generated(std::string_view study,
                                                         std::size_t index,
                                                         GeneratorOptions options) {
  auto events = generate_events(store.claim_generation(study, options));
  store.insert(study, index, events);
  return events;
}

void FakeApi::Impl::sleep_ms(int ms) {
  std::unique_lock lock(sleep_mutex);
  sleep_wakeup.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping; });
}

bool FakeApi::Impl::is_stopping() {
  const std::lock_guard lock(sleep_mutex);
  return stopping;
}

void FakeApi::Impl::count_status(int status) {
  const std::lock_guard lock(stats_mutex);
  ++stats.responses_by_status[status];
}

void FakeApi::Impl::count_fault(FaultKind kind) {
  const std::lock_guard lock(stats_mutex);
  ++stats.faults[static_cast<std::size_t>(kind)];
}

void FakeApi::Impl::handle_events(const httplib::Request& request, httplib::Response& response) {
  // Read once so that one request sees one configuration even if a test changes it meanwhile.
  const Faults config = faults.current();
  if (config.latency_ms > 0) {
    sleep_ms(config.latency_ms);
  }
  const auto study = study_from_target(request.target);
  {
    const std::lock_guard lock(stats_mutex);
    ++stats.requests;
    if (study) {
      ++stats.requests_per_study[*study];
    }
  }
  const auto reply_error = [&](int status, std::string_view detail) {
    reply_detail(response, status, detail);
    count_status(status);
  };
  if (!study) {
    reply_error(404, "Not Found");
    return;
  }

  // 1. Authentication, as FastAPI's HTTPBearer and a key lookup would do it. The key is never
  //    echoed: error bodies end up in logs.
  const auto key = bearer_key(request);
  if (!key) {
    response.set_header("WWW-Authenticate", "Bearer");
    reply_error(401, "Not authenticated");
    return;
  }
  switch (store.check_access(*study, *key)) {
  case StudyStore::Access::unknown_study:
    reply_error(404, "Study not found");
    return;
  case StudyStore::Access::wrong_key:
    response.set_header("WWW-Authenticate", "Bearer");
    reply_error(401, "Invalid API key");
    return;
  case StudyStore::Access::wrong_key_forbidden:
    reply_error(403, "This API key does not give access to this study");
    return;
  case StudyStore::Access::granted:
    break;
  }

  // 2. Parameters.
  std::uint64_t offset = 0;
  std::uint64_t limit = default_limit;
  if (request.has_param("offset")) {
    const auto parsed = parse_count(request.get_param_value("offset"));
    if (!parsed) {
      reply_error(422, "offset must be a non-negative integer");
      return;
    }
    offset = *parsed;
  }
  if (request.has_param("limit")) {
    const auto parsed = parse_count(request.get_param_value("limit"));
    if (!parsed || *parsed == 0) {
      reply_error(422, "limit must be a positive integer");
      return;
    }
    limit = *parsed;
  }
  {
    const std::lock_guard lock(stats_mutex);
    stats.last_offset = offset;
    stats.last_limit = limit;
  }

  // Mutations scheduled for this request (FakeApi::schedule): those due after the answer apply
  // when `turn` goes out of scope, once the page below is rendered.
  const MutationTurn turn(store, mutations, *study);
  if (turn.fail_status() != 0) {
    reply_error(turn.fail_status(), failure_detail(turn.fail_status()));
    return;
  }

  // 3. Faults, only now: "the next K requests" then means K requests that deserved a page.
  const auto fault = faults.draw();
  if (fault) {
    count_fault(*fault);
  }
  std::uint64_t nth_invalid = 0;
  if (fault) {
    switch (*fault) {
    case FaultKind::http_500:
      reply_error(500, "Internal Server Error");
      return;
    case FaultKind::http_502:
      reply_error(502, "Bad Gateway");
      return;
    case FaultKind::http_503:
      reply_error(503, "Service Unavailable");
      return;
    case FaultKind::http_429:
      if (config.retry_after_seconds >= 0) {
        response.set_header("Retry-After", std::to_string(config.retry_after_seconds));
      }
      reply_error(429, "Too Many Requests");
      return;
    case FaultKind::reset:
      if (!reset_connection(request.local_port, request.remote_port)) {
        // No socket found: the next best thing is headers and then a closed connection.
        send_body(response, "{}", k_json, 0);
      }
      return;
    case FaultKind::slow:
      sleep_ms(config.slow_ms);
      break;
    case FaultKind::invalid_json: {
      const std::lock_guard lock(stats_mutex);
      nth_invalid = stats.faults[static_cast<std::size_t>(FaultKind::invalid_json)] - 1;
      break;
    }
    case FaultKind::truncate:
      break;
    case FaultKind::gzip_bomb: {
      auto bomb = std::make_shared<GzipBomb>(
          static_cast<std::uint64_t>(std::max(config.gzip_bomb_mib, 0)) << 20U);
      response.status = 200;
      response.set_header("Content-Encoding", "gzip");
      response.set_chunked_content_provider(
          std::string(k_json_uncompressed), [this, bomb](std::size_t, httplib::DataSink& sink) {
            const std::string piece = bomb->next();
            if (piece.empty()) {
              sink.done();
              return true;
            }
            return !is_stopping() && sink.write(piece.data(), piece.size());
          });
      count_status(200);
      return;
    }
    case FaultKind::endless_body: {
      response.status = 200;
      response.set_chunked_content_provider(
          std::string(k_json_uncompressed),
          [this, counter = std::make_shared<std::uint64_t>(0)](std::size_t,
                                                               httplib::DataSink& sink) {
            std::string piece = *counter == 0 ? R"({"events":[)" : "";
            while (piece.size() < 64 * 1024) {
              piece += R"({"event_id":"endless-)" + std::to_string((*counter)++)
                       + R"(","payload":"never ends"},)";
            }
            return !is_stopping() && sink.write(piece.data(), piece.size());
          });
      count_status(200);
      return;
    }
    case FaultKind::malformed_status:
      // A status code of letters 'O' instead of zeros: no HTTP client can take it for a status.
      if (!send_raw_and_close(request.local_port,
                              request.remote_port,
                              "HTTP/1.1 2OO OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: 2\r\n\r\n{}")) {
        send_body(response, "{}", k_json, 0);
      }
      return;
    case FaultKind::no_content:
      response.status = 204;
      count_status(204);
      return;
    case FaultKind::echo_key: {
      const auto prefix = static_cast<std::size_t>(std::max(config.echo_key_prefix, 0));
      const std::string echoed = prefix == 0 ? *key : key->substr(0, prefix);
      reply_error(config.echo_key_status, "Invalid API key \"" + echoed + "\" for this study");
      return;
    }
    }
  }

  // 4. The page.
  const std::size_t served_limit =
      static_cast<std::size_t>(std::min<std::uint64_t>(limit, max_limit.load()));
  auto page = store.render_page(*study, ignore_offset ? 0 : offset, served_limit, !omit_total);
  if (!page) {
    reply_error(404, "Study not found");
    return;
  }
  if (fault == FaultKind::truncate) {
    const std::size_t half = page->body.size() / 2;
    send_body(response, std::move(page->body), k_json, half);
    return;
  }
  if (fault == FaultKind::invalid_json) {
    auto [body, type] = invalid_body(nth_invalid, page->body);
    send_body(response, std::move(body), type, std::string::npos);
    count_status(200);
    return;
  }
  const std::size_t bytes = page->body.size();
  send_body(response, std::move(page->body), k_json, std::string::npos);
  const std::lock_guard lock(stats_mutex);
  ++stats.responses_by_status[200];
  stats.events_served += page->event_count;
  stats.bytes_served += bytes;
}

FakeApi::FakeApi(ServerOptions options) : m_impl(std::make_unique<Impl>(options)) {}

FakeApi::~FakeApi() {
  stop();
}

int FakeApi::start(int port) {
  Impl& impl = *m_impl;
  const std::lock_guard lock(impl.lifecycle_mutex);
  if (impl.server) {
    throw std::logic_error("fake_api: already running");
  }
  auto server = make_server(impl.tls_certificate, impl.tls_private_key);
  const int threads = impl.threads;
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default sets SO_REUSEPORT, which would let two servers share a port silently.
  server->set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Without this httplib closes a keep-alive connection after 5 requests, unlike real servers.
  server->set_keep_alive_max_count(100'000);
  // Without this every response on a reused connection waits for Nagle and delayed ACK (~40 ms).
  server->set_tcp_nodelay(true);
  server->Get(R"(/v1/studies/.*)",
              [&impl](const httplib::Request& request, httplib::Response& response) {
                impl.handle_events(request, response);
              });
  impl.install_control_routes(*server);
  server->set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.body.empty() && response.status == 404) {
      reply_detail(response, 404, "Not Found");
    }
  });
  server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
        std::string message = "unexpected error";
        try {
          std::rethrow_exception(std::move(error));
        } catch (const std::exception& e) {
          message = e.what();
        } catch (...) {
        }
        reply_detail(response, 500, message);
      });

  const int bound = port == 0 ? server->bind_to_any_port("127.0.0.1")
                              : (server->bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound <= 0) {
    throw std::runtime_error("fake_api: cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  {
    const std::lock_guard sleep_lock(impl.sleep_mutex);
    impl.stopping = false;
  }
  httplib::Server* raw = server.get();
  impl.server = std::move(server);
  impl.server_thread = std::thread([raw] { raw->listen_after_bind(); });
  // The socket already queues connections; waiting for the accept loop makes stop() safe to call
  // right away (httplib ignores stop() before its loop runs).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!raw->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl.port = bound;
  return bound;
}

void FakeApi::stop() {
  Impl& impl = *m_impl;
  const std::lock_guard lock(impl.lifecycle_mutex);
  if (!impl.server) {
    return;
  }
  {
    const std::lock_guard sleep_lock(impl.sleep_mutex);
    impl.stopping = true;
  }
  impl.sleep_wakeup.notify_all();
  impl.server->stop();
  if (impl.server_thread.joinable()) {
    impl.server_thread.join();
  }
  impl.server.reset();
  impl.port = 0;
}

int FakeApi::port() const {
  return m_impl->port;
}

std::string FakeApi::base_url() const {
  const char* scheme = m_impl->tls_certificate.empty() ? "http" : "https";
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(m_impl->port.load());
}

void FakeApi::add_study(StudyOptions study) {
  m_impl->store.add(std::move(study));
}

void FakeApi::set_study_key(std::string_view study, std::string key) {
  m_impl->store.set_key(study, std::move(key));
}

void FakeApi::append(std::string_view study, std::vector<std::string> events) {
  m_impl->store.append(study, std::move(events));
}

std::vector<std::string> FakeApi::append_generated(std::string_view study,
                                                   GeneratorOptions options) {
  return m_impl->append_generated(study, options);
}

void FakeApi::insert(std::string_view study, std::size_t index, std::vector<std::string> events) {
  m_impl->store.insert(study, index, std::move(events));
}

std::vector<std::string>
FakeApi::insert_generated(std::string_view study, std::size_t index, GeneratorOptions options) {
  return m_impl->insert_generated(study, index, options);
}

void FakeApi::remove(std::string_view study, std::size_t index, std::size_t count) {
  m_impl->store.remove(study, index, count);
}

void FakeApi::swap_ranges(std::string_view study,
                          std::size_t first,
                          std::size_t first_count,
                          std::size_t second,
                          std::size_t second_count) {
  m_impl->store.swap_ranges(study, first, first_count, second, second_count);
}

std::size_t FakeApi::total(std::string_view study) const {
  return m_impl->store.total(study);
}

std::vector<std::string> FakeApi::events(std::string_view study) const {
  return m_impl->store.events(study);
}

std::vector<std::string> FakeApi::study_names() const {
  return m_impl->store.names();
}

void FakeApi::set_faults(const Faults& faults) {
  m_impl->faults.configure(faults);
}

Faults FakeApi::faults() const {
  return m_impl->faults.current();
}

void FakeApi::set_max_limit(std::size_t max_limit) {
  m_impl->max_limit = std::max<std::size_t>(max_limit, 1);
}

void FakeApi::set_ignore_offset(bool ignore_offset) {
  m_impl->ignore_offset = ignore_offset;
}

void FakeApi::set_omit_total(bool omit_total) {
  m_impl->omit_total = omit_total;
}

ServerOptions FakeApi::options() const {
  return m_impl->options();
}

Stats FakeApi::stats() const {
  const std::lock_guard lock(m_impl->stats_mutex);
  return m_impl->stats;
}

void FakeApi::reset_stats() {
  const std::lock_guard lock(m_impl->stats_mutex);
  m_impl->stats = Stats{};
}

std::uint64_t FakeApi::request_count() const {
  const std::lock_guard lock(m_impl->stats_mutex);
  return m_impl->stats.requests;
}

std::uint64_t FakeApi::request_count(std::string_view study) const {
  const std::lock_guard lock(m_impl->stats_mutex);
  const auto it = m_impl->stats.requests_per_study.find(std::string(study));
  return it == m_impl->stats.requests_per_study.end() ? 0 : it->second;
}

} // namespace bdd::fake_api
