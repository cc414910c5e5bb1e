#include <bdd/export/time.hpp>
#include <bdd/model/event.hpp>
#include <bdd/report/accumulator.hpp>
#include <bdd/report/document.hpp>
#include <bdd/report/index_set.hpp>
#include <bdd/report/tables.hpp>

#include <catch2/catch.hpp>
#include <support/memory.hpp>

#include <string>
#include <vector>

using bdd::report::Accumulator;
using bdd::report::IndexRange;
using bdd::report::IndexSet;

namespace {

std::vector<IndexRange> gaps_of(const IndexSet& set) {
  std::vector<IndexRange> out;
  set.for_each_gap([&out](const IndexRange& gap) { out.push_back(gap); });
  return out;
}

bdd::model::Event event(const std::string& json) {
  return bdd::model::normalise_compact(json);
}

} // namespace

TEST_CASE("report::IndexSet merges indexes into intervals and finds gaps and duplicates",
          "[report]") {
  IndexSet set;
  for (const std::uint64_t index : {1, 2, 3, 7, 5, 9, 10, 4}) {
    CHECK(set.add(index));
  }
  CHECK_FALSE(set.add(3));
  CHECK_FALSE(set.add(10));
  CHECK(set.distinct() == 8);
  CHECK(set.intervals() == 3); // 1-5, 7, 9-10
  CHECK(*set.span() == IndexRange{1, 10});
  CHECK(set.missing() == 2);
  CHECK(gaps_of(set) == std::vector<IndexRange>{{6, 6}, {8, 8}});
  CHECK(set.add(6));
  CHECK(set.add(8));
  CHECK(set.intervals() == 1);
  CHECK(set.missing() == 0);
  CHECK(gaps_of(set).empty());
}

TEST_CASE("report::sequence_index reads base.index, else object.index, when an integer",
          "[report]") {
  using bdd::report::sequence_index;
  CHECK(sequence_index(R"({"base":{"userId":"a","index":42}})") == 42);
  CHECK(sequence_index(R"({"object":{"index":7},"base":{"userId":"a"}})") == 7);
  CHECK(sequence_index(R"({"base":{"index":0}})") == 0);
  CHECK_FALSE(sequence_index(R"({"base":{"index":"5"}})"));
  CHECK_FALSE(sequence_index(R"({"base":{"index":1.5}})"));
  CHECK_FALSE(sequence_index(R"({"base":{"index":-1}})"));
  CHECK_FALSE(sequence_index(R"({"base":{"index":9007199254740993}})"));
  CHECK_FALSE(sequence_index(R"({"id":"x"})"));
}

TEST_CASE("report::Accumulator counts participants, silences, fields and findings", "[report]") {
  Accumulator accumulator;
  // u1: indexes 1, 2, 5 (3 and 4 missing), 2 again; days 01-01, 01-02, 01-12.
  accumulator.add(event(
      R"({"id":"a","stored":"2025-01-01T10:00:01Z","timestamp":"2025-01-01T10:00:00Z","types":["t"],"base":{"userId":"u1","index":1},"x":{"y":1}})"));
  accumulator.add(event(
      R"({"id":"b","stored":"2025-01-02T10:00:01Z","timestamp":"2025-01-02T10:00:00Z","types":["t"],"base":{"userId":"u1","index":2},"x":{"y":null}})"));
  accumulator.add(event(
      R"({"id":"c","stored":"2025-01-12T10:00:01Z","timestamp":"2025-01-12T10:00:00Z","types":["t"],"base":{"userId":"u1","index":5}})"));
  accumulator.add(event(
      R"({"id":"d","stored":"2025-01-12T11:00:01Z","timestamp":"2025-01-12T11:00:00Z","types":["t"],"base":{"userId":"u1","index":2}})"));
  // u2: every day from 01-01 to 01-12 (so others are active during u1's silence).
  for (int day = 1; day <= 12; ++day) {
    const std::string date = "2025-01-" + std::string(day < 10 ? "0" : "") + std::to_string(day);
    accumulator.add(event(R"({"id":"u2-)" + std::to_string(day) + R"(","stored":")" + date
                          + R"(T09:00:00Z","types":["g"],"object":{"userId":"u2","index":)"
                          + std::to_string(day) + R"(,"tsGenerated":")" + date
                          + R"(T08:59:00Z"}})"));
  }
  auto report = accumulator.finish();

  CHECK(report.events == 16);
  CHECK(report.participants.size() == 2);
  const auto& u1 = report.participants.at("u1");
  CHECK(u1.events == 4);
  CHECK(u1.days.size() == 3);
  CHECK(u1.indexes.missing() == 2);
  CHECK(u1.duplicate_indexes == 1);
  CHECK(*u1.longest_silence == 10 * bdd::exporting::k_microseconds_per_day);
  const auto& u2 = report.participants.at("u2");
  CHECK(u2.indexes.missing() == 0);
  CHECK(u2.days.size() == 12);
  CHECK(report.events_per_day.size() == 12);

  std::vector<std::string> kinds;
  for (const auto& finding : report.findings) {
    kinds.push_back(finding.kind + ":" + finding.subject);
  }
  CHECK(kinds
        == std::vector<std::string>{
            "sequence_gap:u1", "duplicate_index:u1", "silent_participant:u1"});
  CHECK(report.findings[0].message
        == "participant \"u1\" is missing 2 events of their own sequence (indexes 3-4; seen 1 to "
           "5): lost before or on the server");
  CHECK(report.findings[2].message
        == "participant \"u1\" was silent for 10.0 days, from 2025-01-02T10:00:00.000Z to "
           "2025-01-12T10:00:00.000Z, while others were active");

  // data.x.y: present in 1 of the 4 events of type t (null in one, absent in two).
  const auto rows = bdd::report::missing_fields(report);
  bool found = false;
  for (const auto& row : rows) {
    if (row.event_type == "t" && row.field == "data.x.y") {
      found = true;
      CHECK(row.events == 4);
      CHECK(row.missing == 3);
    }
    if (row.event_type == "g" && row.field == "element_id") {
      CHECK(row.missing == 12);
    }
  }
  CHECK(found);
}

