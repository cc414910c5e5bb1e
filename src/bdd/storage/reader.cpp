#include "reader.hpp"

#include "readers.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/core/sha256.hpp>
#include <bdd/model/event.hpp>
#include <bdd/model/json_text.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

// The bytes of a file, read in chunks of `k_chunk` with read(2) into one buffer that the
// readers parse in place; every chunk read goes into the hash (ReadOptions::hash) first, so
// the file is read once. The buffer holds the record being parsed and grows only for a record
// longer than a chunk, never past `max_record` bytes plus a chunk.
class FileBytes {
public:
  static constexpr std::size_t k_chunk = std::size_t{256} << 10;

  FileBytes(const stdfs::path& path, const ReadOptions& options)
      // O_NOFOLLOW: a data file that is a link could point anywhere (the study folder is
      // untrusted); list_data_files lists such links so that opening them fails here.
      : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)),
        m_open_errno(errno),
        m_path(path),
        m_hash(options.hash),
        m_max_record(options.max_record_bytes) {}

  bool is_open() const { return m_fd.get() >= 0; }
  int open_errno() const { return m_open_errno; }

  // The unconsumed bytes in the buffer.
  const char* data() const { return m_buffer.data() + m_begin; }
  std::size_t available() const { return m_end - m_begin; }
  void consume(std::size_t count) { m_begin += count; }

  // Reads more of the file after the unconsumed bytes, moving them to the buffer's front
  // (pointers into it are invalidated). False at the end of the file or on an error (`error()`)
  // or when the unconsumed bytes already exceed the longest record (`too_long()`).
  bool refill() {
    if (m_failed) {
      return false;
    }
    if (available() > m_max_record) {
      m_too_long = true;
      return false;
    }
    if (m_begin > 0) {
      std::memmove(m_buffer.data(), m_buffer.data() + m_begin, available());
      m_end -= m_begin;
      m_begin = 0;
    }
    if (m_buffer.size() - m_end < k_chunk) {
      m_buffer.resize(std::max(m_buffer.size() * 2, m_end + k_chunk));
    }
    for (;;) {
      const ssize_t got = ::read(m_fd.get(), m_buffer.data() + m_end, m_buffer.size() - m_end);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0) {
        m_failed = true;
        m_error = fs::describe_errno("cannot read", m_path, errno);
        return false;
      }
      if (got == 0) {
        return false;
      }
      if (m_hash) {
        m_sha256.update(std::string_view(m_buffer.data() + m_end, static_cast<std::size_t>(got)));
      }
      m_end += static_cast<std::size_t>(got);
      return true;
    }
  }

  // Reads the rest of the file into the hash, then its hex SHA-256.
  Result<std::string> finish_hash() {
    m_begin = m_end; // what is left is not parsed
    while (refill()) {
      m_begin = m_end;
    }
    if (m_failed) {
      return Error(Errc::storage, m_error);
    }
    return m_sha256.finish_hex();
  }

  bool too_long() const { return m_too_long; }
  std::size_t max_record() const { return m_max_record; }
  // The read error, "" if none.
  const std::string& error() const { return m_error; }

private:
  fs::UniqueFd m_fd;
  int m_open_errno;
  stdfs::path m_path;
  bool m_hash;
  std::size_t m_max_record;
  Sha256 m_sha256;
  std::vector<char> m_buffer;
  std::size_t m_begin = 0;
  std::size_t m_end = 0;
  bool m_failed = false;
  bool m_too_long = false;
  std::string m_error;
};

// Lines of a file, each with whether it ended in '\n', its number and where the next begins.
class LineSource {
public:
  LineSource(const stdfs::path& path, const ReadOptions& options) : m_bytes(path, options) {}
  FileBytes& bytes() { return m_bytes; }
  const FileBytes& bytes() const { return m_bytes; }

  enum class Got { line, end, failed }; // failed: too long or unreadable (see `bytes()`)

