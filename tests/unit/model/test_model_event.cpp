#include <bdd/core/sha256.hpp>
#include <bdd/model/event.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

using bdd::model::Event;
using bdd::model::normalise;
using bdd::model::to_normalised_json;
using bdd::model::utc_day;
using nlohmann::json;

namespace {

// The spec's example page ("Events" in shared/spec/behaverse-api.md).
const char* const k_example_page = R"({"total": 2, "events": [
  {"id": "6744c1e2f1a9b3c0d2e4f5a6", "stored": "2025-11-18T10:00:01.532Z",
   "timestamp": "2025-11-18T10:00:01.120Z", "types": ["click"], "element_id": "btn-start",
   "page_url": "https://example.org/study/p1", "base": {"userId": "user_A", "index": 1}},
  {"stored": "2025-11-18T10:05:00.000Z", "types": ["TrialEnded"],
   "object": {"userId": "P-007", "index": 42, "tsGenerated": "2025-11-18T10:04:59.870Z"}}]})";

Event from_text(const char* text) {
  return normalise(json::parse(text));
}

std::string hash_id(const char* text) {
  return "sha256:" + bdd::sha256_hex(json::parse(text).dump());
}

} // namespace

TEST_CASE("model::normalise derives every field of the spec's web-style event", "[model]") {
  const json page = json::parse(k_example_page);
  const Event event = normalise(page["events"][0]);
  CHECK(event.id == "6744c1e2f1a9b3c0d2e4f5a6");
  CHECK(event.user_id == "user_A");
  CHECK(event.event_type == "click");
  CHECK(event.element_id == "btn-start");
  CHECK(event.timestamp == "2025-11-18T10:00:01.120Z");
  CHECK(event.stored_timestamp == "2025-11-18T10:00:01.532Z");
  CHECK(event.page_url == "https://example.org/study/p1");
  CHECK(json::parse(event.raw) == page["events"][0]);
  CHECK(event.raw == page["events"][0].dump());
}

TEST_CASE("model::normalise derives every field of the spec's game-style event", "[model]") {
  const json page = json::parse(k_example_page);
  const Event event = normalise(page["events"][1]);
  CHECK(event.id == "P-007_42");
  CHECK(event.user_id == "P-007");
  CHECK(event.event_type == "TrialEnded");
  CHECK(event.element_id == std::nullopt);
  CHECK(event.timestamp == "2025-11-18T10:04:59.870Z");
  CHECK(event.stored_timestamp == "2025-11-18T10:05:00.000Z");
  CHECK(event.page_url == std::nullopt);
  CHECK(json::parse(event.raw) == page["events"][1]);
}

TEST_CASE("model::normalise falls back for id as the spec says", "[model]") {
  SECTION("a numeric id is its JSON text, marked as a number") {
    CHECK(from_text(R"({"id": 123})").id == "\x1fn123");
    CHECK(from_text(R"({"id": -5})").id == "\x1fn-5");
    CHECK(bdd::model::display_id(from_text(R"({"id": -5})").id) == "-5");
  }
  SECTION("base with userId and index and no timestamp") {
    CHECK(from_text(R"({"base": {"userId": "u", "index": 7}})").id == "u_7");
  }
  SECTION("base wins over object when both qualify") {
    CHECK(
        from_text(R"({"base": {"userId": "b", "index": 1}, "object": {"userId": "o", "index": 2}})")
            .id
        == "b_1");
  }
  SECTION("an integral float index is printed as an integer, a numeric userId as JSON") {
    CHECK(from_text(R"({"object": {"userId": 99, "index": 42.0}})").id == "99_42");
  }
  SECTION("a top-level timestamp disables the composite id, so the event is hashed") {
    const char* text =
        R"({"timestamp": "2025-01-01T00:00:00Z", "base": {"userId": "u", "index": 7}})";
    CHECK(from_text(text).id == hash_id(text));
  }
  SECTION("a null timestamp counts as absent") {
    CHECK(from_text(R"({"timestamp": null, "object": {"userId": "u", "index": 3}})").id == "u_3");
  }
  SECTION("events without a usable id are hashed") {
    for (const char* text : {R"({})",
                             R"({"id": null, "types": ["x"]})",
                             R"({"id": ""})",
                             R"({"id": {"nested": 1}})",
                             R"({"object": {"userId": "u"}})",
                             R"({"object": {"index": 1}})",
                             R"({"object": {"userId": "u", "index": "1"}})",
                             R"({"object": {"userId": "u", "index": 1.5}})",
                             R"({"object": {"userId": null, "index": 1}})",
                             R"({"base": "not an object"})",
                             R"([1, 2, 3])",
                             R"("just a string")"}) {
      INFO(text);
      CHECK(from_text(text).id == hash_id(text));
    }
  }
  SECTION("the hash is of the compact text, so formatting does not matter") {
    CHECK(from_text(R"({ "a" : 1,  "b":[ 1,2 ] })").id == from_text(R"({"a":1,"b":[1,2]})").id);
  }
}

