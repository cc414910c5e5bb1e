#pragma once

#include <bdd/core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bdd::storage {

// One stored event as a reader sees it.
struct StoredRecord {
  std::string id;
  std::uint64_t line = 0;       // 1-based line where it starts (text formats), rowid (sqlite)
  std::string_view bytes;       // text formats: the record as written, without separator or
                                // line end (see `TextLayout`); valid until the next `next()`
  std::uint64_t end_offset = 0; // text formats: the file offset just past the record's line end
};

// How a leaf file of a text format is laid out: `head()` + the records joined by `separator` +
// `end`. A writer appending to such a file produces the same bytes.
struct TextLayout {
  std::string_view separator;
  std::string_view end;
};

// The longest record (a line of json or jsonl, a row of csv) a reader accepts: twice the default
// api.max_response_bytes, the largest event a download stores with CSV's doubled quotes. A
// longer one is damage, so that a hostile file cannot make a reader hold it.
inline constexpr std::size_t k_max_record_bytes = std::size_t{512} << 20;

struct ReadOptions {
  bool hash = false; // hash every byte of a text format's file as it is read: `file_sha256`
  std::size_t max_record_bytes = k_max_record_bytes;
};

// The top-level members of a compact JSON object in order: each key's literal (quotes included)
// and its compact value.
using JsonMembers = std::vector<std::pair<std::string_view, std::string_view>>;

// Reads the events of one data file in file order with flat memory (one record at a time), and
// checks the file's structure as it goes: the format's head, every record, and the end.
// Used from one thread.
class EventReader {
public:
  virtual ~EventReader() = default;

  // The next record, or nullopt after the last one once the file's end was checked. A file
  // that is damaged (cannot be parsed, cut short, edited) fails with Errc::storage, the message
  // saying what is wrong without the file name, and `error_line()` telling where; reading stops
  // there.
  virtual Result<std::optional<StoredRecord>> next() = 0;

  // The line (text) or rowid (sqlite) of the last failure; 0 if it concerns the whole file.
  virtual std::uint64_t error_line() const = 0;

  // The bytes before the first record (JSON's document head, CSV's header), with their line
  // end; empty for jsonl and sqlite. Valid after the first `next()`.
  virtual const std::string& head() const = 0;

  // With ReadOptions::hash, once reading stopped (the end, or a failure): the hex SHA-256 of
  // the whole file, reading what `next()` did not, so that every byte is read once. Fails with
  // Errc::storage if the file cannot be read; a database (sqlite) is not hashed.
  virtual Result<std::string> file_sha256() = 0;
  // json and jsonl: the top-level members of the last record, minified
  // (model::append_minified_json), as the reader walked them to find its id; views valid until
  // the next `next()`. Empty for the other formats.
  virtual const JsonMembers& members() const {
    static const JsonMembers none;
    return none;
  }
};

// A reader for the data file `path` of the format named `format` (see backend.cpp). Fails with
// Errc::storage naming the file if it cannot be opened, Errc::config for an unknown format.
Result<std::unique_ptr<EventReader>> open_reader(std::string_view format,
                                                 const std::filesystem::path& path,
                                                 const ReadOptions& options = {});

// The layout of a text format's leaf files whose head (`EventReader::head`) is `head`; nullopt
// for sqlite. A json leaf is an array, or the original tool's document when its head says so.
std::optional<TextLayout> text_layout(std::string_view format, std::string_view head = {});

// The bytes at the end of every leaf file that the next commit overwrites (a JSON array's
// "\n]\n\n"; the original tool's document ends with "\n]}\n", as long, and the size is what
// callers use): they never enter a file's hash midstate. Empty for other formats.
std::string_view rewritten_tail(std::string_view format);

// The data files of a study stored in `format` under `study_dir`, relative and '/'-separated,
// sorted: every `events.<extension>` (`part-*.<extension>` for part files) not inside a folder
// whose name starts with '.' (bdd's own
// `.bdd/`), links named so included (the readers refuse to open them; folders that are links
// are not entered). Fails with Errc::storage if a folder cannot be listed.
Result<std::vector<std::string>> list_data_files(const std::filesystem::path& study_dir,
                                                 std::string_view format);

// The identity key (model::Event::id) of a stored event whose id was written as `shown` (its
// display form) and whose raw event is `data` (compact JSON; empty if unknown). The display form
// alone says which key it is unless it is the text of a number: then the raw event decides
// between the number and the string id. A raw event that does not give back `shown` (edited,
// or stored before ids were exact) leaves the key as the text, as it was before.
std::string stored_key(std::string_view shown, std::string_view data);

// The problems `PRAGMA integrity_check` finds in the SQLite database `path` (empty if none),
// or one problem if it cannot be opened as a database.
std::vector<std::string> sqlite_integrity_problems(const std::filesystem::path& path);

} // namespace bdd::storage