  Got read() {
    std::size_t scanned = 0;
    for (;;) {
      const char* begin = m_bytes.data();
      const std::size_t available = m_bytes.available();
      // memchr of an empty buffer (its data() may be null) is undefined behaviour.
      const void* newline =
          available > scanned ? std::memchr(begin + scanned, '\n', available - scanned) : nullptr;
      if (newline != nullptr) {
        const auto size = static_cast<std::size_t>(static_cast<const char*>(newline) - begin);
        return take(size, true);
      }
      scanned = available;
      if (!m_bytes.refill()) {
        if (m_bytes.too_long() || !m_bytes.error().empty()) {
          return Got::failed;
        }
        return available == 0 ? Got::end : take(available, false);
      }
    }
  }
  // The line last read, without its '\n'; valid until the next `read()`.
  std::string_view line() const { return m_line; }
  bool terminated() const { return m_terminated; }
  std::uint64_t number() const { return m_number; }
  std::uint64_t end() const { return m_end; }

private:
  Got take(std::size_t size, bool terminated) {
    if (size > m_bytes.max_record()) {
      return Got::failed;
    }
    m_line = std::string_view(m_bytes.data(), size);
    m_bytes.consume(size + (terminated ? 1 : 0));
    m_terminated = terminated;
    m_number += 1;
    m_end += size + (terminated ? 1 : 0);
    return Got::line;
  }

  FileBytes m_bytes;
  std::string_view m_line;
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

// Shared by the text readers: error bookkeeping, the head, and the hash of the file.
class TextReader : public EventReader {
public:
  TextReader(const stdfs::path& path, const ReadOptions& options) : m_lines(path, options) {}
  bool is_open() const { return m_lines.bytes().is_open(); }
  int open_errno() { return m_lines.bytes().open_errno(); }
  std::uint64_t error_line() const override { return m_error_line; }
  const std::string& head() const override { return m_head; }
  Result<std::string> file_sha256() override { return m_lines.bytes().finish_hash(); }
  const JsonMembers& members() const override { return m_members; }

protected:
  Error fail(std::uint64_t line, std::string message) {
    m_failed = true;
    m_error_line = line;
    return damaged(std::move(message));
  }

  // The failure of a line or row that could not be read whole: too long, or a read error.
  Error fail_read(std::uint64_t line) {
    FileBytes& bytes = m_lines.bytes();
    if (!bytes.error().empty()) {
      m_failed = true;
      m_error_line = line;
      return {Errc::storage, bytes.error()};
    }
    return fail(line,
                "a record longer than " + std::to_string(bytes.max_record())
                    + " bytes (not written by bdd)");
  }

  // The next line; false, with the error made, if there is none or it cannot be read.
  Result<bool> next_line() {
    switch (m_lines.read()) {
    case LineSource::Got::line:
      return true;
    case LineSource::Got::end:
      return false;
    case LineSource::Got::failed:
      break;
    }
    return fail_read(m_lines.number() + 1);
  }

  LineSource m_lines;
  std::string m_head;
  std::string m_compact; // the record minified by event_id (json, jsonl)
  JsonMembers m_members; // the members of m_compact
  bool m_failed = false;
  bool m_done = false;
  std::uint64_t m_error_line = 0;
};

class JsonlReader final : public TextReader {
public:
  using TextReader::TextReader;

