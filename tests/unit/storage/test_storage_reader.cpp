// The streaming readers that `bdd verify` and `download --repair` use: they return every event a
// writer stored, in order, and name the line where a damaged file stops making sense.
#include "storage_test_helpers.hpp"

#include <bdd/core/sha256.hpp>
#include <bdd/storage/reader.hpp>
#include <bdd/storage/writer.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace stdfs = std::filesystem;
using bdd::storage::Level;
using namespace bdd::test;

namespace {

struct ReadResult {
  std::vector<std::string> ids;
  std::string error; // "" if the file read to its end
  std::uint64_t error_line = 0;
};

ReadResult read_ids(const std::string& format, const stdfs::path& path) {
  ReadResult out;
  auto reader = bdd::storage::open_reader(format, path);
  REQUIRE(reader);
  for (;;) {
    auto record = (*reader)->next();
    if (!record) {
      out.error = record.error().message;
      out.error_line = (*reader)->error_line();
      return out;
    }
    if (!*record) {
      return out;
    }
    out.ids.push_back((*record)->id);
  }
}

std::vector<std::string> ids_of(const std::vector<bdd::model::Event>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events) {
    ids.push_back(event.id);
  }
  return ids;
}

std::string read_bytes(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const stdfs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

} // namespace

TEST_CASE("storage::open_reader returns every stored event in order, in every format",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv", "sqlite");
  INFO(format);
  TempDir dir;
  const auto first = hostile_events(); // quotes, newlines, commas, non-ASCII
  const auto second = generated_events(30, 2, 2);
  auto writer = make_test_writer(format, dir.path(), {});
  write_all(*writer, first);
  REQUIRE(writer->commit(accept_journal()));
  write_all(*writer, second);
  REQUIRE(writer->commit(accept_journal()));
  REQUIRE(writer->close());

  auto files = bdd::storage::list_data_files(dir.path(), format);
  REQUIRE(files);
  REQUIRE(files->size() == 1);
  const auto read = read_ids(format, dir.path() / files->front());
  CHECK(read.error == "");
  CHECK(read.ids == ids_of(concat_events(first, second)));
  if (format == "sqlite") {
    CHECK(bdd::storage::sqlite_integrity_problems(dir.path() / "events.sqlite").empty());
  }
}

TEST_CASE("storage::open_reader names the line where a damaged text file breaks", "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv");
  INFO(format);
  TempDir dir;
  const auto events = generated_events(5, 1, 1);
  auto writer = make_test_writer(format, dir.path(), {});
  write_all(*writer, events);
  REQUIRE(writer->commit(accept_journal()));
  const stdfs::path path = dir.path() / ("events." + format);
  const std::string bytes = read_bytes(path);

  SECTION("cut in the middle of the last event") {
    const std::size_t tail = format == "json" ? 4 : 2;
    write_bytes(path, bytes.substr(0, bytes.size() - tail - 10));
    const auto read = read_ids(format, path);
    CHECK(read.error != "");
    CHECK(read.ids.size() == 4);
    CHECK(read.error_line == (format == "jsonl" ? 5U : 6U));
  }
  SECTION("garbage appended") {
    write_bytes(path, bytes + "garbage\n");
    const auto read = read_ids(format, path);
    CHECK(read.error != "");
    CHECK(read.ids.size() == 5);
  }
  SECTION("an event line that is not JSON") {
    std::string damaged = bytes;
    const auto at = damaged.find(format == "csv" ? "{\"\"" : "{\"id\"");
    REQUIRE(at != std::string::npos);
    damaged[at] = '[';
    write_bytes(path, damaged);
    const auto read = read_ids(format, path);
    CHECK(read.error != "");
    CHECK(read.ids.empty());
  }
}

TEST_CASE("storage::open_reader parses RFC 4180 quoted fields across lines", "[storage]") {
  TempDir dir;
  const stdfs::path path = dir.path() / "events.csv";
  write_bytes(path,
              "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n"
              "\"a,1\",u,t,,,,\"line\r\nbreak\",\"{\"\"x\"\":\"\"y\"\"}\"\r\n"
              "b,u,t,,,,,{}\r\n");
  const auto read = read_ids("csv", path);
  CHECK(read.error == "");
  CHECK(read.ids == std::vector<std::string>{"a,1", "b"});

  write_bytes(path,
              "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n"
              "a,u,t,,,\r\n");
  const auto short_row = read_ids("csv", path);
  CHECK(short_row.error == "a row with 6 fields instead of 8");
  CHECK(short_row.error_line == 2);
}

TEST_CASE("storage::open_reader checks the JSON document's structure", "[storage]") {
  TempDir dir;
  const stdfs::path path = dir.path() / "events.json";
  const std::string head = "{\"metadata\":{\"study_name\":\"s\"},\"events\":[\n";
  write_bytes(path, head + "{\"id\":\"a\"},\n{\"id\":\"b\"}\n]}\n");
  CHECK(read_ids("json", path).error == "");
  write_bytes(path, head + "{\"id\":\"a\"}\n{\"id\":\"b\"}\n]}\n");
  CHECK(read_ids("json", path).error == "no comma between two events");
  write_bytes(path, head + "{\"id\":\"a\"},\n]}\n");
  CHECK(read_ids("json", path).error == "a comma after the last event");
  write_bytes(path, head + "{\"id\":\"a\"}\n");
  CHECK(read_ids("json", path).error == "the document ends before its closing \"]}\" (cut short?)");
  write_bytes(path, "{\"metadata\":3,\"events\":[\n{\"id\":\"a\"}\n]}\n");
  CHECK(read_ids("json", path).error_line == 1);
}

