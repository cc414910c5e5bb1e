#include "progress.hpp"

#include <bdd/core/environment.hpp>
#include <bdd/core/text.hpp>

#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace bdd::cli {

namespace {

constexpr std::size_t k_default_width = 80;
constexpr std::size_t k_max_bar = 30;
constexpr std::size_t k_min_bar = 10;
constexpr const char* k_separator = " · ";

std::string format_duration(double seconds) {
  const long total = std::lround(seconds);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  } else {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  }
  return text;
}

// The first `columns` characters of `text`.
std::string cut_to(const std::string& text, std::size_t columns) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U) {
      if (seen == columns) {
        return text.substr(0, i);
      }
      ++seen;
    }
  }
  return text;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    out += (out.empty() ? "" : k_separator) + part;
  }
  return out;
}

} // namespace

std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

std::string progress_line(const ops::DownloadProgress& progress,
                          double elapsed_seconds,
                          std::size_t width,
                          bool with_bar) {
  double rate =
      elapsed_seconds > 0 ? static_cast<double>(progress.events_received) / elapsed_seconds : 0;
  std::uint64_t done = progress.offset;
  bool known = progress.remote_total && *progress.remote_total > 0;
  std::uint64_t total = known ? *progress.remote_total : 0;

  // Most useful first: what is dropped to fit comes off the end.
  std::vector<std::string> parts;
  parts.push_back(known ? group_digits(done) + "/" + group_digits(total) + " events"
                        : group_digits(done) + (done == 1 ? " event" : " events"));
  parts.push_back(group_digits(static_cast<std::uint64_t>(std::llround(rate))) + "/s");
  if (known) {
    std::string eta = "?";
    if (total <= done) {
      eta = "0m00s";
    } else if (rate > 0) {
      eta = format_duration(static_cast<double>(total - done) / rate);
    }
    parts.push_back("ETA " + eta);
  }
  parts.push_back(group_digits(progress.events_added) + " new");

  std::string percent;
  double fraction = 0;
  if (known) {
    fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    char text[8];
    std::snprintf(text, sizeof text, "%3.0f%%", fraction * 100);
    percent = text;
  }
  const std::size_t limit = width == 0 ? std::string::npos : width - 1;
  const auto text_of = [&](std::size_t count) {
    std::vector<std::string> kept(parts.begin(), parts.begin() + static_cast<long>(count));
    return known ? percent + " " + joined(kept) : joined(kept);
  };
  // First with the bar, dropping parts from the end to keep it; then without it.
  if (known && with_bar) {
    for (std::size_t count = parts.size(); count >= 2; --count) {
      std::string text = text_of(count);
      std::size_t used = display_width(text);
      if (used + k_min_bar + 3 <= limit) {
        std::size_t bar_width =
            limit == std::string::npos ? k_max_bar : std::min(k_max_bar, limit - used - 3);
        auto filled = static_cast<std::size_t>(fraction * static_cast<double>(bar_width));
        return "[" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "] " + text;
      }
    }
  }
  for (std::size_t count = parts.size(); count >= 1; --count) {
    std::string text = text_of(count);
    if (display_width(text) <= limit) {
      return text;
    }
  }
  return cut_to(text_of(1), limit);
}

std::size_t terminal_width(const std::map<std::string, std::string>& environment) {
  struct winsize size {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  if (auto columns = environment.find("COLUMNS"); columns != environment.end()) {
    std::size_t value = 0;
    const auto& text = columns->second;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size() && value > 0) {
      return value;
    }
  }
  return k_default_width;
}

ProgressDisplay::ProgressDisplay(Mode mode) : m_mode(mode), m_environment(process_environment()) {}

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
  if (m_mode == Mode::log_lines) {
    spdlog::info("{}", progress_line(progress, elapsed, 0, false));
    return;
  }
  // Asked each time: the terminal may have been resized.
  std::string line = progress_line(progress, elapsed, terminal_width(m_environment));
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
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
