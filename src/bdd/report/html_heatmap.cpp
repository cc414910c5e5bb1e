// The participant x day heatmap of report.html (write_activity_chart in html_charts.hpp).

#include "html.hpp"
#include "html_charts.hpp"

#include <bdd/core/text.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace bdd::report {

namespace {

constexpr int k_levels = 5;

// Days per column: one while the days fit, else a week, else as many as make them fit.
std::size_t days_per_column(std::size_t days) {
  if (days <= k_max_heatmap_columns) {
    return 1;
  }
  if ((days + 6) / 7 <= k_max_heatmap_columns) {
    return 7;
  }
  return (days + k_max_heatmap_columns - 1) / k_max_heatmap_columns;
}

// The shade 1..k_levels of a cell of `events` when the darkest holds `most`: logarithmic, so
// that a day of 3 events stands out from none however busy the busiest day is.
int level(std::uint64_t events, std::uint64_t most) {
  const double share =
      std::log1p(static_cast<double>(events)) / std::log1p(static_cast<double>(most));
  return std::clamp(static_cast<int>(std::ceil(share * k_levels)), 1, k_levels);
}

struct Row {
  const Json* user_id = nullptr;
  std::uint64_t events = 0;
  std::size_t order = 0;
};

std::string column_name(std::size_t width) {
  if (width == 1) {
    return "";
  }
  if (width == 7) {
    return "week of ";
  }
  return std::to_string(width) + " days from ";
}

} // namespace

void write_activity_chart(const Json& report, HtmlOut& out) {
  static constexpr std::string_view k_id = "activity";
  static constexpr std::string_view k_label = "Events per participant and day";
  const Json* activity = member(report, "activity");
  const Json& days = elements(activity == nullptr ? nullptr : member(*activity, "days"));
  const Json& rows = elements(activity == nullptr ? nullptr : member(*activity, "rows"));
  const auto counts_of = [&](const Json& row) -> const Json& {
    return elements(member(row, "counts"));
  };

  std::vector<Row> chosen;
  std::uint64_t all_events = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Json& counts = counts_of(rows[i]);
    std::uint64_t events = 0;
    for (std::size_t day = 0; day < std::min(days.size(), counts.size()); ++day) {
      events += count_of(&counts[day]).value_or(0);
    }
    chosen.push_back({member(rows[i], "user_id"), events, i});
    all_events += events;
  }
  if (all_events == 0) {
    write_no_events(out, k_id, k_label);
    return;
  }
  if (chosen.size() > k_max_heatmap_rows) {
    std::stable_sort(chosen.begin(), chosen.end(), [](const Row& a, const Row& b) {
      return a.events > b.events;
    });
    chosen.resize(k_max_heatmap_rows);
    std::sort(
        chosen.begin(), chosen.end(), [](const Row& a, const Row& b) { return a.order < b.order; });
  }

  const std::size_t width = days_per_column(days.size());
  const std::size_t columns = (days.size() + width - 1) / width;
  std::vector<std::uint64_t> cells(chosen.size() * columns, 0);
  std::uint64_t most = 1;
  for (std::size_t r = 0; r < chosen.size(); ++r) {
    const Json& counts = counts_of(rows[chosen[r].order]);
    for (std::size_t day = 0; day < std::min(days.size(), counts.size()); ++day) {
      auto& cell = cells[r * columns + day / width];
      cell += count_of(&counts[day]).value_or(0);
      most = std::max(most, cell);
    }
  }

  constexpr double k_label_width = 170;
  constexpr double k_top = 34;
  constexpr double k_legend = 44;
  const double cell_width = std::min(28.0, 760.0 / static_cast<double>(columns));
  const double row_height = chosen.size() <= 40 ? 18 : chosen.size() <= 100 ? 13 : 10;
  const double chart_width =
      std::max(520.0, k_label_width + static_cast<double>(columns) * cell_width + 72);
  const double chart_height = k_top + static_cast<double>(chosen.size()) * row_height + k_legend;
  const std::string cell_w = format_coordinate(cell_width > 4 ? cell_width - 1 : cell_width);
  const std::string cell_h = format_coordinate(row_height - 1);
  const std::string font = format_coordinate(std::clamp(row_height - 4, 7.0, 12.0));
  const std::string prefix = column_name(width);
  const auto column_day = [&](std::size_t column) { return html_text(&days[column * width], 10); };

  open_svg(out, k_id, chart_width, chart_height, k_label);
  const std::size_t labels = std::clamp<std::size_t>(
      static_cast<std::size_t>(static_cast<double>(columns) * cell_width / 90) + 1, 1, 8);
  for (std::size_t i = 0; i < std::min(labels, columns); ++i) {
    const std::size_t column = labels == 1 ? 0 : i * (columns - 1) / (labels - 1);
    out << "<text class=\"x-label\" x=\""
        << format_coordinate(k_label_width + static_cast<double>(column) * cell_width)
        << "\" y=\"22\">" << column_day(column) << "</text>";
  }
  for (std::size_t r = 0; r < chosen.size(); ++r) {
    const double top = k_top + static_cast<double>(r) * row_height;
    const std::string user = html_text(chosen[r].user_id, 60);
    out << "<text class=\"row-label\" x=\"" << format_coordinate(k_label_width - 6) << "\" y=\""
        << format_coordinate(top + row_height - 4) << "\" font-size=\"" << font
        << "\" text-anchor=\"end\">" << html_text(chosen[r].user_id, 20) << "<title>" << user
        << ": " << group_digits(chosen[r].events) << " events</title></text>";
    for (std::size_t column = 0; column < columns; ++column) {
      const std::uint64_t events = cells[r * columns + column];
      if (events == 0) {
        continue;
      }
      out << "<rect class=\"cell c" << std::to_string(level(events, most)) << "\" x=\""
          << format_coordinate(k_label_width + static_cast<double>(column) * cell_width)
          << "\" y=\"" << format_coordinate(top) << "\" width=\"" << cell_w << "\" height=\""
          << cell_h << "\"><title>" << user << " \u00b7 " << prefix << column_day(column) << ": "
          << group_digits(events) << "</title></rect>";
    }
  }
  const double legend_top = chart_height - k_legend + 16;
  out << "<text class=\"legend\" x=\"" << format_coordinate(k_label_width) << "\" y=\""
      << format_coordinate(legend_top + 11) << "\">fewer</text>";
  for (int shade = 1; shade <= k_levels; ++shade) {
    out << "<rect class=\"swatch c" << std::to_string(shade) << "\" x=\""
        << format_coordinate(k_label_width + 36 + (shade - 1) * 16) << "\" y=\""
        << format_coordinate(legend_top) << "\" width=\"14\" height=\"14\"/>";
  }
  out << "<text class=\"legend\" x=\"" << format_coordinate(k_label_width + 36 + k_levels * 16 + 6)
      << "\" y=\"" << format_coordinate(legend_top + 11)
      << "\">more (darkest: " << group_digits(most) << " events in a cell)</text></svg>";

  out << "<p class=\"chart-note\">";
  if (chosen.size() < rows.size()) {
    out << "The " << group_digits(chosen.size()) << " most active of " << group_digits(rows.size())
        << " participants; activity.csv has them all. ";
  }
  if (width == 7) {
    out << "Each column is a week, from the date shown. ";
  } else if (width > 1) {
    out << "Each column is " << std::to_string(width) << " days, from the date shown. ";
  } else {
    out << "Each column is a UTC day. ";
  }
  out << "Rows in the order of the participants table.</p>";
}

} // namespace bdd::report
