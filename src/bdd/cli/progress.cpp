#include "progress.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

namespace bdd::cli {

namespace {

std::string format_duration(double seconds) {
  long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  } else {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  }
  return text;
}

} // namespace

void ProgressDisplay::update(const ops::DownloadProgress& progress) {
  if (m_mode == Mode::silent) {
    return;
  }
  auto now = Clock::now();
  auto interval = m_mode == Mode::bar ? std::chrono::milliseconds(100) : std::chrono::seconds(5);
  if (now - m_last_shown < interval) {
    return;
  }
  m_last_shown = now;
  double elapsed = std::chrono::duration<double>(now - m_started).count();
  double rate = elapsed > 0 ? static_cast<double>(progress.events_received) / elapsed : 0;
  std::uint64_t done = progress.offset;
  std::string eta = "?";
  double fraction = 0;
  if (progress.remote_total && *progress.remote_total > 0) {
    std::uint64_t total = *progress.remote_total;
    fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    if (rate > 0 && total > done) {
      eta = format_duration(static_cast<double>(total - done) / rate);
    } else if (total <= done) {
      eta = "0m00s";
    }
  }
  std::string total_text = progress.remote_total ? std::to_string(*progress.remote_total) : "?";
  if (m_mode == Mode::log_lines) {
    spdlog::info("{}/{} events, {} new, {:.0f} events/s, ETA {}",
                 done,
                 total_text,
                 progress.events_added,
                 rate,
                 eta);
    return;
  }
  constexpr int k_width = 30;
  int filled = static_cast<int>(fraction * k_width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(k_width - filled), '.');
  std::fprintf(stderr,
               "\r[%s] %3.0f%% %llu/%s events, %llu new, %.0f events/s, ETA %s\033[K",
               bar.c_str(),
               fraction * 100,
               static_cast<unsigned long long>(done),
               total_text.c_str(),
               static_cast<unsigned long long>(progress.events_added),
               rate,
               eta.c_str());
  std::fflush(stderr);
  m_bar_visible = true;
}

void ProgressDisplay::finish() {
  if (m_bar_visible) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    m_bar_visible = false;
  }
}

} // namespace bdd::cli
