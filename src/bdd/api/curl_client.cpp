// The only file of bdd that includes <curl/curl.h>: the libcurl `Transport`.

#include "transport.hpp"

#include <bdd/core/redact.hpp>
#include <bdd/core/text.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>

namespace bdd::api {

namespace {

// How long one wait for socket activity may last before `stop` is looked at again; cancel()
// wakes the wait at once.
constexpr int k_poll_ms = 50;
// Connecting should never take long; a dead host is found out sooner than `timeout`.
constexpr long k_max_connect_timeout_ms = 15'000;
// Bodies up to this size grow as strings do. A larger one gets room for the whole limit at once
// (address space only: pages are touched as bytes arrive), so that growing never holds the old
// and the new buffer together and a body cut at the limit never took more than the limit.
constexpr std::size_t k_small_body = std::size_t{8} << 20U;

// "256 MiB", "1500 bytes": a size for a message.
std::string bytes_text(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 20U) && bytes % (std::uint64_t{1} << 20U) == 0) {
    return std::to_string(bytes >> 20U) + " MiB";
  }
  if (bytes >= 1024 && bytes % 1024 == 0) {
    return std::to_string(bytes >> 10U) + " KiB";
  }
  return std::to_string(bytes) + " bytes";
}

bool is_http_url(std::string_view url) {
  const auto starts_with = [url](std::string_view prefix) {
    return url.size() >= prefix.size()
           && std::equal(prefix.begin(), prefix.end(), url.begin(), [](char a, char b) {
                return a == std::tolower(static_cast<unsigned char>(b));
              });
  };
  return starts_with("http://") || starts_with("https://");
}

bool global_init_succeeded() {
  static const bool k_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return k_ok;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
                  == std::tolower(static_cast<unsigned char>(y));
         });
}

// "host:port" of `url`, without user information.
std::string host_of(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    rest.remove_prefix(at + 1);
  }
  return std::string(rest);
}

std::string lower_first(std::string text) {
  if (!text.empty()) {
    text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
  }
  return text;
}

