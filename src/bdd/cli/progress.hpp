#pragma once

#include <bdd/ops/download.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace bdd::cli {

// One line describing a running download after `elapsed_seconds`, e.g.
//   "[#######.......]  45% 12,345/27,000 events · 4,100/s · 1,200 new · ETA 0m03s"
// or, when the server's total is unknown, "12,345 events · 4,100/s · 1,200 new". With `width`
// > 0 it is at most `width - 1` columns (the last column would make some terminals wrap): the bar
// shrinks, then goes, then the least useful parts, last the text is cut. No escape codes.
std::string progress_line(const ops::DownloadProgress& progress,
                          double elapsed_seconds,
                          std::size_t width,
                          bool with_bar = true);

// The width of the terminal on stderr (TIOCGWINSZ), else $COLUMNS from `environment`, else 80.
std::size_t terminal_width(const std::map<std::string, std::string>& environment);

// The number of terminal columns `text` takes (UTF-8, one column per character).
std::size_t display_width(const std::string& text);

// Shows a running download: on a terminal a bar fitted to the terminal's width, redrawn at most
// 10 times a second; otherwise a log line every few seconds; nothing when quiet.
class ProgressDisplay {
public:
  enum class Mode { bar, log_lines, silent };
  explicit ProgressDisplay(Mode mode);

  void update(const ops::DownloadProgress& progress);
  // Clear the bar so that the next line starts clean.
  void finish();

private:
  using Clock = std::chrono::steady_clock;
  Mode m_mode;
  std::map<std::string, std::string> m_environment; // for $COLUMNS
  Clock::time_point m_started = Clock::now();
  Clock::time_point m_last_shown{};
  bool m_bar_visible = false;
};

} // namespace bdd::cli
