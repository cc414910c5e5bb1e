#pragma once

// The findings and the tables of report.html: plain HTML tables whose headers show the order
// of the rows (no script sorts them), `k_max_table_rows` rows each, a cut said below it.

#include "html_json.hpp"
#include "html_out.hpp"

#include <cstddef>
#include <string_view>

namespace bdd::report {

// `ul.findings`: one `li.finding` per finding, its kind in words and its message.
void write_findings(const Json& report, HtmlOut& out);

// `table#event-types-table`, `#participants-table`, `#missing-fields-table`,
// `#sequence-gaps-table`, each in a section of its own.
void write_tables(const Json& report, HtmlOut& out);

// When `shown` < `total`: a note that the page shows the first `shown` of `total` `what`
// and that `where` has them all.
void write_cut(HtmlOut& out,
               std::size_t shown,
               std::size_t total,
               std::string_view what,
               std::string_view where);

} // namespace bdd::report
