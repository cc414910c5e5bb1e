#include <bdd/export/filter.hpp>
#include <bdd/export/time.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

using bdd::exporting::parse_instant;
using bdd::exporting::parse_time_bound;

TEST_CASE("export::parse_instant reads one instant however it is written", "[export]") {
  const auto base = parse_instant("2025-01-15T10:00:00Z");
  REQUIRE(base);
  CHECK(parse_instant("2025-01-15T11:00:00+01:00") == base);
  CHECK(parse_instant("2025-01-15T05:30:00-0430") == base);
  CHECK(parse_instant("2025-01-15T12:00:00+02") == base);
  CHECK(parse_instant("2025-01-15 10:00:00.000000Z") == base);
  CHECK(parse_instant("2025-01-15t10:00:00,0z") == base);
  CHECK(parse_instant("2025-01-15T10:00Z") == base);
  CHECK(parse_instant("2025-01-15T10:00:00") == base); // no zone: UTC, as model::utc_day
  CHECK(parse_instant("2025-01-15T10:00:00.000001Z") == *base + 1);
  CHECK(parse_instant("2025-01-15T10:00:00.1234567Z") == *base + 123456); // past 6 digits: dropped
  CHECK(parse_instant("2025-01-15") == *base - 10LL * 3600 * 1'000'000);
  CHECK(parse_instant("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_instant("1969-12-31T23:59:59Z") == -1'000'000);
  // A leap second stays in its minute (and UTC day).
  CHECK(parse_instant("2016-12-31T23:59:60Z") == *parse_instant("2017-01-01T00:00:00Z") - 1);
  // Across midnight: the offset moves the day.
  CHECK(parse_instant("2025-01-16T00:30:00+01:00") == parse_instant("2025-01-15T23:30:00Z"));
  for (const char* bad : {"",
                          "yesterday",
                          "2025-02-30",
                          "2025-01-15T24:00:00Z",
                          "2025-1-15",
                          "2025-01-15T10:00:00Zjunk",
                          "2025-01-15T10:00:00.Z",
                          "1736935200",
                          "2025-01-15T10:00:00+25:00"}) {
    INFO(bad);
    CHECK_FALSE(parse_instant(bad));
  }
}

TEST_CASE("export::parse_time_bound takes dates and zoned times, refuses the rest by name",
          "[export]") {
  CHECK(*parse_time_bound("--since", "2025-01-15") == *parse_instant("2025-01-15T00:00:00Z"));
  CHECK(*parse_time_bound("--since", "2025-01-15T11:00:00+01:00")
        == *parse_instant("2025-01-15T10:00:00Z"));
  const auto no_zone = parse_time_bound("--until", "2025-01-15T10:00");
  REQUIRE_FALSE(no_zone);
  CHECK(no_zone.error().code == bdd::Errc::usage);
  CHECK(no_zone.error().message.find("--until \"2025-01-15T10:00\"") != std::string::npos);
  CHECK(no_zone.error().message.find("zone") != std::string::npos);
  const auto garbage = parse_time_bound("--since", "last week");
  REQUIRE_FALSE(garbage);
  CHECK(garbage.error().code == bdd::Errc::usage);
  CHECK(garbage.error().message.find("\"last week\"") != std::string::npos);
}

TEST_CASE("export::Filter::matches is AND across kinds, OR within one, [since, until)",
          "[export]") {
  bdd::model::Event event;
  event.user_id = "u1";
  event.event_type = "click";
  event.timestamp = "2025-01-15T10:00:00Z";
  event.stored_timestamp = "2025-01-16T10:00:00Z";
  bdd::exporting::Filter filter;
  CHECK(filter.matches(event));
  filter.users = {"u2", "u1"};
  CHECK(filter.matches(event));
  filter.event_types = {"key"};
  CHECK_FALSE(filter.matches(event));
  filter.event_types = {"key", "click"};
  CHECK(filter.matches(event));
  filter.since = parse_instant("2025-01-15T10:00:00Z");
  CHECK(filter.matches(event)); // inclusive
  filter.until = parse_instant("2025-01-15T10:00:00Z");
  CHECK_FALSE(filter.matches(event)); // exclusive
  filter.until = parse_instant("2025-01-15T11:00:00+01:00");
  CHECK_FALSE(filter.matches(event)); // the same instant
  filter.until.reset();
  filter.time_field = bdd::exporting::TimeField::stored_timestamp;
  filter.since = parse_instant("2025-01-16T10:00:00.000001Z");
  CHECK_FALSE(filter.matches(event));
  filter.since = parse_instant("2025-01-16");
  CHECK(filter.matches(event));
  event.stored_timestamp = "not a time";
  CHECK_FALSE(filter.matches(event)); // unreadable: left out by a time filter
  event.stored_timestamp.reset();
  CHECK_FALSE(filter.matches(event));
}

TEST_CASE("export::read_users_file reads lists and CSV, with or without a header", "[export]") {
  bdd::test::TempDir dir;
  const auto read = [&](const std::string& text) {
    bdd::test::write_text(dir.path() / "users", text);
    return bdd::exporting::read_users_file(dir.path() / "users");
  };
  CHECK(*read("u1\nu2\n") == std::vector<std::string>{"u1", "u2"});
  CHECK(*read("\xEF\xBB\xBFuser_id\r\nu1\r\n\r\nu2\r\n") == std::vector<std::string>{"u1", "u2"});
  CHECK(*read("userId,group\nu1,a\n\"u,2\",b\n\"u\"\"3\"\n")
        == std::vector<std::string>{"u1", "u,2", "u\"3"});
  CHECK(*read("ID\nu1") == std::vector<std::string>{"u1"});                 // no final line end
  CHECK(*read("P-1,x\nP-2,y\n") == std::vector<std::string>{"P-1", "P-2"}); // no header
  CHECK(*read("u1\nid\n") == std::vector<std::string>{"u1", "id"}); // a header is only first
  const auto empty = read("user_id\n\n");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == bdd::Errc::usage);
  CHECK(empty.error().message.find("no user id") != std::string::npos);
  const auto missing = bdd::exporting::read_users_file(dir.path() / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("nope") != std::string::npos);
}
