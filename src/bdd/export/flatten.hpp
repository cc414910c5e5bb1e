#pragma once

#include <bdd/core/result.hpp>
#include <bdd/model/event.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bdd::exporting {

// One cell of an exported row, keeping the JSON meaning of the value so that each writer can
// show it the way its readers expect (csv: numbers unquoted; xlsx: numbers as numbers).
struct Cell {
  enum class Kind : std::uint8_t {
    empty,   // absent, or JSON null: an empty field (csv), a blank cell (xlsx)
    text,    // a string (decoded), or a normalised field
    number,  // a JSON number exactly as the server wrote it
    boolean, // "true" or "false"
    json,    // an array, or an empty object, as its compact JSON text
  };
  Kind kind = Kind::empty;
  std::string value;
};

// The normalised fields before the data columns of a flattened row: the columns of a csv export
// before its `data`, in their order (id, user_id, event_type, element_id, timestamp,
// stored_timestamp, page_url). None contains a '.', so none can equal a data column (those all
// start with "data.").
inline constexpr std::size_t k_flat_leading_columns = 7;

// `--flatten` refuses an export whose events have more distinct data paths than this, or whose
// column names take more than `k_max_flat_name_bytes` bytes together: that memory is all a
// flattened export holds besides one event.
inline constexpr std::size_t k_max_flat_columns = 5000;
inline constexpr std::size_t k_max_flat_name_bytes = std::size_t{4} << 20;

// The column name of a member of `data`: "data." followed by the keys from the event's top level
// down, joined by '.'. Inside a key, '\' is written "\\" and '.' is written "\.", so that a key
// holding a dot never names the same column as nested keys ({"a.b":1} is `data.a\.b`, {"a":{"b":1}}
// is `data.a.b`). `append_data_path_segment` appends one key, escaped, to `path`.
void append_data_path_segment(std::string& path, std::string_view key);

// Splits a column name made by the rule above back into its keys (without "data."); nullopt when
// `name` does not start with "data." or ends in a lone '\'. Used for `--drop-field`.
std::optional<std::vector<std::string>> parse_data_path(std::string_view name);

// Calls `visit(path, kind)` for every column `FlatColumns` makes of the compact JSON object
// `raw` (a raw event), in the order written: the same paths and kinds (`Cell::Kind::empty` for
// a null), for readers that count paths rather than write them (`bdd report`'s missing fields).
// `path` is valid during the call only. Nothing is called for an empty `raw`.
void visit_data_paths(std::string_view raw,
                      const std::function<void(const std::string& path, Cell::Kind kind)>& visit);

// The columns of a flattened export: every scalar inside an event's `data` (its raw event) is a
// column named by its path (see `append_data_path_segment`); an array (of scalars or of objects)
// is one column holding its compact JSON text; an object recurses, and an empty object `{}` is one
// column holding "{}" so that its presence is not lost. A key repeated within one object gives
// one column, holding the last value (as JSON parsers that build objects keep it).
//
// Two passes over the same events: `collect` each one (the union of the columns, in the order
// first seen), then `row` each one. Memory is bounded by the columns, whatever the events.
class FlatColumns {
public:
  explicit FlatColumns(std::size_t max_columns = k_max_flat_columns,
                       std::size_t max_name_bytes = k_max_flat_name_bytes);

  // Pass 1: add the data paths of `event` not seen before. Fails with Errc::usage past the
  // limits (the message suggests a filter), Errc::storage if `event.raw` is not a valid JSON
  // object (a damaged study: the message names the event and points at `bdd verify`).
  Result<void> collect(const model::Event& event);

  // The header: the leading columns, then the data columns in first-seen order.
  std::vector<std::string> header() const;

  // The number of data columns collected.
  std::size_t data_columns() const { return m_names.size(); }

  // Pass 2: the cells of `event` in header order into `cells` (resized). A data path that pass
  // 1 did not see (the event changed between the passes) fails with Errc::storage.
  Result<void> row(const model::Event& event, std::vector<Cell>& cells) const;

private:
  std::size_t m_max_columns;
  std::size_t m_max_name_bytes;
  std::size_t m_name_bytes = 0;
  std::vector<std::string> m_names;
  std::unordered_map<std::string, std::size_t> m_index;
};

// The normalised fields of `event` as the first `k_flat_leading_columns` cells (text, or empty
// for an absent optional field), appended to `cells`.
void append_leading_cells(const model::Event& event, std::vector<Cell>& cells);

} // namespace bdd::exporting
