// The JSON minifier against nlohmann's parser over generated inputs: random JSON values written
// with random whitespace and random (valid) spellings of strings and numbers, and the same texts
// with bytes mutated the ways broken JSON breaks. The invariants are in
// tests/fuzz/json_minify_fuzz.hpp, which the libFuzzer target (scripts/fuzz.sh) shares.
// Deterministic: a failure reproduces with the same seed; bounded to run in well under 5 s.
// BDD_FUZZ_SEED=<n> runs other inputs (for a longer search by hand: loop over seeds).

#include "../../fuzz/json_minify_fuzz.hpp"

#include <bdd/core/utf8.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;
using Rng = std::mt19937_64;

// The test's fixed seed, or BDD_FUZZ_SEED's value mixed in.
std::uint64_t seed(std::uint64_t fixed) {
  const char* chosen = std::getenv("BDD_FUZZ_SEED");
  return chosen == nullptr ? fixed : fixed ^ std::strtoull(chosen, nullptr, 10);
}

std::size_t pick(Rng& rng, std::size_t n) {
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

bool chance(Rng& rng, int percent) {
  return static_cast<int>(pick(rng, 100)) < percent;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

char32_t random_code_point(Rng& rng) {
  static constexpr std::array<char32_t, 14> k_odd = {0x00,
                                                     0x1F,
                                                     0x7F,
                                                     '"',
                                                     '\\',
                                                     '/',
                                                     0xA0,
                                                     0xE9,
                                                     0x2028,
                                                     0xFEFF,
                                                     0xFFFF,
                                                     0x10000,
                                                     0x1F389,
                                                     0x10FFFF};
  switch (pick(rng, 4)) {
  case 0:
    return k_odd[pick(rng, k_odd.size())];
  case 1: { // any scalar value
    char32_t cp = static_cast<char32_t>(pick(rng, 0x110000));
    return cp >= 0xD800 && cp <= 0xDFFF ? cp - 0x800 : cp;
  }
  default:
    return static_cast<char32_t>(0x20 + pick(rng, 0x5F));
  }
}

std::string random_text(Rng& rng) {
  std::string out;
  const std::size_t length = pick(rng, chance(rng, 10) ? 40 : 8);
  for (std::size_t i = 0; i < length; ++i) {
    append_utf8(out, random_code_point(rng));
  }
  return out;
}

json random_number(Rng& rng) {
  switch (pick(rng, 5)) {
  case 0:
    return static_cast<std::int64_t>(pick(rng, 2000)) - 1000;
  case 1:
    return static_cast<std::int64_t>(rng());
  case 2:
    return static_cast<std::uint64_t>(rng());
  case 3: { // any finite double, subnormals included
    double d = 0;
    do {
      const std::uint64_t bits = rng();
      std::memcpy(&d, &bits, sizeof d);
    } while (!std::isfinite(d));
    return d;
  }
  default:
    return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
  }
}

json random_value(Rng& rng, int depth) {
  const std::size_t kinds = depth > 6 ? 6 : 8;
  switch (pick(rng, kinds)) {
  case 0:
    return nullptr;
  case 1:
    return chance(rng, 50);
  case 2:
  case 3:
    return random_number(rng);
  case 4:
  case 5:
    return random_text(rng);
  case 6: {
    json array = json::array();
    for (std::size_t i = pick(rng, 5); i > 0; --i) {
      array.push_back(random_value(rng, depth + 1));
    }
    return array;
  }
  default: {
    json object = json::object();
    for (std::size_t i = pick(rng, 5); i > 0; --i) {
      object[random_text(rng)] = random_value(rng, depth + 1);
    }
    return object;
  }
  }
}

// Writes a value as JSON text token by token, with random whitespace between tokens and, when
// `respell`, random valid spellings: escapes for any character, `\/`, upper-case hex digits,
// exponents, `E`, `+`. Without `respell` the tokens are dump()'s.
class Writer {
public:
  Writer(Rng& rng, bool respell) : m_rng(rng), m_respell(respell) {}

  std::string write(const json& value) {
    m_out.clear();
    space();
    token(value);
    space();
    return m_out;
  }

private:
  void space() {
    static constexpr std::array<std::string_view, 7> k_spaces = {
        "", "", " ", "\n", "\t", "\r\n", "  \n\t\r "};
    if (chance(m_rng, 40)) {
      m_out += k_spaces[pick(m_rng, k_spaces.size())];
    }
  }

  void token(const json& value) {
    if (value.is_array()) {
      m_out += '[';
      bool first = true;
      for (const auto& element : value) {
        space();
        if (!first) {
          m_out += ',';
          space();
        }
        first = false;
        token(element);
      }
      space();
      m_out += ']';
    } else if (value.is_object()) {
      m_out += '{';
      bool first = true;
      for (const auto& [key, element] : value.items()) {
        space();
        if (!first) {
          m_out += ',';
          space();
        }
        first = false;
        string(key);
        space();
        m_out += ':';
        space();
        token(element);
      }
      space();
      m_out += '}';
    } else if (value.is_string()) {
      string(value.get_ref<const std::string&>());
    } else if (value.is_number() && m_respell) {
      number(value);
    } else {
      m_out += value.dump();
    }
  }

  void hex_escape(unsigned unit) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, chance(m_rng, 50) ? "\\u%04x" : "\\u%04X", unit);
    m_out += buffer;
  }

  void string(const std::string& text) {
    if (!m_respell) {
      m_out += json(text).dump();
      return;
    }
    m_out += '"';
    std::size_t i = 0;
    while (i < text.size()) {
      const auto cp = bdd::decode_utf8(std::string_view(text).substr(i));
      REQUIRE(cp);
      const char32_t c = cp->value;
      const std::string_view raw = std::string_view(text).substr(i, cp->length);
      i += cp->length;
      static constexpr std::string_view k_short = "\"\\/\b\f\n\r\t";
      static constexpr std::string_view k_short_letter = "\"\\/bfnrt";
      const std::size_t short_at =
          c < 0x80 ? k_short.find(static_cast<char>(c)) : std::string::npos;
      const bool must_escape = c < 0x20 || c == '"' || c == '\\';
      if (!must_escape && chance(m_rng, 70)) {
        m_out += raw;
      } else if (short_at != std::string::npos && chance(m_rng, 50)) {
        m_out += '\\';
        m_out += k_short_letter[short_at];
      } else if (c >= 0x10000) {
        const char32_t v = c - 0x10000;
        hex_escape(0xD800 + static_cast<unsigned>(v >> 10));
        hex_escape(0xDC00 + static_cast<unsigned>(v & 0x3FF));
      } else {
        hex_escape(static_cast<unsigned>(c));
      }
    }
    m_out += '"';
  }

  void number(const json& value) {
    std::string text = value.dump();
    if (value.is_number_integer() && chance(m_rng, 20)) {
      text += chance(m_rng, 50) ? "e0" : "E+00";
    } else if (value.is_number_float()) {
      const std::size_t e = text.find('e');
      if (e != std::string::npos && chance(m_rng, 50)) {
        text[e] = 'E';
      }
      if (e != std::string::npos && text[e + 1] == '+' && chance(m_rng, 50)) {
        text.erase(e + 1, 1);
      }
      if (text == "0.0" && chance(m_rng, 50)) {
        text = chance(m_rng, 50) ? "-0" : "0e-7";
      }
    }
    m_out += text;
  }

  Rng& m_rng;
  bool m_respell;
  std::string m_out;
};

