#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::model {

// JSON handled as text, without building a document: the page path validates a response once,
// strips its insignificant whitespace, and then reads events straight from the bytes the server
// sent. Everything after `append_minified_json` assumes its output (valid, compact JSON).

// Check that `text` is exactly one JSON value (RFC 8259: UTF-8, no lone surrogate escapes,
// insignificant whitespace allowed around tokens; numbers beyond a double's range, such as
// 1e400, are refused as document parsers refuse them) and append it to `out` with that whitespace
// removed; everything else (key order, duplicate keys, escapes, number spelling) is kept byte
// for byte. Returns false, with `out` holding a partial value, if `text` is not valid JSON.
bool append_minified_json(std::string_view text, std::string& out);

// A half-open range [begin, end) of byte offsets into a string.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;

  // The bytes of `text` this span covers.
  std::string_view in(std::string_view text) const { return text.substr(begin, end - begin); }
};

// Where the top-level members of a minified object lie, so that its reader need not scan the
// text again to find them. Offsets are positions in the whole of the minifier's `out`, counting
// whatever it held before the call.
struct JsonOutline {
  struct Member {
    Span key;   // the key's literal, quotes included
    Span value; // the compact value
    // The elements of `value` in order when it is a non-empty array; empty otherwise. Nothing
    // deeper is recorded.
    std::vector<Span> elements;
  };
  // Every member in the order written, repeated keys included; empty when the value is not an
  // object or is `{}`.
  std::vector<Member> members;
};

// `append_minified_json` that also fills `outline` (cleared first) in the same pass. When it
// returns false, `outline` is as partial as `out`.
bool append_minified_json(std::string_view text, std::string& out, JsonOutline& outline);

// The length of the compact JSON value that starts `compact` (the whole of it when it is one
// value).
std::size_t compact_value_size(std::string_view compact);

// Append the decoded content of a compact JSON string literal (quotes included in `literal`)
// to `out` as UTF-8.
void append_decoded_string(std::string_view literal, std::string& out);

// True if the compact JSON string literal `literal` (quotes included) decodes to `text`.
bool string_equals(std::string_view literal, std::string_view text);

// Steps through the members of a compact JSON object, or the elements of a compact JSON array,
// in the order written. `key` is the key's literal, quotes included (compare with
// `string_equals`); for arrays it is empty.
class CompactReader {
public:
  // `compact` is one compact object or array; for anything else `next` returns false at once.
  explicit CompactReader(std::string_view compact);

  // The next member or element, false at the end.
  bool next(std::string_view& key, std::string_view& value);

private:
  std::string_view m_text;
  std::size_t m_pos = 0;
  bool m_object = false;
};

} // namespace bdd::model
