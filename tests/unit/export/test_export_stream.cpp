#include <bdd/export/inputs.hpp>
#include <bdd/export/stream.hpp>
#include <bdd/model/event.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

namespace stdfs = std::filesystem;
using bdd::exporting::EventStream;
using bdd::exporting::StreamOptions;

constexpr std::int64_t k_base = 1'736'935'200; // 2025-01-15T10:00:00Z in seconds

// `stored` written in one of several forms of the instant k_base + micros, as servers do.
std::string written(std::int64_t micros, int form) {
  const std::int64_t seconds = k_base + micros / 1'000'000;
  const std::int64_t fraction = micros % 1'000'000;
  const auto text = [](std::int64_t s, int offset_hours) {
    const std::time_t t = static_cast<std::time_t>(s + offset_hours * 3600);
    std::tm parts{};
    ::gmtime_r(&t, &parts);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &parts);
    return std::string(buffer);
  };
  char micro[16];
  std::snprintf(micro, sizeof micro, ".%06lld", static_cast<long long>(fraction));
  switch (form % 3) {
  case 0:
    return text(seconds, 0) + micro + "Z";
  case 1:
    return text(seconds, 2) + micro + "+02:00";
  default:
    return text(seconds, -5) + micro + "-0500";
  }
}

struct Generated {
  std::string id;
  std::int64_t micros; // -1: no readable stored time
};

// A jsonl leaf of normalised events, as the jsonl writer stores them.
void write_leaf(const stdfs::path& path, const std::vector<Generated>& events, int form) {
  stdfs::create_directories(path.parent_path());
  std::string text;
  for (const auto& g : events) {
    std::string raw = "{\"id\":\"" + g.id + "\",\"stored\":\""
                      + (g.micros < 0 ? std::string("soon") : written(g.micros, form++))
                      + "\",\"base\":{\"userId\":\"u" + g.id.substr(0, 1) + "\"}}";
    text += bdd::model::to_normalised_json(bdd::model::normalise_compact(raw), "s") + "\n";
  }
  bdd::test::write_text(path, text);
}

StreamOptions options_for(const stdfs::path& study,
                          const std::vector<bdd::exporting::Input>& inputs,
                          const stdfs::path& temp) {
  StreamOptions options;
  options.study_dir = study;
  options.study_name = "s";
  options.format = "jsonl";
  options.inputs = inputs;
  options.temp_parent = temp;
  return options;
}

std::vector<std::string> run_pass(EventStream& stream, const EventStream::Rewind& rewind = {}) {
  std::vector<std::string> ids;
  auto result = stream.for_each(
      [&ids](const bdd::model::Event& e) -> bdd::Result<void> {
        ids.emplace_back(bdd::model::display_id(e.id));
        return bdd::ok();
      },
      rewind ? EventStream::Rewind([&]() -> bdd::Result<void> {
        ids.clear();
        return rewind();
      })
             : EventStream::Rewind());
  INFO((result ? std::string() : result.error().message));
  REQUIRE(result);
  return ids;
}

} // namespace

TEST_CASE("export::EventStream yields export order whatever the merge path", "[export]") {
  bdd::test::TempDir dir;
  const stdfs::path study = dir.path() / "study";
  const stdfs::path temp = dir.path() / "temp";
  stdfs::create_directories(temp);
  // 12 leaves of events in stored order, with ties inside and across leaves, times written in
  // three forms; ids chosen so that id order disagrees with file order among ties.
  std::mt19937 rng(7);
  std::vector<Generated> all;
  for (int leaf = 0; leaf < 12; ++leaf) {
    std::vector<Generated> events;
    std::int64_t at = 0;
    for (int i = 0; i < 150; ++i) {
      at += static_cast<std::int64_t>(rng() % 3) * 1000; // a third are ties
      char id[32];
      std::snprintf(id, sizeof id, "%c%04u", 'a' + leaf, static_cast<unsigned>(rng() % 10000));
      events.push_back({id + std::to_string(i), at});
    }
    events.push_back({std::string(1, static_cast<char>('a' + leaf)) + "-late", -1});
    write_leaf(study / ("l" + std::to_string(leaf)) / "events.jsonl", events, leaf);
    all.insert(all.end(), events.begin(), events.end());
  }
  std::sort(all.begin(), all.end(), [](const Generated& a, const Generated& b) {
    const bool la = a.micros < 0;
    const bool lb = b.micros < 0;
    if (la != lb) {
      return lb;
    }
    return a.micros != b.micros ? a.micros < b.micros : a.id < b.id;
  });
  std::vector<std::string> expected;
  for (const auto& g : all) {
    expected.push_back(g.id);
  }

  auto inputs = bdd::exporting::plan_inputs(
      study, "jsonl", {bdd::storage::Level::by_user_id}, bdd::storage::PartitionNaming::plain, {});
  REQUIRE(inputs);
  REQUIRE(inputs->size() == 12);
  struct Case {
    std::size_t max_open;
    std::size_t run_bytes;
    bool expect_runs;
  };
  for (const Case c : {Case{128, 24 << 20, false},
                       Case{5, 24 << 20, true},
                       Case{2, 24 << 20, true},
                       Case{3, 4096, true}}) {
    INFO("max_open " << c.max_open << " run_bytes " << c.run_bytes);
    StreamOptions options = options_for(study, *inputs, temp);
    options.max_open = c.max_open;
    options.run_bytes = c.run_bytes;
    {
      EventStream stream(options);
      CHECK(run_pass(stream) == expected);
      CHECK(stream.stats().events == expected.size());
      CHECK(stream.stats().events_read == expected.size());
      CHECK(stream.stats().files == 12);
      CHECK((stream.stats().runs > 0) == c.expect_runs);
      CHECK(run_pass(stream) == expected); // a second pass replays the same
    }
    CHECK(stdfs::is_empty(temp)); // the runs are gone with the stream
  }
}

