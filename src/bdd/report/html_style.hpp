#pragma once

// report.html's style sheet, inline in the page (no style sheet is fetched): readable on a
// screen, printed and in a mail client; the heatmap's shades `c1`..`c5`, lightest to darkest.

#include <string_view>

namespace bdd::report {

inline constexpr std::string_view k_page_style = R"css(
:root{--ink:#1d2433;--muted:#5b6474;--line:#d9dee7;--accent:#2b6cb0;--panel:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:32px 24px 48px}
header{border-bottom:3px solid var(--accent);padding-bottom:16px}
.kicker{margin:0;color:var(--muted);font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase}
h1{margin:4px 0 14px;font-size:30px;line-height:1.2;overflow-wrap:anywhere}
h2{margin:36px 0 12px;padding-bottom:4px;border-bottom:1px solid var(--line);font-size:20px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 18px;margin:0;font-size:14px}
dl.meta dt{color:var(--muted)}
dl.meta dd{margin:0;overflow-wrap:anywhere}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.figure{padding:12px;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
.figure .value{display:block;font-size:18px;font-weight:650;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.figure:not(.time) .value{white-space:nowrap}
.figure .label{color:var(--muted);font-size:13px}
.figure.time .value{font-size:14px;line-height:2}
svg.chart{display:block;max-width:100%;height:auto;font-size:11px}
svg.chart text{fill:var(--muted);font-variant-numeric:tabular-nums}
svg.chart text.label{fill:var(--ink)}
svg.chart text.empty{font-size:16px}
.grid line{stroke:#e4e8ee}
polyline.line{fill:none;stroke:var(--accent);stroke-width:2;stroke-linejoin:round}
polygon.area{fill:var(--accent);fill-opacity:.12}
circle.point{fill:#fff;stroke:var(--accent);stroke-width:1.5}
rect.bar{fill:var(--accent)}
.c1{fill:#c6dbef}.c2{fill:#9ecae1}.c3{fill:#6baed6}.c4{fill:#3182bd}.c5{fill:#08519c}
.chart-note,.note{margin:6px 0 0;color:var(--muted);font-size:13px}
ul.findings{margin:0;padding:0;list-style:none}
ul.findings li{margin:0 0 8px;padding:8px 12px;border-left:4px solid #d69e2e;border-radius:0 6px 6px 0;background:#fffaf0;overflow-wrap:anywhere}
ul.findings li.high{border-color:#c53030;background:#fff5f5}
ul.findings li.low{border-color:#3182ce;background:#ebf8ff}
.kind{margin-right:8px;font-weight:600}
.table-wrap{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:13.5px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--panel);font-weight:600;white-space:nowrap}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
td.time{white-space:nowrap;font-variant-numeric:tabular-nums}
table.wide{font-size:12px}
table.wide th{white-space:normal;vertical-align:bottom}
table.wide th,table.wide td{padding:5px 6px}
tbody tr:nth-child(even){background:#fafbfc}
.sort{margin-left:4px;color:#a0a8b6;font-size:11px}
th[aria-sort] .sort{color:var(--accent)}
footer{margin-top:40px;padding-top:12px;border-top:1px solid var(--line);color:var(--muted);font-size:12.5px}
@media print{body{font-size:10.5pt}main{max-width:none;padding:0}section.chart-section,tr,li{break-inside:avoid}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
)css";

} // namespace bdd::report
