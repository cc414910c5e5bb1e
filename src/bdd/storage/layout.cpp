#include "layout.hpp"

#include <bdd/core/sha256.hpp>
#include <bdd/core/utf8.hpp>

#include <algorithm>
#include <array>

namespace bdd::storage {

namespace {

// Hex digits of the value's SHA-256 appended to a truncated component.
constexpr std::size_t k_hash_digits = 24;

// Non-ASCII code points that are escaped although they are well-formed: controls, invisible
// format characters (bidi overrides can make a name display as a different one), spaces (Windows
// and shells treat some of them like ASCII space), private-use characters (macOS and Samba map
// Windows-illegal characters there) and noncharacters. Pairs are inclusive ranges.
constexpr std::array<std::pair<char32_t, char32_t>, 30> k_escaped_ranges = {{
    {0x0080, 0x00A0},   {0x00AD, 0x00AD},     {0x0600, 0x0605},   {0x061C, 0x061C},
    {0x06DD, 0x06DD},   {0x070F, 0x070F},     {0x08E2, 0x08E2},   {0x1680, 0x1680},
    {0x180E, 0x180E},   {0x2000, 0x200F},     {0x2028, 0x202F},   {0x205F, 0x206F},
    {0x3000, 0x3000},   {0xD800, 0xF8FF},     {0xFDD0, 0xFDEF},   {0xFEFF, 0xFEFF},
    {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},     {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},   {0x1D173, 0x1D17A}, {0x1FFFE, 0x1FFFF},
    {0x2FFFE, 0x2FFFF}, {0x3FFFE, 0x3FFFF},   {0xE0000, 0xE0FFF}, {0xEFFFE, 0xEFFFF},
    {0xF0000, 0xFFFFF}, {0x100000, 0x10FFFF},
}};

bool is_kept_code_point(char32_t value) {
  return std::none_of(k_escaped_ranges.begin(), k_escaped_ranges.end(), [value](const auto& range) {
    return value >= range.first && value <= range.second;
  });
}

bool is_kept_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
         || c == '-';
}

void append_escaped(std::string& out, unsigned char byte) {
  constexpr std::string_view k_hex = "0123456789ABCDEF";
  out += '%';
  out += k_hex[byte >> 4];
  out += k_hex[byte & 0x0f];
}

char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// Windows refuses these names as files or directories, with any extension ("con.txt").
bool is_windows_device_name(std::string_view name) {
  name = name.substr(0, name.find('.'));
  std::string upper;
  for (char c : name) {
    upper += ascii_upper(c);
  }
  if (upper == "CON" || upper == "PRN" || upper == "AUX" || upper == "NUL") {
    return true;
  }
  if (upper.rfind("COM", 0) != 0 && upper.rfind("LPT", 0) != 0) {
    return false;
  }
  const std::string_view suffix = std::string_view(upper).substr(3);
  // COM0-9 and LPT0-9, and the superscript digits Windows also treats as port numbers.
  return (suffix.size() == 1 && suffix[0] >= '0' && suffix[0] <= '9') || suffix == "\xC2\xB9"
         || suffix == "\xC2\xB2" || suffix == "\xC2\xB3";
}

// Where to cut `encoded` to at most `limit` bytes without splitting a %XX escape or a UTF-8
// sequence, so that the kept prefix still reads as the start of the value.
std::size_t safe_cut(std::string_view encoded, std::size_t limit) {
  std::size_t cut = std::min(limit, encoded.size());
  while (cut > 0 && cut < encoded.size()
         && (static_cast<unsigned char>(encoded[cut]) & 0xC0) == 0x80) {
    --cut; // inside a multi-byte sequence: back up to its first byte
  }
  if (cut >= 1 && encoded[cut - 1] == '%') {
    cut -= 1;
  } else if (cut >= 2 && encoded[cut - 2] == '%') {
    cut -= 2;
  }
  return cut;
}

} // namespace

