#include "flatten.hpp"

#include <bdd/model/json_text.hpp>

#include <utility>

namespace bdd::exporting {

namespace {

constexpr std::string_view k_data_prefix = "data.";

// Calls `visit(path, kind, value)` for every column of the compact JSON object `object`, whose
// own path is `path` ("data" at the top; restored on return). `value` is the compact value.
template <typename Visit>
void walk(std::string_view object, std::string& path, const Visit& visit) {
  model::CompactReader reader(object);
  std::string_view key;
  std::string_view value;
  std::string decoded;
  while (reader.next(key, value)) {
    const std::size_t restore = path.size();
    decoded.clear();
    model::append_decoded_string(key, decoded);
    path += '.';
    append_data_path_segment(path, decoded);
    switch (value[0]) {
    case '{':
      if (value == "{}") {
        visit(path, Cell::Kind::json, value);
      } else {
        walk(value, path, visit);
      }
      break;
    case '[':
      visit(path, Cell::Kind::json, value);
      break;
    case '"':
      visit(path, Cell::Kind::text, value);
      break;
    case 't':
    case 'f':
      visit(path, Cell::Kind::boolean, value);
      break;
    case 'n':
      visit(path, Cell::Kind::empty, value);
      break;
    default:
      visit(path, Cell::Kind::number, value);
      break;
    }
    path.resize(restore);
  }
}

// `raw` is a compact JSON object (what bdd stores as the raw event), or empty.
Result<void> check_raw(const model::Event& event) {
  if (event.raw.empty()) {
    return ok();
  }
  std::string compact;
  if (event.raw[0] != '{' || !model::append_minified_json(event.raw, compact)
      || compact.size() != event.raw.size()) {
    return Error(Errc::storage,
                 "the raw event of " + model::quoted_id(event.id)
                     + " is not a compact JSON object: run `bdd verify` on the study");
  }
  return ok();
}

} // namespace

void visit_data_paths(std::string_view raw,
                      const std::function<void(const std::string& path, Cell::Kind kind)>& visit) {
  if (raw.empty()) {
    return;
  }
  std::string path = "data";
  walk(raw, path, [&visit](const std::string& name, Cell::Kind kind, std::string_view) {
    visit(name, kind);
  });
}

void append_data_path_segment(std::string& path, std::string_view key) {
  for (const char c : key) {
    if (c == '\\' || c == '.') {
      path += '\\';
    }
    path += c;
  }
}

std::optional<std::vector<std::string>> parse_data_path(std::string_view name) {
  if (!name.starts_with(k_data_prefix)) {
    return std::nullopt;
  }
  name.remove_prefix(k_data_prefix.size());
  std::vector<std::string> keys(1);
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\') {
      if (i + 1 == name.size()) {
        return std::nullopt;
      }
      keys.back() += name[++i];
    } else if (name[i] == '.') {
      keys.emplace_back();
    } else {
      keys.back() += name[i];
    }
  }
  return keys;
}

FlatColumns::FlatColumns(std::size_t max_columns, std::size_t max_name_bytes)
    : m_max_columns(max_columns),
      m_max_name_bytes(max_name_bytes) {}

Result<void> FlatColumns::collect(const model::Event& event) {
  BDD_TRY(check_raw(event));
  if (event.raw.empty()) {
    return ok();
  }
  std::string path = "data";
  std::optional<Error> failure;
  walk(event.raw, path, [&](const std::string& name, Cell::Kind, std::string_view) {
    if (failure || m_index.contains(name)) {
      return;
    }
    if (m_names.size() == m_max_columns || m_name_bytes + name.size() > m_max_name_bytes) {
      failure.emplace(Errc::usage,
                      "--flatten would make more than " + std::to_string(m_max_columns)
                          + " columns or " + std::to_string(m_max_name_bytes >> 20)
                          + " MiB of column names (event " + model::quoted_id(event.id)
                          + " adds another): export fewer event types with --event-type, or "
                            "leave out --flatten");
      return;
    }
    m_index.emplace(name, m_names.size());
    m_names.push_back(name);
    m_name_bytes += name.size();
  });
  if (failure) {
    return std::move(*failure);
  }
  return ok();
}

std::vector<std::string> FlatColumns::header() const {
  std::vector<std::string> out = {
      "id", "user_id", "event_type", "element_id", "timestamp", "stored_timestamp", "page_url"};
  out.insert(out.end(), m_names.begin(), m_names.end());
  return out;
}

Result<void> FlatColumns::row(const model::Event& event, std::vector<Cell>& cells) const {
  BDD_TRY(check_raw(event));
  cells.clear();
  append_leading_cells(event, cells);
  cells.resize(k_flat_leading_columns + m_names.size());
  for (std::size_t i = k_flat_leading_columns; i < cells.size(); ++i) {
    cells[i].kind = Cell::Kind::empty;
    cells[i].value.clear();
  }
  if (event.raw.empty()) {
    return ok();
  }
  std::string path = "data";
  bool unknown = false;
  walk(event.raw, path, [&](const std::string& name, Cell::Kind kind, std::string_view value) {
    const auto found = m_index.find(name);
    if (found == m_index.end()) {
      unknown = true;
      return;
    }
    Cell& cell = cells[k_flat_leading_columns + found->second];
    cell.kind = kind;
    cell.value.clear();
    if (kind == Cell::Kind::text) {
      model::append_decoded_string(value, cell.value);
    } else if (kind != Cell::Kind::empty) {
      cell.value = value;
    }
  });
  if (unknown) {
    return Error(Errc::storage,
                 "event " + model::quoted_id(event.id)
                     + " changed while it was exported: export again");
  }
  return ok();
}

void append_leading_cells(const model::Event& event, std::vector<Cell>& cells) {
  const auto text = [&](std::string_view value) {
    cells.push_back(Cell{Cell::Kind::text, std::string(value)});
  };
  const auto optional = [&](const std::optional<std::string>& value) {
    cells.push_back(value ? Cell{Cell::Kind::text, *value} : Cell{});
  };
  text(model::display_id(event.id));
  text(event.user_id);
  text(event.event_type);
  optional(event.element_id);
  optional(event.timestamp);
  optional(event.stored_timestamp);
  optional(event.page_url);
}

} // namespace bdd::exporting
