// bdd's Parquet writer and reader (storage/parquet_file.hpp): what the writer stores is what the
// reader gives back, column by column and as events, across pages and row groups.
#include <bdd/model/event.hpp>
#include <bdd/storage/parquet_file.hpp>
#include <bdd/storage/parquet_reader.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
namespace parquet = bdd::storage::parquet;
using bdd::model::Event;

namespace {

Event event_of(const nlohmann::json& raw) {
  return bdd::model::normalise_compact(raw.dump());
}

// Writes `events` to `path` with `options`; the file's bytes.
std::string write_file(const stdfs::path& path,
                       const std::vector<Event>& events,
                       parquet::FileWriterOptions options = {}) {
  std::string bytes;
  auto writer = parquet::make_file_writer(
      [&](std::string_view chunk) -> bdd::Result<void> {
        bytes.append(chunk);
        return {};
      },
      std::move(options));
  REQUIRE(writer);
  for (const Event& event : events) {
    REQUIRE((*writer)->add(event));
  }
  REQUIRE((*writer)->finish());
  CHECK((*writer)->rows() == events.size());
  CHECK((*writer)->bytes_written() == bytes.size());
  bdd::test::write_text(path, bytes);
  return bytes;
}

std::vector<Event> read_events(const stdfs::path& path) {
  auto reader = parquet::open_file_reader(path);
  REQUIRE(reader);
  std::vector<Event> out;
  for (;;) {
    auto next = (*reader)->next();
    REQUIRE(next);
    if (!*next) {
      break;
    }
    out.push_back(std::move(**next));
  }
  CHECK((*reader)->rows() == out.size());
  return out;
}

void check_same(const Event& got, const Event& want) {
  CHECK(got.id == want.id);
  CHECK(got.user_id == want.user_id);
  CHECK(got.event_type == want.event_type);
  CHECK(got.element_id == want.element_id);
  CHECK(got.timestamp == want.timestamp);
  CHECK(got.stored_timestamp == want.stored_timestamp);
  CHECK(got.page_url == want.page_url);
  CHECK(got.raw == want.raw);
}

std::optional<std::string> text(std::optional<std::string_view> value) {
  return value ? std::optional<std::string>(*value) : std::nullopt;
}

} // namespace

