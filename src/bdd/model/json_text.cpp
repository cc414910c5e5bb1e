#include "json_text.hpp"

#include <bdd/core/utf8.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace bdd::model {

namespace {

constexpr std::uint64_t k_ones = 0x0101010101010101ULL;
constexpr std::uint64_t k_highs = 0x8080808080808080ULL;

// True if any of the 8 bytes in `word` needs a look inside a string: a control character, '"',
// '\\' or a non-ASCII byte. Lets plain ASCII text go by 8 bytes at a time.
bool needs_attention(std::uint64_t word) {
  const auto has_zero = [](std::uint64_t x) { return (x - k_ones) & ~x & k_highs; };
  const std::uint64_t below_space = (word - k_ones * 0x20) & ~word & k_highs;
  return (below_space | has_zero(word ^ (k_ones * '"')) | has_zero(word ^ (k_ones * '\\'))
          | (word & k_highs))
         != 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// The 4 hex digits at `text[pos]`, or -1.
long hex4(std::string_view text, std::size_t pos) {
  if (pos > text.size() || text.size() - pos < 4) {
    return -1;
  }
  long value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const int digit = hex_value(text[pos + i]);
    if (digit < 0) {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The end of the element of an array that starts at `text[from]`, read without validating it:
// the first ',' or ']' outside string literals and outside the brackets opened after `from`.
// npos if there is none, or if a '}' closes a bracket the element did not open (the array is
// broken, not the element).
std::size_t lenient_element_end(std::string_view text, std::size_t from) {
  std::size_t depth = 0;
  std::size_t i = from;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          ++i;
        }
      }
      if (i >= text.size()) {
        return std::string_view::npos;
      }
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {
        return c == ']' ? i : std::string_view::npos;
      }
      --depth;
    } else if (c == ',' && depth == 0) {
      return i;
    }
    ++i;
  }
  return std::string_view::npos;
}

// One pass over the text: validates and copies every token, drops the whitespace between them,
// and with `WithOutline` records the outline too. Iterative, so deep nesting cannot overflow the
// call stack (and the depth is bounded anyway, for the readers that come after). A template
// rather than a null `m_outline` test: that test on every value cost the outlining minifier
// ~2.5% more instructions (callgrind), and the plain one pays nothing.
//
// With `WithOutline`, the elements of a top-level "events" array are checked one by one: the
// text and position where each starts are remembered, and a failure inside one rolls `out` back
// to that point and lets `recover` skip the element (see append_minified_json).
template <bool WithOutline>
class Minifier {
public:
  Minifier(std::string_view text, std::string& out, JsonOutline* outline, std::size_t max_depth)
      : m_text(text),
        m_out(out),
        m_outline(outline),
        m_max_depth(max_depth) {}

  bool run() {
    for (;;) {
      if (scan()) {
        return true;
      }
      if (!recover()) {
        return false;
      }
    }
  }

private:
  enum class Next { value, key, after_value };
  enum class Fault { syntax, utf8, depth };

  // Reads from m_pos in state m_next to the end of the text; false at the first fault.
  bool scan() {
    for (;;) {
      skip_space();
      switch (m_next) {
      case Next::value: {
        if constexpr (WithOutline) {
          if (m_events_member && !m_in_element && at_element()) {
            m_in_element = true;
            m_fault = Fault::syntax;
            m_element_pos = m_pos;
            m_element_out = m_out.size();
            m_element_index = m_outline->members.back().elements.size();
          }
        }
        if (m_pos >= m_text.size()) {
          return false;
        }
        if constexpr (WithOutline) {
          value_begins();
        }
        const char c = m_text[m_pos];
        if (c == '{' || c == '[') {
          // In an event the depth counts from the event: the page's object and array are not
          // its levels.
          const std::size_t base = WithOutline && m_in_element ? 2 : 0;
          if (m_stack.size() + 1 - base > m_max_depth) {
            m_fault = Fault::depth;
            return false;
          }
          m_out += c;
          ++m_pos;
          skip_space();
          const char close = c == '{' ? '}' : ']';
          if (m_pos < m_text.size() && m_text[m_pos] == close) {
            m_out += close;
            ++m_pos;
            m_next = Next::after_value;
          } else {
            m_stack += c;
            m_next = c == '{' ? Next::key : Next::value;
          }
          continue;
        }
        if (!scalar()) {
          return false;
        }
        m_next = Next::after_value;
        continue;
      }
      case Next::key:
        if (WithOutline && m_stack.size() == 1) {
          m_outline->members.emplace_back().key.begin = m_out.size();
        }
        if (m_pos >= m_text.size() || m_text[m_pos] != '"' || !string()) {
          return false;
        }
        if (WithOutline && m_stack.size() == 1) {
          JsonOutline::Member& member = m_outline->members.back();
          member.key.end = m_out.size();
          m_events_member = string_equals(member.key.in(m_out), "events");
        }
        skip_space();
        if (m_pos >= m_text.size() || m_text[m_pos] != ':') {
          return false;
        }
        m_out += ':';
        ++m_pos;
        m_next = Next::value;
        continue;
      case Next::after_value: {
        // Every value, scalar or container, passes here exactly once, right after its end.
        if constexpr (WithOutline) {
          value_ends();
        }
        if (m_stack.empty()) {
          return m_pos == m_text.size();
        }
        if (m_pos >= m_text.size()) {
          return false;
        }
        const char c = m_text[m_pos];
        const char open = m_stack.back();
        if (WithOutline && m_in_element && m_stack.size() == 2 && (c == ',' || c == ']')) {
          m_in_element = false; // the element and what follows it are valid
        }
        if (c == ',') {
          m_out += ',';
          ++m_pos;
          m_next = open == '{' ? Next::key : Next::value;
          continue;
        }
        if ((open == '{' && c == '}') || (open == '[' && c == ']')) {
          m_out += c;
          ++m_pos;
          m_stack.pop_back();
          continue;
        }
        return false;
      }
      }
    }
  }

