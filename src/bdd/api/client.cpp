#include "client.hpp"

#include "transport.hpp"
#include "url.hpp"

#include <bdd/core/redact.hpp>
#include <bdd/model/json_text.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <random>

namespace bdd::api {

namespace {

using std::chrono::milliseconds;

// How often a retry wait looks at `ClientOptions::stop` (cancel() wakes it at once).
constexpr milliseconds k_stop_poll{20};

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

Failure protocol_failure(std::string what) {
  Failure failure;
  failure.code = Errc::protocol;
  failure.retryable = true;
  failure.what = std::move(what);
  return failure;
}

class HttpClient final : public Client {
public:
  HttpClient(std::unique_ptr<Transport> transport, const ClientOptions& options)
      : m_transport(std::move(transport)),
        m_options(options),
        m_max_attempts(1 + std::max(0, options.max_retries)),
        m_rng(std::random_device{}()) {
    m_policy.first_delay = std::max(milliseconds::zero(), options.retry_delay);
    m_policy.max_retry_after = k_max_retry_after;
    // Whatever prints what this client reports must not print its key either.
    register_secret(options.api_key);
  }

  Result<Page> fetch_page(std::uint64_t offset, std::uint64_t limit) override {
    const std::string url = events_url(m_options.base_url, m_options.study, offset, limit);
    const std::string shown_url = redact(url, m_options.api_key);
    if (m_options.api_key.empty() || has_control_character(m_options.api_key)) {
      // Never send a placeholder or a key that would corrupt the request headers.
      Failure failure;
      failure.code = Errc::config;
      failure.what = m_options.api_key.empty()
                         ? "no API key"
                         : "the API key contains a line break or another control character";
      return to_error(failure, shown_url, 1, m_options.api_key);
    }
    milliseconds waited{0};
    for (int attempt = 1;; ++attempt) {
      if (stopping()) {
        return interrupted(shown_url);
      }
      RequestNotice request;
      const auto sent = std::chrono::steady_clock::now();
      auto outcome = attempt_once(url, offset, request);
      if (m_options.on_request) {
        request.shown_url = shown_url;
        request.elapsed =
            std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - sent);
        request.attempt = attempt;
        if (const auto* failure = std::get_if<Failure>(&outcome)) {
          request.failure = redact(failure->what, m_options.api_key);
        }
        m_options.on_request(request);
      }
      if (auto* page = std::get_if<Page>(&outcome)) {
        page->attempts = attempt;
        page->waited = waited;
        return std::move(*page);
      }
      Failure& failure = std::get<Failure>(outcome);
      if (failure.code == Errc::interrupted) {
        return interrupted(shown_url);
      }
      if (!failure.retryable || attempt >= m_max_attempts) {
        return to_error(failure, shown_url, attempt, m_options.api_key);
      }
      const milliseconds delay =
          failure.retry_after ? *failure.retry_after : backoff_delay(m_policy, attempt, m_rng);
      if (m_options.wait_budget && !m_options.wait_budget->take(delay)) {
        // A server that keeps asking for long waits must not hold a cron job for hours.
        failure.retryable = false;
        failure.hint = "bdd stopped retrying: waiting " + delay_text(delay)
                       + " more would take this run's retry waits past "
                       + delay_text(m_options.wait_budget->limit())
                       + " (api.max_total_wait_seconds)";
        return to_error(failure, shown_url, attempt, m_options.api_key);
      }
      if (m_options.on_retry) {
        RetryNotice notice;
        notice.shown_url = shown_url;
        notice.reason = redact(failure.what, m_options.api_key);
        notice.delay = delay;
        notice.server_asked = failure.retry_after.has_value();
        notice.retry = attempt;
        notice.max_retries = m_max_attempts - 1;
        m_options.on_retry(notice);
      }
      if (!wait(delay)) {
        return interrupted(shown_url);
      }
      waited += delay;
    }
  }

  void cancel() override {
    {
      const std::lock_guard lock(m_mutex);
      m_cancelled = true;
    }
    m_wake.notify_all();
    m_transport->cancel();
  }

private:
  std::variant<Page, Failure>
  attempt_once(const std::string& url, std::uint64_t offset, RequestNotice& notice) {
    auto outcome = m_transport->get(url);
    if (auto* failure = std::get_if<Failure>(&outcome)) {
      return std::move(*failure);
    }
    auto& response = std::get<HttpResponse>(outcome);
    notice.status = response.status;
    notice.bytes = response.body.size();
    if (response.status == 200) {
      auto page = parse_page_body(response.body, offset);
      m_transport->recycle(std::move(response.body));
      return page;
    }
    if (response.status >= 200 && response.status <= 299) {
      // Only a 200 carries a page; a 204 is no "200 with an empty body", whatever its bytes.
      std::string what = "HTTP " + std::to_string(response.status);
      if (const auto reason = reason_phrase(response.status); !reason.empty()) {
        what += ' ';
        what += reason;
      }
      auto failure = protocol_failure(what + " instead of 200 with a page of events");
      return failure;
    }
    return classify_status(response.status,
                           response.body,
                           response.retry_after,
                           response.location,
                           m_options.api_key,
                           m_policy);
  }

