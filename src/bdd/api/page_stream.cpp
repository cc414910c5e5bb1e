// PageStream: `concurrency` workers, one Client each, fetching pages ahead of the consumer.
//
// All state lives under one mutex. The consumer needs the events from `m_next_needed` on. A
// response for offset o with n events is usable when o <= m_next_needed < o + n; it is sliced so
// that the page handed out starts exactly at `m_next_needed`, which then advances by the number of
// events handed out. That one rule makes the output contiguous however the server caps `limit`,
// whatever order responses arrive in, and even when prefetch guesses wrong.
//
// Prefetch: once the effective page length L is known (the length of a page that is not the last;
// the server may cap `limit`), requests go out at m_next_needed + k*L, below the latest `total`,
// keeping at most `concurrency` requests outstanding and about 2 * `concurrency` pages in memory.
// When nothing buffered, queued or in flight covers m_next_needed, it is requested regardless.
//
// The end: m_next_needed reaches the total of the latest-sent request answered, or the request
// for m_next_needed itself comes back empty (an empty prefetched page only stops prefetch beyond
// it; the offset is asked again once it is needed).

#include "client.hpp"

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace bdd::api {

namespace {

constexpr int k_max_concurrency = 64;
// How often a waiting `next` looks at `StreamOptions::stop`.
constexpr std::chrono::milliseconds k_stop_poll{20};

class ConcurrentPageStream final : public PageStream {
public:
  ConcurrentPageStream(const StreamOptions& options,
                       const std::function<std::unique_ptr<Client>()>& make)
      : m_page_size(std::max<std::uint64_t>(1, options.page_size)),
        m_concurrency(
            static_cast<std::size_t>(std::clamp(options.concurrency, 1, k_max_concurrency))),
        m_stop(options.stop),
        m_prepare_event(options.prepare_event),
        m_next_needed(options.start_offset) {
    for (std::size_t i = 0; i < m_concurrency; ++i) {
      auto client = make ? make() : nullptr;
      if (!client) {
        m_error = Error(Errc::internal, "cannot create an API client");
        m_shutdown = true;
        return;
      }
      m_clients.push_back(std::move(client));
    }
    {
      const std::lock_guard lock(m_mutex);
      schedule();
    }
    m_workers.reserve(m_clients.size());
    try {
      for (auto& client : m_clients) {
        m_workers.emplace_back([this, &client] { work(*client); });
      }
    } catch (...) {
      // No thread to spare: stop the ones started, or their destructors would terminate.
      stop_and_join();
      throw;
    }
  }

  ConcurrentPageStream(const ConcurrentPageStream&) = delete;
  ConcurrentPageStream& operator=(const ConcurrentPageStream&) = delete;

  ~ConcurrentPageStream() override { stop_and_join(); }

  Result<std::optional<Page>> next() override {
    std::unique_lock lock(m_mutex);
    while (true) {
      if (m_error) {
        return *m_error;
      }
      if (m_finished) {
        return std::optional<Page>{};
      }
      if (m_stop != nullptr && m_stop->load()) {
        fail(Error(Errc::interrupted, "interrupted"));
        continue;
      }
      // The latest total decides the end, even if pages beyond it were buffered.
      if (m_total && m_next_needed >= *m_total) {
        finish(false);
        continue;
      }
      if (auto page = take_page()) {
        schedule();
        return std::optional<Page>(std::move(*page));
      }
      if (m_empty_at == m_next_needed) {
        finish(m_total && m_next_needed < *m_total);
        continue;
      }
      schedule();
      if (m_stop != nullptr) {
        m_page_ready.wait_for(lock, k_stop_poll);
      } else {
        m_page_ready.wait(lock);
      }
    }
  }

  bool ended_before_total() const override {
    const std::lock_guard lock(m_mutex);
    return m_ended_before_total;
  }

  std::optional<std::uint64_t> latest_total() const override {
    const std::lock_guard lock(m_mutex);
    return m_total;
  }

private:
  void work(Client& client) {
    std::unique_lock lock(m_mutex);
    while (true) {
      m_work_ready.wait(lock, [this] { return m_shutdown || !m_queued.empty(); });
      if (m_shutdown) {
        return;
      }
      const std::uint64_t offset = *m_queued.begin();
      m_queued.erase(m_queued.begin());
      if (!worth_fetching(offset)) {
        schedule();
        m_page_ready.notify_all();
        continue;
      }
      const std::uint64_t sequence = ++m_sent;
      const auto in_flight = m_in_flight.insert(offset);
      lock.unlock();
      auto result = client.fetch_page(offset, m_page_size);
      if (result && m_prepare_event) {
        try {
          for (model::Event& event : result->events) {
            m_prepare_event(event);
          }
        } catch (const std::exception& e) { // out of memory, say: end the stream with it
          result = Error(Errc::internal, std::string("cannot prepare events: ") + e.what());
        }
      }
      lock.lock();
      m_in_flight.erase(in_flight);
      if (m_shutdown) {
        return; // finished, failed or destroyed: nothing wants this response
      }
      if (result) {
        accept(offset, sequence, std::move(*result));
        schedule();
      } else {
        fail(std::move(result).error());
      }
      m_page_ready.notify_all();
    }
  }

  // The number of events a request at an offset is expected to bring.
  std::uint64_t expected_length() const { return m_page_length.value_or(m_page_size); }

  // Offsets at or beyond this are not prefetched: the latest total, or an offset the server
  // already answered with an empty page.
  std::uint64_t prefetch_limit() const {
    std::uint64_t limit = UINT64_MAX;
    if (m_total) {
      limit = std::min(limit, *m_total);
    }
    if (m_empty_floor) {
      limit = std::min(limit, *m_empty_floor);
    }
    return limit;
  }

  // Whether a queued request still may bring events the consumer will need.
  bool worth_fetching(std::uint64_t offset) const {
    if (offset <= m_next_needed) {
      return offset + expected_length() > m_next_needed;
    }
    return offset < prefetch_limit();
  }

  // Whether a buffered page, a request in flight or a queued one covers `offset`.
  bool covered(std::uint64_t offset) const {
    for (const auto& [start, page] : m_buffered) {
      if (start <= offset && offset < start + page.events.size()) {
        return true;
      }
    }
    const auto by_request = [&](std::uint64_t start) {
      return start <= offset && offset < start + expected_length();
    };
    return std::any_of(m_in_flight.begin(), m_in_flight.end(), by_request)
           || std::any_of(m_queued.begin(), m_queued.end(), by_request);
  }

  void enqueue(std::uint64_t offset) {
    if (m_queued.insert(offset).second) {
      m_work_ready.notify_one();
    }
  }

  // Queues the request for `m_next_needed` unless something covers it, then prefetch requests.
  void schedule() {
    if (m_shutdown || m_finished || m_error) {
      return;
    }
    if ((m_total && m_next_needed >= *m_total) || m_empty_at == m_next_needed) {
      return; // the end: next() finishes the stream
    }
    if (!covered(m_next_needed)) {
      enqueue(m_next_needed);
    }
    if (!m_page_length) {
      return; // one request at a time until the page length is known
    }
    const std::uint64_t limit = prefetch_limit();
    for (std::size_t k = 1; k < 2 * m_concurrency; ++k) {
      const std::size_t outstanding = m_queued.size() + m_in_flight.size();
      if (outstanding >= m_concurrency || outstanding + m_buffered.size() >= 2 * m_concurrency) {
        break;
      }
      const std::uint64_t offset = m_next_needed + k * *m_page_length;
      if (offset >= limit || offset < m_next_needed) {
        break; // past the end (or wrapped around)
      }
      if (!covered(offset)) {
        enqueue(offset);
      }
    }
  }

  // Takes in the response to the request sent as number `sequence`, for `offset`.
  void accept(std::uint64_t offset, std::uint64_t sequence, Page page) {
    if (page.total && sequence > m_total_sequence) {
      m_total = page.total;
      m_total_sequence = sequence;
    }
    const std::uint64_t count = page.events.size();
    if (count == 0) {
      if (offset == m_next_needed) {
        m_empty_at = offset;
      }
      m_empty_floor = std::min(m_empty_floor.value_or(UINT64_MAX), offset);
      return;
    }
    if (m_empty_floor && offset + count > *m_empty_floor) {
      m_empty_floor.reset(); // events were appended since that empty page
    }
    if (page.total ? offset + count < *page.total : !m_page_length) {
      // Not the last page, so its length is what the server allows per request.
      m_page_length = std::min(count, m_page_size);
    }
    if (offset + count <= m_next_needed) {
      return; // overtaken: every event in it was handed out already
    }
    const auto [it, inserted] = m_buffered.try_emplace(offset, std::move(page));
    if (!inserted && it->second.events.size() < count) {
      it->second = std::move(page);
    }
  }

  // Removes and returns the buffered page that covers `m_next_needed`, sliced to start there,
  // and advances `m_next_needed` past it. Drops buffered pages that are wholly behind.
  std::optional<Page> take_page() {
    auto best = m_buffered.end();
    for (auto it = m_buffered.begin(); it != m_buffered.end(); ++it) {
      const std::uint64_t end = it->first + it->second.events.size();
      if (it->first <= m_next_needed && m_next_needed < end
          && (best == m_buffered.end() || end > best->first + best->second.events.size())) {
        best = it;
      }
    }
    if (best == m_buffered.end()) {
      return std::nullopt;
    }
    Page page = std::move(best->second);
    const std::uint64_t start = best->first;
    m_buffered.erase(best);
    const auto skip = static_cast<std::ptrdiff_t>(m_next_needed - start);
    page.events.erase(page.events.begin(), page.events.begin() + skip);
    page.offset = m_next_needed;
    assert(!page.events.empty());
    m_next_needed += page.events.size();
    std::erase_if(m_buffered, [this](const auto& entry) {
      return entry.first + entry.second.events.size() <= m_next_needed;
    });
    return page;
  }

  void finish(bool before_total) {
    m_finished = true;
    m_ended_before_total = before_total;
    shut_down();
  }

  // Records the first error; the stream is over.
  void fail(Error error) {
    if (!m_error) {
      m_error = std::move(error);
    }
    shut_down();
  }

  void stop_and_join() {
    {
      const std::lock_guard lock(m_mutex);
      shut_down();
    }
    for (auto& worker : m_workers) {
      if (worker.joinable()) {
        worker.join();
      }
    }
  }

  // Stops the workers and interrupts their requests and retry waits.
  void shut_down() {
    if (m_shutdown) {
      return;
    }
    m_shutdown = true;
    m_queued.clear();
    m_buffered.clear();
    for (auto& client : m_clients) {
      client->cancel();
    }
    m_work_ready.notify_all();
    m_page_ready.notify_all();
  }

  const std::uint64_t m_page_size;
  const std::size_t m_concurrency;
  const std::atomic<bool>* m_stop;
  const std::function<void(model::Event&)> m_prepare_event;
  std::vector<std::unique_ptr<Client>> m_clients;
  std::vector<std::thread> m_workers;

  mutable std::mutex m_mutex;
  std::condition_variable m_work_ready; // workers wait for `m_queued` or `m_shutdown`
  std::condition_variable m_page_ready; // next() waits for responses
  std::uint64_t m_next_needed;          // the offset the consumer needs next
  std::optional<std::uint64_t> m_total; // from the latest-sent request answered with a total
  std::uint64_t m_total_sequence = 0;
  std::optional<std::uint64_t> m_page_length; // L, once known
  std::optional<std::uint64_t> m_empty_at;    // an empty page came back for `m_next_needed`
  std::optional<std::uint64_t> m_empty_floor; // the lowest offset answered with an empty page
  std::set<std::uint64_t> m_queued;           // waiting for a worker, lowest offset first
  std::multiset<std::uint64_t> m_in_flight;
  std::map<std::uint64_t, Page> m_buffered; // non-empty pages not yet handed out, by offset
  std::uint64_t m_sent = 0;                 // requests sent so far
  std::optional<Error> m_error;
  bool m_finished = false;
  bool m_shutdown = false;
  bool m_ended_before_total = false;
};

} // namespace

std::unique_ptr<PageStream> make_page_stream(const StreamOptions& options,
                                             const std::function<std::unique_ptr<Client>()>& make) {
  return std::make_unique<ConcurrentPageStream>(options, make);
}

} // namespace bdd::api
