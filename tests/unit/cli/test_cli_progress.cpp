#include <bdd/cli/progress.hpp>

#include <catch2/catch.hpp>
#include <unistd.h>

#include <string>

using bdd::cli::display_width;
using bdd::cli::progress_line;
using bdd::cli::terminal_width;

namespace {

bdd::ops::DownloadProgress
progress(std::uint64_t offset, std::optional<std::uint64_t> total, std::uint64_t added) {
  bdd::ops::DownloadProgress out;
  out.offset = offset;
  out.events_received = offset;
  out.events_added = added;
  out.remote_total = total;
  return out;
}

} // namespace

TEST_CASE("cli::progress_line without a total shows events and rate", "[cli]") {
  auto line = progress_line(progress(12'345, std::nullopt, 12'345), 3.0, 120);
  CHECK(line == "12,345 events · 4,115/s · 12,345 new");
  CHECK(line.find('%') == std::string::npos);
  CHECK(line.find('?') == std::string::npos);
  CHECK(progress_line(progress(1, std::nullopt, 1), 1.0, 120) == "1 event · 1/s · 1 new");
}

TEST_CASE("cli::progress_line with a total shows a bar, percent and ETA", "[cli]") {
  auto line = progress_line(progress(13'500, 27'000, 13'500), 3.0, 200);
  CHECK(line.rfind("[###############...............]  50% 13,500/27,000 events · 4,500/s · ETA "
                   "0m03s · 13,500 new",
                   0)
        == 0);
}

TEST_CASE("cli::progress_line fits any width without wrapping", "[cli]") {
  for (const auto& p : {progress(1'234'567, 9'876'543, 1'234'567),
                        progress(1'234'567, std::nullopt, 1'234'567),
                        progress(0, 0, 0)}) {
    for (std::size_t width : {200, 120, 100, 80, 72, 60, 40, 30, 20, 10, 2}) {
      auto line = progress_line(p, 7.0, width);
      INFO("width " << width << ": " << line);
      CHECK(display_width(line) < width);
      CHECK(!line.empty());
    }
  }
  // At 80 columns the bar is kept, shorter.
  auto line = progress_line(progress(1'234'567, 9'876'543, 1'234'567), 7.0, 80);
  CHECK(line.front() == '[');
  CHECK(display_width(line) <= 79);
}

TEST_CASE("cli::terminal_width falls back to COLUMNS, then 80", "[cli]") {
  if (::isatty(STDERR_FILENO) != 0) {
    return; // the terminal's own width wins; run under ctest (stderr is a pipe) to check this
  }
  CHECK(terminal_width({{"COLUMNS", "132"}}) == 132);
  CHECK(terminal_width({{"COLUMNS", "abc"}}) == 80);
  CHECK(terminal_width({}) == 80);
}