  // After a fault inside an element of the "events" array: rolls back to the element's start,
  // records it as unusable, writes `null` in its place and continues after it. False if the
  // fault is elsewhere or the element's end cannot be found.
  bool recover() {
    if constexpr (!WithOutline) {
      return false;
    } else {
      if (!m_in_element) {
        return false;
      }
      m_in_element = false;
      const std::size_t end = lenient_element_end(m_text, m_element_pos);
      if (end == std::string_view::npos) {
        return false;
      }
      std::size_t last = end;
      while (last > m_element_pos && is_space(m_text[last - 1])) {
        --last;
      }
      if (last == m_element_pos) {
        return false; // "[1,,2]" or "[1,]": the array is broken, not an element
      }
      JsonOutline::Member& member = m_outline->members.back();
      m_out.resize(m_element_out);
      m_stack.resize(2);
      member.elements.resize(m_element_index);
      member.elements.push_back({m_element_out, m_element_out});
      member.unusable.push_back({m_element_index, {m_element_pos, last}, fault_reason()});
      m_out += "null";
      m_pos = last;
      m_next = Next::after_value;
      return true;
    }
  }

  std::string fault_reason() const {
    if (m_text.substr(m_element_pos, 3) == "\xEF\xBB\xBF") {
      return "starts with a byte order mark";
    }
    switch (m_fault) {
    case Fault::depth:
      return "nested deeper than " + std::to_string(m_max_depth) + " levels";
    case Fault::utf8:
      return "invalid UTF-8";
    case Fault::syntax:
      break;
    }
    return "not valid JSON";
  }

  // Only members of a top-level object and the elements of arrays that are such members are
  // outlined: that is all a page reader needs, and deeper values allocate nothing.
  bool at_member() const { return m_stack.size() == 1 && m_stack[0] == '{'; }
  bool at_element() const { return m_stack.size() == 2 && m_stack[0] == '{' && m_stack[1] == '['; }

  void value_begins() {
    if (m_stack.size() > 2) { // most values: those inside events
      return;
    }
    if (at_member()) {
      m_outline->members.back().value.begin = m_out.size();
    } else if (at_element()) {
      m_outline->members.back().elements.push_back({m_out.size(), m_out.size()});
    }
  }

  void value_ends() {
    if (m_stack.size() > 2) { // most values: those inside events
      return;
    }
    if (at_member()) {
      m_outline->members.back().value.end = m_out.size();
    } else if (at_element()) {
      m_outline->members.back().elements.back().end = m_out.size();
    }
  }

  void skip_space() {
    while (m_pos < m_text.size() && is_space(m_text[m_pos])) {
      ++m_pos;
    }
  }

  bool scalar() {
    const char c = m_text[m_pos];
    if (c == '"') {
      return string();
    }
    if (c == '-' || is_digit(c)) {
      return number();
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (m_text.substr(m_pos, word.size()) == word) {
        m_out += word;
        m_pos += word.size();
        return true;
      }
    }
    return false;
  }

