// PageStream: `concurrency` workers, one Client each, fetching pages ahead of the consumer.
//
// All state lives under one mutex. The consumer needs the events from position `m_next_needed`
// on. The request for a position q > 0 starts at q - 1 (the seam: the event the previous page
// ended with, re-read so the consumer can check that the list did not shift) and asks for
// `page_size + 1` events; the one for q = 0 starts at 0. A response starting at s with n events
// serves q when it holds the seam and q: s + adj <= q < s + n (adj is 1 when a seam is needed,
// else 0); it is sliced so that the page handed out starts exactly at `m_next_needed`, which then
// advances by the number of events handed out. That one rule makes the output contiguous however
// the server caps `limit`, whatever order responses arrive in, and even when prefetch guesses
// wrong.
//
// Prefetch: once the effective response length L is known (the length of a response that is not
// the last; the server may cap `limit`), requests go out for positions m_next_needed + k*(L-adj),
// below the latest `total`, keeping at most `concurrency` requests outstanding, about
// 2 * `concurrency` pages and `max_buffered_bytes` in memory. When nothing buffered, queued or in
// flight covers m_next_needed, it is requested regardless. A server that caps pages at one event
// leaves no room for the overlap: requests then start at their position.
//
// The end (see StreamEnd): a response shows the list ends at m_next_needed (the last page handed
// out reported a total equal to its end, or the request for m_next_needed brought nothing after
// the seam), or m_next_needed reaches the total of the latest-sent request answered. An empty
// prefetched page only stops prefetch beyond it; the position is asked again once it is needed.

