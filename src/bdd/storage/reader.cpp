#include "reader.hpp"

#include "readers.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/model/event.hpp>
#include <bdd/model/json_text.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>

namespace bdd::storage {

namespace {

namespace stdfs = std::filesystem;

constexpr std::string_view k_json_head_start = "{\"metadata\":";
constexpr std::string_view k_json_head_end = ",\"events\":[";
constexpr std::string_view k_csv_header =
    "id,user_id,event_type,element_id,timestamp,stored_timestamp,page_url,data";
constexpr std::size_t k_csv_columns = 8;

Error damaged(std::string message) {
  return {Errc::storage, std::move(message)};
}

// Lines of a file, each with whether it ended in '\n', its number and where the next begins.
class LineSource {
public:
  explicit LineSource(const stdfs::path& path) : m_in(path, std::ios::binary) {}
  bool is_open() const { return m_in.is_open(); }

  // False at the end of the file.
  bool read() {
    if (!std::getline(m_in, m_line)) {
      return false;
    }
    m_terminated = !m_in.eof();
    m_number += 1;
    m_end += m_line.size() + (m_terminated ? 1 : 0);
    return true;
  }
  const std::string& line() const { return m_line; }
  bool terminated() const { return m_terminated; }
  std::uint64_t number() const { return m_number; }
  std::uint64_t end() const { return m_end; }

private:
  std::ifstream m_in;
  std::string m_line;
  bool m_terminated = false;
  std::uint64_t m_number = 0;
  std::uint64_t m_end = 0;
};

} // namespace

// See reader.hpp.
std::string stored_key(std::string_view shown, std::string_view data) {
  if (auto key = model::key_of_displayed_id(shown)) {
    return std::move(*key);
  }
  if (!data.empty() && data[0] == '{') {
    std::string derived = model::derive_event_id(data);
    if (model::display_id(derived) == shown) {
      return derived;
    }
  }
  return std::string(shown);
}

namespace {

// The identity key of a stored normalised event (one JSON object with a string `id` and the raw
// event as `data`), or an error message. Read without a document: the raw event's number
// tokens must stay as written, and the depth stays bounded (a stored event is at most
// k_max_json_depth deep, one level inside its record).
Result<std::string> event_id(std::string_view text, std::string& compact, JsonMembers& members) {
  compact.clear();
  members.clear();
  if (!model::append_minified_json(text, compact, model::k_max_json_depth + 1)) {
    return damaged("not valid JSON (cut short or edited?)");
  }
  if (compact[0] != '{') {
    return damaged("not a JSON object");
  }
  // A repeated key keeps its last value, as document parsers do.
  std::string_view id;
  std::string_view data;
  model::CompactReader reader(compact);
  std::string_view key;
  std::string_view value;
  while (reader.next(key, value)) {
    members.emplace_back(key, value);
    if (model::string_equals(key, "id")) {
      id = value;
    } else if (model::string_equals(key, "data")) {
      data = value;
    }
  }
  if (id.size() < 3 || id[0] != '"') { // absent, not a string, or ""
    return damaged("the event has no string \"id\"");
  }
  std::string shown;
  model::append_decoded_string(id, shown);
  return stored_key(shown, data);
}

// Shared by the text readers: error bookkeeping and the head.
class TextReader : public EventReader {
public:
  explicit TextReader(const stdfs::path& path) : m_lines(path) {}
  bool is_open() const { return m_lines.is_open(); }
  std::uint64_t error_line() const override { return m_error_line; }
  const std::string& head() const override { return m_head; }
  const JsonMembers& members() const override { return m_members; }

protected:
  Error fail(std::uint64_t line, std::string message) {
    m_failed = true;
    m_error_line = line;
    return damaged(std::move(message));
  }

  LineSource m_lines;
  std::string m_head;
  std::string m_record;
  std::string m_compact; // m_record minified (json, jsonl)
  JsonMembers m_members; // the members of m_compact
  bool m_failed = false;
  bool m_done = false;
  std::uint64_t m_error_line = 0;
};

class JsonlReader final : public TextReader {
public:
  using TextReader::TextReader;