  bool number() {
    const std::size_t start = m_pos;
    const auto digits = [this] {
      const std::size_t from = m_pos;
      while (m_pos < m_text.size() && is_digit(m_text[m_pos])) {
        ++m_pos;
      }
      return m_pos > from;
    };
    if (m_text[m_pos] == '-') {
      ++m_pos;
    }
    if (m_pos < m_text.size() && m_text[m_pos] == '0') {
      ++m_pos;
    } else if (!digits()) {
      return false;
    }
    if (m_pos < m_text.size() && m_text[m_pos] == '.') {
      ++m_pos;
      if (!digits()) {
        return false;
      }
    }
    if (m_pos < m_text.size() && (m_text[m_pos] == 'e' || m_text[m_pos] == 'E')) {
      ++m_pos;
      if (m_pos < m_text.size() && (m_text[m_pos] == '+' || m_text[m_pos] == '-')) {
        ++m_pos;
      }
      if (!digits()) {
        return false;
      }
    }
    const std::string_view token = m_text.substr(start, m_pos - start);
    if (too_large(token)) {
      return false;
    }
    m_out += token;
    return true;
  }

  // A number beyond the range of a double ("1e400"): document parsers refuse it (nlohmann does),
  // so refusing it here keeps every event that is accepted readable by them. Cheap: only long
  // numbers or numbers with an exponent can be that large.
  static bool too_large(std::string_view token) {
    if (token.size() < 300 && token.find_first_of("eE") == std::string_view::npos) {
      return false;
    }
    const std::string copy(token);
    return std::isinf(std::strtod(copy.c_str(), nullptr));
  }

  // The string literal at m_pos (a '"'), copied as written once it is known to be valid. Forced
  // inline: with the outline code in run(), GCC stops inlining it, and the calls cost the
  // minifier ~6% more instructions (callgrind); every key is a string.
  [[gnu::always_inline]] bool string() {
    const std::size_t start = m_pos;
    std::size_t i = m_pos + 1;
    const std::size_t size = m_text.size();
    for (;;) {
      while (i + 8 <= size) {
        std::uint64_t word = 0;
        std::memcpy(&word, m_text.data() + i, 8);
        if (needs_attention(word)) {
          break;
        }
        i += 8;
      }
      if (i >= size) {
        return false;
      }
      const auto byte = static_cast<unsigned char>(m_text[i]);
      if (byte == '"') {
        break;
      }
      if (byte < 0x20) {
        return false;
      }
      if (byte == '\\') {
        if (!escape(i)) {
          return false;
        }
        continue;
      }
      if (byte >= 0x80) {
        const auto code_point = decode_utf8(m_text.substr(i));
        if (!code_point) {
          m_fault = Fault::utf8;
          return false;
        }
        i += code_point->length;
        continue;
      }
      ++i;
    }
    m_out.append(m_text.data() + start, i + 1 - start);
    m_pos = i + 1;
    return true;
  }

  // The escape at m_text[i] ('\\'); advances `i` past it. A \u escape must not leave half of a
  // surrogate pair alone, or the text would not be Unicode.
  bool escape(std::size_t& i) {
    if (i + 1 >= m_text.size()) {
      return false;
    }
    const char kind = m_text[i + 1];
    if (kind != 'u') {
      i += 2;
      return std::strchr("\"\\/bfnrt", kind) != nullptr && kind != '\0';
    }
    const long unit = hex4(m_text, i + 2);
    if (unit < 0 || (unit >= 0xdc00 && unit <= 0xdfff)) {
      return false;
    }
    i += 6;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      if (m_text.substr(i, 2) != "\\u") {
        return false;
      }
      const long low = hex4(m_text, i + 2);
      if (low < 0xdc00 || low > 0xdfff) {
        return false;
      }
      i += 6;
    }
    return true;
  }

  std::string_view m_text;
  std::string& m_out;
  JsonOutline* m_outline; // null without `WithOutline`
  std::size_t m_max_depth;
  std::size_t m_pos = 0;
  Next m_next = Next::value;
  std::string m_stack; // '{' or '[' per open container
  Fault m_fault = Fault::syntax;
  // Only with `WithOutline`: whether the current top-level member is "events", and, while one of
  // its array's elements is being read, where that element started.
  bool m_events_member = false;
  bool m_in_element = false;
  std::size_t m_element_pos = 0;
  std::size_t m_element_out = 0;
  std::size_t m_element_index = 0;
};

// The position of the first '"' in `text` at or after `from`, or text.size(). Strings are
// short and many (every key is one), so an inline scan beats a call to memchr.
std::size_t find_quote(std::string_view text, std::size_t from) {
  std::size_t i = from;
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"');
  for (; i + 16 <= text.size(); i += 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote)));
    if (mask != 0) {
      return i + static_cast<std::size_t>(__builtin_ctz(mask));
    }
  }
