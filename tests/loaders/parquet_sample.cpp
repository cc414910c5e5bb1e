// parquet_sample <case> <out.parquet> <expected.jsonl>: writes adversarial events with bdd's
// Parquet writer (storage/parquet_file.hpp) and, one JSON line per row, the column values the
// file must hold, for parquet_rows.mjs to compare with what DuckDB and hyparquet read.
// Cases: mixed (100k+ rows in several row groups, unicode, nulls vs empty strings, times that do
// not parse, pre-1970 times, number ids, one ~30 MB event, a dictionary that falls back to
// PLAIN), nulls (optional columns all null),
// empty (no rows).
#include <bdd/model/event.hpp>
#include <bdd/storage/parquet_file.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

namespace {

using nlohmann::json;
namespace parquet = bdd::storage::parquet;

json optional(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

// What the writer stores for `event` (parquet_file.hpp's columns).
json expected_row(const bdd::model::Event& event, const std::string& study) {
  json row;
  row["id"] = std::string(bdd::model::display_id(event.id));
  row["study_name"] = study;
  row["user_id"] = event.user_id;
  row["event_type"] = event.event_type;
  row["element_id"] = optional(event.element_id);
  row["page_url"] = optional(event.page_url);
  for (const auto& [name, value] :
       {std::pair{std::string("timestamp"), event.timestamp},
        std::pair{std::string("stored_timestamp"), event.stored_timestamp}}) {
    const auto time = value ? bdd::model::parse_iso_time(*value) : std::nullopt;
    row[name] = time ? json(std::to_string(time->utc_microseconds)) : json(nullptr);
    row[name + "_text"] = value && !time ? json(*value) : json(nullptr);
  }
  row["data"] = event.raw;
  return row;
}

json mixed_event(int i) {
  static const char* const users[] = {"alice",
                                      "b\xC3\xB8"
                                      "b",
                                      "\xF0\x9F\x98\x80",
                                      "e\xCC\x81\xCC\x81",
                                      ""};
  static const char* const times[] = {"2025-11-18T23:30:00-02:00",
                                      "1969-07-20T20:17:40Z",
                                      "1900-01-01",
                                      "not a time",
                                      "",
                                      "2024-02-29T12:00:00.123456Z",
                                      "0001-01-01T00:00:00Z"};
  json event;
  if (i % 11 == 0) {
    event["id"] = i; // a number id: its display form is the number
  } else if (i % 13 == 0) {
    event["id"] = std::to_string(i) + ".0";
  } else {
    event["id"] = "e-" + std::to_string(i) + (i % 7 == 0 ? "-\xF0\x9F\x90\x9B" : "");
  }
  event["userId"] = users[i % 5];
  if (i >= 60'000 && i % 2 == 1) {
    // Distinct long user ids: the row group's dictionary outgrows its limit and its later
    // pages fall back to PLAIN.
    event["userId"] = "user-" + std::string(100, 'x') + std::to_string(i);
  }
  if (i % 4 != 0) {
    event["event_type"] = i % 4 == 1 ? "click" : "\xE2\x80\x8Bzero-width";
  }
  if (i % 3 == 0) {
    event["element_id"] = i % 2 == 0 ? json("") : json("el\"\\\n" + std::to_string(i));
  } else if (i % 3 == 1) {
    event["element_id"] = i; // a number, stored as its JSON text
  }
  if (i % 6 != 0) {
    event["page_url"] = i % 5 == 0 ? std::string() : "https://x.test/p?q=" + std::to_string(i);
  }
  if (i % 9 != 0) {
    event["timestamp"] = times[i % 7];
  }
  event["stored"] = times[(i / 3) % 7];
  if (i == 777) {
    event["payload"] = std::string(std::size_t{30} << 20, 'z'); // one ~30 MB event
  }
  return event;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: parquet_sample <mixed|nulls|empty> <out.parquet> <expected.jsonl>\n";
    return 2;
  }
  const std::string which = argv[1];
  FILE* out = std::fopen(argv[2], "wb");
  std::ofstream expected(argv[3], std::ios::binary);
  if (out == nullptr || !expected) {
    std::cerr << "cannot write the output files\n";
    return 1;
  }
  const std::string study = "study-\xC3\xA9";
  parquet::FileWriterOptions options;
  options.study_name = study;
  options.row_group_bytes = std::uint64_t{4} << 20; // several row groups
  auto writer = parquet::make_file_writer(
      [&](std::string_view bytes) -> bdd::Result<void> {
        if (std::fwrite(bytes.data(), 1, bytes.size(), out) != bytes.size()) {
          return bdd::Error(bdd::Errc::storage, "cannot write the parquet file");
        }
        return {};
      },
      options);
  if (!writer) {
    std::cerr << writer.error().message << "\n";
    return 1;
  }
  const int count = which == "mixed" ? 120'000 : which == "nulls" ? 3000 : 0;
  for (int i = 0; i < count; ++i) {
    json raw = which == "mixed" ? mixed_event(i) : json{{"id", "n" + std::to_string(i)}};
    const bdd::model::Event event = bdd::model::normalise_compact(raw.dump());
    if (auto added = (*writer)->add(event); !added) {
      std::cerr << added.error().message << "\n";
      return 1;
    }
    expected << expected_row(event, study).dump() << '\n';
  }
  if (auto finished = (*writer)->finish(); !finished) {
    std::cerr << finished.error().message << "\n";
    return 1;
  }
  return std::fclose(out) == 0 && expected.flush() ? 0 : 1;
}
