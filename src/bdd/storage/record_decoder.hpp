#pragma once

// Stored events read back as `model::Event`s, for `bdd export`: the fields exactly as the
// writer of each format stored them, so that the same study read from any format and any folder
// structure gives the same events.

#include <bdd/core/result.hpp>
#include <bdd/model/event.hpp>
#include <bdd/storage/reader.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace bdd::storage {

// Which rows of a database to read: only those with this user id and event type (each when
// set). Text formats ignore it (a leaf file has no index; callers filter).
struct Selection {
  std::optional<std::string> user_id;
  std::optional<std::string> event_type;
};

// The events of one data file in file order (sqlite: rowid order), one at a time, with their
// fields exactly as the writer of the format stored them: json and jsonl records are the
// normalised object (`study_name` is not kept: the caller knows the study), csv records the row
// of `append_csv_row` (an empty field is null, a quoted empty field ""), `raw` the `data` value
// as compact JSON, `id` the identity key (see `stored_key`).
class EventSource {
public:
  virtual ~EventSource() = default;

  // The next event into `out` (every field replaced); false after the last. A damaged file
  // fails with Errc::storage, the message without the file name, `error_line()` telling where;
  // reading stops there. So does a record that is readable but not what the writer writes (a
  // field of the wrong type, a csv row whose data is not JSON).
  virtual Result<bool> next(model::Event& out) = 0;

  // The line (text) or rowid (sqlite) of the last failure; 0 if it concerns the whole file.
  virtual std::uint64_t error_line() const = 0;
};

// A source for the data file `path` of the format named `format`. For sqlite, `selection` is a
// WHERE on the indexed `user_id` and `event_type` columns (the rows still come in rowid order).
// Fails with Errc::storage naming the file if it cannot be opened.
Result<std::unique_ptr<EventSource>> open_event_source(std::string_view format,
                                                       const std::filesystem::path& path,
                                                       const Selection& selection = {});

// The query a sqlite source runs for `selection`, its parameters the selected user id and event
// type in that order: exposed so that a test can check that SQLite plans it on the indexes.
std::string sqlite_selection_query(const Selection& selection);

} // namespace bdd::storage