TEST_CASE("export::EventStream sorts inputs that are out of order, rewinding a first pass",
          "[export]") {
  bdd::test::TempDir dir;
  const stdfs::path study = dir.path() / "study";
  std::vector<Generated> events;
  for (int i = 0; i < 500; ++i) {
    events.push_back({"e" + std::to_string(1000 + i), static_cast<std::int64_t>(i) * 1000});
  }
  std::vector<std::string> expected;
  for (const auto& g : events) {
    expected.push_back(g.id);
  }
  std::mt19937 rng(3);
  std::shuffle(events.begin(), events.end(), rng);
  write_leaf(study / "events.jsonl", events, 0);
  auto inputs =
      bdd::exporting::plan_inputs(study, "jsonl", {}, bdd::storage::PartitionNaming::plain, {});
  REQUIRE(inputs);
  for (const std::size_t run_bytes : {std::size_t{24} << 20, std::size_t{2000}}) {
    StreamOptions options = options_for(study, *inputs, dir.path());
    options.run_bytes = run_bytes;
    options.max_open = 4;
    {
      EventStream stream(options);
      int rewinds = 0;
      CHECK(run_pass(stream,
                     [&]() -> bdd::Result<void> {
                       ++rewinds;
                       return bdd::ok();
                     })
            == expected);
      CHECK(rewinds == 1);
      CHECK(stream.stats().runs > 0);
      CHECK(run_pass(stream) == expected);
    }
    {
      EventStream stream(options); // without a rewind: the order is checked first
      CHECK(run_pass(stream) == expected);
    }
  }
}

TEST_CASE("export::EventStream names a damaged file and points at bdd verify", "[export]") {
  bdd::test::TempDir dir;
  const stdfs::path study = dir.path() / "study";
  write_leaf(study / "a" / "events.jsonl", {{"a1", 0}, {"a2", 1000}}, 0);
  stdfs::create_directories(study / "b");
  bdd::test::write_text(study / "b" / "events.jsonl",
                        bdd::test::read_text(study / "a" / "events.jsonl") + "{cut");
  auto inputs = bdd::exporting::plan_inputs(
      study, "jsonl", {bdd::storage::Level::by_user_id}, bdd::storage::PartitionNaming::plain, {});
  REQUIRE(inputs);
  EventStream stream(options_for(study, *inputs, dir.path()));
  auto result = stream.for_each([](const bdd::model::Event&) { return bdd::ok(); });
  REQUIRE_FALSE(result);
  CHECK(result.error().code == bdd::Errc::storage);
  CHECK(result.error().message.find((study / "b" / "events.jsonl").string() + "\" at line 3")
        != std::string::npos);
  CHECK(result.error().message.find("bdd verify s") != std::string::npos);
}

TEST_CASE("export::plan_inputs enters only the folders a filter can match", "[export]") {
  using bdd::storage::PartitionNaming;
  const auto naming = GENERATE(PartitionNaming::plain, PartitionNaming::hive);
  const bool hive = naming == PartitionNaming::hive;
  const std::string user = hive ? "user_id=" : "";
  const std::string date = hive ? "date=" : "";
  bdd::test::TempDir dir;
  const stdfs::path study = dir.path() / "study";
  for (const auto& [u, d] :
       std::vector<std::pair<std::string, std::string>>{{"u1", "2025-01-14"},
                                                        {"u1", "2025-01-15"},
                                                        {"u1", "2025-01-16"},
                                                        {"u2", "2025-01-15"},
                                                        {"u1", "unknown-date"},
                                                        {"u%2Fx", "2025-01-15"}}) {
    write_leaf(study / (user + u) / (date + d) / "events.jsonl", {{"x", 0}}, 0);
  }
  write_leaf(study / ".bdd" / "events.jsonl", {{"x", 0}}, 0);
  const std::vector<bdd::storage::Level> levels = {bdd::storage::Level::by_user_id,
                                                   bdd::storage::Level::by_date};
  const auto files = [&](const bdd::exporting::Filter& filter) {
    auto inputs = bdd::exporting::plan_inputs(study, "jsonl", levels, naming, filter);
    REQUIRE(inputs);
    std::vector<std::string> out;
    for (const auto& input : *inputs) {
      out.push_back(input.file);
    }
    return out;
  };
  CHECK(files({}).size() == 6);
  bdd::exporting::Filter users;
  users.users = {"u2", "u/x"};
  CHECK(files(users)
        == std::vector<std::string>{user + "u%2Fx/" + date + "2025-01-15/events.jsonl",
                                    user + "u2/" + date + "2025-01-15/events.jsonl"});
  bdd::exporting::Filter days;
  days.users = {"u1"};
  days.since = bdd::exporting::parse_instant("2025-01-15T12:00:00+02:00");
  days.until = bdd::exporting::parse_instant("2025-01-16T00:00:00Z");
  CHECK(files(days).size() == 4); // on `timestamp`: date folders are not pruned
  days.time_field = bdd::exporting::TimeField::stored_timestamp;
  CHECK(files(days) == std::vector<std::string>{user + "u1/" + date + "2025-01-15/events.jsonl"});
}
