// bdd's Parquet writer and reader (storage/parquet_file.hpp): what the writer stores is what the
// reader gives back, column by column and as events, across pages and row groups.
#include <bdd/model/event.hpp>
#include <bdd/storage/compaction.hpp>
#include <bdd/storage/parquet_file.hpp>
#include <bdd/storage/parquet_metadata.hpp>
#include <bdd/storage/parquet_reader.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/memory.hpp>
#include <support/temp_dir.hpp>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
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

namespace {

// Reads every event of `path`: the error if reading fails, "" if it reads to its end.
std::optional<bdd::Error> read_error(const stdfs::path& path) {
  auto reader = parquet::open_file_reader(path);
  if (!reader) {
    return reader.error();
  }
  for (;;) {
    auto next = (*reader)->next();
    if (!next) {
      return next.error();
    }
    if (!*next) {
      return std::nullopt;
    }
  }
}

} // namespace

TEST_CASE("storage::parquet fails with a storage error on every truncation and on damage",
          "[storage]") {
  bdd::test::TempDir dir;
  const stdfs::path good = dir.path() / "good.parquet";
  std::vector<Event> events;
  for (int i = 0; i < 40; ++i) {
    events.push_back(
        event_of({{"id", i % 2 == 0 ? nlohmann::json(i) : nlohmann::json("e" + std::to_string(i))},
                  {"userId", "u" + std::to_string(i % 3)},
                  {"element_id", i % 4 == 0 ? nlohmann::json(nullptr) : nlohmann::json("x")},
                  {"timestamp", i % 5 == 0 ? "bad" : "2025-01-02T03:04:05Z"}}));
  }
  const std::string bytes = write_file(good, events, {.study_name = "s", .max_row_group_rows = 16});
  REQUIRE_FALSE(read_error(good));

  const stdfs::path damaged = dir.path() / "damaged.parquet";
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    bdd::test::write_text(damaged, std::string_view(bytes).substr(0, size));
    const auto error = read_error(damaged);
    INFO("cut to " << size << " of " << bytes.size() << " bytes");
    REQUIRE(error);
    CHECK(error->code == bdd::Errc::storage);
  }

  // Random byte changes: the file may still read (a changed value), or fail with a storage
  // error; it never crashes, hangs or allocates without bound (run under ASan: sanitize.sh).
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto random = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int failures = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string changed = bytes;
    const int flips = 1 + static_cast<int>(random() % 3);
    for (int f = 0; f < flips; ++f) {
      changed[random() % changed.size()] ^= static_cast<char>(1 + random() % 255);
    }
    bdd::test::write_text(damaged, changed);
    if (const auto error = read_error(damaged)) {
      INFO("round " << round << ": " << error->message);
      CHECK(error->code == bdd::Errc::storage);
      ++failures;
    }
  }
  CHECK(failures > 0);
}

TEST_CASE("storage::parquet refuses an event without its raw JSON", "[storage]") {
  std::string bytes;
  auto writer = parquet::make_file_writer(
      [&](std::string_view chunk) -> bdd::Result<void> {
        bytes.append(chunk);
        return {};
      },
      {});
  REQUIRE(writer);
  Event event;
  event.id = "a";
  const auto added = (*writer)->add(event);
  REQUIRE_FALSE(added);
  CHECK(added.error().code == bdd::Errc::internal);
  CHECK((*writer)->rows() == 0);
}

namespace {

// A ZSTD frame of `size` zero bytes, compressed a MiB at a time so that even a GiB costs little
// memory here; `pledge` writes the content size into the frame header, as bdd's writer does.
std::string zero_frame(std::size_t size, bool pledge) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
  REQUIRE(context != nullptr);
  if (pledge) {
    REQUIRE(ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(context.get(), size)) == 0);
  }
  const std::string zeros(std::size_t{1} << 20, '\0');
  std::string out;
  std::string buffer(ZSTD_CStreamOutSize(), '\0');
  std::size_t left = size;
  for (;;) {
    const std::size_t take = std::min(left, zeros.size());
    left -= take;
    const ZSTD_EndDirective mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
    ZSTD_inBuffer in{zeros.data(), take, 0};
    std::size_t remaining = 0;
    do {
      ZSTD_outBuffer sink{buffer.data(), buffer.size(), 0};
      remaining = ZSTD_compressStream2(context.get(), &sink, &in, mode);
      REQUIRE(ZSTD_isError(remaining) == 0);
      out.append(buffer.data(), sink.pos);
    } while (in.pos < in.size || (mode == ZSTD_e_end && remaining != 0));
    if (mode == ZSTD_e_end) {
      return out;
    }
  }
}