  Result<std::optional<StoredRecord>> next() override {
    if (m_failed || m_done) {
      return std::optional<StoredRecord>();
    }
    BDD_TRY_ASSIGN(const bool any, next_line());
    if (!any) {
      m_done = true;
      return std::optional<StoredRecord>();
    }
    const std::uint64_t line = m_lines.number();
    if (!m_lines.terminated()) {
      return fail(line, "the last line has no line end (cut short?)");
    }
    const std::string_view record = m_lines.line();
    auto id = event_id(record, m_compact, m_members);
    if (!id) {
      return fail(line, id.error().message);
    }
    return std::optional<StoredRecord>(StoredRecord{std::move(*id), line, record, m_lines.end()});
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
    BDD_TRY_ASSIGN(const bool any, next_line());
    if (!any) {
      return fail(m_lines.number(),
                  "the document ends before its closing \"" + std::string(closing)
                      + "\" (cut short?)");
    }
    const std::uint64_t line = m_lines.number();
    const std::string_view text = m_lines.line();
    if (!m_lines.terminated()) {
      return fail(line, "the last line has no line end (cut short?)");
    }
    if (text == closing) {
      if (m_expect_more) {
        return fail(line - 1, "a comma after the last event");
      }
      // An array ends with one empty line (see json_writer.cpp).
      if (m_array) {
        BDD_TRY_ASSIGN(const bool empty_line, next_line());
        if (!(empty_line && m_lines.terminated() && m_lines.line().empty())) {
          return fail(line + 1,
                      "the document has no empty line after its closing \"]\" (cut short?)");
        }
      }
      BDD_TRY_ASSIGN(const bool more, next_line());
      if (more) {
        return fail(m_lines.number(), "data after the end of the JSON document");
      }
      m_done = true;
      return std::optional<StoredRecord>();
    }
    if (m_after_event && !m_expect_more) {
      return fail(line - 1, "no comma between two events");
    }
    const bool comma = !text.empty() && text.back() == ',';
    const std::string_view record = text.substr(0, text.size() - (comma ? 1 : 0));
    auto id = event_id(record, m_compact, m_members);
    if (!id) {
      return fail(line, id.error().message);
    }
    m_after_event = true;
    m_expect_more = comma;
    return std::optional<StoredRecord>(StoredRecord{std::move(*id), line, record, m_lines.end()});
  }

private:
  Result<void> read_head() {
    BDD_TRY_ASSIGN(const bool any, next_line());
    if (!any || !m_lines.terminated()) {
      return fail(1, "not a bdd JSON document (no head line)");
    }
    const std::string_view text = m_lines.line();
    if (text == "[") {
      m_array = true;
      m_head = "[\n";
      return ok();
    }
    const bool shaped = text.starts_with(k_json_head_start) && text.ends_with(k_json_head_end)
                        && text.size() >= k_json_head_start.size() + k_json_head_end.size();
    // The head with the array closed must be a document whose metadata is an object.
    nlohmann::json document;
    if (!shaped || !model::parse_bounded(std::string(text) + "]}", document)
        || !document.is_object() || !document["metadata"].is_object()) {
      return fail(1, "not a bdd JSON document (the head line is damaged)");
    }
    m_head = std::string(text) + "\n";
    return ok();
  }

  bool m_array = false; // else the original tool's document
  bool m_after_event = false;
  bool m_expect_more = false;
};

// RFC 4180: fields separated by commas, records by CRLF; a field in double quotes may hold
// commas, CR, LF and doubled quotes. Read byte by byte from the buffer of `FileBytes`; a row
// longer than ReadOptions::max_record_bytes is damage.
class CsvReader final : public TextReader {
public:
  using TextReader::TextReader;

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
    if (m_field_count != k_csv_columns) {
      return fail(line,
                  "a row with " + std::to_string(m_field_count) + " fields instead of "
                      + std::to_string(k_csv_columns));
    }
    if (m_id.empty()) {
      return fail(line, "a row with an empty id");
    }
    m_compact.clear();
    if (!model::append_minified_json(m_data, m_compact)) {
      return fail(line, "the data field is not valid JSON (cut short or edited?)");
    }
    return std::optional<StoredRecord>(
        StoredRecord{stored_key(m_id, m_compact), line, m_record, m_offset});
  }

private:
  // The next byte, or -1 at the end of the file or on a read error (`FileBytes::error`).
  int get() {
    FileBytes& bytes = m_lines.bytes();
    if (bytes.available() == 0 && !refill()) {
      return -1;
    }
    const auto c = static_cast<unsigned char>(*bytes.data());
    bytes.consume(1);
    m_offset += 1;
    return c;
  }
  int peek() {
    FileBytes& bytes = m_lines.bytes();
    if (bytes.available() == 0 && !refill()) {
      return -1;
    }
    return static_cast<unsigned char>(*bytes.data());
  }
  // The buffer holds no more than a chunk here: a row is copied out as it is read.
  bool refill() { return m_lines.bytes().refill(); }

