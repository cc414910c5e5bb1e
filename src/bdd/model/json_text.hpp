#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::model {

// JSON handled as text, without building a document: the page path validates a response once,
// strips its insignificant whitespace, and then reads events straight from the bytes the server
// sent. Everything after `append_minified_json` assumes its output (valid, compact JSON).

// How deeply bytes from a server may nest: a value holds at most this many levels of arrays and
// objects (`{}` is 1 level, `{"a":[1]}` 2). Deeper values are refused wherever bdd reads JSON
// that it did not write itself, so that no later step (an id derived with a document parser, a
// dump) can exhaust the stack. For a page, the limit applies to the body as a whole and to each
// event on its own (an event may be 512 levels deep inside its page's two).
constexpr std::size_t k_max_json_depth = 512;

// Check that `text` is exactly one JSON value (RFC 8259: UTF-8, no lone surrogate escapes,
// insignificant whitespace allowed around tokens; numbers beyond a double's range, such as
// 1e400, are refused as document parsers refuse them; at most `max_depth` levels of nesting)
// and append it to `out` with that whitespace removed; everything else (key order, duplicate
// keys, escapes, number spelling) is kept byte for byte. Returns false, with `out` holding a
// partial value, if `text` is not valid JSON or nests deeper.
bool append_minified_json(std::string_view text,
                          std::string& out,
                          std::size_t max_depth = k_max_json_depth);

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
  // An element of an "events" array that could not be minified, whose end was still found.
  struct Unusable {
    std::size_t element = 0; // its index in `Member::elements`
    Span raw;                // its bytes in the minifier's *input* `text`, as sent
    std::string reason;      // "not valid JSON", "invalid UTF-8", "starts with a byte order
                             // mark" or "nested deeper than 512 levels"
  };
  struct Member {
    Span key;   // the key's literal, quotes included
    Span value; // the compact value
    // The elements of `value` in order when it is a non-empty array; empty otherwise. Nothing
    // deeper is recorded.
    std::vector<Span> elements;
    // Only for a member whose key is "events": the elements that are not valid JSON, in order.
    // Each stands in `out` as `null` at its place in `elements`, so positions stay aligned.
    std::vector<Unusable> unusable;
  };
  // Every member in the order written, repeated keys included; empty when the value is not an
  // object or is `{}`.
  std::vector<Member> members;
};

// `append_minified_json` that also fills `outline` (cleared first) in the same pass. When it
// returns false, `outline` is as partial as `out`.
//
// The elements of an array that is the value of a top-level member named "events" are read
// leniently: one that is not valid JSON (a byte order mark before it, invalid UTF-8, deeper
// than `k_max_json_depth` levels counted from the element, any other syntax error) does not make
// the whole text invalid as long as its end can be found: scanning from its start, the first ','
// or ']' outside string literals and outside brackets opened after that start. It is recorded in
// `Member::unusable` and written to `out` as `null`. An element whose end cannot be found (an
// unterminated string, brackets never closed) or that is empty fails the whole text.
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
