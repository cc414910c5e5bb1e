// report.html (src/bdd/report/html.hpp): escaping, the charts' elements, the caps, untrusted
// documents, and the page of 2,000 participants x 365 days. What a browser makes of the page is
// tests/report/html.sh's job.
#include <bdd/report/html.hpp>
#include <bdd/report/html_text.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>

using nlohmann::ordered_json;

namespace {

std::size_t count(std::string_view page, std::string_view what) {
  std::size_t found = 0;
  for (auto at = page.find(what); at != std::string_view::npos; at = page.find(what, at + 1)) {
    ++found;
  }
  return found;
}

std::string day(int index) {
  // 2026-01-01 plus `index` days.
  return bdd::report::format_day(*bdd::report::parse_day("2026-01-01") + index);
}

// A document as `bdd report --json` writes it: `days` days of activity, `users` participants,
// participant i active on the days where (day + i) % 3 != 0 with i + 1 events there.
ordered_json study(int users, int days, int event_types) {
  ordered_json report = {{"study", "demo"},
                         {"bdd_version", "0.1.0"},
                         {"generated_at", "2026-12-07T23:00:00Z"},
                         {"filters",
                          {{"since", nullptr},
                           {"until", "2026-06-30"},
                           {"time_field", "timestamp"},
                           {"users", ordered_json::array()},
                           {"event_types", {"click", "view"}}}}};
  ordered_json per_day = ordered_json::array();
  ordered_json activity_days = ordered_json::array();
  ordered_json rows = ordered_json::array();
  ordered_json participants = ordered_json::array();
  std::uint64_t total = 0;
  std::vector<std::uint64_t> day_totals(static_cast<std::size_t>(days), 0);
  for (int u = 0; u < users; ++u) {
    ordered_json counts = ordered_json::array();
    std::uint64_t events = 0;
    for (int d = 0; d < days; ++d) {
      const std::uint64_t n = (d + u) % 3 != 0 ? static_cast<std::uint64_t>(u + 1) : 0;
      counts.push_back(n);
      events += n;
      day_totals[static_cast<std::size_t>(d)] += n;
    }
    char name[16];
    std::snprintf(name, sizeof name, "user%04d", u);
    rows.push_back({{"user_id", name}, {"counts", std::move(counts)}});
    participants.push_back({{"user_id", name},
                            {"events", events},
                            {"first_event", "2026-01-01T08:00:00Z"},
                            {"last_event", "2026-01-09T18:00:00Z"},
                            {"active_days", 6},
                            {"longest_silence_seconds", 90000.0},
                            {"events_by_type", {{"click", events}}},
                            {"events_without_index", 0},
                            {"missing_indexes", 5},
                            {"duplicate_indexes", 1},
                            {"missing_ranges", {{3, 5}, {9, 9}}}});
    total += events;
  }
  for (int d = 0; d < days; ++d) {
    activity_days.push_back(day(d));
    if (day_totals[static_cast<std::size_t>(d)] > 0) {
      per_day.push_back({{"date", day(d)}, {"events", day_totals[static_cast<std::size_t>(d)]}});
    }
  }
  ordered_json types = ordered_json::array();
  for (int t = 0; t < event_types; ++t) {
    types.push_back({{"event_type", "type" + std::to_string(t)},
                     {"events", 10 + t},
                     {"first_event", "2026-01-01T08:00:00Z"},
                     {"last_event", "2026-01-09T18:00:00Z"}});
  }
  report["overview"] = {{"events", total},
                        {"participants", users},
                        {"event_types", event_types},
                        {"first_event", "2026-01-01T08:00:00Z"},
                        {"last_event", "2026-01-09T18:00:00Z"},
                        {"days", days}};
  report["events_per_day"] = std::move(per_day);
  report["event_types"] = std::move(types);
  report["participants"] = std::move(participants);
  report["activity"] = {{"days", std::move(activity_days)}, {"rows", std::move(rows)}};
  report["missing_fields"] = {{{"event_type", "click"},
                               {"field", "data.x"},
                               {"events", 8},
                               {"missing", 2},
                               {"share", 0.25}},
                              {{"event_type", "click"},
                               {"field", "user_id"},
                               {"events", 8},
                               {"missing", 0},
                               {"share", 0.0}}};
  report["sequence_gaps"] = {{{"user_id", "user0000"}, {"from", 3}, {"to", 5}, {"count", 3}}};
  report["findings"] = {
      {{"kind", "sequence_gap"}, {"severity", "high"}, {"message", "user0000 lost 3 events"}},
      {{"kind", "brand_new_kind"}, {"message", "something new"}},
      {{"kind", "silent_participant"}, {"severity", "\"><b>"}, {"message", "user0001 is silent"}},
      {{"kind", "too_many_fields"}, {"severity", "medium"}, {"message", "many fields"}}};
  report["notes"] = {"times are the participants' clocks"};
  return report;
}

// Counts the bytes written to it and forgets them: the page's size without holding it.
class CountingBuffer final : public std::streambuf {
public:
  std::uint64_t bytes = 0;

protected:
  std::streamsize xsputn(const char*, std::streamsize count) override {
    bytes += static_cast<std::uint64_t>(count);
    return count;
  }
  int_type overflow(int_type c) override {
    ++bytes;
    return c;
  }
};

// A line of /proc/self/status in kB ("VmHWM", "VmRSS").
std::uint64_t status_kb(std::string_view key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(std::string(key) + ":", 0) == 0) {
      return std::stoull(line.substr(key.size() + 1));
    }
  }
  FAIL("no " << key << " in /proc/self/status");
  return 0;
}

} // namespace

