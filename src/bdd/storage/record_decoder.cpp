#include "record_decoder.hpp"

#include "readers.hpp"
#include "sources.hpp"

#include <bdd/model/json_text.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include <array>

namespace bdd::storage {

namespace {

constexpr std::size_t k_csv_columns = 8;

Error damaged(std::string message) {
  return {Errc::storage, std::move(message)};
}

// A compact JSON string literal decoded into `out`; false if `value` is not a string.
bool decode_string(std::string_view value, std::string& out) {
  if (value.empty() || value[0] != '"') {
    return false;
  }
  out.clear();
  model::append_decoded_string(value, out);
  return true;
}

// A string or null; false for anything else.
bool decode_optional(std::string_view value, std::optional<std::string>& out) {
  if (value == "null") {
    out.reset();
    return true;
  }
  if (!out) {
    out.emplace();
  }
  return decode_string(value, *out);
}

// The normalised object of a json or jsonl record (see model::append_normalised_json), from the
// members the reader found while it read the id (or, from a reader that did not, walked here).
Result<void>
decode_object(const EventReader& reader, const StoredRecord& record, model::Event& out) {
  thread_local std::string minified;
  thread_local JsonMembers walked;
  const JsonMembers* members = &reader.members();
  if (members->empty()) {
    minified.clear();
    if (!model::append_minified_json(record.bytes, minified, model::k_max_json_depth + 1)
        || minified[0] != '{') {
      return damaged("the event is not a JSON object");
    }
    walked.clear();
    model::CompactReader walk(minified);
    std::string_view key;
    std::string_view value;
    while (walk.next(key, value)) {
      walked.emplace_back(key, value);
    }
    members = &walked;
  }
  out.user_id = "unknown";
  out.event_type = "unknown";
  out.element_id.reset();
  out.timestamp.reset();
  out.stored_timestamp.reset();
  out.page_url.reset();
  out.raw.clear();
  for (const auto& [key, value] : *members) {
    // Keys in the writer's order; a repeated key keeps its last value, as document parsers do.
    bool good = true;
    if (model::string_equals(key, "user_id")) {
      good = decode_string(value, out.user_id);
    } else if (model::string_equals(key, "event_type")) {
      good = decode_string(value, out.event_type);
    } else if (model::string_equals(key, "element_id")) {
      good = decode_optional(value, out.element_id);
    } else if (model::string_equals(key, "timestamp")) {
      good = decode_optional(value, out.timestamp);
    } else if (model::string_equals(key, "stored_timestamp")) {
      good = decode_optional(value, out.stored_timestamp);
    } else if (model::string_equals(key, "page_url")) {
      good = decode_optional(value, out.page_url);
    } else if (model::string_equals(key, "data")) {
      out.raw.assign(value == "null" ? std::string_view() : value);
    }
    if (!good) {
      std::string name;
      model::append_decoded_string(key, name);
      return damaged("the field \"" + name + "\" is neither a string nor null");
    }
  }
  return ok();
}

// One CSV record (RFC 4180, without its CRLF) split into its fields, each with whether it was
// quoted: an unquoted empty field is null.
struct CsvField {
  std::string text;
  bool quoted = false;
};

Result<void> split_csv(std::string_view record, std::array<CsvField, k_csv_columns>& fields) {
  std::size_t column = 0;
  for (auto& field : fields) {
    field.text.clear();
    field.quoted = false;
  }
  std::size_t i = 0;
  for (;;) {
    CsvField& field = fields[column];
    if (i < record.size() && record[i] == '"') {
      field.quoted = true;
      ++i;
      for (;;) {
        const std::size_t quote = record.find('"', i);
        if (quote == std::string_view::npos) {
          return damaged("a quoted field is not closed");
        }
        field.text.append(record.substr(i, quote - i));
        i = quote + 1;
        if (i < record.size() && record[i] == '"') {
          field.text += '"';
          ++i;
          continue;
        }
        break;
      }
    } else {
      const std::size_t comma = record.find(',', i);
      const std::size_t end = comma == std::string_view::npos ? record.size() : comma;
      field.text.assign(record.substr(i, end - i));
      i = end;
    }
    if (i == record.size()) {
      break;
    }
    if (record[i] != ',' || ++column == k_csv_columns) {
      return damaged("a row that is not bdd's eight CSV columns");
    }
    ++i;
  }
  if (column + 1 != k_csv_columns) {
    return damaged("a row that is not bdd's eight CSV columns");
  }
  return ok();
}

void assign_optional(const CsvField& field, std::optional<std::string>& out) {
  if (field.text.empty() && !field.quoted) {
    out.reset();
  } else {
    out = field.text;
  }
}

Result<void>
decode_csv(const EventReader& /*reader*/, const StoredRecord& record, model::Event& out) {
  thread_local std::array<CsvField, k_csv_columns> fields;
  BDD_TRY(split_csv(record.bytes, fields));
  out.user_id = fields[1].text;
  out.event_type = fields[2].text;
  assign_optional(fields[3], out.element_id);
  assign_optional(fields[4], out.timestamp);
  assign_optional(fields[5], out.stored_timestamp);
  assign_optional(fields[6], out.page_url);
  out.raw.clear();
  if (!model::append_minified_json(fields[7].text, out.raw)) {
    return damaged("the data field is not valid JSON");
  }
  return ok();
}

using Decoder = Result<void> (*)(const EventReader& reader,
                                 const StoredRecord& record,
                                 model::Event& out);

class TextSource final : public EventSource {
public:
  TextSource(Decoder decode, std::unique_ptr<EventReader> reader)
      : m_decode(decode),
        m_reader(std::move(reader)) {}

