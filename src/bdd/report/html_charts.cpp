#include "html_charts.hpp"

#include "html.hpp"

#include <bdd/core/text.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace bdd::report {

namespace {

constexpr double k_chart_width = 960;

// The smallest 1, 2 or 5 times a power of ten at least `value`: a step of axis ticks a reader
// counts in.
double nice_step(double value) {
  if (value <= 1) {
    return 1;
  }
  const double power = std::pow(10.0, std::floor(std::log10(value)));
  const double fraction = value / power;
  if (fraction <= 1) {
    return power;
  }
  if (fraction <= 2) {
    return 2 * power;
  }
  if (fraction <= 5) {
    return 5 * power;
  }
  return 10 * power;
}

std::string events_text(std::uint64_t events) {
  return group_digits(events) + (events == 1 ? " event" : " events");
}

struct DayCount {
  std::int64_t day = 0;
  std::uint64_t events = 0;
};

// The readable entries of `events_per_day`, by day, one per day.
std::vector<DayCount> day_counts(const Json& report) {
  std::vector<DayCount> days;
  for (const auto& entry : elements(member(report, "events_per_day"))) {
    const auto date = text_of(member(entry, "date"));
    const auto day = date ? parse_day(*date) : std::nullopt;
    const auto events = count_of(member(entry, "events"));
    if (day && events) {
      days.push_back({*day, *events});
    }
  }
  std::stable_sort(
      days.begin(), days.end(), [](const DayCount& a, const DayCount& b) { return a.day < b.day; });
  std::vector<DayCount> merged;
  for (const auto& day : days) {
    if (!merged.empty() && merged.back().day == day.day) {
      merged.back().events += day.events;
    } else {
      merged.push_back(day);
    }
  }
  return merged;
}

} // namespace

void open_svg(
    HtmlOut& out, std::string_view id, double width, double height, std::string_view label) {
  out << "<svg id=\"" << id << "\" class=\"chart\" viewBox=\"0 0 " << format_coordinate(width)
      << " " << format_coordinate(height) << "\" width=\"" << format_coordinate(width)
      << "\" height=\"" << format_coordinate(height) << "\" role=\"img\" aria-label=\"" << label
      << "\">";
}

void write_no_events(HtmlOut& out, std::string_view id, std::string_view label) {
  open_svg(out, id, k_chart_width, 80, label);
  out << "<text class=\"empty\" x=\"480\" y=\"45\" text-anchor=\"middle\">no events</text></svg>";
}

void write_events_per_day_chart(const Json& report, HtmlOut& out) {
  static constexpr std::string_view k_id = "events-per-day";
  static constexpr std::string_view k_label = "Events per day";
  const std::vector<DayCount> days = day_counts(report);
  if (days.empty()) {
    write_no_events(out, k_id, k_label);
    return;
  }
  constexpr double k_height = 300;
  constexpr double k_left = 72;
  constexpr double k_right = 24;
  constexpr double k_top = 16;
  constexpr double k_bottom = 44;
  constexpr double k_plot_width = k_chart_width - k_left - k_right;
  constexpr double k_plot_height = k_height - k_top - k_bottom;
  const std::int64_t first = days.front().day;
  const std::int64_t span = days.back().day - first;
  std::uint64_t most = 0;
  for (const auto& day : days) {
    most = std::max(most, day.events);
  }
  const double step = nice_step(static_cast<double>(most) / 4);
  const double top = std::max(step, step * std::ceil(static_cast<double>(most) / step));
  const auto x = [&](std::int64_t day) {
    return span == 0
               ? k_left + k_plot_width / 2
               : k_left
                     + static_cast<double>(day - first) * k_plot_width / static_cast<double>(span);
  };
  const auto y = [&](double events) {
    return k_top + k_plot_height - events / top * k_plot_height;
  };
  const auto point = [&](std::int64_t day, double events) {
    return format_coordinate(x(day)) + "," + format_coordinate(y(events)) + " ";
  };

  open_svg(out, k_id, k_chart_width, k_height, k_label);
  out << "<g class=\"grid\">";
  for (double tick = 0; tick <= top; tick += step) {
    const std::string tick_y = format_coordinate(y(tick));
    out << "<line x1=\"" << format_coordinate(k_left) << "\" x2=\""
        << format_coordinate(k_left + k_plot_width) << "\" y1=\"" << tick_y << "\" y2=\"" << tick_y
        << "\"/><text class=\"y-label\" x=\"" << format_coordinate(k_left - 8) << "\" y=\""
        << tick_y << "\" dy=\"4\" text-anchor=\"end\">"
        << group_digits(static_cast<std::uint64_t>(tick)) << "</text>";
  }
  out << "</g>";

  // Days without an entry had no events: the line drops to zero for them rather than jumping
  // from one active day to the next. Two points per silent stretch keep the line as short as
  // the document whatever the span of its dates.
  std::string line;
  for (std::size_t i = 0; i < days.size(); ++i) {
    if (i > 0 && days[i].day - days[i - 1].day > 1) {
      line += point(days[i - 1].day + 1, 0);
      if (days[i].day - days[i - 1].day > 2) {
        line += point(days[i].day - 1, 0);
      }
    }
    line += point(days[i].day, static_cast<double>(days[i].events));
  }
  line.pop_back();
  out << "<polygon class=\"area\" points=\"" << point(first, 0) << line << " "
      << point(days.back().day, 0) << "\"/>";
  out << "<polyline class=\"line\" points=\"" << line << "\"/>";
  line.clear();
  line.shrink_to_fit();

  const std::string radius = days.size() <= 60 ? "3.5" : days.size() <= 200 ? "2.5" : "1.6";
  out << "<g class=\"points\">";
  for (const auto& day : days) {
    out << "<circle class=\"point\" cx=\"" << format_coordinate(x(day.day)) << "\" cy=\""
        << format_coordinate(y(static_cast<double>(day.events))) << "\" r=\"" << radius
        << "\"><title>" << format_day(day.day) << ": " << events_text(day.events)
        << "</title></circle>";
  }
  out << "</g><g class=\"x-axis\">";
  const std::int64_t labels = std::min<std::int64_t>(6, span + 1);
  for (std::int64_t i = 0; i < labels; ++i) {
    const std::int64_t day =
        labels == 1 ? first
                    : first
                          + static_cast<std::int64_t>(std::llround(
                              static_cast<double>(i * span) / static_cast<double>(labels - 1)));
    // The last date ends at the right end of the axis rather than past the picture's edge.
    const bool last = labels > 1 && i == labels - 1;
    out << "<text class=\"x-label\" x=\"" << format_coordinate(x(day) + (last ? 4 : 0)) << "\" y=\""
        << format_coordinate(k_top + k_plot_height + 22) << "\" text-anchor=\""
        << (last ? "end" : "middle") << "\">" << format_day(day) << "</text>";
  }
  out << "</g></svg>";
}

