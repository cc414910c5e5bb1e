// html_render <report.json> <report.html>: report.html of a report document, as `bdd report`
// writes it (bdd::report::write_html), for tests/report/html.sh to open in a real browser.
#include <bdd/report/html.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: html_render <report.json> <report.html>\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  // Not parsing as JSON is a broken fixture, not a case: parse errors throw and fail the test.
  const auto report = nlohmann::ordered_json::parse(in);
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  bdd::report::write_html(report, out);
  out.close();
  if (!out) {
    std::cerr << "html_render: cannot write " << argv[2] << "\n";
    return 1;
  }
  return 0;
}
