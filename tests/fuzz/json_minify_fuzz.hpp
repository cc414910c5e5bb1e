#pragma once

// The JSON minifier (model::append_minified_json) against nlohmann's parser, shared by the
// libFuzzer target (fuzz_json_minify.cpp, built by scripts/fuzz.sh with clang) and the bounded
// random-input test that CTest runs (tests/unit/model/test_model_json_minify_fuzz.cpp).
//
// What must agree, for any bytes:
// - accept/reject: the minifier accepts exactly what nlohmann's parser accepts, except where bdd
//   is deliberately stricter: a leading UTF-8 byte order mark (nlohmann skips it; RFC 8259 lets
//   a parser do either, and bdd refuses it so that what it stores is the bytes the server sent
//   minus whitespace, nothing dropped silently), nesting deeper than the depth limit (nlohmann
//   has none), and a NUL byte, which nlohmann's lexer reads as the end of the input outside a
//   string (it accepts `1\0anything`; a raw NUL is valid nowhere in JSON);
// - output: the minified text is the input with the whitespace between tokens removed, byte for
//   byte (so number spelling such as `1E+2` or `-0` and string escapes such as `\u00e9` or `\/`
//   are kept as sent, which nlohmann's dump() would respell), and it parses to a value equal to
//   the input's. Where the input is nlohmann's own dump() plus whitespace, the output equals that
//   dump() exactly (checked by the generator in the unit test).

#include <bdd/model/json_text.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace bdd::fuzz {

// The first 2000 bytes of `input` as a C string literal's content, to replay a failure.
inline std::string escaped(std::string_view input) {
  std::string out;
  for (const char c : input.substr(0, 2000)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", byte);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

// Aborts with `what` when `condition` is false: libFuzzer and the Catch2 loop both see an abort.
inline void require_minify(bool condition, const char* what, std::string_view input) {
  if (!condition) {
    std::fprintf(stderr,
                 "json minify fuzz invariant broken: %s\ninput (%zu bytes): \"%s\"\n",
                 what,
                 input.size(),
                 escaped(input).c_str());
    std::abort();
  }
}

// The bytes of a JSON text without the whitespace between tokens: the reference the minifier's
// output must equal. Only meaningful for valid JSON (it does not validate).
inline std::string strip_insignificant_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out += c;
    }
  }
  return out;
}

// The deepest nesting of arrays and objects in a valid JSON text (`{}` is 1, as the minifier
// counts), found without recursion so that a fuzz input of any depth is safe to measure.
inline std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Checks one input; returns whether the minifier accepted it.
inline bool check_minify(std::string_view input) {
  std::string minified;
  const bool ours = model::append_minified_json(input, minified);

  const nlohmann::json value = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
  const bool theirs = !value.is_discarded();
  const bool bom = input.substr(0, 3) == "\xEF\xBB\xBF";
  const bool nul = input.find('\0') != std::string_view::npos;
  const std::size_t depth = theirs ? nesting_depth(input) : 0;
  const bool expected = theirs && !bom && !nul && depth <= model::k_max_json_depth;
  require_minify(ours == expected,
                 ours ? "the minifier accepts what nlohmann refuses"
                      : "the minifier refuses what nlohmann accepts",
                 input);
  if (!ours) {
    return false;
  }
  require_minify(minified == strip_insignificant_whitespace(input),
                 "the output is not the input without its whitespace",
                 input);
  const nlohmann::json again = nlohmann::json::parse(minified, nullptr, false);
  require_minify(!again.is_discarded(), "the output does not parse", input);
  require_minify(again == value, "the output parses to another value", input);

  // The outlining minifier writes the same bytes (it differs only inside a top-level "events"
  // array, where it may accept an input with broken elements).
  std::string outlined;
  model::JsonOutline outline;
  require_minify(model::append_minified_json(input, outlined, outline),
                 "the outlining minifier refuses what the plain one accepts",
                 input);
  require_minify(outlined == minified, "the outlining minifier writes other bytes", input);
  if (value.is_object()) {
    require_minify(
        outline.members.size() >= value.size(), "the outline misses a top-level member", input);
  }
  return true;
}

} // namespace bdd::fuzz