  Result<std::optional<StoredRecord>> next() override {
    if (m_failed || m_done || !m_lines.read()) {
      m_done = true;
      return std::optional<StoredRecord>();
    }
    const std::uint64_t line = m_lines.number();
    if (!m_lines.terminated()) {
      return fail(line, "the last line has no line end (cut short?)");
    }
    m_record = m_lines.line();
    auto id = event_id(m_record, m_compact, m_members);
    if (!id) {
      return fail(line, id.error().message);
    }
    return std::optional<StoredRecord>(StoredRecord{std::move(*id), line, m_record, m_lines.end()});
  }
};

class JsonReader final : public TextReader {
public:
  using TextReader::TextReader;

  Result<std::optional<StoredRecord>> next() override {
    if (m_failed || m_done) {
      return std::optional<StoredRecord>();
    }
    if (m_lines.number() == 0) {
      BDD_TRY(read_head());
    }
    const std::string_view closing = m_array ? "]" : "]}";
    if (!m_lines.read()) {
      return fail(m_lines.number(),
                  "the document ends before its closing \"" + std::string(closing)
                      + "\" (cut short?)");
    }
    const std::uint64_t line = m_lines.number();
    const std::string& text = m_lines.line();
    if (!m_lines.terminated()) {
      return fail(line, "the last line has no line end (cut short?)");
    }
    if (text == closing) {
      if (m_expect_more) {
        return fail(line - 1, "a comma after the last event");
      }
      // An array ends with one empty line (see json_writer.cpp).
      if (m_array && !(m_lines.read() && m_lines.terminated() && m_lines.line().empty())) {
        return fail(line + 1,
                    "the document has no empty line after its closing \"]\" (cut short?)");
      }
      if (m_lines.read()) {
        return fail(m_lines.number(), "data after the end of the JSON document");
      }
      m_done = true;
      return std::optional<StoredRecord>();
    }
    if (m_after_event && !m_expect_more) {
      return fail(line - 1, "no comma between two events");
    }
    const bool comma = !text.empty() && text.back() == ',';
    m_record.assign(text, 0, text.size() - (comma ? 1 : 0));
    auto id = event_id(m_record, m_compact, m_members);
    if (!id) {
      return fail(line, id.error().message);
    }
    m_after_event = true;
    m_expect_more = comma;
    return std::optional<StoredRecord>(StoredRecord{std::move(*id), line, m_record, m_lines.end()});
  }

private:
  Result<void> read_head() {
    if (!m_lines.read() || !m_lines.terminated()) {
      return fail(1, "not a bdd JSON document (no head line)");
    }
    const std::string& text = m_lines.line();
    if (text == "[") {
      m_array = true;
      m_head = "[\n";
      return ok();
    }
    const bool shaped = text.size() >= k_json_head_start.size() + k_json_head_end.size()
                        && text.compare(0, k_json_head_start.size(), k_json_head_start) == 0
                        && text.compare(text.size() - k_json_head_end.size(),
                                        k_json_head_end.size(),
                                        k_json_head_end)
                               == 0;
    // The head with the array closed must be a document whose metadata is an object.
    nlohmann::json document;
    if (!shaped || !model::parse_bounded(text + "]}", document) || !document.is_object()
        || !document["metadata"].is_object()) {
      return fail(1, "not a bdd JSON document (the head line is damaged)");
    }
    m_head = text + "\n";
    return ok();
  }

  bool m_array = false; // else the original tool's document
  bool m_after_event = false;
  bool m_expect_more = false;
};

// RFC 4180: fields separated by commas, records by CRLF; a field in double quotes may hold
// commas, CR, LF and doubled quotes.
class CsvReader final : public TextReader {
public:
  CsvReader(const stdfs::path& path) : TextReader(path), m_in(path, std::ios::binary) {}

