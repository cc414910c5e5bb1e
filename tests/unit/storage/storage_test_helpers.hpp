#pragma once

#include <bdd/model/event.hpp>
#include <bdd/storage/layout.hpp>
#include <bdd/storage/writer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace bdd::test {

using nlohmann::json;

// One stored event as a reader sees it, whatever the format.
struct Row {
  std::string id;
  std::string user_id;
  std::string event_type;
  std::optional<std::string> element_id;
  std::optional<std::string> timestamp;
  std::optional<std::string> stored_timestamp;
  std::optional<std::string> page_url;
  json data;

  bool operator==(const Row&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const Row& row) {
  return out << "Row{" << row.id << ", " << row.user_id << ", " << row.event_type << ", "
             << row.element_id.value_or("null") << ", " << row.timestamp.value_or("null") << ", "
             << row.stored_timestamp.value_or("null") << ", " << row.page_url.value_or("null")
             << ", " << row.data.dump() << "}";
}

inline Row expected_row(const model::Event& event) {
  return {std::string(model::display_id(event.id)), // the files show ids, not identity keys
          event.user_id,
          event.event_type,
          event.element_id,
          event.timestamp,
          event.stored_timestamp,
          event.page_url,
          json::parse(event.raw)};
}

inline std::optional<std::string> optional_string(const json& value) {
  if (value.is_null()) {
    return std::nullopt;
  }
  return value.get<std::string>();
}

// A `to_normalised_json` object back as a Row; checks the study name and the key order.
inline Row row_from_normalised(const std::string& line, const std::string& study_name) {
  const auto object = nlohmann::ordered_json::parse(line);
  std::vector<std::string> keys;
  for (const auto& item : object.items()) {
    keys.push_back(item.key());
  }
  CHECK(keys
        == std::vector<std::string>{"id",
                                    "study_name",
                                    "user_id",
                                    "event_type",
                                    "element_id",
                                    "timestamp",
                                    "stored_timestamp",
                                    "page_url",
                                    "data"});
  CHECK(object["study_name"] == study_name);
  return {object["id"].get<std::string>(),
          object["user_id"].get<std::string>(),
          object["event_type"].get<std::string>(),
          optional_string(object["element_id"]),
          optional_string(object["timestamp"]),
          optional_string(object["stored_timestamp"]),
          optional_string(object["page_url"]),
          json::parse(object["data"].dump())};
}

// Events with every shape and hostile value the spec warns about.
inline std::vector<model::Event> hostile_events() {
  const char* const raw_events[] = {
      R"({"id": "6744c1e2f1a9b3c0d2e4f5a6", "stored": "2025-11-18T10:00:01.532Z",
          "timestamp": "2025-11-18T10:00:01.120Z", "types": ["click"], "element_id": "btn-start",
          "page_url": "https://example.org/study/p1", "base": {"userId": "user_A", "index": 1}})",
      R"({"stored": "2025-11-18T10:05:00.000Z", "types": ["TrialEnded"],
          "object": {"userId": "P-007", "index": 42, "tsGenerated": "2025-11-18T10:04:59.870Z"}})",
      R"({"id": "h1", "stored": "2025-11-19T00:30:00+02:00", "types": ["a,b"],
          "element_id": "x,\"y\"\nz", "page_url": "line1\r\nline2", "base": {"userId": "../../x"}})",
      R"({"id": "h2", "types": ["ユーザー 🎉"], "userId": "ユーザー", "element_id": "",
          "stored": "2025-11-20T10:00:00Z"})",
      R"({"id": "h3", "userId": "", "stored": 1763460001532, "page_url": ","})",
      R"({"types": [1], "note": "no id, no user, no time"})",
      R"({"id": "h4", "base": {"userId": "a/b"}, "stored": "2025-11-18T10:00:00Z",
          "timestamp": "2025-11-18T09:00:00Z", "payload": {"text": "comma, \"quote\"\nnew\r\nline"}})",
      R"({"id": "h5", "userId": "CON", "stored": "2025-11-18T10:00:00Z", "element_id": "\"",
          "page_url": "\"\""})",
      R"({"id": 12345, "userId": ".bdd", "stored": "2025-11-21T10:00:00Z",
          "element_id": {"nested": [1, "two"]}, "types": ["user_A"]})",
      R"({"id": "h6", "base": {"userId": "user_A"}, "stored": "2025-11-19T10:00:00Z",
          "types": ["click"], "element_id": " leading and trailing spaces "})",
  };
  std::vector<model::Event> out;
  for (const char* text : raw_events) {
    out.push_back(model::normalise(json::parse(text)));
  }
  return out;
}

// `count` ordinary events spread over `users` users and `days` days.
inline std::vector<model::Event> generated_events(int count, int users, int days, int first = 0) {
  std::vector<model::Event> out;
  for (int i = first; i < first + count; ++i) {
    const int day = 1 + (i / users) % days;
    const std::string stored =
        "2025-10-" + std::string(day < 10 ? "0" : "") + std::to_string(day) + "T12:00:00.000Z";
    out.push_back(model::normalise(json{{"id", "e" + std::to_string(i)},
                                        {"stored", stored},
                                        {"types", {"t" + std::to_string(i % 3)}},
                                        {"base", {{"userId", "u" + std::to_string(i % users)}}},
                                        {"value", i}}));
  }
  return out;
}

inline std::vector<model::Event> concat_events(std::vector<model::Event> a,
                                               const std::vector<model::Event>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The relative path of `event`'s leaf file.
inline std::string leaf_file(const model::Event& event,
                             const std::vector<storage::Level>& levels,
                             const std::string& extension) {
  const std::string dir =
      storage::leaf_directory_string(event, levels, storage::PartitionNaming::plain);
  return (dir.empty() ? "" : dir + "/") + "events." + extension;
}

// Leaf file -> rows, in the order the events were written.
inline std::map<std::string, std::vector<Row>>
expected_leaves(const std::vector<model::Event>& events,
                const std::vector<storage::Level>& levels,
                const std::string& extension) {
  std::map<std::string, std::vector<Row>> out;
  for (const auto& event : events) {
    out[leaf_file(event, levels, extension)].push_back(expected_row(event));
  }
  return out;
}

inline storage::JournalFn accept_journal() {
  return [](const std::vector<storage::FileExtent>&) -> Result<void> { return ok(); };
}

inline std::unique_ptr<storage::Writer>
make_test_writer(const std::string& format,
                 const std::filesystem::path& dir,
                 std::vector<storage::Level> levels = {},
                 const std::string& study = "study",
                 storage::PartitionNaming naming = storage::PartitionNaming::plain) {
  auto writer = storage::make_writer(format, {dir, study, std::move(levels), naming});
  REQUIRE(writer);
  return std::move(writer).value();
}

inline void write_all(storage::Writer& writer, const std::vector<model::Event>& events) {
  for (const auto& event : events) {
    REQUIRE(writer.write(event));
  }
}

// Commit the sealed batch on another thread while `events` are written on this one, as the
// download engine does; `commit_delay` holds the commit back so that the writes start first.
// Returns the commit's result.
inline Result<std::vector<storage::FileExtent>>
commit_while_writing(storage::Writer& writer,
                     const std::vector<model::Event>& events,
                     std::chrono::milliseconds commit_delay = {}) {
  Result<std::vector<storage::FileExtent>> committed = Error(Errc::internal, "not run");
  std::thread committer([&] {
    std::this_thread::sleep_for(commit_delay);
    committed = writer.commit(accept_journal());
  });
  write_all(writer, events);
  committer.join();
  return committed;
}

} // namespace bdd::test