// Fragments a mutation splices in: structure, the edges of numbers, escapes and UTF-8.
const std::array<std::string_view, 34> k_fragments = {"\"",
                                                      "\\",
                                                      "\\u",
                                                      "\\ud800",
                                                      "\\udc00",
                                                      "\\uD83C\\u0041",
                                                      "{",
                                                      "}",
                                                      "[",
                                                      "]",
                                                      ",",
                                                      ":",
                                                      "-",
                                                      "0",
                                                      "01",
                                                      ".",
                                                      "e",
                                                      "1e400",
                                                      "-1e999",
                                                      "1e-400",
                                                      "\x7f",
                                                      "\x1f",
                                                      "\x80",
                                                      "\xC0\x80",
                                                      "\xED\xA0\x80",
                                                      "\xF4\x90\x80\x80",
                                                      "\xEF\xBB\xBF",
                                                      "true",
                                                      "nul",
                                                      "\v",
                                                      "\f",
                                                      "\xC2\xA0",
                                                      "\xE2\x80\xA8",
                                                      std::string_view("\0", 1)};

std::string mutate(Rng& rng, std::string text) {
  for (std::size_t n = 1 + pick(rng, 3); n > 0; --n) {
    const std::size_t at = text.empty() ? 0 : pick(rng, text.size() + 1);
    switch (pick(rng, 6)) {
    case 0: // replace a byte
      if (at < text.size()) {
        text[at] = static_cast<char>(pick(rng, 256));
      }
      break;
    case 1:
    case 2:
      text.insert(at, k_fragments[pick(rng, k_fragments.size())]);
      break;
    case 3: // delete a few bytes
      text.erase(at, 1 + pick(rng, 3));
      break;
    case 4: // cut short
      text.resize(at);
      break;
    default: // replace with a fragment
      if (at < text.size()) {
        text.replace(at, 1, k_fragments[pick(rng, k_fragments.size())]);
      }
      break;
    }
  }
  return text;
}

} // namespace

