#pragma once

#include <bdd/model/event.hpp>
#include <bdd/storage/writer.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::storage {

// The most bytes `safe_component` returns.
inline constexpr std::size_t k_max_component_bytes = 100;

// The directory name for the by_date level when an event has no usable timestamp. It cannot be
// mistaken for a date.
inline constexpr std::string_view k_unknown_date = "unknown-date";

// Turn a value from the server (a user id, an event type) into one path component that is safe
// on Linux, macOS and Windows and still readable. The result is never empty, ".", or "..";
// contains no separator, NUL or control character; never starts with '.' (so it cannot clash
// with bdd's own ".bdd/" or ".metadata.json"); is no Windows device name (CON, NUL, COM1, ...,
// with or without an extension); never ends with '.' or ' '; and is at most
// `k_max_component_bytes` bytes. It is injective: different values give different components.
// Letters, digits, '_', '-', inner '.', and well-formed non-ASCII UTF-8 that is not a control,
// format or space character are kept; every other byte becomes %XX (upper-case hex), '%'
// included; "" becomes "%empty". Longer results keep a prefix and end in '~' plus 24 hex digits
// of the value's SHA-256 (injective up to a 96-bit hash collision). Case is kept, so on a
// case-insensitive file system "A" and "a" share a directory.
std::string safe_component(std::string_view value);

// The unescaped value an event has at one folder level: its user id, its event type, or the UTC
// day of `stored_timestamp` (else of `timestamp`) as "YYYY-MM-DD", else `k_unknown_date`.
std::string level_value(const model::Event& event, Level level);

// The directory, relative to the study directory, that holds `event`'s leaf file: one
// `safe_component(level_value(...))` per level, outermost first. Empty for an empty structure.
std::filesystem::path leaf_directory(const model::Event& event, const std::vector<Level>& levels);

// `leaf_directory` as a string with '/' separators (the form `FileExtent` uses), computed
// without building a path.
std::string leaf_directory_string(const model::Event& event, const std::vector<Level>& levels);

} // namespace bdd::storage
