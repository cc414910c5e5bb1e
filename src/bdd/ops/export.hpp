#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>
#include <bdd/export/filter.hpp>
#include <bdd/export/row_writer.hpp>
#include <bdd/model/event.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bdd::ops {

struct ExportProgress {
  std::uint64_t events_read = 0; // stored events read so far (before the filter)
  std::uint64_t inputs_done = 0;
  std::uint64_t inputs_total = 0;
};

// The filters as given on the command line; `export_study` checks and reads them.
struct ExportFilterArgs {
  std::optional<std::string> since; // exporting::parse_time_bound
  std::optional<std::string> until;
  bool stored_time = false; // --time-field stored
  std::vector<std::string> users;
  std::optional<std::filesystem::path> users_file; // exporting::read_users_file
  std::vector<std::string> event_types;
};

// The filter `args` describe. Fails with Errc::usage naming a bad time, a `since` not before
// `until`, or a users file that cannot be read or holds no id.
Result<exporting::Filter> make_export_filter(const ExportFilterArgs& args);

struct ExportOptions {
  std::string format = "csv"; // exporting::row_formats()
  // Empty: `<study>-export.<ext>` in the working directory; "-": standard output.
  std::filesystem::path output;
  bool force = false;       // replace an existing output file
  exporting::Filter filter; // see make_export_filter
  // Applied to every exported event, in export order, before it is written and before any
  // `first_pass` sees it (e.g. pseudonymisation). May be empty.
  std::function<void(model::Event&)> transform;
  // When set, a first pass over the exported events (transformed) before the one that writes,
  // e.g. to collect columns; `rewind` restarts it if the stream starts over. May be empty.
  std::function<Result<void>(const model::Event&)> first_pass;
  std::function<Result<void>()> first_pass_rewind;
  // Called once if a download holds the study's lock, with who holds it; the export then waits.
  std::function<void(const std::string& holder)> on_wait;
  std::function<void(const ExportProgress&)> on_progress; // may be empty
  const std::atomic<bool>* stop = nullptr;                // set by SIGINT/SIGTERM

  // --flatten (csv and xlsx): `data` spread over one column per scalar (exporting::FlatColumns),
  // collected in a first pass.
  bool flatten = false;
  // --pseudonymise: user ids replaced (exporting::EventTransform) under the secret of
  // `pseudonym_key_file`, else of BDD_PSEUDONYM_KEY in `environment`
  // (exporting::load_pseudonym_key).
  bool pseudonymise = false;
  std::optional<std::filesystem::path> pseudonym_key_file;
  // The process environment (core/environment.hpp): BDD_PSEUDONYM_KEY, and TMPDIR for the sorted
  // runs of an export to standard output.
  std::map<std::string, std::string> environment;
  // --pseudonym-map: the `user_id,pseudonym` table, written after the export (never inside it).
  std::optional<std::filesystem::path> pseudonym_map;
  std::vector<std::string> drop_fields; // --drop-field: "data.<path>" names
  bool strip_url_query = false;         // --strip-url-query
  // --zip: `output` (default `<study>-export.zip`) is a zip holding the export file, named after
  // it (`<stem>.<ext>`), and MANIFEST.json (exporting::write_export_zip) with these two JSON
  // objects (text) as its "filters" and "options".
  bool zip = false;
  std::string manifest_filters = "{}";
  std::string manifest_options = "{}";
  // --partition-by: keys among user_id, date, event_type (outermost first). `output` (default
  // `<study>-export-<ext>`) is then a folder of `user_id=<v>/date=<v>/part-0.<ext>` files
  // (storage::folder_name's hive names), each partition's events in export order, which appears
  // only when complete (built beside it and renamed).
  std::vector<std::string> partition_by;
  // The rows one xlsx sheet holds, header included (other than Excel's for tests).
  std::uint64_t xlsx_max_rows = 1'048'576;
};

struct ExportReport {
  std::string format;           // written
  std::string stored_format;    // read
  std::filesystem::path output; // the file written, absolute; "-" for standard output
  std::uint64_t rows = 0;
  std::uint64_t files = 0;             // data files read
  std::uint64_t events_read = 0;       // stored events read (before the filter)
  std::uint64_t bytes = 0;             // bytes written
  std::uint64_t sorted_runs = 0;       // temporary sorted runs written (0: the files were in order)
  std::uint64_t columns = 0;           // with flatten: the columns of the table
  std::uint64_t partitions = 0;        // with partition_by: the files written
  std::string zipped_file;             // with zip: the export file's name inside the zip
  std::filesystem::path pseudonym_map; // written, absolute; empty if none
};

// The default output file of `study` in `format`: `<study>-export.<ext>`.
std::filesystem::path default_export_path(const std::string& study, std::string_view format);

// Export the local copy of `config.study_name` (never the server): the events `options.filter`
// keeps, each once, in export order (exporting::export_before), as `options.format` rows, to a
// file that appears only when complete (exporting::OutputFile) or to standard output (csv and
// jsonl). Takes the study's lock shared: waits for a running download (`on_wait`), not for other
// exports. Fails with Errc::usage when the study was never downloaded, for an output that exists
// (without `force`), is inside the study folder, or is standard output for json or xlsx; for
// --flatten with jsonl or json, --zip to standard output or to a name not ending in .zip, a
// --pseudonym-map without --pseudonymise or at the output's path or in the study folder, an
// xlsx export with more rows than a sheet holds (before anything is written), too many
// flattened columns, --partition-by with an unknown or repeated key, standard output, --zip or
// xlsx; Errc::config for a missing or weak pseudonym secret; Errc::storage
// for an unfinished commit (run `bdd download` first), a damaged data file (named; see `bdd
// verify`) or a write that fails (a full disk: the partial output is removed); Errc::interrupted.
// When standard output is closed before the end (`bdd export s -o - | head`), it cleans up and
// ends the process with SIGPIPE, as other tools do.
Result<ExportReport> export_study(const config::Config& config, const ExportOptions& options);

} // namespace bdd::ops