TEST_CASE("model::append_minified_json writes dump() for dump() text with random whitespace",
          "[model][fuzz]") {
  Rng rng(seed(20260101));
  Writer writer(rng, false);
  for (int i = 0; i < 10000; ++i) {
    const json value = random_value(rng, 0);
    const std::string text = writer.write(value);
    INFO(text);
    REQUIRE(bdd::fuzz::check_minify(text));
    std::string out;
    REQUIRE(bdd::model::append_minified_json(text, out));
    REQUIRE(out == value.dump());
  }
}

TEST_CASE("model::append_minified_json agrees with nlohmann on respelled and mutated JSON",
          "[model][fuzz]") {
  Rng rng(seed(20260102));
  Writer writer(rng, true);
  std::size_t accepted = 0;
  std::size_t mutated_accepted = 0;
  constexpr int k_cases = 30000;
  for (int i = 0; i < k_cases; ++i) {
    const json value = random_value(rng, 0);
    const std::string text = writer.write(value);
    INFO(text);
    REQUIRE(bdd::fuzz::check_minify(text));
    const json again = json::parse(text); // the writer writes valid JSON of the same value
    REQUIRE(again == value);
    ++accepted;
    const std::string mutated = mutate(rng, text);
    INFO(mutated);
    mutated_accepted += bdd::fuzz::check_minify(mutated) ? 1 : 0;
  }
  CHECK(accepted == k_cases);
  // The mutations must mostly break the text, or the reject side is not being tested; some
  // (a changed digit, a deleted space) leave it valid, which checks the accept side again.
  CHECK(mutated_accepted < k_cases / 2);
  CHECK(mutated_accepted > 0);
}

TEST_CASE("model::append_minified_json refuses a leading byte order mark and a NUL byte that "
          "nlohmann lets through",
          "[model]") {
  // Where bdd is deliberately stricter than nlohmann (see json_minify_fuzz.hpp).
  std::string out;
  CHECK_FALSE(bdd::model::append_minified_json("\xEF\xBB\xBF[1]", out));
  CHECK_FALSE(json::parse("\xEF\xBB\xBF[1]", nullptr, false).is_discarded());
  CHECK_FALSE(bdd::fuzz::check_minify("\xEF\xBB\xBF{}"));
  const std::string nul("1 \0 ]]", 6); // nlohmann stops reading at the NUL
  CHECK_FALSE(bdd::model::append_minified_json(nul, out));
  CHECK_FALSE(json::parse(nul.begin(), nul.end(), nullptr, false).is_discarded());
  CHECK_FALSE(bdd::fuzz::check_minify(nul));
}

TEST_CASE("model::append_minified_json refuses nesting beyond the depth limit that nlohmann "
          "accepts",
          "[model]") {
  // `depth` levels of `open`, then `inner`, then the closing brackets.
  const auto nested = [](std::size_t depth, const char* open, const char* inner, char close) {
    std::string text;
    for (std::size_t i = 0; i < depth; ++i) {
      text += open;
    }
    return text + inner + std::string(depth, close);
  };
  const std::size_t limit = bdd::model::k_max_json_depth;
  CHECK(bdd::fuzz::check_minify(nested(limit, "[", "", ']')));
  CHECK(bdd::fuzz::check_minify(nested(limit - 1, "{\"a\": ", "[]", '}')));
  CHECK_FALSE(bdd::fuzz::check_minify(nested(limit + 1, "[", "", ']')));
  CHECK_FALSE(bdd::fuzz::check_minify(nested(limit, "{\"\":", "{}", '}')));
  CHECK_FALSE(json::parse(nested(limit + 1, "[", "", ']'), nullptr, false).is_discarded());
}