TEST_CASE("report::append_html escapes markup, quotes, controls, bidi marks and bad UTF-8",
          "[report]") {
  using bdd::report::escape_html;
  CHECK(escape_html("<script>alert('x')</script>")
        == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  CHECK(escape_html("\"><img src=x onerror=alert(1)>")
        == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  CHECK(escape_html("a&b") == "a&amp;b");
  // A right-to-left override would reverse the rest of the line; it is shown, not obeyed.
  CHECK(escape_html("abc\u202Etxt.exe") == "abc[U+202E]txt.exe");
  CHECK(escape_html("\u2066x\u2069\u200F") == "[U+2066]x[U+2069][U+200F]");
  CHECK(escape_html(std::string_view("a\0b\x1b\x7f", 5)) == "a[U+0000]b[U+001B][U+007F]");
  CHECK(escape_html("tab\tline\n") == "tab\tline\n");
  // Well-formed UTF-8 is kept as it is, right-to-left letters included.
  CHECK(escape_html("b\xC3\xB8"
                    "b \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xF0\x9F\x98\x80")
        == "b\xC3\xB8"
           "b \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xF0\x9F\x98\x80");
  CHECK(escape_html("a\xC3(\xFF") == "a\uFFFD(\uFFFD");
  SECTION("a long text is cut at a number of code points, with an ellipsis") {
    CHECK(escape_html("\xC3\xB8\xC3\xB8\xC3\xB8", 2) == "\xC3\xB8\xC3\xB8\u2026");
    CHECK(escape_html("abc", 3) == "abc");
    CHECK(escape_html("<<<<", 2) == "&lt;&lt;\u2026");
  }
}

TEST_CASE("report::format_share, format_duration and dates read at a glance", "[report]") {
  using namespace bdd::report;
  CHECK(format_share(0.125) == "12.5 %");
  CHECK(format_share(1) == "100.0 %");
  CHECK(format_duration(17.9) == "17 s");
  CHECK(format_duration(42 * 60) == "42 min");
  CHECK(format_duration(5 * 3600 + 12 * 60 + 5) == "5 h 12 min");
  CHECK(format_duration(3 * 86400 + 4 * 3600 + 59) == "3 d 4 h");
  CHECK(format_duration(-1) == "?");
  CHECK(format_duration(1e300) == "?");
  CHECK(format_duration(86400.0 * 5000) == "5,000 d");
  CHECK(format_coordinate(12.5) == "12.5");
  CHECK(format_coordinate(3.0) == "3");
  CHECK(format_coordinate(-0.001) == "0");
  CHECK(format_coordinate(1.23456) == "1.23");
  CHECK(parse_day("1970-01-01") == 0);
  CHECK(parse_day("2024-02-29T12:00:00Z") == 19782);
  CHECK(parse_day("2023-02-29") == std::nullopt);
  CHECK(parse_day("2026-13-01") == std::nullopt);
  CHECK(parse_day("2026-1-01") == std::nullopt);
  CHECK(parse_day("2026-01-01x") == std::nullopt);
  CHECK(format_day(19782) == "2024-02-29");
  CHECK(format_day(-1) == "1969-12-31");
}

TEST_CASE("report::write_html draws one element per point, bar and non-zero cell", "[report]") {
  // 3 participants x 9 days: participant 0 is silent on days 0, 3, 6; 1 on 2, 5, 8; 2 on 1, 4,
  // 7; so every day has events and 18 of the 27 cells are non-zero.
  const std::string page = bdd::report::render_html(study(3, 9, 4));
  CHECK(count(page, "<circle class=\"point\"") == 9);
  CHECK(count(page, "<rect class=\"bar\"") == 4);
  CHECK(count(page, "<rect class=\"cell ") == 18);
  CHECK(count(page, "<svg id=\"events-per-day\"") == 1);
  CHECK(count(page, "<svg id=\"activity\"") == 1);
  CHECK(count(page, "<svg id=\"event-types\"") == 1);
  // The busiest event type comes first, with its count.
  CHECK(page.find(">type3</text>") < page.find(">type0</text>"));
  CHECK(page.find("<title>type3: 13 events</title>") != std::string::npos);
  // The header: study, filters, version, time.
  CHECK(page.find("<h1 id=\"study\">demo</h1>") != std::string::npos);
  CHECK(page.find("<dd id=\"filter-since\">any</dd>") != std::string::npos);
  CHECK(page.find("<dd id=\"filter-until\">2026-06-30</dd>") != std::string::npos);
  CHECK(page.find("<dd id=\"filter-event-types\">click, view</dd>") != std::string::npos);
  CHECK(page.find("<dd id=\"filter-users\">all</dd>") != std::string::npos);
  CHECK(page.find("id=\"overview-events_without_time\"") == std::string::npos);
  CHECK(page.find("<dd id=\"bdd-version\">0.1.0</dd>") != std::string::npos);
  CHECK(page.find("<dd id=\"generated-at\">2026-12-07T23:00:00Z</dd>") != std::string::npos);
  // 3 * 6 + 2 * 6 + 1 * 6 events.
  CHECK(page.find("<div class=\"figure\" id=\"overview-events\"><span class=\"value\">36</span>")
        != std::string::npos);
  // Tables: a participant's row, the one missing field, the gap, the findings in words.
  CHECK(
      page.find(
          "<td>user0002</td><td class=\"num\">18</td><td class=\"num\">6</td>"
          "<td class=\"time\">2026-01-01T08:00:00Z</td><td class=\"time\">2026-01-09T18:00:00Z</td>"
          "<td class=\"num\">1 d 1 h</td><td class=\"num\">5</td><td class=\"num\">1</td>"
          "<td class=\"num\">0</td><td>3\u20135, 9</td>")
      != std::string::npos);
  CHECK(count(page, "<td>data.x</td>") == 1);
  CHECK(count(page, "<td>user_id</td>") == 0);
  CHECK(page.find("<li class=\"finding high\"><span class=\"kind\">Sequence gap</span>user0000 "
                  "lost 3 events</li>")
        != std::string::npos);
  CHECK(page.find("<li class=\"finding low\"><span class=\"kind\">brand_new_kind</span>")
        != std::string::npos);
  // A severity that is none of ours is the kind's; the document's says otherwise.
  CHECK(page.find("<li class=\"finding medium\"><span class=\"kind\">Silent participant</span>")
        != std::string::npos);
  CHECK(page.find("<li class=\"finding medium\"><span class=\"kind\">Too many fields</span>")
        != std::string::npos);
  // Nothing that could fetch or run.
  CHECK(page.find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'; img-src data:\">")
        != std::string::npos);
  CHECK(count(page, "<script") == 0);
  CHECK(count(page, "src=") == 0);
  CHECK(count(page, "href=") == 0);
  CHECK(count(page, "url(") == 0);
  CHECK(count(page, "@import") == 0);
  SECTION("a users file and events without a time are said") {
    ordered_json report = study(3, 9, 4);
    report["filters"]["users"] = {"a", "b"};
    report["filters"]["users_file"] = "<ids>.txt";
    report["overview"]["events_without_time"] = 1234;
    const std::string said = bdd::report::render_html(report);
    CHECK(said.find("<dd id=\"filter-users\">a, b (from &lt;ids&gt;.txt)</dd>")
          != std::string::npos);
    CHECK(said.find("<div class=\"figure\" id=\"overview-events_without_time\"><span "
                    "class=\"value\">1,234</span><span class=\"label\">events without a "
                    "time</span></div>")
          != std::string::npos);
  }
  SECTION("the stream and the string hold the same page") {
    std::ostringstream out;
    bdd::report::write_html(study(3, 9, 4), out);
    CHECK(out.str() == page);
  }
}

TEST_CASE("report::write_html renders hostile values as text", "[report]") {
  ordered_json report = study(2, 3, 1);
  const std::string long_id(10'000, 'x');
  report["study"] = "<script>alert(1)</script>";
  report["activity"]["rows"][0]["user_id"] = "\"><img src=x onerror=alert(1)>";
  report["activity"]["rows"][1]["user_id"] = long_id;
  report["participants"][0]["user_id"] = "\"><img src=x onerror=alert(1)>";
  report["participants"][1]["user_id"] = long_id;
  report["event_types"][0]["event_type"] = "click\u202Egnp.exe</text></svg><b>";
  report["findings"][0]["message"] = "</li></ul><iframe src=//evil>";
  report["filters"]["users"] = {"' onmouseover='x", long_id};
  const std::string page = bdd::report::render_html(report);
  CHECK(count(page, "<script") == 0);
  CHECK(count(page, "<img") == 0);
  CHECK(count(page, "<iframe") == 0);
  CHECK(count(page, "<b>") == 0);
  CHECK(count(page, "\u202E") == 0);
  CHECK(page.find("<h1 id=\"study\">&lt;script&gt;alert(1)&lt;/script&gt;</h1>")
        != std::string::npos);
  CHECK(page.find("<title>bdd report: &lt;script&gt;alert(1)&lt;/script&gt;</title>")
        != std::string::npos);
  CHECK(page.find("<td>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</td>") != std::string::npos);
  CHECK(page.find("click[U+202E]gnp.exe&lt;/text&gt;&lt;/svg&gt;&lt;b&gt;") != std::string::npos);
  CHECK(page.find("</span>&lt;/li&gt;&lt;/ul&gt;&lt;iframe src=//evil&gt;</li>")
        != std::string::npos);
  CHECK(page.find("&#39; onmouseover=&#39;x") != std::string::npos);
  // The 10 kB id is cut in the table (120 code points), the heatmap label (24) and the
  // filters (60); the page stays small.
  CHECK(page.find("<td>" + std::string(120, 'x') + "\u2026</td>") != std::string::npos);
  CHECK(page.find(std::string(121, 'x')) == std::string::npos);
  CHECK(page.size() < 40'000);
  CHECK(page.substr(page.size() - 15) == "</body></html>\n");
}

TEST_CASE("report::write_html reads an untrusted document without throwing", "[report]") {
  SECTION("no document at all") {
    for (const auto& report :
         {ordered_json(), ordered_json::array(), ordered_json("x"), ordered_json::object()}) {
      const std::string page = bdd::report::render_html(report);
      CHECK(count(page, ">no events</text>") == 3);
      CHECK(count(page, "<p class=\"note\">Not in this report.</p>") == 5);
      CHECK(page.find("<h1 id=\"study\">\u2014</h1>") != std::string::npos);
    }
  }
  SECTION("values of the wrong type show as ?") {
    ordered_json report = study(2, 3, 2);
    report["overview"]["events"] = "many";
    report["overview"]["participants"] = -3;
    report["study"] = 42;
    report["participants"][0]["events"] = {{"a", 1}};
    report["participants"][0]["missing_ranges"] =
        ordered_json::array({ordered_json::array({1}), "x", ordered_json::array({2, 4})});
    report["participants"][1] = "not an object";
    report["event_types"][0]["events"] = "ten";
    report["activity"]["rows"][0]["counts"] = {"1", nullptr, -2};
    report["activity"]["days"][1] = 7;
    report["events_per_day"][0]["date"] = "yesterday";
    report["findings"] = {{{"kind", 7}, {"message", {1, 2}}}, "just text"};
    report["notes"] = 3;
    const std::string page = bdd::report::render_html(report);
    CHECK(page.find("id=\"overview-events\"><span class=\"value\">?</span>") != std::string::npos);
    CHECK(page.find("id=\"overview-participants\"><span class=\"value\">?</span>")
          != std::string::npos);
    CHECK(page.find("<h1 id=\"study\">?</h1>") != std::string::npos);
    CHECK(page.find("<td>user0000</td><td class=\"num\">?</td>") != std::string::npos);
    CHECK(page.find("<td>?, ?, 2\u20134</td>") != std::string::npos);
    // The unreadable entries are left out of the charts: one event type, participant 1 only,
    // two of three days.
    CHECK(count(page, "<rect class=\"bar\"") == 1);
    CHECK(count(page, "<rect class=\"cell ") == 2);
    CHECK(count(page, "<circle class=\"point\"") == 2);
    CHECK(count(page, "<li class=\"finding low\"><span class=\"kind\">?</span>?</li>") == 1);
    CHECK(count(page, "<li class=\"finding low\"><span class=\"kind\">\u2014</span>\u2014</li>")
          == 1);
    CHECK(page.substr(page.size() - 15) == "</body></html>\n");
  }
}

TEST_CASE("report::write_html says no events for an empty study", "[report]") {
  ordered_json report = study(0, 0, 0);
  report["overview"]["first_event"] = nullptr;
  report["overview"]["last_event"] = nullptr;
  report["missing_fields"] = ordered_json::array();
  report["sequence_gaps"] = ordered_json::array();
  report["findings"] = ordered_json::array();
  report["notes"] = ordered_json::array();
  const std::string page = bdd::report::render_html(report);
  CHECK(count(page, ">no events</text>") == 3);
  CHECK(count(page, "<circle") == 0);
  CHECK(count(page, "<rect") == 0);
  CHECK(page.find("id=\"overview-events\"><span class=\"value\">0</span>") != std::string::npos);
  CHECK(page.find("id=\"overview-first_event\"><span class=\"value\">\u2014</span>")
        != std::string::npos);
  CHECK(page.find("<p class=\"note\">No findings: nothing looks wrong.</p>") != std::string::npos);
  CHECK(page.find("<p class=\"note\">No participants.</p>") != std::string::npos);
  CHECK(page.find("<p class=\"note\">No field is missing from any event of its type.</p>")
        != std::string::npos);
  CHECK(page.find("<section id=\"notes\">") == std::string::npos);
}

TEST_CASE("report::write_html caps bars, heatmap rows and columns, and tables", "[report]") {
  SECTION("the 30 largest event types, and how many more") {
    const std::string page = bdd::report::render_html(study(1, 3, 45));
    CHECK(count(page, "<rect class=\"bar\"") == 30);
    // type44 has the most events (54), type15 is the 30th; type0..type14 are left out.
    CHECK(page.find(">type44</text>") != std::string::npos);
    CHECK(page.find(">type15</text>") != std::string::npos);
    CHECK(page.find(">type14</text>") == std::string::npos);
    CHECK(page.find(">and 15 more event types (255 events)</text>") != std::string::npos);
    // The table shows all 45, busiest first.
    CHECK(count(page, "<td>type") == 45);
  }
  SECTION("the 200 most active of 250 participants, and the first 200 rows of the table") {
    const std::string page = bdd::report::render_html(study(250, 3, 1));
    // Participant i has i + 1 events on each of 2 days: 50..249 are the most active.
    CHECK(count(page, "class=\"row-label\"") == 200);
    CHECK(page.find(">user0049<title>") == std::string::npos);
    CHECK(page.find(">user0050<title>") != std::string::npos);
    CHECK(page.find("The 200 most active of 250 participants; activity.csv has them all.")
          != std::string::npos);
    CHECK(page.find("<tr><td>user0199</td>") != std::string::npos);
    CHECK(page.find("<tr><td>user0200</td>") == std::string::npos);
    CHECK(page.find("<p class=\"note cut\">The first 200 of 250 participants; participants.csv "
                    "has them all.</p>")
          != std::string::npos);
  }
  SECTION("days up to 120, then weeks, then longer bins") {
    // One participant (0) is active on 2 of every 3 days: every week and every bin has events.
    CHECK(count(bdd::report::render_html(study(1, 120, 1)), "<rect class=\"cell ") == 80);
    const std::string weeks = bdd::report::render_html(study(1, 121, 1));
    CHECK(count(weeks, "<rect class=\"cell ") == 18); // 121 days in 18 weeks
    CHECK(weeks.find("Each column is a week, from the date shown.") != std::string::npos);
    CHECK(weeks.find("<title>user0000 \u00b7 week of 2026-01-08: 5</title>") != std::string::npos);
    const std::string bins = bdd::report::render_html(study(1, 1000, 1));
    // ceil(1000 / 120) = 9 days a column, 112 columns; the last holds day 999 alone, silent.
    CHECK(count(bins, "<rect class=\"cell ") == 111);
    CHECK(bins.find("Each column is 9 days, from the date shown.") != std::string::npos);
  }
}

TEST_CASE("report::write_html of 2,000 participants x 365 days stays small and flat", "[report]") {
  const ordered_json report = study(2000, 365, 12);
  // The peak resident memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    REQUIRE(clear.flush());
  }
  const std::uint64_t before = status_kb("VmRSS");
  CountingBuffer counter;
  std::ostream out(&counter);
  bdd::report::write_html(report, out);
  const std::uint64_t grown_kb = status_kb("VmHWM") - before;
  INFO("page " << counter.bytes << " bytes, peak memory +" << grown_kb << " kB");
  // The page is about 1.4 MB; memory grows by far less than the document's (tens of MB).
  CHECK(counter.bytes > 1'000'000);
  CHECK(counter.bytes < 2'500'000);
  CHECK(grown_kb < 4 * 1024);
  const std::string page = bdd::report::render_html(report);
  CHECK(page.size() == counter.bytes);
  // 200 rows x 53 weeks, less the 65 of those participants silent in the last week (one day,
  // the 365th).
  CHECK(count(page, "<rect class=\"cell ") == 10'535);
  CHECK(count(page, "<circle class=\"point\"") == 365);
}