TEST_CASE("storage::text_layout rebuilds the bytes a writer produced", "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv");
  TempDir dir;
  auto writer = make_test_writer(format, dir.path(), {});
  write_all(*writer, generated_events(7, 1, 1));
  REQUIRE(writer->commit(accept_journal()));
  const stdfs::path path = dir.path() / ("events." + format);
  auto reader = bdd::storage::open_reader(format, path);
  REQUIRE(reader);
  const auto layout = *bdd::storage::text_layout(format);
  std::string rebuilt;
  std::size_t count = 0;
  for (;;) {
    auto record = (*reader)->next();
    REQUIRE(record);
    if (!*record) {
      break;
    }
    rebuilt += count++ == 0 ? (*reader)->head() : std::string(layout.separator);
    rebuilt += (*record)->bytes;
  }
  rebuilt += layout.end;
  CHECK(rebuilt == read_bytes(path));
  const auto tail = bdd::storage::rewritten_tail(format);
  CHECK(rebuilt.substr(rebuilt.size() - tail.size()) == tail);
}

TEST_CASE("storage::open_reader hashes every byte of the file once, also past a damage",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv");
  INFO(format);
  TempDir dir;
  // Several of the reader's 256 KiB chunks, with quotes and line breaks inside CSV fields.
  auto writer = make_test_writer(format, dir.path(), {});
  write_all(*writer, concat_events(hostile_events(), generated_events(8000, 3, 3)));
  REQUIRE(writer->commit(accept_journal()));
  REQUIRE(writer->close());
  const stdfs::path path = dir.path() / ("events." + format);
  std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() > 3 * (std::size_t{256} << 10));

  auto hashed = [&](std::size_t& events) {
    auto reader = bdd::storage::open_reader(format, path, {.hash = true});
    REQUIRE(reader);
    events = 0;
    for (;;) {
      auto record = (*reader)->next();
      if (!record || !*record) {
        break;
      }
      events += 1;
    }
    auto sha256 = (*reader)->file_sha256();
    REQUIRE(sha256);
    return *sha256;
  };
  std::size_t events = 0;
  CHECK(hashed(events) == bdd::sha256_hex(bytes));
  CHECK(events == hostile_events().size() + 8000);
  CHECK(read_ids(format, path).error == "");

  // A line end in the first tenth joined to the next line breaks the parse there; the hash
  // still covers the whole file.
  bytes[bytes.find('\n', bytes.size() / 10)] = ' ';
  write_bytes(path, bytes);
  const std::string damaged = hashed(events);
  CHECK(damaged == bdd::sha256_hex(bytes));
  CHECK(events < 1600);
}

TEST_CASE("storage::open_reader refuses a record longer than max_record_bytes at its line",
          "[storage]") {
  const std::string format = GENERATE(as<std::string>{}, "json", "jsonl", "csv");
  INFO(format);
  TempDir dir;
  const stdfs::path path = dir.path() / ("events." + format);
  const std::size_t limit = std::size_t{1} << 20;
  auto event = [](const std::string& id, std::size_t padding) {
    return "{\"id\":\"" + id + "\",\"data\":{\"x\":\"" + std::string(padding, 'p') + "\"}}";
  };
  // A record just under the limit is read (the buffer grows past a chunk for it); one line
  // over it fails there, without holding the rest of the line.
  for (const std::size_t padding : {limit - 100, 3 * limit}) {
    std::string text;
    if (format == "csv") {
      text = "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data\r\n"
             "a,u,t,,,,,{}\r\n"
             "b,u,t,,,,,\"{\"\"x\"\":\"\""
             + std::string(padding, 'p') + "\"\"}\"\r\nc,u,t,,,,,{}\r\n";
    } else if (format == "json") {
      text =
          "[\n" + event("a", 1) + ",\n" + event("b", padding) + ",\n" + event("c", 1) + "\n]\n\n";
    } else {
      text = event("a", 1) + "\n" + event("b", padding) + "\n" + event("c", 1) + "\n";
    }
    write_bytes(path, text);
    auto reader = bdd::storage::open_reader(format, path, {.max_record_bytes = limit});
    REQUIRE(reader);
    std::vector<std::string> ids;
    std::string error;
    for (;;) {
      auto record = (*reader)->next();
      if (!record) {
        error = record.error().message;
        break;
      }
      if (!*record) {
        break;
      }
      ids.push_back((*record)->id);
    }
    if (padding < limit) {
      CHECK(error == "");
      CHECK(ids == std::vector<std::string>{"a", "b", "c"});
    } else {
      CHECK(error == "a record longer than 1048576 bytes (not written by bdd)");
      CHECK((*reader)->error_line() == 3 - (format == "jsonl" ? 1U : 0U));
      CHECK(ids == std::vector<std::string>{"a"});
    }
  }
}