void write_event_types_chart(const Json& report, HtmlOut& out) {
  static constexpr std::string_view k_id = "event-types";
  static constexpr std::string_view k_label = "Events per event type";
  struct Bar {
    const Json* name = nullptr;
    std::uint64_t events = 0;
  };
  std::vector<Bar> bars;
  for (const auto& entry : elements(member(report, "event_types"))) {
    if (const auto events = count_of(member(entry, "events"))) {
      bars.push_back({member(entry, "event_type"), *events});
    }
  }
  if (bars.empty()) {
    write_no_events(out, k_id, k_label);
    return;
  }
  std::stable_sort(
      bars.begin(), bars.end(), [](const Bar& a, const Bar& b) { return a.events > b.events; });
  const std::size_t shown = std::min(bars.size(), k_max_bars);
  std::uint64_t rest_events = 0;
  for (std::size_t i = shown; i < bars.size(); ++i) {
    rest_events += bars[i].events;
  }
  constexpr double k_row = 24;
  constexpr double k_bar = 16;
  constexpr double k_label_width = 250;
  constexpr double k_bar_space = k_chart_width - k_label_width - 110;
  const double height = 12 + static_cast<double>(shown) * k_row + (shown < bars.size() ? 28 : 0);
  const double most = static_cast<double>(std::max<std::uint64_t>(1, bars.front().events));

  open_svg(out, k_id, k_chart_width, height, k_label);
  for (std::size_t i = 0; i < shown; ++i) {
    const double top = 8 + static_cast<double>(i) * k_row;
    const double width = std::max(1.0, static_cast<double>(bars[i].events) / most * k_bar_space);
    const std::string name = html_text(bars[i].name, 34);
    out << "<text class=\"label\" x=\"" << format_coordinate(k_label_width - 8) << "\" y=\""
        << format_coordinate(top + 12) << "\" text-anchor=\"end\">" << name << "</text>"
        << "<rect class=\"bar\" x=\"" << format_coordinate(k_label_width) << "\" y=\""
        << format_coordinate(top) << "\" width=\"" << format_coordinate(width) << "\" height=\""
        << format_coordinate(k_bar) << "\"><title>" << name << ": " << events_text(bars[i].events)
        << "</title></rect>"
        << "<text class=\"value\" x=\"" << format_coordinate(k_label_width + width + 6) << "\" y=\""
        << format_coordinate(top + 12) << "\">" << group_digits(bars[i].events) << "</text>";
  }
  if (shown < bars.size()) {
    out << "<text class=\"more\" x=\"" << format_coordinate(k_label_width) << "\" y=\""
        << format_coordinate(12 + static_cast<double>(shown) * k_row + 12) << "\">and "
        << group_digits(bars.size() - shown) << " more event types (" << events_text(rest_events)
        << ")</text>";
  }
  out << "</svg>";
}

} // namespace bdd::report