std::string safe_component(std::string_view value) {
  if (value.empty()) {
    // '%' followed by a lower-case letter is never produced for any other value.
    return "%empty";
  }

  std::string encoded;
  encoded.reserve(value.size() + 8);
  std::size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      // An inner '.' is kept; a leading one would hide the directory (and clash with ".bdd"), a
      // trailing one is dropped by Windows.
      const bool inner_dot = c == '.' && i != 0 && i + 1 != value.size();
      if (is_kept_ascii(c) || inner_dot) {
        encoded += c;
      } else {
        append_escaped(encoded, byte);
      }
      ++i;
      continue;
    }
    const auto code_point = decode_utf8(value.substr(i));
    if (code_point && is_kept_code_point(code_point->value)) {
      encoded.append(value.substr(i, code_point->length));
      i += code_point->length;
    } else {
      // An unwanted character has all its bytes escaped; an ill-formed byte only itself, and
      // decoding resumes at the next byte.
      const std::size_t length = code_point ? code_point->length : 1;
      for (std::size_t k = 0; k < length; ++k) {
        append_escaped(encoded, static_cast<unsigned char>(value[i + k]));
      }
      i += length;
    }
  }

  if (is_windows_device_name(encoded)) {
    // Escaping the first letter keeps the mapping reversible ("CON" -> "%43ON").
    const auto first = static_cast<unsigned char>(encoded[0]);
    encoded.erase(0, 1);
    std::string escaped;
    append_escaped(escaped, first);
    encoded.insert(0, escaped);
  }

  if (encoded.size() > k_max_component_bytes) {
    // '~' is always escaped in values, so only truncated components contain it.
    const std::size_t cut = safe_cut(encoded, k_max_component_bytes - 1 - k_hash_digits);
    encoded.resize(cut);
    encoded += '~';
    encoded += sha256_hex(value).substr(0, k_hash_digits);
  }
  return encoded;
}

std::string level_value(const model::Event& event, Level level) {
  switch (level) {
  case Level::by_user_id:
    return event.user_id;
  case Level::by_event_type:
    return event.event_type;
  case Level::by_date:
    break;
  }
  std::optional<std::string> day;
  if (event.stored_timestamp) {
    day = model::utc_day(*event.stored_timestamp);
  }
  if (!day && event.timestamp) {
    day = model::utc_day(*event.timestamp);
  }
  return day ? std::move(*day) : std::string(k_unknown_date);
}

std::string_view partition_key(Level level) {
  switch (level) {
  case Level::by_user_id:
    return "user_id";
  case Level::by_event_type:
    return "event_type";
  case Level::by_date:
    break;
  }
  return "date";
}

std::string folder_name(Level level, std::string_view value, PartitionNaming naming) {
  if (naming == PartitionNaming::plain) {
    return safe_component(value);
  }
  std::string out(partition_key(level));
  out += '=';
  if (!value.empty()) {
    // `<key>=` alone is the empty value to a hive reader; no other value gives it.
    out += safe_component(value);
  }
  return out;
}

std::optional<std::string_view>
folder_value(Level level, std::string_view name, PartitionNaming naming) {
  if (naming == PartitionNaming::plain) {
    return name;
  }
  const std::string_view key = partition_key(level);
  if (name.size() <= key.size() || !name.starts_with(key) || name[key.size()] != '=') {
    return std::nullopt;
  }
  return name.substr(key.size() + 1);
}

std::string leaf_directory_string(const model::Event& event,
                                  const std::vector<Level>& levels,
                                  PartitionNaming naming) {
  std::string out;
  for (Level level : levels) {
    if (!out.empty()) {
      out += '/';
    }
    out += folder_name(level, level_value(event, level), naming);
  }
  return out;
}

std::filesystem::path leaf_directory(const model::Event& event,
                                     const std::vector<Level>& levels,
                                     PartitionNaming naming) {
  return leaf_directory_string(event, levels, naming);
}

} // namespace bdd::storage
