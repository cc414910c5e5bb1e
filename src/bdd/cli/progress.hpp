#pragma once

#include <bdd/ops/download.hpp>

#include <chrono>

namespace bdd::cli {

// Shows a running download: on a terminal a bar with events, events/s and ETA (from the server's
// total), redrawn at most 10 times a second; otherwise a log line every few seconds; nothing
// when quiet.
class ProgressDisplay {
public:
  enum class Mode { bar, log_lines, silent };
  explicit ProgressDisplay(Mode mode) : m_mode(mode) {}

  void update(const ops::DownloadProgress& progress);
  // Clear the bar so that the next line starts clean.
  void finish();

private:
  using Clock = std::chrono::steady_clock;
  Mode m_mode;
  Clock::time_point m_started = Clock::now();
  Clock::time_point m_last_shown{};
  bool m_bar_visible = false;
};

} // namespace bdd::cli