TEST_CASE("model::normalise falls back for user_id as the spec says", "[model]") {
  CHECK(from_text(R"({"base": {"userId": "b"}, "object": {"userId": "o"}, "userId": "t"})").user_id
        == "b");
  CHECK(from_text(R"({"base": {"userId": null}, "object": {"userId": "o"}, "userId": "t"})").user_id
        == "o");
  CHECK(from_text(R"({"base": {}, "object": 5, "userId": "t"})").user_id == "t");
  CHECK(from_text(R"({"userId": 17})").user_id == "17");
  CHECK(from_text(R"({"userId": {"a": [1]}})").user_id == R"({"a":[1]})");
  CHECK(from_text(R"({})").user_id == "unknown");
  SECTION("an empty user id is a real value, distinct from a missing one") {
    CHECK(from_text(R"({"userId": ""})").user_id.empty());
  }
}

TEST_CASE("model::normalise falls back for event_type as the spec says", "[model]") {
  CHECK(from_text(R"({"types": ["a", "b"], "event_type": "e"})").event_type == "a");
  CHECK(from_text(R"({"types": [], "event_type": "e"})").event_type == "e");
  CHECK(from_text(R"({"types": [3, "b"], "event_type": "e"})").event_type == "e");
  CHECK(from_text(R"({"types": "a", "event_type": "e"})").event_type == "e");
  CHECK(from_text(R"({"event_type": 4})").event_type == "unknown");
  CHECK(from_text(R"({})").event_type == "unknown");
}

TEST_CASE("model::normalise falls back for the timestamps as the spec says", "[model]") {
  SECTION("timestamp: timestamp, object.tsGenerated, base.tsGenerated, stored") {
    CHECK(
        from_text(R"({"timestamp": "t", "object": {"tsGenerated": "o"}, "stored": "s"})").timestamp
        == "t");
    CHECK(from_text(R"({"object": {"tsGenerated": "o"}, "base": {"tsGenerated": "b"}})").timestamp
          == "o");
    CHECK(from_text(R"({"base": {"tsGenerated": "b"}, "stored": "s"})").timestamp == "b");
    CHECK(from_text(R"({"stored": "s"})").timestamp == "s");
    CHECK(from_text(R"({})").timestamp == std::nullopt);
  }
  SECTION("stored_timestamp: stored, stored_timestamp, timestamp") {
    CHECK(
        from_text(R"({"stored": "s", "stored_timestamp": "st", "timestamp": "t"})").stored_timestamp
        == "s");
    CHECK(from_text(R"({"stored": null, "stored_timestamp": "st", "timestamp": "t"})")
              .stored_timestamp
          == "st");
    CHECK(from_text(R"({"timestamp": "t"})").stored_timestamp == "t");
    CHECK(from_text(R"({})").stored_timestamp == std::nullopt);
  }
  SECTION("numbers are their JSON text, objects and arrays their compact JSON") {
    CHECK(from_text(R"({"timestamp": 1731924000123})").timestamp == "1731924000123");
    CHECK(from_text(R"({"timestamp": 1.5})").timestamp == "1.5");
    CHECK(from_text(R"({"element_id": {"x": [1, "y"]}})").element_id == R"({"x":[1,"y"]})");
    CHECK(from_text(R"({"page_url": [ ]})").page_url == "[]");
    CHECK(from_text(R"({"page_url": true})").page_url == "true");
    CHECK(from_text(R"({"element_id": null})").element_id == std::nullopt);
  }
}