std::string frame_of(std::string_view bytes) {
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  const std::size_t size = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), 1);
  REQUIRE(ZSTD_isError(size) == 0);
  out.resize(size);
  return out;
}

// `file` (a one-row-group file written by bdd) with its `data` column chunk replaced by one page:
// `header` (its compressed size set to the body's) and `body`; the footer says the new sizes.
std::string
with_data_page(std::string_view file, parquet::PageHeader header, std::string_view body) {
  REQUIRE(file.size() > 12);
  const std::string_view tail = file.substr(file.size() - 8);
  REQUIRE(tail.substr(4) == parquet::k_magic);
  std::uint32_t footer_size = 0;
  for (int i = 3; i >= 0; --i) {
    footer_size =
        (footer_size << 8) | static_cast<unsigned char>(tail[static_cast<std::size_t>(i)]);
  }
  const std::size_t footer_start = file.size() - 8 - footer_size;
  auto meta = parquet::decode_file_metadata(file.substr(footer_start, footer_size));
  REQUIRE(meta);
  REQUIRE(meta->row_groups.size() == 1);
  parquet::RowGroup& group = meta->row_groups[0];
  parquet::ColumnMetaData& data = group.columns[parquet::col_data];
  REQUIRE_FALSE(data.dictionary_page_offset);
  // The writer puts the data column last, just before the footer.
  REQUIRE(static_cast<std::size_t>(data.data_page_offset + data.total_compressed_size)
          == footer_start);

  header.compressed_page_size = static_cast<std::int32_t>(body.size());
  std::string page;
  parquet::append_page_header(page, header);
  const auto header_size = static_cast<std::int64_t>(page.size());
  page.append(body);
  group.total_compressed_size +=
      static_cast<std::int64_t>(page.size()) - data.total_compressed_size;
  group.total_byte_size +=
      header_size + header.uncompressed_page_size - data.total_uncompressed_size;
  data.total_compressed_size = static_cast<std::int64_t>(page.size());
  data.total_uncompressed_size = header_size + header.uncompressed_page_size;

  std::string out(file.substr(0, static_cast<std::size_t>(data.data_page_offset)));
  out += page;
  const std::string footer = parquet::encode_file_metadata(meta->num_rows, meta->row_groups);
  out += footer;
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>((footer.size() >> (8 * i)) & 0xFF);
  }
  out += parquet::k_magic;
  return out;
}

// A PLAIN BYTE_ARRAY page body holding `value`.
std::string plain_value(std::string_view value) {
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>((value.size() >> (8 * i)) & 0xFF);
  }
  out += value;
  return out;
}

} // namespace

// A study's part files are untrusted: a page of a few KiB must not make the reader allocate
// what its frame expands to unless that is within the bound of one page bdd writes (the record
// bound of every reader, k_max_record_bytes, plus the page target).
TEST_CASE("storage::parquet refuses a ZSTD bomb before allocating for it", "[storage]") {
  bdd::test::TempDir dir;
  const std::string raw = R"({"id":"a","userId":"u"})";
  const std::string good =
      write_file(dir.path() / "good.parquet", {event_of(nlohmann::json::parse(raw))});
  const stdfs::path path = dir.path() / "changed.parquet";
  parquet::PageHeader header;
  header.num_values = 1;

  // The construction itself is sound: a page built here from a real value reads back.
  const std::string value = plain_value(raw);
  header.uncompressed_page_size = static_cast<std::int32_t>(value.size());
  bdd::test::write_text(path, with_data_page(good, header, frame_of(value)));
  const auto events = read_events(path);
  REQUIRE(events.size() == 1);
  CHECK(events[0].raw == raw);

  struct Bomb {
    const char* what;
    std::size_t expands_to;
    std::int32_t page_says;
    bool pledge;
    const char* message;
  };
  const std::size_t gib = std::size_t{1} << 30;
  const Bomb bomb = GENERATE_COPY(
      Bomb{"1 GiB of zeros, and the page says so",
           gib,
           static_cast<std::int32_t>(gib),
           true,
           "larger than bdd writes"},
      Bomb{"1 GiB of zeros in a page that says 1 KiB", gib, 1024, true, "size differs"},
      Bomb{"a frame that does not say its size", 64 << 20, 1024, false, "size differs"},
      Bomb{"a frame that says less than the page", 1024, 2048, true, "size differs"});
  INFO(bomb.what);
  const std::string frame = zero_frame(bomb.expands_to, bomb.pledge);
  CHECK(frame.size() < (std::size_t{1} << 20)); // a bomb: small on disk
  header.uncompressed_page_size = bomb.page_says;
  bdd::test::write_text(path, with_data_page(good, header, frame));

  const std::size_t before = bdd::test::peak_rss_bytes();
  const auto error = read_error(path);
  REQUIRE(error);
  CHECK(error->code == bdd::Errc::storage);
  CHECK_THAT(error->message, Catch::Matchers::Contains(bomb.message));
  // Nothing near the expanded size was ever held (the peak of this process moved < 64 MiB).
  CHECK(bdd::test::peak_rss_bytes() - before < std::size_t{64} << 20);
}