#include "client.hpp"

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <deque>
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
        m_max_buffered_bytes(options.max_buffered_bytes),
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
      // Pages first: events are never dropped because of a total.
      if (auto page = take_page()) {
        schedule();
        return std::optional<Page>(std::move(*page));
      }
      if (m_end_at == m_next_needed) {
        m_end.offset = m_next_needed;
        finish(m_ended_before_total);
        continue;
      }
      if (confirmed_end_here()) {
        m_end = {StreamEnd::Kind::confirmed, m_next_needed, std::nullopt};
        finish(false);
        continue;
      }
      if (const auto total = usable_total(); total && m_next_needed >= *total) {
        m_end = {StreamEnd::Kind::by_total, m_next_needed, std::nullopt};
        finish(false);
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

  StreamEnd end() const override {
    const std::lock_guard lock(m_mutex);
    return m_end;
  }

  bool ended_before_total() const override {
    const std::lock_guard lock(m_mutex);
    return m_ended_before_total;
  }

  std::optional<std::uint64_t> latest_total() const override {
    const std::lock_guard lock(m_mutex);
    return m_total;
  }

  std::optional<std::uint64_t> inconsistent_total() const override {
    const std::lock_guard lock(m_mutex);
    return m_inconsistent_total;
  }

  bool overlapping() const override {
    const std::lock_guard lock(m_mutex);
    return m_overlap;
  }

private:
  void work(Client& client) {
    std::unique_lock lock(m_mutex);
    while (true) {
      m_work_ready.wait(lock, [this] { return m_shutdown || !m_queued.empty(); });
      if (m_shutdown) {
        return;
      }
      const std::uint64_t start = *m_queued.begin();
      m_queued.erase(m_queued.begin());
      if (!worth_fetching(start)) {
        schedule();
        m_page_ready.notify_all();
        continue;
      }
      const std::uint64_t sequence = ++m_sent;
      const std::uint64_t limit = request_limit();
      const auto in_flight = m_in_flight.insert(start);
      lock.unlock();
      auto result = client.fetch_page(start, limit);
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
        accept(start, limit, sequence, std::move(*result));
        schedule();
      } else {
        fail(std::move(result).error());
      }
      m_page_ready.notify_all();
    }
  }

  // 1 when a page for `position` must start with the event before it (the seam), else 0.
  std::uint64_t seam_length(std::uint64_t position) const {
    return position > 0 && m_overlap ? 1 : 0;
  }

  // Where the request for `position` starts.
  std::uint64_t request_start(std::uint64_t position) const {
    return position - seam_length(position);
  }

  std::uint64_t request_limit() const { return m_page_size + (m_overlap ? 1 : 0); }

  // The number of events a request is expected to bring.
  std::uint64_t expected_length() const { return m_page_length.value_or(request_limit()); }

  // Whether a page handed out ended at its own total here, and no later total says more.
  bool confirmed_end_here() const {
    return m_confirmed_end == m_next_needed && !(usable_total() && *usable_total() > m_next_needed);
  }

  // The latest total, unless a response showed totals cannot be trusted to end the stream.
  std::optional<std::uint64_t> usable_total() const {
    return m_inconsistent_total ? std::nullopt : m_total;
  }

  // Requests for positions at or beyond this are not prefetched: the latest total, or a
  // position a response already showed empty.
  std::uint64_t prefetch_limit() const {
    std::uint64_t limit = usable_total().value_or(UINT64_MAX);
    if (m_empty_floor) {
      limit = std::min(limit, *m_empty_floor);
    }
    return limit;
  }

  // Whether a queued request (by its start) still may bring events the consumer will need.
  bool worth_fetching(std::uint64_t start) const {
    const std::uint64_t needed_start = request_start(m_next_needed);
    if (start <= needed_start) {
      return start + expected_length() > m_next_needed;
    }
    return start + seam_length(start + 1) < prefetch_limit();
  }

  // Whether a response starting at `start` with `length` events serves `position`, seam included.
  bool serves(std::uint64_t start, std::uint64_t length, std::uint64_t position) const {
    return start + seam_length(position) <= position && position < start + length;
  }

  // Whether a buffered page, a request in flight or a queued one covers `position`.
  bool covered(std::uint64_t position) const {
    for (const auto& [start, page] : m_buffered) {
      if (serves(start, page.events.size(), position)) {
        return true;
      }
    }
    const auto by_request = [&](std::uint64_t start) {
      return serves(start, expected_length(), position);
    };
    return std::any_of(m_in_flight.begin(), m_in_flight.end(), by_request)
           || std::any_of(m_queued.begin(), m_queued.end(), by_request);
  }

  void enqueue(std::uint64_t start) {
    if (m_queued.insert(start).second) {
      m_work_ready.notify_one();
    }
  }

  // Where the responses held or awaited that serve `position` end (the furthest), if any.
  std::optional<std::uint64_t> coverage_end(std::uint64_t position) const {
    std::optional<std::uint64_t> end;
    const auto extend = [&](std::uint64_t start, std::uint64_t length) {
      if (serves(start, length, position)) {
        end = std::max(end.value_or(0), start + length);
      }
    };
    for (const auto& [start, page] : m_buffered) {
      extend(start, page.events.size());
    }
    for (const std::uint64_t start : m_in_flight) {
      extend(start, expected_length());
    }
    for (const std::uint64_t start : m_queued) {
      extend(start, expected_length());
    }
    return end;
  }

  // Queues the request for `m_next_needed` unless something covers it, then prefetch requests,
  // each for the position where the responses held or awaited before it end, so that they chain
  // with the one-event overlap and none is wasted.
  void schedule() {
    if (m_shutdown || m_finished || m_error) {
      return;
    }
    if (m_end_at == m_next_needed || confirmed_end_here()) {
      return; // the end: next() finishes the stream
    }
    if (const auto total = usable_total(); total && m_next_needed >= *total) {
      return;
    }
    if (!covered(m_next_needed)) {
      enqueue(request_start(m_next_needed));
    }
    if (!m_page_length) {
      return; // one request at a time until the page length is known
    }
    const std::uint64_t limit = prefetch_limit();
    for (std::size_t k = 1; k < 2 * m_concurrency; ++k) {
      const std::size_t outstanding = m_queued.size() + m_in_flight.size();
      if (outstanding >= m_concurrency || outstanding + m_buffered.size() >= 2 * m_concurrency
          || m_buffered_bytes >= m_max_buffered_bytes) {
        break;
      }
      std::uint64_t position = m_next_needed;
      while (const auto end = coverage_end(position)) {
        if (*end <= position) {
          break;
        }
        position = *end;
      }
      if (position >= limit || covered(position)) {
        break; // past the end
      }
      enqueue(request_start(position));
    }
  }

  // A server that ignores `offset` answers every request with the same events: without this
  // check, and without a total, the stream would request forever. Two responses for ranges of
  // positions that share at most one (the seam), with the same length and first and last event, are
  // taken for that: a list would have to shift by a whole page between two requests to look the
  // same (the run then fails and the next one goes on).
  void check_offset_honoured(std::uint64_t start, const Page& page) {
    if (page.events.size() < 2) {
      return; // one event says too little: a server may list the same event twice
    }
    RecentResponse response{
        start, page.events.size(), page.events.front().id, page.events.back().id};
    for (const RecentResponse& other : m_recent_responses) {
      // At most the seam in common: the same events at two places of one list.
      const bool disjoint =
          other.start + other.count <= start + 1 || start + response.count <= other.start + 1;
      if (disjoint && other.count == response.count && other.first == response.first
          && other.last == response.last) {
        fail(Error(Errc::protocol,
                   "the server returns the same events for offsets " + std::to_string(other.start)
                       + " and " + std::to_string(start)
                       + ": it seems to ignore `offset`, so bdd stopped instead of requesting "
                         "the same page forever (check that base_url is the Behaverse API)"));
        return;
      }
    }
    m_recent_responses.push_back(std::move(response));
    if (m_recent_responses.size() > k_recent_responses) {
      m_recent_responses.pop_front();
    }
  }

  // Takes in the response to the request sent as number `sequence`, at `start` for `limit`.
  void accept(std::uint64_t start, std::uint64_t limit, std::uint64_t sequence, Page page) {
    check_offset_honoured(start, page);
    if (m_error) {
      return;
    }
    const std::uint64_t count = page.events.size();
    if (page.total && start + count > *page.total && !m_inconsistent_total) {
      m_inconsistent_total = page.total;
    }
    if (page.total && sequence > m_total_sequence) {
      m_total = page.total;
      m_total_sequence = sequence;
    }
    if (count > 0 && (page.total ? start + count < *page.total : !m_page_length)) {
      // Not the last page, so its length is what the server allows per request.
      if (count == 1 && limit > 1 && m_overlap) {
        // Pages of one event leave no room for the seam: then request positions themselves
        // (the caller checks the seams it no longer gets). With totals, one short page under
        // load is not that: it takes two.
        if (!page.total || ++m_single_event_pages >= 2) {
          m_overlap = false;
          m_page_length = 1;
        }
      } else {
        m_page_length = std::min(count, limit);
      }
    }
    const std::uint64_t needed_start = request_start(m_next_needed);
    const std::uint64_t seam = seam_length(m_next_needed);
    // Only the seam, while the total says more and no longer page was seen: the cap may be one
    // event; asked again (see above), it is not the end.
    const bool maybe_capped =
        seam == 1 && count == 1 && page.total && start + 1 < *page.total && !m_page_length;
    if (start == needed_start && count <= seam && !maybe_capped) {
      // Nothing at the needed position: the end of the list, with or without the seam.
      m_end_at = m_next_needed;
      m_ended_before_total = usable_total() && m_next_needed < *usable_total();
      if (seam == 1 && count == 1) {
        m_end = {StreamEnd::Kind::confirmed, m_next_needed, page.events.front().id};
      } else if (seam == 1) {
        m_end = {StreamEnd::Kind::seam_missing, m_next_needed, std::nullopt};
      } else {
        m_end = {StreamEnd::Kind::confirmed, m_next_needed, std::nullopt};
      }
      return;
    }
    if (count <= (m_overlap ? 1U : 0U) && start > needed_start) {
      const std::uint64_t floor = start + count;
      m_empty_floor = std::min(m_empty_floor.value_or(UINT64_MAX), floor);
      return;
    }
    if (m_empty_floor && start + count > *m_empty_floor) {
      m_empty_floor.reset(); // events were appended since that empty page
    }
    if (start + count <= m_next_needed) {
      return; // overtaken: every event in it was handed out already
    }
    const auto [it, inserted] = m_buffered.try_emplace(start, std::move(page));
    if (inserted) {
      m_buffered_bytes += it->second.bytes;
    } else if (it->second.events.size() < count) {
      m_buffered_bytes -= it->second.bytes;
      it->second = std::move(page);
      m_buffered_bytes += it->second.bytes;
    }
  }

  void forget(std::map<std::uint64_t, Page>::iterator it) {
    m_buffered_bytes -= std::min(m_buffered_bytes, it->second.bytes);
    m_buffered.erase(it);
  }

  // Removes and returns the buffered page that serves `m_next_needed`, sliced to start there
  // with its seam noted, and advances `m_next_needed` past it. Drops buffered pages that are
  // wholly behind.
  std::optional<Page> take_page() {
    auto best = m_buffered.end();
    for (auto it = m_buffered.begin(); it != m_buffered.end(); ++it) {
      const std::uint64_t end = it->first + it->second.events.size();
      if (serves(it->first, it->second.events.size(), m_next_needed)
          && (best == m_buffered.end() || end > best->first + best->second.events.size())) {
        best = it;
      }
    }
    if (best == m_buffered.end()) {
      return std::nullopt;
    }
    Page page = std::move(best->second);
    const std::uint64_t start = best->first;
    forget(best);
    const auto skip = static_cast<std::ptrdiff_t>(m_next_needed - start);
    if (skip > 0) {
      page.seam_id = page.events[static_cast<std::size_t>(skip - 1)].id;
    }
    page.events.erase(page.events.begin(), page.events.begin() + skip);
    page.offset = m_next_needed;
    assert(!page.events.empty());
    m_next_needed += page.events.size();
    // The response reported the list ending with its last event: nothing after it to ask for.
    if (page.total && *page.total == m_next_needed && !m_inconsistent_total) {
      m_confirmed_end = m_next_needed;
    }
    for (auto it = m_buffered.begin(); it != m_buffered.end();) {
      const auto here = it++;
      if (here->first + here->second.events.size() <= m_next_needed) {
        forget(here);
      }
    }
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
    m_buffered_bytes = 0;
    for (auto& client : m_clients) {
      client->cancel();
    }
    m_work_ready.notify_all();
    m_page_ready.notify_all();
  }

  struct RecentResponse {
    std::uint64_t start = 0;
    std::size_t count = 0;
    std::string first; // id of the first event
    std::string last;  // id of the last event
  };
  static constexpr std::size_t k_recent_responses = 8;

  const std::uint64_t m_page_size;
  const std::size_t m_concurrency;
  const std::uint64_t m_max_buffered_bytes;
  const std::atomic<bool>* m_stop;
  const std::function<void(model::Event&)> m_prepare_event;
  std::vector<std::unique_ptr<Client>> m_clients;
  std::vector<std::thread> m_workers;

  mutable std::mutex m_mutex;
  std::condition_variable m_work_ready; // workers wait for `m_queued` or `m_shutdown`
  std::condition_variable m_page_ready; // next() waits for responses
  std::uint64_t m_next_needed;          // the position the consumer needs next
  bool m_overlap = true;                // requests re-read the event before their position
  int m_single_event_pages = 0;         // responses of one event that were not the last
  std::optional<std::uint64_t> m_total; // from the latest-sent request answered with a total
  std::uint64_t m_total_sequence = 0;
  std::optional<std::uint64_t> m_inconsistent_total;
  std::optional<std::uint64_t> m_page_length;   // L, once known
  std::optional<std::uint64_t> m_end_at;        // the request for this position found nothing there
  std::optional<std::uint64_t> m_confirmed_end; // a page handed out ended at its own total
  std::optional<std::uint64_t> m_empty_floor;   // the lowest position a response showed empty
  StreamEnd m_end;
  std::set<std::uint64_t> m_queued; // request starts waiting for a worker, lowest first
  std::multiset<std::uint64_t> m_in_flight;
  std::map<std::uint64_t, Page> m_buffered; // responses not yet handed out, by start
  std::uint64_t m_buffered_bytes = 0;       // their `Page::bytes`
  std::deque<RecentResponse> m_recent_responses;
  std::uint64_t m_sent = 0; // requests sent so far
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
