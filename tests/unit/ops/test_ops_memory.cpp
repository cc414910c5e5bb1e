// ops::download's memory stays bounded however large the events and however slow the disk: the
// page stream holds a bounded number of pages, and the committing stage at most two batches,
// each cut at k_commit_bytes (plus the page that crossed it).

#include "scripted_server.hpp"

#include <bdd/ops/download.hpp>

#include <catch2/catch.hpp>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

namespace {

using namespace ops_test;

// Bytes the process has allocated with malloc: small chunks in the arenas and the big ones
// (2 MiB events) mapped on their own.
std::size_t heap_in_use() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// The peak of heap_in_use() while it lives, sampled every 5 ms.
class HeapSampler {
public:
  HeapSampler() : m_peak(heap_in_use()), m_thread([this] { sample(); }) {}
  ~HeapSampler() { stop(); }
  std::size_t stop() {
    m_done = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
    return m_peak;
  }

private:
  void sample() {
    while (!m_done) {
      m_peak = std::max(m_peak.load(), heap_in_use());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::atomic<std::size_t> m_peak;
  std::atomic<bool> m_done{false};
  std::thread m_thread;
};

} // namespace

TEST_CASE("ops::download keeps memory bounded with big events and a slow disk", "[ops][memory]") {
  constexpr std::size_t mib = std::size_t{1} << 20;
  TempDir dir;
  ScriptedServer server;
  server.padding = 2 * mib; // every event about 2 MiB: a page of 4 is 8 MiB
  server.cap = 4;
  server.append(150); // 300 MiB in all
  auto config = make_config(dir.path(), "jsonl");
  config.page_size = 4;
  config.max_concurrent_requests = 3;
  bdd::ops::DownloadOptions options;
  options.make_client = [&server] { return std::make_unique<ScriptedClient>(server); };
  // The disk is the bottleneck: pages pile up unless something holds them back.
  options.before_commit_write = [] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); };

  const std::size_t before = heap_in_use();
  HeapSampler sampler;
  auto result = bdd::ops::download(config, options);
  const std::size_t peak = sampler.stop();
  REQUIRE(result);
  CHECK(result->run.events_added == 150);

  // The bound, from the limits, with P = one page of 8 MiB (response bytes; 10 MiB once
  // formatted, the writer reserving a quarter more):
  //  - the page stream holds at most 2 x concurrency pages, received or requested (its byte
  //    limit, max_buffered_bytes = 32 MiB, only stops prefetching past that): 6 x 10 MiB, plus
  //    the raw bodies of the 3 pages being formatted on the fetching threads: 3 x 8 MiB;
  //  - the page being consumed: 10 MiB;
  //  - the writer's two batches (the one being committed and the one being filled), each cut at
  //    the first page that takes it past k_commit_bytes (4 MiB): 2 x (4 MiB + P) = 24 MiB;
  //  - the id filter of a first download: 4 MiB;
  // 122 MiB, and 38 MiB of slack (the allocator, the scripted clients building responses).
  // Measured: 137 MiB, the same with a fast disk and with twice the events. Without the byte
  // limit on batches the writer holds what arrives while a commit waits: 375 MiB here.
  const std::size_t grown = peak > before ? peak - before : 0;
  INFO("peak heap growth " << grown / mib << " MiB");
  CHECK(grown < 160 * mib);
  check_exact(config, server.ids);
}
