#pragma once

#include <bdd/model/event.hpp>
#include <bdd/storage/writer.hpp>

#include <filesystem>
#include <optional>
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

// The key a level has in a hive folder name: "user_id", "date" or "event_type".
std::string_view partition_key(Level level);

// The folder, at `level`, of the events whose `level_value` is `value`. plain:
// `safe_component(value)`. hive: `<partition_key>=<safe_component(value)>`, or `<key>=` alone
// for an empty value. Hive readers URL-decode what follows '=' (DuckDB does; tests/loaders
// checks it), and `safe_component` escapes every byte that URL decoding changes ('%', '+' and
// '=' and '/' included), so such a reader's partition column is the value itself, the empty
// one included; except for a value whose escaped form passes `k_max_component_bytes`: the
// reader sees its escaped prefix decoded, then '~' and 24 hex digits of its SHA-256. Injective
// for a given level and naming, so two values never share a folder.
std::string folder_name(Level level, std::string_view value, PartitionNaming naming);

// What `folder_name` made the escaped value of a folder `name` at `level`: the name (plain),
// what follows `<key>=` (hive). nullopt for a hive name without that prefix (no folder bdd
// wrote).
std::optional<std::string_view>
folder_value(Level level, std::string_view name, PartitionNaming naming);

// The directory, relative to the study directory, that holds `event`'s leaf file: one
// `folder_name(level, level_value(...), naming)` per level, outermost first. Empty for an empty
// structure.
std::filesystem::path
leaf_directory(const model::Event& event, const std::vector<Level>& levels, PartitionNaming naming);

// `leaf_directory` as a string with '/' separators (the form `FileExtent` uses), computed
// without building a path.
std::string leaf_directory_string(const model::Event& event,
                                  const std::vector<Level>& levels,
                                  PartitionNaming naming);

} // namespace bdd::storage
