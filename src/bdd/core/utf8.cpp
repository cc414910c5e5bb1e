#include "utf8.hpp"

namespace bdd {

std::optional<CodePoint> decode_utf8(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) {
    return CodePoint{lead, 1};
  }

  std::size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0; // smallest value this length may encode: anything less is overlong
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    value = lead & 0x1f;
    minimum = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    value = lead & 0x0f;
    minimum = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    value = lead & 0x07;
    minimum = 0x10000;
  } else {
    return std::nullopt; // a continuation byte or 0xf8..0xff
  }
  if (text.size() < length) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xc0) != 0x80) {
      return std::nullopt;
    }
    value = (value << 6) | (byte & 0x3f);
  }
  if (value < minimum || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    return std::nullopt;
  }
  return CodePoint{value, length};
}

} // namespace bdd