  bool stopping() const {
    if (m_options.stop != nullptr && m_options.stop->load()) {
      return true;
    }
    const std::lock_guard lock(m_mutex);
    return m_cancelled;
  }

  // Sleeps `delay`; false if stopped or cancelled first.
  bool wait(milliseconds delay) {
    const auto deadline = std::chrono::steady_clock::now() + delay;
    std::unique_lock lock(m_mutex);
    while (!m_cancelled) {
      if (m_options.stop != nullptr && m_options.stop->load()) {
        return false;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        return true;
      }
      const auto until =
          m_options.stop != nullptr ? std::min(deadline, now + k_stop_poll) : deadline;
      m_wake.wait_until(lock, until);
    }
    return false;
  }

  Error interrupted(std::string_view shown_url) const {
    Failure failure;
    failure.code = Errc::interrupted;
    failure.what = "interrupted";
    return to_error(failure, shown_url, 1, m_options.api_key);
  }

  std::unique_ptr<Transport> m_transport;
  ClientOptions m_options;
  RetryPolicy m_policy;
  int m_max_attempts;
  std::mt19937_64 m_rng;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_cancelled = false;
};

} // namespace

bool WaitBudget::take(milliseconds delay) {
  const std::int64_t wanted = std::max<std::int64_t>(0, delay.count());
  std::int64_t taken = m_taken_ms.load();
  do {
    if (taken + wanted > m_limit.count()) {
      return false;
    }
  } while (!m_taken_ms.compare_exchange_weak(taken, taken + wanted));
  return true;
}

milliseconds WaitBudget::taken() const {
  return milliseconds{m_taken_ms.load()};
}

std::unique_ptr<Client> make_client(std::unique_ptr<Transport> transport,
                                    const ClientOptions& options) {
  return std::make_unique<HttpClient>(std::move(transport), options);
}

std::unique_ptr<Client> make_client(const ClientOptions& options) {
  return make_client(make_curl_transport(options), options);
}

std::variant<Page, Failure> parse_page_body(std::string_view body, std::uint64_t offset) {
  // No document is built: one pass validates the body, strips its whitespace and notes where the
  // top-level members and the elements of their arrays lie; each event's bytes are then cut out
  // of that text and normalised from it. This keeps every event exactly as the server wrote it
  // (keys in its order) and costs a fraction of a DOM. The pass bounds the nesting depth (of the
  // body, and of each event on its own) and skips over events it cannot read, so that one bad
  // event becomes one unusable event instead of a page that can never be read.
  std::string compact;
  compact.reserve(body.size());
  model::JsonOutline outline;
  if (!model::append_minified_json(body, compact, outline)) {
    return protocol_failure(body.empty() ? "HTTP 200 with an empty body"
                                         : "HTTP 200 with a body that is not valid JSON");
  }
  if (compact[0] != '{') {
    return protocol_failure("HTTP 200 with a body that is not a JSON object");
  }
  // A repeated key keeps its last value, as document parsers do.
  const model::JsonOutline::Member* events = nullptr;
  std::string_view total;
  for (const auto& member : outline.members) {
    const std::string_view key = member.key.in(compact);
    if (model::string_equals(key, "events")) {
      events = &member;
    } else if (model::string_equals(key, "total")) {
      total = member.value.in(compact);
    }
  }
  if (events == nullptr || compact[events->value.begin] != '[') {
    return protocol_failure("HTTP 200 with no \"events\" array in the body");
  }
  Page page;
  page.offset = offset;
  page.bytes = body.size();
  if (!total.empty() && total != "null") {
    std::uint64_t number = 0;
    const char* last = total.data() + total.size();
    const auto [end, error] = std::from_chars(total.data(), last, number);
    if (error != std::errc() || end != last) {
      // Negative, fractional, too large or not a number at all. Shown as sent (it is compact
      // and within the depth bound), cut short.
      return protocol_failure("HTTP 200 with a \"total\" that is not a non-negative integer: "
                              + sanitise_server_text(total, "", 40));
    }
    page.total = number;
  }
  page.events.reserve(events->elements.size());
  auto unusable = events->unusable.begin();
  for (std::size_t i = 0; i < events->elements.size(); ++i) {
    if (unusable != events->unusable.end() && unusable->element == i) {
      page.events.push_back(model::unusable_event(unusable->raw.in(body), unusable->reason));
      ++unusable;
      continue;
    }
    const std::string_view raw = events->elements[i].in(compact);
    if (raw[0] != '{') {
      page.events.push_back(model::unusable_event(raw, "not a JSON object"));
      continue;
    }
    try {
      page.events.push_back(model::normalise_compact(std::string(raw)));
    } catch (const std::exception& e) {
      // normalise_compact() promises not to fail; if it does, that is a bug, not a bad page.
      Failure failure;
      failure.code = Errc::internal;
      failure.what = "cannot normalise event " + std::to_string(i) + " of the page: " + e.what();
      return failure;
    }
  }
  return page;
}

} // namespace bdd::api