  // How many bytes from the start of the buffer (refilled if empty) need no decision: in
  // quotes, the bytes before the next quote; outside, those before the next comma, quote, CR
  // or LF.
  std::size_t plain_run(bool quoted) {
    FileBytes& bytes = m_lines.bytes();
    if (bytes.available() == 0 && !refill()) {
      return 0;
    }
    const char* begin = bytes.data();
    const std::size_t available = bytes.available();
    if (quoted) {
      const void* quote = std::memchr(begin, '"', available);
      return quote ? static_cast<std::size_t>(static_cast<const char*>(quote) - begin) : available;
    }
    std::size_t run = 0;
    while (run < available) {
      const char ch = begin[run];
      if (ch == ',' || ch == '"' || ch == '\r' || ch == '\n') {
        break;
      }
      ++run;
    }
    return run;
  }

  // The field being read: the id's and the data's are kept, the others only checked.
  std::string* field() {
    return m_field_count == 1 ? &m_id : m_field_count == k_csv_columns ? &m_data : nullptr;
  }
  void append(char ch) {
    if (std::string* out = field()) {
      *out += ch;
    }
  }

  // One record into m_record (raw bytes without CRLF), m_id and m_data, counting its fields in
  // m_field_count. False at the end of file.
  Result<bool> read_record() {
    m_record.clear();
    m_id.clear();
    m_data.clear();
    m_field_count = 1;
    bool field_empty = true; // nothing read into the current field yet
    const std::uint64_t start = m_line;
    bool quoted = false;     // inside a quoted field
    bool was_quoted = false; // the current field was quoted and closed
    for (;;) {
      if (m_record.size() > m_lines.bytes().max_record()) {
        return fail(start,
                    "a record longer than " + std::to_string(m_lines.bytes().max_record())
                        + " bytes (not written by bdd)");
      }
      // Runs of bytes that need no decision one by one are copied at once: in quotes, up to
      // the next quote; outside, up to the next comma, quote or line end.
      if (quoted && m_lines.bytes().available() >= 2 && m_lines.bytes().data()[0] == '"'
          && m_lines.bytes().data()[1] == '"') { // a doubled quote inside quotes
        m_record += "\"\"";
        append('"');
        m_offset += 2;
        m_lines.bytes().consume(2);
        continue;
      }
      if (const std::size_t run = plain_run(quoted); run > 0) {
        const char* begin = m_lines.bytes().data();
        if (!quoted && was_quoted) {
          return fail(m_line, "characters after a closing quote");
        }
        m_record.append(begin, run);
        if (std::string* out = field()) {
          out->append(begin, run);
        }
        m_line += quoted ? static_cast<std::uint64_t>(std::count(begin, begin + run, '\n')) : 0;
        field_empty = false;
        m_offset += run;
        m_lines.bytes().consume(run);
        continue;
      }
      const int c = get();
      if (c < 0) {
        if (!m_lines.bytes().error().empty()) {
          return fail_read(m_line);
        }
        if (m_record.empty() && m_field_count == 1 && !was_quoted) {
          return false;
        }
        return fail(quoted ? start : m_line,
                    quoted ? "a quoted field is not closed at the end of the file (cut short?)"
                           : "the last row has no line end (cut short?)");
      }
      const char ch = static_cast<char>(c);
      if (ch == '\n') {
        m_line += 1;
      }
      if (quoted) {
        m_record += ch;
        if (ch == '"') {
          if (peek() == '"') {
            get();
            m_record += '"';
            append('"');
          } else {
            quoted = false;
            was_quoted = true;
          }
        } else {
          append(ch);
        }
        continue;
      }
      if (ch == '\r') {
        if (get() != '\n') {
          return fail(m_line, "a CR outside quotes that does not end a row");
        }
        m_line += 1;
        return true;
      }
      if (ch == '\n') {
        return fail(m_line - 1, "a row ends with LF instead of CRLF");
      }
      m_record += ch;
      if (ch == ',') {
        m_field_count += 1;
        field_empty = true;
        was_quoted = false;
      } else if (ch == '"' && field_empty && !was_quoted) {
        quoted = true;
        field_empty = false;
      } else if (was_quoted) {
        return fail(m_line, "characters after a closing quote");
      } else if (ch == '"') {
        return fail(m_line, "a quote inside an unquoted field");
      } else {
        append(ch);
        field_empty = false;
      }
    }
  }

