#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace bdd {

// One Unicode scalar value decoded from UTF-8, and how many bytes encoded it.
struct CodePoint {
  char32_t value = 0;
  std::size_t length = 0;
};

// Decode the UTF-8 sequence at the start of `text`. Returns nullopt if `text` is empty or starts
// with an ill-formed sequence (stray continuation byte, truncated sequence, overlong form,
// surrogate, or a value above U+10FFFF), so that callers can escape or replace the byte.
std::optional<CodePoint> decode_utf8(std::string_view text);

} // namespace bdd