  Result<bool> next(model::Event& out) override {
    auto record = m_reader->next();
    if (!record) {
      m_error_line = m_reader->error_line();
      return std::move(record).error();
    }
    if (!*record) {
      return false;
    }
    out.id = (*record)->id;
    out.unusable.clear();
    out.prepared.reset();
    out.digest = 0;
    auto decoded = m_decode(*m_reader, **record, out);
    if (!decoded) {
      m_error_line = (*record)->line;
      return std::move(decoded).error();
    }
    return true;
  }
  std::uint64_t error_line() const override { return m_error_line; }

private:
  Decoder m_decode;
  std::unique_ptr<EventReader> m_reader;
  std::uint64_t m_error_line = 0;
};

class SqliteSource final : public EventSource {
public:
  SqliteSource(const std::filesystem::path& path, const Selection& selection)
      : m_db(path.string(), SQLite::OPEN_READONLY),
        m_query(m_db, sqlite_selection_query(selection)) {
    // An export may hold 128 of these open at once (one per selected user): a small cache each.
    m_db.exec("PRAGMA cache_size=-256");
    int index = 1;
    if (selection.user_id) {
      m_query.bind(index++, *selection.user_id);
    }
    if (selection.event_type) {
      m_query.bind(index++, *selection.event_type);
    }
  }

  Result<bool> next(model::Event& out) override {
    try {
      if (!m_query.executeStep()) {
        return false;
      }
      const auto rowid = static_cast<std::uint64_t>(m_query.getColumn(0).getInt64());
      const auto fail = [&](std::string message) {
        m_error_line = rowid;
        return damaged(std::move(message));
      };
      const SQLite::Column id = m_query.getColumn(1);
      if (id.isNull() || id.getString().empty()) {
        return fail("a row without id");
      }
      out.raw.clear();
      const SQLite::Column data = m_query.getColumn(9);
      if (!data.isNull() && !model::append_minified_json(data.getString(), out.raw)) {
        return fail("the data of a row is not valid JSON");
      }
      out.id = stored_key(id.getString(), out.raw);
      out.user_id = text_or(m_query.getColumn(2), "unknown");
      out.event_type = text_or(m_query.getColumn(3), "unknown");
      optional_text(m_query.getColumn(4), out.element_id);
      optional_text(m_query.getColumn(5), out.timestamp);
      optional_text(m_query.getColumn(6), out.stored_timestamp);
      optional_text(m_query.getColumn(7), out.page_url);
      return true;
    } catch (const std::exception& e) {
      return damaged(std::string("cannot read the database: ") + e.what());
    }
  }
  std::uint64_t error_line() const override { return m_error_line; }

private:
  static std::string text_or(const SQLite::Column& column, const char* fallback) {
    return column.isNull() ? std::string(fallback) : column.getString();
  }
  static void optional_text(const SQLite::Column& column, std::optional<std::string>& out) {
    if (column.isNull()) {
      out.reset();
    } else {
      out = column.getString();
    }
  }

  SQLite::Database m_db;
  SQLite::Statement m_query;
  std::uint64_t m_error_line = 0;
};

template <Decoder decode>
Result<std::unique_ptr<EventSource>> open_text_source(const std::filesystem::path& path,
                                                      EventReaderOpener open) {
  BDD_TRY_ASSIGN(auto reader, open(path, ReadOptions{}));
  return std::unique_ptr<EventSource>(std::make_unique<TextSource>(decode, std::move(reader)));
}

} // namespace

Result<std::unique_ptr<EventSource>> open_json_source(const std::filesystem::path& path,
                                                      const Selection& /*selection*/) {
  return open_text_source<&decode_object>(path, &open_json_reader);
}

Result<std::unique_ptr<EventSource>> open_jsonl_source(const std::filesystem::path& path,
                                                       const Selection& /*selection*/) {
  return open_text_source<&decode_object>(path, &open_jsonl_reader);
}

Result<std::unique_ptr<EventSource>> open_csv_source(const std::filesystem::path& path,
                                                     const Selection& /*selection*/) {
  return open_text_source<&decode_csv>(path, &open_csv_reader);
}

Result<std::unique_ptr<EventSource>> open_sqlite_source(const std::filesystem::path& path,
                                                        const Selection& selection) {
  try {
    return std::unique_ptr<EventSource>(std::make_unique<SqliteSource>(path, selection));
  } catch (const std::exception& e) {
    return Error(Errc::storage, "cannot read \"" + path.string() + "\": " + e.what());
  }
}

// rowid is the server's order. With a selection the index on that column (sqlite_writer.cpp)
// gives the rows in rowid order already (an index orders equal keys by rowid), so the
// ORDER BY costs no sort; a database whose indexes a first download has not built yet is
// scanned instead.
std::string sqlite_selection_query(const Selection& selection) {
  std::string text = "SELECT rowid, id, user_id, event_type, element_id, timestamp, "
                     "stored_timestamp, page_url, study_name, data FROM events";
  if (selection.user_id) {
    text += " WHERE user_id = ?";
  }
  if (selection.event_type) {
    text += selection.user_id ? " AND event_type = ?" : " WHERE event_type = ?";
  }
  return text + " ORDER BY rowid";
}

} // namespace bdd::storage