  std::string m_record; // the row's raw bytes, without CRLF
  std::string m_id;     // the first field, decoded
  std::string m_data;   // the last field, decoded
  std::size_t m_field_count = 0;
  bool m_header_read = false;
  std::uint64_t m_line = 1;
  std::uint64_t m_offset = 0;
};

class SqliteReader final : public EventReader {
public:
  explicit SqliteReader(const stdfs::path& path)
      : m_db(path.string(), SQLite::OPEN_READONLY | SQLITE_OPEN_NOFOLLOW),
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
  Result<std::string> file_sha256() override {
    return Error(Errc::usage, "a database is checked with its integrity check, not hashed");
  }

private:
  SQLite::Database m_db;
  SQLite::Statement m_query;
  SQLite::Statement m_data;
  std::string m_head;
  bool m_failed = false;
  std::uint64_t m_error_line = 0;
};

template <typename Reader>
Result<std::unique_ptr<EventReader>> open_text(const stdfs::path& path,
                                               const ReadOptions& options) {
  auto reader = std::make_unique<Reader>(path, options);
  if (!reader->is_open()) {
    return Error(Errc::storage, fs::describe_errno("cannot open", path, reader->open_errno()));
  }
  return std::unique_ptr<EventReader>(std::move(reader));
}

// SQLite says only "unable to open database file" when SQLITE_OPEN_NOFOLLOW refuses a link:
// say what it is.
std::optional<std::string> link_refusal(const stdfs::path& path) {
  std::error_code ec;
  if (stdfs::symlink_status(path, ec).type() != stdfs::file_type::symlink) {
    return std::nullopt;
  }
  return fs::describe_errno("cannot open", path, ELOOP);
}

} // namespace

Result<std::unique_ptr<EventReader>> open_jsonl_reader(const stdfs::path& path,
                                                       const ReadOptions& options) {
  return open_text<JsonlReader>(path, options);
}

Result<std::unique_ptr<EventReader>> open_json_reader(const stdfs::path& path,
                                                      const ReadOptions& options) {
  return open_text<JsonReader>(path, options);
}

Result<std::unique_ptr<EventReader>> open_csv_reader(const stdfs::path& path,
                                                     const ReadOptions& options) {
  return open_text<CsvReader>(path, options);
}

Result<std::unique_ptr<EventReader>> open_sqlite_reader(const stdfs::path& path,
                                                        const ReadOptions& /*options*/) {
  if (auto refusal = link_refusal(path)) {
    return Error(Errc::storage, std::move(*refusal));
  }
  try {
    return std::unique_ptr<EventReader>(std::make_unique<SqliteReader>(path));
  } catch (const std::exception& e) {
    return Error(Errc::storage, "cannot read \"" + path.string() + "\": " + e.what());
  }
}

Result<std::vector<std::string>> list_data_files(const stdfs::path& study_dir,
                                                 std::string_view format) {
  const FormatInfo& info = format_info(format);
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
    // A link named like a data file is listed too (not followed: the readers refuse it), so
    // that verify and export name it instead of skipping it silently.
    const stdfs::file_type type = it->symlink_status(ec).type();
    if (is_data_file_name(info, file_name)
        && (type == stdfs::file_type::regular || type == stdfs::file_type::symlink)) {
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
  if (auto refusal = link_refusal(path)) {
    problems.push_back(std::move(*refusal));
    return problems;
  }
  try {
    SQLite::Database db(path.string(), SQLite::OPEN_READONLY | SQLITE_OPEN_NOFOLLOW);
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
