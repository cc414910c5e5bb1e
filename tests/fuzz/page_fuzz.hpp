#pragma once

// What one fuzz input must satisfy, shared by the libFuzzer target (fuzz_page_body.cpp, built
// by scripts/fuzz.sh with clang) and the random-input loop that CTest runs under the normal build
// (tests/unit/api/test_api_page_body_fuzz.cpp). Bytes as a server might send them go through the
// page parser and the id derivation; nothing may crash, hang or break an invariant.

#include <bdd/api/transport.hpp>
#include <bdd/model/event.hpp>
#include <bdd/model/json_text.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

namespace bdd::fuzz {

// Aborts with `what` when `condition` is false: libFuzzer and the loop both see an abort.
inline void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "page fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// Runs `body` through parse_page_body and, for every usable event, through the id derivation
// and the normalised output; returns true if it was a page, false if a failure.
inline bool check_page_body(std::string_view body) {
  auto result = api::parse_page_body(body, 7);
  if (const auto* failure = std::get_if<api::Failure>(&result)) {
    require(failure->code == Errc::protocol, "a failure other than a protocol failure");
    require(failure->retryable, "a protocol failure that is not retryable");
    require(!failure->what.empty(), "a failure without a message");
    return false;
  }
  const auto& page = std::get<api::Page>(result);
  require(page.offset == 7, "the page's offset");
  require(page.bytes == body.size(), "the page's size");
  for (const auto& event : page.events) {
    require(!event.id.empty(), "an event without an id");
    if (!event.unusable.empty()) {
      require(event.raw.size() <= model::k_max_unusable_bytes, "an unusable event kept whole");
      require(model::display_id(event.id).substr(0, 16) == "unusable:sha256:",
              "an unusable event's id");
      continue;
    }
    require(!event.raw.empty() && event.raw[0] == '{', "a usable event that is not an object");
    // Usable events are valid, compact and within the depth bound...
    std::string again;
    require(model::append_minified_json(event.raw, again), "a usable event that is not valid");
    require(again == event.raw, "a usable event that is not compact");
    // ... their ids derive the same way alone, and they print as valid JSON.
    require(model::derive_event_id(event.raw) == event.id, "derive_event_id disagrees");
    const std::string line = model::to_normalised_json(event, "s");
    std::string minified;
    require(model::append_minified_json(line, minified, model::k_max_json_depth + 1),
            "normalised output that is not valid JSON");
  }
  return true;
}

// The same bytes as one event, for the id derivation on its own: any valid JSON value.
inline void check_event_text(std::string_view text) {
  std::string compact;
  if (!model::append_minified_json(text, compact)) {
    return;
  }
  const auto event = model::normalise_compact(compact);
  require(!event.id.empty(), "an event without an id");
  // What the storage readers rebuild from a stored id: the key itself whenever the shown text
  // alone decides it.
  if (auto key = model::key_of_displayed_id(model::display_id(event.id))) {
    require(*key == event.id, "a displayed id that maps back to another key");
  }
}

} // namespace bdd::fuzz