TEST_CASE("storage::parquet round-trips events and their stored columns", "[storage]") {
  bdd::test::TempDir dir;
  const stdfs::path path = dir.path() / "events.parquet";
  std::vector<Event> events;
  events.push_back(event_of({{"id", "e1"},
                             {"userId", "u\xF0\x9F\x98\x80"}, // astral
                             {"event_type", "click"},
                             {"element_id", ""},
                             {"page_url", "https://x.test/?q=e\xCC\x81"}, // combining accent
                             {"timestamp", "2025-11-18T23:30:00-02:00"},
                             {"stored", "1969-12-31T23:59:59.5Z"}}));
  events.push_back(event_of({{"id", 42}, {"timestamp", "not a time"}}));
  events.push_back(event_of({{"id", "42"}, {"userId", ""}, {"element_id", 7}}));
  events.push_back(event_of({{"nothing", nullptr}}));
  write_file(path, events, {.study_name = "s\xC3\xA9"});

  const auto got = read_events(path);
  REQUIRE(got.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    INFO("row " << i);
    check_same(got[i], events[i]);
  }

  auto rows = parquet::open_row_reader(path);
  REQUIRE(rows);
  parquet::StoredRow row;
  REQUIRE((*rows)->next(row).value());
  CHECK(row.id == "e1");
  CHECK(row.study_name == "s\xC3\xA9");
  CHECK(row.user_id == "u\xF0\x9F\x98\x80");
  CHECK(row.event_type == "click");
  CHECK(text(row.page_url) == std::optional<std::string>("https://x.test/?q=e\xCC\x81"));
  CHECK(text(row.element_id) == std::optional<std::string>(""));
  CHECK(row.timestamp == std::optional<std::int64_t>(1'763'515'800'000'000));
  CHECK(row.stored_timestamp == std::optional<std::int64_t>(-500'000));
  CHECK_FALSE(row.timestamp_text);
  CHECK_FALSE(row.stored_timestamp_text);
  REQUIRE((*rows)->next(row).value());
  CHECK(row.id == "42"); // the number id's display form; the data says it was a number
  CHECK_FALSE(row.element_id);
  CHECK_FALSE(row.page_url);
  CHECK_FALSE(row.timestamp);
  CHECK(text(row.timestamp_text) == std::optional<std::string>("not a time"));
  REQUIRE((*rows)->next(row).value());
  CHECK(row.id == "42");
  CHECK(row.user_id == "");
  CHECK(text(row.element_id) == std::optional<std::string>("7"));
  REQUIRE((*rows)->next(row).value());
  CHECK_FALSE(row.timestamp);
  CHECK_FALSE(row.timestamp_text);
  CHECK_FALSE((*rows)->next(row).value());
  CHECK(got[1].id != got[2].id); // 42 and "42" stay two ids
}

TEST_CASE("storage::parquet writes a file with no rows that reads back empty", "[storage]") {
  bdd::test::TempDir dir;
  const stdfs::path path = dir.path() / "empty.parquet";
  const std::string bytes = write_file(path, {});
  CHECK(bytes.substr(0, 4) == "PAR1");
  CHECK(bytes.substr(bytes.size() - 4) == "PAR1");
  CHECK(read_events(path).empty());
}

TEST_CASE("storage::parquet splits rows into pages and row groups and reads them in order",
          "[storage]") {
  bdd::test::TempDir dir;
  const stdfs::path path = dir.path() / "many.parquet";
  std::vector<Event> events;
  for (int i = 0; i < 45'000; ++i) {
    nlohmann::json raw = {{"id", "e" + std::to_string(i)},
                          {"userId", "u" + std::to_string(i % 7)},
                          {"event_type", i % 3 == 0 ? "a" : "b"},
                          {"timestamp", "2025-01-01T00:00:00Z"}};
    if (i % 5 == 0) {
      raw["element_id"] = std::string(static_cast<std::size_t>(i % 40), 'x');
    }
    if (i % 1000 == 0) {
      raw["big"] = std::string(200'000, 'y');
    }
    events.push_back(event_of(raw));
  }
  write_file(path, events, {.study_name = "s", .row_group_bytes = 2 << 20});
  auto rows = parquet::open_row_reader(path);
  REQUIRE(rows);
  CHECK((*rows)->row_groups() > 3);
  const auto got = read_events(path);
  REQUIRE(got.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (got[i].id != events[i].id || got[i].element_id != events[i].element_id
        || got[i].raw != events[i].raw) {
      FAIL("row " << i << " differs");
    }
  }
}

TEST_CASE("storage::parquet ends a row group at max_row_group_rows", "[storage]") {
  bdd::test::TempDir dir;
  const stdfs::path path = dir.path() / "groups.parquet";
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i) {
    events.push_back(event_of({{"id", i}}));
  }
  write_file(path, events, {.study_name = "s", .max_row_group_rows = 3});
  auto rows = parquet::open_row_reader(path);
  REQUIRE(rows);
  CHECK((*rows)->row_groups() == 4);
  CHECK(read_events(path).size() == 10);
}

TEST_CASE("storage::parquet refuses a link and a file that is not parquet", "[storage]") {
  bdd::test::TempDir dir;
  const stdfs::path real = dir.path() / "real.parquet";
  write_file(real, {event_of({{"id", "a"}})});
  const stdfs::path link = dir.path() / "link.parquet";
  stdfs::create_symlink(real, link);
  auto linked = parquet::open_file_reader(link);
  REQUIRE_FALSE(linked);
  CHECK(linked.error().code == bdd::Errc::storage);

  const stdfs::path text = dir.path() / "text.parquet";
  bdd::test::write_text(text, "{\"id\": 1}\n{\"id\": 2}\n");
  auto wrong = parquet::open_file_reader(text);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == bdd::Errc::storage);
  CHECK(wrong.error().message.find("parquet") != std::string::npos);
}
