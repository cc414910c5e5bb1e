// The random-input loop for the page parser and the id derivation, run by CTest under the normal
// build (no clang needed): valid pages mutated the ways a broken or hostile server breaks them.
// The same invariants as the libFuzzer target (tests/fuzz/, scripts/fuzz.sh) that searches far
// longer. Deterministic: a failure reproduces with the same seed.

#include "../../fuzz/page_fuzz.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

// Valid pages of the shapes the API sends, plus odd but valid ones.
const std::vector<std::string> k_corpus = {
    R"({"total": 2, "events": [
  {"id": "6744c1e2f1a9b3c0d2e4f5a6", "stored": "2025-11-18T10:00:01.532Z",
   "timestamp": "2025-11-18T10:00:01.120Z", "types": ["click"], "element_id": "btn-start",
   "page_url": "https://example.org/study/p1", "base": {"userId": "user_A", "index": 1}},
  {"stored": "2025-11-18T10:05:00.000Z", "types": ["TrialEnded"],
   "object": {"userId": "P-007", "index": 42, "tsGenerated": "2025-11-18T10:04:59.870Z"}}]})",
    R"({"events":[{"id":1},{"id":"1"},{"id":9007199254740993},{"id":1.0},{"id":-0}],"total":5})",
    R"({"events":[{"id":"\u001fn1"},{"base":{"userId":"\u00e9\ud83c\udf89","index":2.0}}]})",
    R"({"events":[],"total":0,"next":null})",
    R"({"total":null,"events":[{"a":[1,[2,[3,{"b":"]},{"}]]],"id":"x\"y"}]})",
    R"({"events":[{"types":[1,"t"],"element_id":{"k":[true,false,null]},"stored":17634600}]})",
};

// Fragments a mutation splices in.
const std::array<std::string, 14> k_fragments = {
    "\xEF\xBB\xBF",
    "\xFF",
    "\xC3\x28",
    "\xED\xA0\x80",
    "123456789012345678901234567890",
    "1e400",
    "-0.0e-0",
    "\"\\ud800\"",
    "{\"id\":1}",
    "[1]",
    "null,",
    ",",
    "]}",
    "\"",
};

class Mutator {
public:
  explicit Mutator(unsigned seed) : m_rng(seed) {}

  std::string mutate(std::string text) {
    for (int n = 1 + pick(3); n > 0; --n) {
      text = once(std::move(text));
    }
    return text;
  }

private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(m_rng); }
  std::size_t at(const std::string& text) {
    return std::uniform_int_distribution<std::size_t>(0, text.size())(m_rng);
  }

  std::string nested(std::size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
  }

  std::string once(std::string text) {
    switch (pick(9)) {
    case 0: // truncation
      return text.substr(0, at(text));
    case 1: { // byte flips
      for (int i = 0, n = 1 + pick(4); i < n && !text.empty(); ++i) {
        text[std::min(at(text), text.size() - 1)] ^= static_cast<char>(1 << pick(8));
      }
      return text;
    }
    case 2: { // deep nesting, now and then far deeper than any limit
      const std::size_t levels = pick(20) == 0 ? 70'000 : static_cast<std::size_t>(500 + pick(30));
      return text.insert(at(text), nested(levels));
    }
    case 3: { // a deep event where an event may start
      const auto open = text.find("[{");
      if (open == std::string::npos) {
        return text;
      }
      return text.insert(open + 1,
                         "{\"x\":" + nested(static_cast<std::size_t>(505 + pick(15))) + "},");
    }
    case 4: { // a fragment: BOMs, invalid UTF-8, huge numbers, stray punctuation
      const auto& fragment = k_fragments[static_cast<std::size_t>(pick(k_fragments.size()))];
      // Often right before an event, where a BOM or garbage must cost one event only.
      const auto brace = text.find('{', 1 + static_cast<std::size_t>(pick(8)));
      return text.insert(pick(2) == 0 && brace != std::string::npos ? brace : at(text), fragment);
    }
    case 5: { // a range duplicated
      const std::size_t from = at(text);
      const std::size_t length = static_cast<std::size_t>(pick(40));
      return text.insert(at(text), text.substr(from, length));
    }
    case 6: { // a range removed
      const std::size_t from = at(text);
      return text.erase(from, static_cast<std::size_t>(pick(10)));
    }
    case 7: { // a number token replaced by a huge one
      const auto digit = text.find_first_of("0123456789", at(text));
      if (digit == std::string::npos) {
        return text;
      }
      return text.insert(digit, std::string(static_cast<std::size_t>(1 + pick(400)), '9'));
    }
    default: // a whole page of another shape spliced in
      return text.insert(at(text), k_corpus[static_cast<std::size_t>(pick(k_corpus.size()))]);
    }
  }

  std::mt19937 m_rng;
};

} // namespace

TEST_CASE("api::parse_page_body survives thousands of mutated pages", "[api][fuzz]") {
  Mutator mutator(20261204);
  std::size_t pages = 0;
  std::size_t failures = 0;
  const std::clock_t start = std::clock();
  for (const auto& body : k_corpus) {
    REQUIRE(bdd::fuzz::check_page_body(body)); // the seeds themselves are pages
  }
  for (int i = 0; i < 20000; ++i) {
    const std::string body =
        mutator.mutate(k_corpus[static_cast<std::size_t>(i) % k_corpus.size()]);
    // Aborts, printing which invariant broke, if one does; a crash ends the test the same way.
    if (bdd::fuzz::check_page_body(body)) {
      ++pages;
    } else {
      ++failures;
    }
    bdd::fuzz::check_event_text(body);
  }
  const double cpu_seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  // Every input ended as a page or as a failure, and the mutations reach both.
  CHECK(pages + failures == 20000);
  CHECK(pages > 2000);
  CHECK(failures > 2000);
  // CI runs this in its normal suite and under ASan: keep it short. The process's CPU time, not
  // the wall clock, which a busy machine stretches (16 s of wall time for 2 s of CPU was seen).
  CHECK(cpu_seconds < 10.0);
}

TEST_CASE("api::parse_page_body keeps unusable events in mutated pages apart", "[api][fuzz]") {
  // Each kind of poison item in each position of a small page: the page survives, positions stay
  // aligned, and only the poison is unusable.
  const std::array<std::string, 7> poisons = {"42",
                                              "\"x\"",
                                              "[1]",
                                              "null",
                                              "{\"id\":\"\xFF\"}",
                                              "\xEF\xBB\xBF{\"id\":\"b\"}",
                                              "{\"x\":" + std::string(70'000, '[')
                                                  + std::string(70'000, ']') + "}"};
  for (const auto& poison : poisons) {
    for (std::size_t position = 0; position < 4; ++position) {
      std::vector<std::string> items = {R"({"id":"a"})", R"({"id":2})", R"({"id":"c"})"};
      items.insert(items.begin() + static_cast<std::ptrdiff_t>(position), poison);
      std::string body = "{\"events\":[";
      for (std::size_t i = 0; i < items.size(); ++i) {
        body += (i > 0 ? " , " : "") + items[i];
      }
      body += "]}";
      INFO("poison " << poison.substr(0, 20) << " at " << position);
      auto result = bdd::api::parse_page_body(body, 0);
      REQUIRE(std::holds_alternative<bdd::api::Page>(result));
      const auto& events = std::get<bdd::api::Page>(result).events;
      REQUIRE(events.size() == 4);
      for (std::size_t i = 0; i < 4; ++i) {
        CHECK(events[i].unusable.empty() == (i != position));
      }
    }
  }
}