#endif
  while (i < text.size() && text[i] != '"') {
    ++i;
  }
  return i;
}

// The length of the compact string literal at the start of `compact`.
std::size_t string_size(std::string_view compact) {
  std::size_t pos = 1;
  for (;;) {
    const std::size_t quote = find_quote(compact, pos);
    if (quote == compact.size()) {
      return compact.size(); // not reached for valid input
    }
    std::size_t backslashes = 0;
    while (compact[quote - 1 - backslashes] == '\\') {
      ++backslashes;
    }
    pos = quote + 1;
    if (backslashes % 2 == 0) {
      return pos;
    }
  }
}

void append_utf8(std::string& out, char32_t value) {
  if (value < 0x80) {
    out += static_cast<char>(value);
  } else if (value < 0x800) {
    out += static_cast<char>(0xc0 | (value >> 6));
    out += static_cast<char>(0x80 | (value & 0x3f));
  } else if (value < 0x10000) {
    out += static_cast<char>(0xe0 | (value >> 12));
    out += static_cast<char>(0x80 | ((value >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (value & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (value >> 18));
    out += static_cast<char>(0x80 | ((value >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((value >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (value & 0x3f));
  }
}

} // namespace

bool append_minified_json(std::string_view text, std::string& out, std::size_t max_depth) {
  return Minifier<false>(text, out, nullptr, max_depth).run();
}

bool append_minified_json(std::string_view text, std::string& out, JsonOutline& outline) {
  outline.members.clear();
  return Minifier<true>(text, out, &outline, k_max_json_depth).run();
}

std::size_t compact_value_size(std::string_view compact) {
  if (compact.empty()) {
    return 0;
  }
  const char first = compact[0];
  if (first == '"') {
    return string_size(compact);
  }
  if (first != '{' && first != '[') {
    std::size_t pos = 0;
    while (pos < compact.size() && std::strchr(",]}", compact[pos]) == nullptr) {
      ++pos;
    }
    return pos;
  }
  std::size_t depth = 0;
  std::size_t pos = 0;
  while (pos < compact.size()) {
    const char c = compact[pos];
    if (c == '"') {
      pos += string_size(compact.substr(pos));
      continue;
    }
    ++pos;
    if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return pos;
    }
  }
  return pos;
}

void append_decoded_string(std::string_view literal, std::string& out) {
  const std::string_view body = literal.substr(1, literal.size() - 2);
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t slash = body.find('\\', pos);
    out.append(body.data() + pos, (slash == std::string_view::npos ? body.size() : slash) - pos);
    if (slash == std::string_view::npos) {
      return;
    }
    const char kind = body[slash + 1];
    pos = slash + 2;
    switch (kind) {
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case 'u': {
      auto value = static_cast<char32_t>(hex4(body, pos));
      pos += 4;
      if (value >= 0xd800 && value <= 0xdbff) { // validated: a low surrogate follows
        const auto low = static_cast<char32_t>(hex4(body, pos + 2));
        value = 0x10000 + ((value - 0xd800) << 10) + (low - 0xdc00);
        pos += 6;
      }
      append_utf8(out, value);
      break;
    }
    default: // '"', '\\', '/'
      out += kind;
    }
  }
}

bool string_equals(std::string_view literal, std::string_view text) {
  const std::string_view body = literal.substr(1, literal.size() - 2);
  if (body.find('\\') == std::string_view::npos) {
    return body == text;
  }
  std::string decoded;
  append_decoded_string(literal, decoded);
  return decoded == text;
}

CompactReader::CompactReader(std::string_view compact) : m_text(compact) {
  if (compact.size() < 2 || (compact[0] != '{' && compact[0] != '[')) {
    m_pos = compact.size();
    return;
  }
  m_object = compact[0] == '{';
  m_pos = compact[1] == (m_object ? '}' : ']') ? compact.size() : 1;
}

bool CompactReader::next(std::string_view& key, std::string_view& value) {
  if (m_pos >= m_text.size()) {
    return false;
  }
  std::string_view rest = m_text.substr(m_pos);
  key = {};
  if (m_object) {
    const std::size_t key_size = string_size(rest);
    key = rest.substr(0, key_size);
    rest.remove_prefix(key_size + 1); // the key and its ':'
  }
  const std::size_t value_size = compact_value_size(rest);
  value = rest.substr(0, value_size);
  m_pos = static_cast<std::size_t>(value.data() + value_size - m_text.data());
  // A ',' means another member follows; anything else closes the container.
  m_pos = m_pos < m_text.size() && m_text[m_pos] == ',' ? m_pos + 1 : m_text.size();
  return true;
}

} // namespace bdd::model