TEST_CASE("model::to_normalised_json writes the documented keys in order", "[model]") {
  const json page = json::parse(k_example_page);
  const Event event = normalise(page["events"][1]);
  const std::string text = to_normalised_json(event, "my study");
  CHECK(
      text
      == R"({"id":"P-007_42","study_name":"my study","user_id":"P-007","event_type":"TrialEnded",)"
         R"("element_id":null,"timestamp":"2025-11-18T10:04:59.870Z",)"
         R"("stored_timestamp":"2025-11-18T10:05:00.000Z","page_url":null,"data":)"
             + event.raw + "}");
  CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("model::to_normalised_json round-trips hostile values", "[model]") {
  const json raw = {
      {"id", "id \"quoted\", with\nnewline\\and\ttab"},
      {"types", {"Ünïcödé ユーザー 🎉"}},
      {"base", {{"userId", "../../etc/passwd\r\n,\""}}},
      {"element_id", std::string("nul\0byte and \x01 control", 22)},
      {"page_url", "https://x.org/?a=1&b=\"2\""},
      {"stored", "2025-11-18T10:00:01Z"},
      {"payload", {{"nested", {1, 2.5, nullptr, "\u2028"}}}},
  };
  const Event event = normalise(raw);
  const json parsed = json::parse(to_normalised_json(event, "study, \"name\"\n"));
  CHECK(parsed["id"] == event.id);
  CHECK(parsed["study_name"] == "study, \"name\"\n");
  CHECK(parsed["user_id"] == "../../etc/passwd\r\n,\"");
  CHECK(parsed["event_type"] == "Ünïcödé ユーザー 🎉");
  CHECK(parsed["element_id"] == *event.element_id);
  CHECK(parsed["timestamp"] == "2025-11-18T10:00:01Z");
  CHECK(parsed["stored_timestamp"] == "2025-11-18T10:00:01Z");
  CHECK(parsed["page_url"] == "https://x.org/?a=1&b=\"2\"");
  CHECK(parsed["data"] == raw);
}

TEST_CASE("model::to_normalised_json stays valid JSON for invalid UTF-8 and empty raw", "[model]") {
  Event event;
  event.id = "bad\xff\xfe utf8 \xc3";
  event.user_id = "\xed\xa0\x80"; // an encoded surrogate
  const json parsed = json::parse(to_normalised_json(event, "s"));
  CHECK(parsed["id"] == "bad\xEF\xBF\xBD\xEF\xBF\xBD utf8 \xEF\xBF\xBD");
  CHECK(parsed["data"].is_null());
}

TEST_CASE("model::utc_day reads ISO-8601 date-times", "[model]") {
  CHECK(utc_day("2025-11-18T10:00:01.532Z") == "2025-11-18");
  CHECK(utc_day("2025-11-18T10:00:01Z") == "2025-11-18");
  CHECK(utc_day("2025-11-18 10:00:01") == "2025-11-18");
  CHECK(utc_day("2025-11-18t10:00z") == "2025-11-18");
  CHECK(utc_day("2025-11-18") == "2025-11-18");
  CHECK(utc_day("2025-11-18T10:00:01,5+01:00") == "2025-11-18");
  SECTION("offsets can move the day") {
    CHECK(utc_day("2025-11-18T23:30:00-02:00") == "2025-11-19");
    CHECK(utc_day("2025-11-18T23:30:00-0200") == "2025-11-19");
    CHECK(utc_day("2025-11-18T23:30:00-02") == "2025-11-19");
    CHECK(utc_day("2025-01-01T01:00:00+05:30") == "2024-12-31");
    CHECK(utc_day("2024-02-28T22:00:00-03:00") == "2024-02-29");
    CHECK(utc_day("2023-12-31T23:59:60-00:01") == "2024-01-01");
  }
  SECTION("malformed or impossible values") {
    for (const char* text : {"",
                             "yesterday",
                             "2025-13-01",
                             "2025-02-29",
                             "2025-11-18T24:00:00Z",
                             "2025-11-18T10:61:00Z",
                             "2025-11-18T10:00:00+25:00",
                             "2025-11-18T10:00:00Q",
                             "2025-11-18T10",
                             "2025-11-18X10:00:00",
                             "2025-11-18T10:00:00.Z",
                             "2025-11-18T10:00:00Z ",
                             " 2025-11-18",
                             "25-11-18",
                             "0x10",
                             "nan",
                             "inf",
                             "1e400"}) {
      INFO(text);
      CHECK(utc_day(text) == std::nullopt);
    }
  }
}

TEST_CASE("model::utc_day reads epoch seconds and milliseconds", "[model]") {
  CHECK(utc_day("0") == "1970-01-01");
  CHECK(utc_day("1763460001") == "2025-11-18");        // seconds
  CHECK(utc_day("1763460001.532") == "2025-11-18");    // fractional seconds
  CHECK(utc_day("1763460001532") == "2025-11-18");     // milliseconds
  CHECK(utc_day("1.763460001532e12") == "2025-11-18"); // a number's JSON text
  CHECK(utc_day("-1") == "1969-12-31");
  CHECK(utc_day("99999999999") == "5138-11-16"); // just below the milliseconds threshold
  CHECK(utc_day("1e30") == std::nullopt);
}