// What the TLS libraries say when the "handshake" they got back is plain HTTP text (OpenSSL:
// "wrong version number", "packet length too long"; GnuTLS: "unexpected TLS packet").
bool is_plain_http_answer(std::string_view curl_text) {
  for (const std::string_view sign : {"wrong version number",
                                      "packet length too long",
                                      "unexpected TLS packet",
                                      "http request"}) {
    if (curl_text.find(sign) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

class CurlTransport final : public Transport {
public:
  explicit CurlTransport(const ClientOptions& options)
      : m_stop(options.stop),
        m_timeout(options.timeout),
        m_max_body(static_cast<std::size_t>(std::max<std::uint64_t>(
            1, std::min<std::uint64_t>(options.max_response_bytes, SIZE_MAX / 2)))),
        m_server(redact(options.base_url, options.api_key)) {
    while (!m_server.empty() && m_server.back() == '/') {
      m_server.pop_back();
    }
    if (!global_init_succeeded()) {
      return;
    }
    m_easy = curl_easy_init();
    m_multi = curl_multi_init();
    if (m_easy == nullptr || m_multi == nullptr) {
      return;
    }
    const std::string authorization = "Authorization: Bearer " + options.api_key;
    m_headers = curl_slist_append(m_headers, authorization.c_str());
    m_headers = curl_slist_append(m_headers, "Accept: application/json");
    const long timeout_ms = std::max<long>(0, static_cast<long>(options.timeout.count()));
    const long connect_ms =
        timeout_ms == 0 ? k_max_connect_timeout_ms : std::min(timeout_ms, k_max_connect_timeout_ms);

    // Any failure here leaves a transport that fails every request with the reason.
    const auto set = [this](CURLoption option, auto value) {
      if (m_setup == CURLE_OK) {
        m_setup = curl_easy_setopt(m_easy, option, value);
      }
    };
    set(CURLOPT_HTTPHEADER, m_headers);
    set(CURLOPT_USERAGENT, "bdd/" BDD_VERSION);
    set(CURLOPT_ACCEPT_ENCODING, ""); // every encoding libcurl can decode
    set(CURLOPT_TIMEOUT_MS, timeout_ms);
    set(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    set(CURLOPT_NOSIGNAL, 1L);
    // Never follow a redirect: the Authorization header would go along to the other host.
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    set(CURLOPT_ERRORBUFFER, m_error_text.data());
    set(CURLOPT_WRITEFUNCTION, &CurlTransport::on_body);
    set(CURLOPT_WRITEDATA, this);
    set(CURLOPT_HEADERFUNCTION, &CurlTransport::on_header);
    set(CURLOPT_HEADERDATA, this);
    set(CURLOPT_NOPROGRESS, 0L);
    set(CURLOPT_XFERINFOFUNCTION, &CurlTransport::on_progress);
    set(CURLOPT_XFERINFODATA, this);
  }

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  ~CurlTransport() override {
    if (m_multi != nullptr) {
      curl_multi_cleanup(m_multi);
    }
    if (m_easy != nullptr) {
      curl_easy_cleanup(m_easy);
    }
    curl_slist_free_all(m_headers);
  }

  std::variant<HttpResponse, Failure> get(const std::string& url) override {
    if (m_easy == nullptr || m_multi == nullptr || m_setup != CURLE_OK) {
      Failure failure;
      failure.code = Errc::internal;
      failure.what = m_setup != CURLE_OK
                         ? std::string("cannot set up libcurl: ") + curl_easy_strerror(m_setup)
                         : "cannot initialise libcurl";
      return failure;
    }
    if (should_stop()) {
      return interrupted();
    }
    m_response = HttpResponse{};
    m_response.body = std::move(m_spare_body);
    m_response.body.clear();
    m_spare_body = std::string();
    m_too_large = false;
    m_out_of_memory = false;
    m_error_text[0] = '\0';
    if (const CURLcode code = curl_easy_setopt(m_easy, CURLOPT_URL, url.c_str());
        code != CURLE_OK) {
      return transfer_failure(code, url);
    }
    // A multi handle rather than curl_easy_perform: its poll can be woken by cancel() and lets
    // us look at `stop` often, so an interruption never waits for the server. The connection
    // stays in the multi handle's cache between requests.
    if (const CURLMcode code = curl_multi_add_handle(m_multi, m_easy); code != CURLM_OK) {
      return multi_failure(code);
    }
    std::optional<CURLcode> result;
    std::optional<CURLMcode> multi_error;
    bool stopped = false;
    while (!result) {
      int running = 0;
      if (const CURLMcode code = curl_multi_perform(m_multi, &running); code != CURLM_OK) {
        multi_error = code;
        break;
      }
      int queued = 0;
      while (const CURLMsg* message = curl_multi_info_read(m_multi, &queued)) {
        if (message->msg == CURLMSG_DONE && message->easy_handle == m_easy) {
          result = message->data.result;
        }
      }
      if (result) {
        break;
      }
      if (should_stop()) {
        stopped = true;
        break;
      }
      if (const CURLMcode code = curl_multi_poll(m_multi, nullptr, 0, k_poll_ms, nullptr);
          code != CURLM_OK) {
        multi_error = code;
        break;
      }
    }
    curl_multi_remove_handle(m_multi, m_easy);
    if (stopped) {
      return interrupted();
    }
    if (multi_error) {
      return multi_failure(*multi_error);
    }
    if (*result != CURLE_OK) {
      return transfer_failure(*result, url);
    }
    long status = 0;
    curl_easy_getinfo(m_easy, CURLINFO_RESPONSE_CODE, &status);
    m_response.status = status;
    return std::move(m_response);
  }

  void recycle(std::string body) override {
    // Not a huge body's reservation (see k_small_body): that memory goes back at once.
    if (body.capacity() <= k_small_body) {
      m_spare_body = std::move(body);
    }
  }

  void cancel() override {
    m_cancelled = true;
    if (m_multi != nullptr) {
      curl_multi_wakeup(m_multi);
    }
  }

private:
  bool should_stop() const { return m_cancelled.load() || (m_stop != nullptr && m_stop->load()); }

  // libcurl hands over decoded bytes (CURLOPT_ACCEPT_ENCODING), so the limit is on what the body
  // takes in memory, whatever its compressed size. A short count aborts the transfer.
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) {
    auto* transport = static_cast<CurlTransport*>(self);
    const std::size_t length = size * count;
    std::string& body = transport->m_response.body;
    if (length > transport->m_max_body - body.size()) {
      transport->m_too_large = true;
      return 0;
    }
    try {
      if (body.empty()) {
        // Room for the whole body at once when the server says its size: no copy at each
        // doubling, and no more memory than it needs (a compressed body may still grow).
        curl_off_t announced = -1;
        if (curl_easy_getinfo(transport->m_easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced)
                == CURLE_OK
            && announced > 0 && static_cast<std::uint64_t>(announced) <= k_small_body
            && static_cast<std::size_t>(announced) <= transport->m_max_body) {
          const auto wanted = static_cast<std::size_t>(announced);
          if (wanted > body.capacity()) {
            // A fresh string (reserve would double the old one): an eighth more, so that the
            // next, slightly larger page of a study fits too.
            std::string room;
            room.reserve(std::min(wanted + wanted / 8, transport->m_max_body));
            body.swap(room);
          }
        }
      }
      if (body.size() + length > body.capacity() && body.size() + length > k_small_body) {
        try {
          body.reserve(transport->m_max_body);
        } catch (const std::bad_alloc&) { // NOLINT(bugprone-empty-catch): grow as usual instead
        }
      }
      body.append(data, length);
    } catch (const std::exception&) {
      // No exception may cross libcurl's C frames.
      transport->m_out_of_memory = true;
      return 0;
    }
    return length;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) {
    auto* transport = static_cast<CurlTransport*>(self);
    const std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response begins (e.g. after "100 Continue"): forget the previous one's headers.
      transport->m_response.retry_after.reset();
      transport->m_response.location.reset();
    } else if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      const std::string_view name = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "Retry-After")) {
        transport->m_response.retry_after = std::string(value);
      } else if (iequals(name, "Location")) {
        transport->m_response.location = std::string(value);
      }
    }
    return size * count;
  }

  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<CurlTransport*>(self)->should_stop() ? 1 : 0;
  }

  static Failure interrupted() {
    Failure failure;
    failure.code = Errc::interrupted;
    failure.what = "interrupted";
    return failure;
  }

  static Failure multi_failure(CURLMcode code) {
    Failure failure;
    failure.code = Errc::internal;
    failure.what = std::string("libcurl failed: ") + curl_multi_strerror(code);
    return failure;
  }

  long os_errno() const {
    long err = 0;
    curl_easy_getinfo(m_easy, CURLINFO_OS_ERRNO, &err);
    return err;
  }

  // Classifies a libcurl failure the way the API spec asks: what a retry can fix (DNS, connect,
  // timeouts, resets, truncated or corrupt bodies) is retryable; what it cannot (a bad URL, a
  // certificate that does not verify) fails at once.
  Failure transfer_failure(CURLcode code, std::string_view url) const {
    Failure failure;
    failure.code = Errc::network;
    failure.retryable = true;
    bool with_curl_text = false;
    switch (code) {
    case CURLE_ABORTED_BY_CALLBACK:
      return interrupted();
    case CURLE_COULDNT_RESOLVE_HOST:
      failure.what = "cannot resolve host \"" + host_of(url) + "\"";
      failure.hint = "check base_url and the network connection";
      break;
    case CURLE_COULDNT_RESOLVE_PROXY:
      failure.what = "cannot resolve the proxy host";
      break;
    case CURLE_COULDNT_CONNECT:
      if (const long err = os_errno(); err == ECONNREFUSED) {
        failure.what = "connection refused";
        failure.hint = "is the server running at " + m_server + "?";
      } else {
        failure.what = "cannot connect to " + host_of(url);
        if (err != 0) {
          failure.what += std::string(": ") + lower_first(std::strerror(static_cast<int>(err)));
        }
      }
      break;
    case CURLE_OPERATION_TIMEDOUT:
      failure.what = "timed out";
      failure.hint = "the request time limit is " + std::to_string(m_timeout.count()) + " ms";
      break;
    case CURLE_PARTIAL_FILE:
      failure.what = "the response body was cut short";
      break;
    case CURLE_RECV_ERROR:
      failure.what = os_errno() == ECONNRESET ? "connection reset by the server"
                                              : "connection lost while receiving the response";
      break;
    case CURLE_SEND_ERROR:
      failure.what = os_errno() == ECONNRESET ? "connection reset by the server"
                                              : "connection lost while sending the request";
      break;
    case CURLE_GOT_NOTHING:
      failure.what = "the server closed the connection without a response";
      break;
    case CURLE_BAD_CONTENT_ENCODING:
      failure.what = "the compressed response body is corrupt";
      break;
    case CURLE_WEIRD_SERVER_REPLY:
      failure.code = Errc::protocol;
      failure.what = "the server sent a malformed HTTP response";
      with_curl_text = true;
      break;
    case CURLE_WRITE_ERROR:
      if (m_too_large) {
        // Not transient: the same request would bring the same flood.
        failure.code = Errc::protocol;
        failure.retryable = false;
        failure.what = "the response body is larger than " + bytes_text(m_max_body);
        failure.hint = "a server error, or pages larger than api.max_response_bytes allows; "
                       "raise it or lower download.default_page_size";
      } else {
        failure.code = Errc::internal;
        failure.retryable = false;
        failure.what = m_out_of_memory ? "out of memory while receiving the response"
                                       : "cannot store the response";
      }
      break;
    case CURLE_SSL_CONNECT_ERROR:
      if (is_plain_http_answer(m_error_text.data())) {
        // A retry cannot help: the server answered the TLS handshake in plain HTTP.
        failure.code = Errc::config;
        failure.retryable = false;
        failure.what = "the server at " + m_server + " does not speak https";
        failure.hint = "use http:// in api.base_url if it is a plain HTTP server";
        with_curl_text = true;
        break;
      }
      failure.what = lower_first(curl_easy_strerror(code));
      with_curl_text = true;
      break;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_AGAIN:
      failure.what = lower_first(curl_easy_strerror(code));
      with_curl_text = true;
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
      if (is_http_url(url)) {
        // The URL was fine: libcurl says this of an answer that is no HTTP at all (it takes a
        // missing status line for HTTP/0.9, which it refuses).
        failure.code = Errc::protocol;
        failure.what = "the server sent a malformed HTTP response";
        with_curl_text = true;
        break;
      }
      [[fallthrough]];
    case CURLE_URL_MALFORMAT:
      failure.code = Errc::config;
      failure.retryable = false;
      failure.what = "invalid URL";
      failure.hint = "base_url must start with https:// or http://";
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      failure.retryable = false;
      failure.what = "the server's TLS certificate cannot be verified";
      failure.hint = "is base_url the right host?";
      with_curl_text = true;
      break;
    case CURLE_OUT_OF_MEMORY:
      failure.code = Errc::internal;
      failure.retryable = false;
      failure.what = "out of memory";
      break;
    default:
      failure.retryable = false;
      failure.what = lower_first(curl_easy_strerror(code));
      with_curl_text = true;
      break;
    }
    // libcurl's own words add what a TLS or protocol failure was about.
    if (with_curl_text && m_error_text[0] != '\0') {
      failure.detail = sanitise_server_text(m_error_text.data(), "", 200);
    }
    return failure;
  }

  const std::atomic<bool>* m_stop;
  std::chrono::milliseconds m_timeout;
  std::size_t m_max_body;       // ClientOptions::max_response_bytes
  bool m_too_large = false;     // the current body went past `m_max_body`
  bool m_out_of_memory = false; // the current body could not be stored
  std::string m_server;         // base_url for messages: no user information, no trailing '/'
  CURL* m_easy = nullptr;
  CURLM* m_multi = nullptr;
  curl_slist* m_headers = nullptr;
  CURLcode m_setup = CURLE_OK;
  std::array<char, CURL_ERROR_SIZE> m_error_text{};
  HttpResponse m_response;
  std::string m_spare_body; // the last body handed back (recycle), for the next response
  std::atomic<bool> m_cancelled{false};
};

} // namespace

std::unique_ptr<Transport> make_curl_transport(const ClientOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

} // namespace bdd::api