TEST_CASE("report::Accumulator of 2,000 participants x 365 days stays under 64 MiB", "[report]") {
  const std::size_t before = bdd::test::peak_rss_bytes();
  Accumulator accumulator;
  bdd::model::Event e;
  e.event_type = "trial";
  const bdd::exporting::Instant start = 1'735'689'600'000'000; // 2025-01-01
  for (int day = 0; day < 365; ++day) {
    e.timestamp =
        bdd::exporting::format_instant(start + day * bdd::exporting::k_microseconds_per_day);
    for (int user = 0; user < 2000; ++user) {
      e.user_id = "participant-" + std::to_string(user);
      e.id = e.user_id + "_" + std::to_string(day + 1);
      e.raw =
          R"({"base":{"userId":")" + e.user_id + R"(","index":)" + std::to_string(day + 1) + "}}";
      accumulator.add(e);
    }
  }
  CHECK(accumulator.memory_estimate() < std::size_t{64} << 20);
  const auto report = accumulator.finish();
  CHECK(report.events == 730'000);
  CHECK(report.participants.at("participant-7").days.size() == 365);
  CHECK(report.participants.at("participant-7").indexes.intervals() == 1);
  const std::string text = bdd::report::document(report, {}).dump();
  CHECK(text.size() < std::size_t{16} << 20);
  const std::size_t after = bdd::test::peak_rss_bytes();
  INFO("peak RSS grew by " << (after - before) / (1 << 20) << " MiB");
  if (bdd::test::k_rss_follows_allocations) {
    CHECK(after - before < std::size_t{64} << 20);
  }
}

TEST_CASE("report's CSV tables keep server text from running as a spreadsheet formula",
          "[report]") {
  Accumulator accumulator;
  accumulator.add(event(
      R"j({"id":"a","stored":"2025-01-01T10:00:01Z","types":["=cmd"],"base":{"userId":"@SUM(1)","index":1}})j"));
  const auto report = accumulator.finish();
  const std::string participants = bdd::report::participants_csv(report);
  CHECK(participants.find("\r\n'@SUM(1),1,") != std::string::npos);
  CHECK(participants.find(",'events.=cmd\r\n") == std::string::npos);
  CHECK(participants.find(",events.=cmd\r\n") != std::string::npos);
  const std::string missing = bdd::report::missing_fields_csv(report);
  CHECK(missing.find("\r\n'=cmd,id,1,0,0\r\n") != std::string::npos);
}

TEST_CASE("exporting::format_instant and format_day write UTC times parse_instant reads",
          "[report]") {
  using bdd::exporting::format_instant;
  CHECK(format_instant(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_instant(1'735'689'600'123'000) == "2025-01-01T00:00:00.123Z");
  CHECK(format_instant(1'735'689'600'000'001) == "2025-01-01T00:00:00.000001Z");
  CHECK(format_instant(-1'000) == "1969-12-31T23:59:59.999Z");
  CHECK(bdd::exporting::parse_instant(format_instant(951'782'400'000'000)) == 951'782'400'000'000);
  CHECK(bdd::exporting::format_day(bdd::exporting::day_of(951'782'400'000'000)) == "2000-02-29");
}
