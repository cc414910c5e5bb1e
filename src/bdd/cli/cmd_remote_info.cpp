#include "command.hpp"
#include "json_output.hpp"

#include <bdd/ops/records.hpp>
#include <bdd/ops/remote.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <utility>
#include <vector>

namespace bdd::cli {

namespace {

using json = nlohmann::ordered_json;

// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return buffer.data();
}

// "812 bytes", "61.2 kB", "4.3 MB", "1.2 GB" (powers of 1000, as README's MB/s).
std::string size_text(std::uint64_t bytes) {
  constexpr std::array<const char*, 4> k_units = {"kB", "MB", "GB", "TB"};
  if (bytes < 1000) {
    return ops::counted(bytes, "byte");
  }
  double value = static_cast<double>(bytes) / 1000;
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < k_units.size()) {
    value /= 1000;
    ++unit;
  }
  return fixed(value, 1) + " " + k_units.at(unit);
}

std::string ms_text(std::chrono::microseconds time) {
  return fixed(static_cast<double>(time.count()) / 1000, 1) + " ms";
}

// "6.8 ms", "1.2 s", "12 s", "3 min 20 s", "2 h 5 min".
std::string duration_text(std::chrono::microseconds time) {
  const double seconds = static_cast<double>(time.count()) / 1e6;
  if (seconds < 1) {
    return ms_text(time);
  }
  if (seconds < 10) {
    return fixed(seconds, 1) + " s";
  }
  const auto whole = static_cast<std::uint64_t>(std::llround(seconds));
  if (whole < 60) {
    return std::to_string(whole) + " s";
  }
  if (whole < 3600) {
    return std::to_string(whole / 60) + " min " + std::to_string(whole % 60) + " s";
  }
  return std::to_string(whole / 3600) + " h " + std::to_string(whole % 3600 / 60) + " min";
}

// A server's string for the terminal: control characters (an escape sequence) become '?'.
std::string shown(const std::string& text) {
  std::string out = text;
  std::replace_if(
      out.begin(),
      out.end(),
      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; },
      '?');
  return out;
}

// "101 events on 2 pages"
std::string sample_text(const ops::RemoteInfo& info) {
  return ops::counted(info.sampled_events, "event") + " on "
         + ops::counted(static_cast<std::uint64_t>(info.sampled_pages), "page");
}

// What a size estimate was computed from, as README documents it.
std::string size_basis(const ops::RemoteInfo& info, const ops::SizeEstimate& size) {
  return "estimate: " + ops::counted(info.remote_total.value_or(0), "event") + " x "
         + std::to_string(std::llround(info.bytes_per_event.value_or(0)))
         + " bytes per event (sampled from " + sample_text(info) + ") x ratio "
         + fixed(size.ratio, 2) + " measured for " + std::string(size.format);
}

// What the download time estimate was computed from: ceil(pages / in flight) x latency.
std::string time_basis(const ops::RemoteInfo& info, const ops::TimeEstimate& time) {
  return "estimate: " + ops::counted(time.pages, "page") + " of "
         + ops::counted(time.page_size, "event") + ", " + std::to_string(time.concurrency)
         + " in flight: " + ops::counted(time.rounds, "round") + " x " + ms_text(time.latency)
         + " per page, measured on a page of " + ops::counted(info.timed_events, "event");
}

class RemoteInfoCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.footer(
        "asks the server, never the local data, in at most 3 requests whatever the study's "
        "size:\n"
        "  1. the first event (limit 1): the total and the oldest stored time\n"
        "  2. the last page of download.default_page_size events: the newest stored time, the\n"
        "     sample of event sizes and the time of one request as a download makes them\n"
        "  3. the last event, only when the list grew meanwhile or the server capped page 2\n"
        "estimates, each labelled with what it comes from:\n"
        "  size in a format = total x bytes per event sampled x the format's ratio of bytes on\n"
        "     disk to API bytes, measured on the demo study (flat layout)\n"
        "  download time = ceil(pages / download.max_concurrent_requests) x the time of\n"
        "     request 2, where pages = ceil(total / page size)\n"
        "the local status (never the data) gives the new events; a server that reports no total "
        "leaves the total, the newest time, the new events and the estimates unknown");
    app.add_option("study", m_study, "the study to ask about")->required();
    app.add_flag("--json", m_json, "print one JSON object (see README.md, Scripting)");
  }

  Result<int> run(Context& context) override { return with_json_error(m_json, report(context)); }