// Within the bound a frame is decompressed, and what it holds is still checked: zeros are not
// the page's one JSON value.
TEST_CASE("storage::parquet reads a large honest page and still checks its values", "[storage]") {
  bdd::test::TempDir dir;
  const std::string good = write_file(dir.path() / "good.parquet", {event_of({{"id", "a"}})});
  const stdfs::path path = dir.path() / "changed.parquet";
  parquet::PageHeader header;
  header.num_values = 1;
  header.uncompressed_page_size = 8 << 20;
  bdd::test::write_text(path, with_data_page(good, header, zero_frame(8 << 20, true)));
  const auto error = read_error(path);
  REQUIRE(error);
  CHECK(error->code == bdd::Errc::storage);
}

TEST_CASE("storage::plan_compactions merges a leaf's newest small parts, never a large one",
          "[storage]") {
  using bdd::storage::Compaction;
  using bdd::storage::PartFile;
  constexpr std::uint64_t kib = 1024;
  constexpr std::uint64_t mib = kib * kib;
  const auto part = [](const std::string& folder, int seq, std::uint64_t size) {
    char name[64];
    std::snprintf(name, sizeof name, "part-20261207T000000000000Z-1-%06d.parquet", seq);
    return PartFile{folder.empty() ? name : folder + "/" + name, size};
  };
  const auto plan = [](const std::vector<PartFile>& files) {
    return bdd::storage::plan_compactions(files, {});
  };

  SECTION("a nested leaf's tiny parts of one download become one part") {
    std::vector<PartFile> files;
    for (int seq = 9; seq >= 1; --seq) { // any order
      files.push_back(part("u1/2025-01-01", seq, 30 * kib));
    }
    files.push_back(part("u2/2025-01-01", 10, 30 * kib)); // a leaf of one part stays
    files.push_back({"u1/2025-01-01/notes.txt", 5});      // not a part
    const auto merges = plan(files);
    REQUIRE(merges.size() == 1);
    CHECK(merges[0].parts.size() == 9);
    CHECK(merges[0].parts.front() == part("u1/2025-01-01", 1, 0).path);
    CHECK(merges[0].parts.back() == part("u1/2025-01-01", 9, 0).path);
    CHECK(merges[0].target == "u1/2025-01-01/part-20261207T000000000000Z-1-000009-c.parquet");
  }
  SECTION("a flat study's new tiny parts merge among themselves, not into its big part") {
    const auto merges = plan({part("", 1, 90 * mib), part("", 2, 10 * kib), part("", 3, 10 * kib)});
    REQUIRE(merges.size() == 1);
    CHECK(merges[0].parts == std::vector<std::string>{part("", 2, 0).path, part("", 3, 0).path});
  }
  SECTION("parts that together pass the tiny bound wait for the count or size rule") {
    CHECK(plan({part("", 1, 3 * mib), part("", 2, 3 * mib)}).empty());
    std::vector<PartFile> many;
    for (int seq = 1; seq <= 17; ++seq) {
      many.push_back(part("", seq, 5 * mib));
    }
    const auto merges = plan(many);
    REQUIRE(merges.size() == 1);
    CHECK(merges[0].parts.size() == 17);
  }
  SECTION("a large part is never rewritten") {
    std::vector<PartFile> files{part("", 1, 200 * mib)};
    for (int seq = 2; seq <= 20; ++seq) {
      files.push_back(part("", seq, 5 * mib));
    }
    const auto merges = plan(files);
    REQUIRE(merges.size() == 1);
    CHECK(merges[0].parts.size() == 19);
    CHECK(merges[0].parts.front() == part("", 2, 0).path);
    CHECK(plan({part("", 1, 200 * mib), part("", 2, 1 * kib)}).empty());
  }
}