  Result<std::optional<StoredRecord>> next() override {
    if (m_failed || m_done) {
      return std::optional<StoredRecord>();
    }
    if (!m_header_read) {
      m_header_read = true;
      BDD_TRY_ASSIGN(bool any, read_record());
      if (!any || m_record != k_csv_header) {
        return fail(1, "the header is not bdd's CSV header");
      }
      m_head = std::string(k_csv_header) + "\r\n";
    }
    const std::uint64_t line = m_line;
    BDD_TRY_ASSIGN(bool any, read_record());
    if (!any) {
      m_done = true;
      return std::optional<StoredRecord>();
    }
    if (m_fields.size() != k_csv_columns) {
      return fail(line,
                  "a row with " + std::to_string(m_fields.size()) + " fields instead of "
                      + std::to_string(k_csv_columns));
    }
    if (m_fields[0].empty()) {
      return fail(line, "a row with an empty id");
    }
    m_data.clear();
    if (!model::append_minified_json(m_fields[k_csv_columns - 1], m_data)) {
      return fail(line, "the data field is not valid JSON (cut short or edited?)");
    }
    return std::optional<StoredRecord>(
        StoredRecord{stored_key(m_fields[0], m_data), line, m_record, m_offset});
  }

private:
  // One record into m_record (raw bytes without CRLF) and m_fields. False at the end of file.
  Result<bool> read_record() {
    m_record.clear();
    m_fields.assign(1, std::string());
    const std::uint64_t start = m_line;
    bool quoted = false;     // inside a quoted field
    bool was_quoted = false; // the current field was quoted and closed
    for (;;) {
      const int c = m_in.get();
      if (c == std::char_traits<char>::eof()) {
        if (m_record.empty() && m_fields.size() == 1 && !was_quoted) {
          return false;
        }
        return fail(quoted ? start : m_line,
                    quoted ? "a quoted field is not closed at the end of the file (cut short?)"
                           : "the last row has no line end (cut short?)");
      }
      const char ch = static_cast<char>(c);
      m_offset += 1;
      if (ch == '\n') {
        m_line += 1;
      }
      if (quoted) {
        m_record += ch;
        if (ch == '"') {
          if (m_in.peek() == '"') {
            m_in.get();
            m_offset += 1;
            m_record += '"';
            m_fields.back() += '"';
          } else {
            quoted = false;
            was_quoted = true;
          }
        } else {
          m_fields.back() += ch;
        }
        continue;
      }
      if (ch == '\r') {
        if (m_in.get() != '\n') {
          return fail(m_line, "a CR outside quotes that does not end a row");
        }
        m_offset += 1;
        m_line += 1;
        return true;
      }
      if (ch == '\n') {
        return fail(m_line - 1, "a row ends with LF instead of CRLF");
      }
      m_record += ch;
      if (ch == ',') {
        m_fields.emplace_back();
        was_quoted = false;
      } else if (ch == '"' && m_fields.back().empty() && !was_quoted) {
        quoted = true;
      } else if (was_quoted) {
        return fail(m_line, "characters after a closing quote");
      } else if (ch == '"') {
        return fail(m_line, "a quote inside an unquoted field");
      } else {
        m_fields.back() += ch;
      }
    }
  }

  std::ifstream m_in;
  std::string m_data; // the data field, minified
  bool m_header_read = false;
  std::uint64_t m_line = 1;
  std::uint64_t m_offset = 0;
  std::vector<std::string> m_fields;
};

class SqliteReader final : public EventReader {
public:
  explicit SqliteReader(const stdfs::path& path)
      : m_db(path.string(), SQLite::OPEN_READONLY),
        m_query(m_db, "SELECT rowid, id FROM events ORDER BY rowid"),
        m_data(m_db, "SELECT data FROM events WHERE rowid = ?") {}

