#pragma once

// Readers that parse what the text writers wrote, independently of the writers' code.
#include "storage_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bdd::test {

namespace stdfs = std::filesystem;

// One field of a CSV record; `quoted` tells "" (empty string) from nothing (null).
struct CsvField {
  std::string text;
  bool quoted = false;
};

// A strict RFC 4180 reader: CRLF record ends, quotes only around whole fields. Fails the test on
// anything else, so the writer cannot get away with sloppy output.
inline std::vector<std::vector<CsvField>> parse_csv(const std::string& text) {
  std::vector<std::vector<CsvField>> records;
  std::vector<CsvField> record;
  CsvField field;
  std::size_t i = 0;
  bool at_field_start = true;
  while (i < text.size()) {
    const char c = text[i];
    if (at_field_start && c == '"') {
      field.quoted = true;
      ++i;
      for (;;) {
        REQUIRE(i < text.size()); // unterminated quoted field
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.text += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.text += text[i++];
      }
      REQUIRE((i == text.size() || text[i] == ',' || text[i] == '\r'));
      at_field_start = false;
      continue;
    }
    if (c == ',') {
      record.push_back(std::move(field));
      field = {};
      at_field_start = true;
      ++i;
    } else if (c == '\r') {
      REQUIRE(i + 1 < text.size());
      REQUIRE(text[i + 1] == '\n');
      record.push_back(std::move(field));
      field = {};
      records.push_back(std::move(record));
      record = {};
      at_field_start = true;
      i += 2;
    } else {
      REQUIRE(c != '\n'); // a bare LF outside quotes
      REQUIRE(c != '"');  // a quote inside an unquoted field
      field.text += c;
      at_field_start = false;
      ++i;
    }
  }
  REQUIRE(record.empty()); // the last record ends with CRLF
  REQUIRE(at_field_start);
  return records;
}

inline std::optional<std::string> csv_optional(const CsvField& field) {
  if (!field.quoted && field.text.empty()) {
    return std::nullopt;
  }
  return field.text;
}

inline std::vector<Row> read_csv(const stdfs::path& path) {
  const auto records = parse_csv(read_text(path));
  REQUIRE_FALSE(records.empty());
  std::vector<std::string> header;
  for (const auto& field : records[0]) {
    header.push_back(field.text);
  }
  CHECK(header
        == std::vector<std::string>{"id",
                                    "user_id",
                                    "event_type",
                                    "element_id",
                                    "timestamp",
                                    "stored_timestamp",
                                    "page_url",
                                    "data"});
  std::vector<Row> rows;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const auto& f = records[r];
    REQUIRE(f.size() == 8);
    rows.push_back({f[0].text,
                    f[1].text,
                    f[2].text,
                    csv_optional(f[3]),
                    csv_optional(f[4]),
                    csv_optional(f[5]),
                    csv_optional(f[6]),
                    json::parse(f[7].text)});
  }
  return rows;
}

inline std::vector<Row> read_jsonl(const stdfs::path& path, const std::string& study) {
  const std::string text = read_text(path);
  REQUIRE_FALSE(text.empty());
  REQUIRE(text.back() == '\n');
  std::vector<Row> rows;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    rows.push_back(row_from_normalised(text.substr(start, end - start), study));
    start = end + 1;
  }
  return rows;
}

// Parses the whole document (so it must be valid JSON): an array of events, or the original
// tool's {"metadata", "events"} document, whose metadata it checks.
inline std::vector<Row> read_json_document(const stdfs::path& path, const std::string& study) {
  // ordered_json keeps each event's key order for row_from_normalised to check.
  const auto document = nlohmann::ordered_json::parse(read_text(path));
  if (document.is_array()) {
    std::vector<Row> rows;
    for (const auto& event : document) {
      rows.push_back(row_from_normalised(event.dump(), study));
    }
    return rows;
  }
  REQUIRE(document.is_object());
  REQUIRE(document.size() == 2);
  CHECK(document["metadata"]["study_name"] == study);
  CHECK(document["metadata"]["format"] == "json");
  CHECK(document["metadata"]["created"].get<std::string>().size() == 20);
  std::vector<Row> rows;
  for (const auto& event : document["events"]) {
    rows.push_back(row_from_normalised(event.dump(), study));
  }
  return rows;
}

inline std::vector<Row>
read_leaf(const std::string& format, const stdfs::path& path, const std::string& study) {
  if (format == "csv") {
    return read_csv(path);
  }
  if (format == "jsonl") {
    return read_jsonl(path, study);
  }
  return read_json_document(path, study);
}

// Every events.<format> file under `dir`, read back.
inline std::map<std::string, std::vector<Row>>
read_all(const std::string& format, const stdfs::path& dir, const std::string& study = "study") {
  std::map<std::string, std::vector<Row>> out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      CHECK(entry.path().filename() == "events." + format);
      out[entry.path().lexically_relative(dir).generic_string()] =
          read_leaf(format, entry.path(), study);
    }
  }
  return out;
}

inline std::map<std::string, std::uint64_t> sizes_on_disk(const stdfs::path& dir) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out[entry.path().lexically_relative(dir).generic_string()] = entry.file_size();
    }
  }
  return out;
}

} // namespace bdd::test
