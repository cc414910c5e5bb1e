#include "remote.hpp"

#include "connection.hpp"
#include "study.hpp"

#include <bdd/core/format.hpp>

#include <algorithm>
#include <cmath>

namespace bdd::ops {

namespace {

using Clock = std::chrono::steady_clock;

// Bytes on disk per byte of API response, the one table of them: what a flat-layout download of
// the demo study (bdd-demo-server's default demo-study, 300,000 generated events of both shapes,
// 608 response bytes each) left in its data files, bdd's `.bdd/` and dot files not counted, over
// the response bytes of the same events (the server's bytes_served / events_served); measured on
// 2026-12-07 with the Release build of commit a735445, page size 1000: json 261,070,983 bytes,
// jsonl 260,770,979, csv 247,963,638, sqlite 276,832,256, parquet 27,818,644 (one compacted
// part, as the download leaves it; ZSTD on generated events, which repeat more than real ones
// may, so that ratio is the least certain). A nested `storage.folder_structure` changes the text
// formats by under 2% (bench/results-reference.json). A format missing here fails to compile
// (-Wswitch).
constexpr double disk_ratio(Format format) {
  switch (format) {
  case Format::json:
    return 1.43;
  case Format::jsonl:
    return 1.43;
  case Format::csv:
    return 1.36;
  case Format::sqlite:
    return 1.52;
  case Format::parquet:
    return 0.15;
  }
  return 1.0;
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return a / b + (a % b == 0 ? 0 : 1);
}

std::optional<std::string> stored_time(const model::Event& event) {
  if (!event.stored_timestamp || event.stored_timestamp->empty()) {
    return std::nullopt;
  }
  return event.stored_timestamp;
}

// The requests of one `remote_info`, each timed and added to the sample.
class Sampler {
public:
  Sampler(const config::Config& config, RemoteInfo& info)
      : m_client(api::make_client(client_options(config))),
        m_info(info) {}

  Result<api::Page> fetch(std::uint64_t offset, std::uint64_t limit) {
    const auto started = Clock::now();
    BDD_TRY_ASSIGN(api::Page page, m_client->fetch_page(offset, limit));
    m_elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    m_info.requests += 1;
    if (!page.events.empty()) {
      // An empty answer has only the envelope: it would make events look bigger.
      m_info.sampled_pages += 1;
      m_info.sampled_events += page.events.size();
      m_info.sampled_bytes += page.bytes;
    }
    if (page.total) {
      m_info.remote_total = page.total;
    }
    return page;
  }

  // The time of the last request, retries included.
  std::chrono::microseconds elapsed() const { return m_elapsed; }

private:
  std::unique_ptr<api::Client> m_client;
  RemoteInfo& m_info;
  std::chrono::microseconds m_elapsed{0};
};

TimeEstimate estimate_time(std::uint64_t total,
                           std::uint64_t page_size,
                           int concurrency,
                           std::chrono::microseconds latency) {
  TimeEstimate out;
  out.page_size = std::max<std::uint64_t>(1, page_size);
  out.concurrency = std::max(1, concurrency);
  out.pages = ceil_div(total, out.page_size);
  out.rounds = ceil_div(out.pages, static_cast<std::uint64_t>(out.concurrency));
  out.latency = latency;
  out.time = latency * static_cast<std::int64_t>(out.rounds);
  return out;
}

} // namespace

RemoteComparison compare_counts(std::uint64_t local_events, std::uint64_t remote_total) {
  RemoteComparison out;
  out.remote_total = remote_total;
  out.local_events = local_events;
  out.new_events = remote_total > local_events ? remote_total - local_events : 0;
  out.fewer_on_server = local_events > remote_total ? local_events - remote_total : 0;
  return out;
}

Result<RemoteComparison> compare_with_remote(const config::Config& config) {
  BDD_TRY_ASSIGN(auto status, study_status(config));
  BDD_TRY_ASSIGN(std::uint64_t total, remote_total(config));
  return compare_counts(status.metadata ? status.metadata->events_stored : 0, total);
}

Result<ConnectionCheck> check_connection(const config::Config& config) {
  auto started = Clock::now();
  BDD_TRY_ASSIGN(std::uint64_t total, remote_total(config));
  ConnectionCheck out;
  out.remote_total = total;
  out.latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return out;
}

Result<RemoteInfo> remote_info(const config::Config& config) {
  BDD_TRY_ASSIGN(auto status, study_status(config));
  RemoteInfo info;
  if (status.metadata) {
    info.local_events = status.metadata->events_stored;
  }
  const auto page_size = static_cast<std::uint64_t>(std::max(1, config.page_size));
  Sampler sampler(config, info);

  // 1. The first event: the total, the oldest stored time, the key accepted.
  BDD_TRY_ASSIGN(api::Page first, sampler.fetch(0, 1));
  auto latency = sampler.elapsed();
  info.timed_events = first.events.size();
  if (!first.events.empty()) {
    info.oldest_stored = stored_time(first.events.front());
  }
  std::uint64_t download_page = page_size;
  if (first.total && *first.total <= first.events.size()) {
    // The whole list (empty, or one event) is in this answer.
    if (!first.events.empty()) {
      info.newest_stored = stored_time(first.events.back());
    }
  } else if (!first.events.empty()) {
    // 2. The last page at the download's page size (the first one when the end is unknown): a
    // request like each of a download's, on the connection the first one opened.
    const std::uint64_t offset =
        info.remote_total && *info.remote_total > page_size ? *info.remote_total - page_size : 0;
    BDD_TRY_ASSIGN(api::Page last, sampler.fetch(offset, page_size));
    latency = sampler.elapsed();
    info.timed_events = last.events.size();
    if (info.remote_total) {
      const std::uint64_t end = offset + last.events.size();
      if (end >= *info.remote_total) {
        if (!last.events.empty()) {
          info.newest_stored = stored_time(last.events.back());
        }
      } else {
        if (!last.events.empty() && last.events.size() < page_size) {
          download_page = last.events.size(); // short of the end: the server caps pages
        }
        // 3. The list grew since the first request, or the page stopped short: the last event.
        BDD_TRY_ASSIGN(api::Page newest, sampler.fetch(*info.remote_total - 1, 1));
        if (!newest.events.empty()) {
          info.newest_stored = stored_time(newest.events.back());
        }
      }
    }
  }

  if (info.sampled_events > 0) {
    info.bytes_per_event =
        static_cast<double>(info.sampled_bytes) / static_cast<double>(info.sampled_events);
  }
  if (!info.remote_total) {
    return info;
  }
  const std::uint64_t total = *info.remote_total;
  if (info.local_events) {
    info.comparison = compare_counts(*info.local_events, total);
  }
  if (total == 0) {
    return info;
  }
  info.time = estimate_time(total, download_page, config.max_concurrent_requests, latency);
  if (info.bytes_per_event) {
    for (const FormatInfo& format : formats()) {
      const double ratio = disk_ratio(format.format);
      info.sizes.push_back({format.name,
                            ratio,
                            static_cast<std::uint64_t>(std::llround(
                                static_cast<double>(total) * *info.bytes_per_event * ratio))});
    }
  }
  return info;
}

} // namespace bdd::ops