  Result<std::optional<StoredRecord>> next() override {
    if (m_failed) {
      return std::optional<StoredRecord>();
    }
    try {
      if (!m_query.executeStep()) {
        return std::optional<StoredRecord>();
      }
      const auto rowid = static_cast<std::uint64_t>(m_query.getColumn(0).getInt64());
      if (m_query.getColumn(1).isNull() || m_query.getColumn(1).getString().empty()) {
        m_failed = true;
        m_error_line = rowid;
        return damaged("a row without id");
      }
      const std::string shown = m_query.getColumn(1).getString();
      std::optional<std::string> key = model::key_of_displayed_id(shown);
      if (!key) {
        // Rare (ids that read as numbers): the raw event says whether it was a number.
        m_data.reset();
        m_data.bind(1, static_cast<std::int64_t>(rowid));
        std::string data;
        if (m_data.executeStep() && !m_data.getColumn(0).isNull()) {
          static_cast<void>(model::append_minified_json(m_data.getColumn(0).getString(), data));
        }
        key = stored_key(shown, data);
      }
      return std::optional<StoredRecord>(StoredRecord{std::move(*key), rowid, {}, 0});
    } catch (const std::exception& e) {
      m_failed = true;
      return damaged(std::string("cannot read the database: ") + e.what());
    }
  }
  std::uint64_t error_line() const override { return m_error_line; }
  const std::string& head() const override { return m_head; }

private:
  SQLite::Database m_db;
  SQLite::Statement m_query;
  SQLite::Statement m_data;
  std::string m_head;
  bool m_failed = false;
  std::uint64_t m_error_line = 0;
};

template <typename Reader>
Result<std::unique_ptr<EventReader>> open_text(const stdfs::path& path) {
  auto reader = std::make_unique<Reader>(path);
  if (!reader->is_open()) {
    return Error(Errc::storage, fs::describe_errno("cannot open", path, errno));
  }
  return std::unique_ptr<EventReader>(std::move(reader));
}

} // namespace

Result<std::unique_ptr<EventReader>> open_jsonl_reader(const stdfs::path& path) {
  return open_text<JsonlReader>(path);
}

Result<std::unique_ptr<EventReader>> open_json_reader(const stdfs::path& path) {
  return open_text<JsonReader>(path);
}

Result<std::unique_ptr<EventReader>> open_csv_reader(const stdfs::path& path) {
  return open_text<CsvReader>(path);
}

Result<std::unique_ptr<EventReader>> open_sqlite_reader(const stdfs::path& path) {
  try {
    return std::unique_ptr<EventReader>(std::make_unique<SqliteReader>(path));
  } catch (const std::exception& e) {
    return Error(Errc::storage, "cannot read \"" + path.string() + "\": " + e.what());
  }
}

Result<std::vector<std::string>> list_data_files(const stdfs::path& study_dir,
                                                 std::string_view format) {
  const std::string name = "events." + std::string(format_info(format).extension);
  std::vector<std::string> out;
  std::error_code ec;
  if (!stdfs::is_directory(study_dir, ec)) {
    return out;
  }
  stdfs::recursive_directory_iterator it(study_dir, ec);
  for (; !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const stdfs::path& path = it->path();
    const std::string file_name = path.filename().string();
    if (it->is_directory(ec) && !file_name.empty() && file_name.front() == '.') {
      it.disable_recursion_pending();
      continue;
    }
    if (file_name == name && it->is_regular_file(ec)) {
      out.push_back(path.lexically_relative(study_dir).generic_string());
    }
  }
  if (ec) {
    return Error(Errc::storage, fs::describe_errno("cannot list", study_dir, ec.value()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sqlite_integrity_problems(const stdfs::path& path) {
  std::vector<std::string> problems;
  try {
    SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
    SQLite::Statement check(db, "PRAGMA integrity_check");
    while (check.executeStep()) {
      std::string line = check.getColumn(0).getString();
      if (line != "ok") {
        problems.push_back(std::move(line));
      }
    }
    // A damaged header or a file that is not a database fails only when a table is read.
    db.execAndGet("SELECT count(*) FROM events");
  } catch (const std::exception& e) {
    problems.emplace_back(e.what());
  }
  return problems;
}

} // namespace bdd::storage