private:
  Result<int> report(Context& context) {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, true));
    BDD_TRY_ASSIGN(auto info, ops::remote_info(config));
    if (m_json) {
      print_json(to_json(info, config.format));
    } else {
      print_text(info, config.format);
    }
    return 0;
  }

  json to_json(const ops::RemoteInfo& info, const std::string& configured) const {
    json sizes = nullptr;
    if (!info.sizes.empty()) {
      sizes = json::object();
      for (const auto& size : info.sizes) {
        sizes[std::string(size.format)] = json{
            {"bytes", size.bytes}, {"ratio", size.ratio}, {"estimate", size_basis(info, size)}};
      }
    }
    json time = nullptr;
    if (info.time) {
      time = json{{"seconds", static_cast<double>(info.time->time.count()) / 1e6},
                  {"pages", info.time->pages},
                  {"page_size", info.time->page_size},
                  {"concurrency", info.time->concurrency},
                  {"latency_ms", static_cast<double>(info.time->latency.count()) / 1000},
                  {"estimate", time_basis(info, *info.time)}};
    }
    const auto optional_text = [](const std::optional<std::string>& text) {
      return text ? json(*text) : json(nullptr);
    };
    return json{
        {"study", m_study},
        {"remote_total", or_null(info.remote_total)},
        {"oldest_stored", optional_text(info.oldest_stored)},
        {"newest_stored", optional_text(info.newest_stored)},
        {"local_events", or_null(info.local_events)},
        {"new_events", info.comparison ? json(info.comparison->new_events) : json(nullptr)},
        {"requests", info.requests},
        {"sampled_pages", info.sampled_pages},
        {"sampled_events", info.sampled_events},
        {"sampled_bytes", info.sampled_bytes},
        {"bytes_per_event", info.bytes_per_event ? json(*info.bytes_per_event) : json(nullptr)},
        {"format", configured},
        {"size_estimates", sizes},
        {"download_estimate", time},
    };
  }

  void print_text(const ops::RemoteInfo& info, const std::string& configured) const {
    const std::string no_total = "unknown (the server reports no total)";
    const std::string none = "none (the study is empty)";
    const bool empty = info.sampled_events == 0 && info.remote_total.value_or(0) == 0;
    std::vector<std::pair<std::string, std::string>> lines;
    lines.emplace_back("study", m_study);
    lines.emplace_back("remote total",
                       info.remote_total ? ops::counted(*info.remote_total, "event") : no_total);
    std::string oldest = "unknown (the first event has no stored time)";
    std::string newest =
        info.remote_total ? "unknown (the last event has no stored time)" : no_total;
    if (empty) {
      oldest = none;
      newest = none;
    }
    lines.emplace_back("oldest stored", info.oldest_stored ? shown(*info.oldest_stored) : oldest);
    lines.emplace_back("newest stored", info.newest_stored ? shown(*info.newest_stored) : newest);
    lines.emplace_back("local copy", local_text(info));
    lines.emplace_back("requests",
                       std::to_string(info.requests) + " (" + sample_text(info) + ", "
                           + size_text(info.sampled_bytes) + ")");
    if (info.bytes_per_event) {
      lines.emplace_back("event size",
                         std::to_string(std::llround(*info.bytes_per_event))
                             + " bytes per event (average of " + sample_text(info) + ")");
    }
    for (const auto& size : info.sizes) {
      lines.emplace_back("size as " + std::string(size.format),
                         size_text(size.bytes) + (size.format == configured ? ", configured" : "")
                             + " (" + size_basis(info, size) + ")");
    }
    if (info.sizes.empty()) {
      lines.emplace_back("download size",
                         empty ? "nothing to download (the study is empty)" : no_total);
    }
    if (info.time) {
      lines.emplace_back("download time",
                         duration_text(info.time->time) + " (" + time_basis(info, *info.time)
                             + ")");
    } else {
      lines.emplace_back("download time", empty ? "nothing to download" : no_total);
    }
    std::size_t width = 0;
    for (const auto& line : lines) {
      width = std::max(width, line.first.size());
    }
    for (const auto& [name, value] : lines) {
      std::cout << name << ':' << std::string(width + 1 - name.size(), ' ') << value << '\n';
    }
  }

  std::string local_text(const ops::RemoteInfo& info) const {
    if (!info.local_events) {
      return "none (`bdd download " + m_study + "` makes one)";
    }
    const std::string stored = ops::counted(*info.local_events, "event");
    if (!info.comparison) {
      return stored + "; new events unknown (the server reports no total)";
    }
    if (info.comparison->new_events > 0) {
      return stored + "; " + ops::counted(info.comparison->new_events, "new event")
             + " on the server (run `bdd download " + m_study + "`)";
    }
    if (info.comparison->fewer_on_server > 0) {
      return stored + "; the server holds "
             + ops::counted(info.comparison->fewer_on_server, "event")
             + " fewer (deleted on the server; kept here)";
    }
    return stored + "; up to date";
  }

  std::string m_study;
  bool m_json = false;
};

} // namespace

std::unique_ptr<Command> make_remote_info_command() {
  return std::make_unique<RemoteInfoCommand>();
}

} // namespace bdd::cli
