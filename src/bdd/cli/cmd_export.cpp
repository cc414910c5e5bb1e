#include "command.hpp"
#include "exit_codes.hpp"
#include "filter_flags.hpp"
#include "json_output.hpp"
#include "logging.hpp"
#include "progress.hpp"

#include <bdd/ops/export.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <iostream>

namespace bdd::cli {

namespace {

using json = nlohmann::ordered_json;

// Export progress on a terminal: one line on stderr, redrawn at most 10 times a second.
class ExportProgressLine {
public:
  explicit ExportProgressLine(bool shown) : m_shown(shown) {}

  void update(const ops::ExportProgress& progress) {
    const auto now = Clock::now();
    if (!m_shown || now - m_last < std::chrono::milliseconds(100)) {
      return;
    }
    m_last = now;
    const double seconds = std::chrono::duration<double>(now - m_started).count();
    std::string line = "exporting: " + std::to_string(progress.events_read) + " events read, "
                       + std::to_string(progress.inputs_done) + "/"
                       + std::to_string(progress.inputs_total) + " inputs";
    if (seconds > 0.5) {
      line +=
          ", " + std::to_string(static_cast<std::uint64_t>(progress.events_read / seconds)) + "/s";
    }
    std::cerr << "\r\x1b[K" << line << std::flush;
    m_visible = true;
  }
  void finish() {
    if (m_visible) {
      std::cerr << "\r\x1b[K" << std::flush;
      m_visible = false;
    }
  }

private:
  using Clock = std::chrono::steady_clock;
  bool m_shown;
  bool m_visible = false;
  Clock::time_point m_started = Clock::now();
  Clock::time_point m_last{};
};

class ExportCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.footer(
        "write the events of a study's local copy (never the server) as one file: each event "
        "once, as the nine normalised fields (id, study_name, user_id, event_type, element_id, "
        "timestamp, stored_timestamp, page_url, data = the raw event as JSON; csv has no "
        "study_name column, as in storage), ordered by stored_timestamp as an instant (ties by "
        "id; events whose stored_timestamp is not a time come last, by its text then id), so the "
        "same copy gives the same bytes whatever its storage format and folder structure. The "
        "file appears only when complete; an existing one is kept unless --force. Filters "
        "combine (AND across kinds, OR within one): --since/--until compare the event's "
        "timestamp (or stored_timestamp with --time-field stored) as [since, until), and an "
        "event without a readable time is then left out; with a by_user_id, by_event_type or "
        "(--time-field stored) by_date folder structure only the matching folders are read, and "
        "sqlite uses its indexes. Waits for a running download of the study (it says so), never "
        "for another export.");
    app.add_option("study", m_study, "the study to export")->required();
    app.add_option("-f,--format",
                   m_format,
                   "output format: csv (default), jsonl, json, xlsx (one "
                   "Excel sheet: at most 1,048,575 events, refused before anything is written; a "
                   "cell holds at most 32,767 characters) or parquet (typed columns, ZSTD; a "
                   "file, not standard output)")
        ->capture_default_str();
    app.add_option("-o,--output",
                   m_output,
                   "output file (default: <study>-export.<format> in the working directory); "
                   "- writes csv or jsonl to standard output");
    app.add_flag("--force", m_force, "replace an existing output file");
    m_filters.configure(app);
    app.add_flag("--flatten",
                 m_flatten,
                 "csv and xlsx: instead of the data column, one column per value inside the raw "
                 "event, named by its path (data.payload.rt_ms; a '.' or '\\' inside a key is "
                 "written '\\.' or '\\\\'), the union over the exported events in the order first "
                 "seen; numbers and true/false bare, absent and null empty, arrays and {} as JSON "
                 "text; at most 5,000 columns");
    app.add_flag("--pseudonymise,--pseudonymize",
                 m_pseudonymise,
                 "replace every user id (the user_id column, ids made from it, every string "
                 "equal to it inside data, and userId values) with p_ + 16 hex digits of "
                 "HMAC-SHA256(secret, user id): the same secret gives the same pseudonyms in "
                 "every export. The secret comes from --pseudonym-key-file or BDD_PSEUDONYM_KEY "
                 "(at least 16 bytes), never the command line");
    app.add_option("--pseudonym-key-file",
                   m_key_file,
                   "the file holding the --pseudonymise secret (a final newline is ignored; "
                   "e.g. `openssl rand -hex 32 > pseudonym.key`)");
    app.add_option("--pseudonym-map",
                   m_map,
                   "with --pseudonymise, also write the user_id,pseudonym table (CSV, sorted) to "
                   "this file, for the data manager: never the export itself or inside the "
                   "study folder");
    app.add_option("--drop-field",
                   m_drop_fields,
                   "remove this member of data from every event, named as its --flatten column "
                   "(data.base.userAgent); repeatable")
        ->allow_extra_args(false);
    app.add_flag("--strip-url-query",
                 m_strip_url_query,
                 "remove the query string and fragment (from '?' or '#') of every page_url");
    app.add_flag("--zip",
                 m_zip,
                 "write one .zip (--output, default <study>-export.zip) holding the export file "
                 "(named after the zip) and MANIFEST.json: bdd version, study, API base URL, "
                 "export time, filters and options, the local copy's events_stored, "
                 "remote_total and last download, and each file's name, rows and SHA-256");
    app.add_option("--partition-by",
                   m_partition_by,
                   "KEYS: write a folder (--output, default <study>-export-<ext>) of hive "
                   "folders user_id=<v>/date=<v>/event_type=<v>/part-0.<ext> for the keys given "
                   "(comma-separated, any order of user_id, date, event_type), each file in "
                   "export order (csv, jsonl, json, parquet; not with --zip or --output -)");
    app.add_flag("--json",
                 m_json,
                 "print a one-line JSON summary on stdout, also on failure (not with --output -)");
  }

  Result<int> run(Context& context) override {
    auto result = export_events(context);
    if (m_json) {
      print_json(summary(result));
    }
    return result;
  }

private:
  Result<int> export_events(Context& context) {
    const bool to_stdout = m_output && *m_output == "-";
    if (m_json && to_stdout) {
      return Error(Errc::usage,
                   "--json prints on standard output, so it cannot go with "
                   "--output - (write to a file instead)");
    }
    BDD_TRY_ASSIGN(const auto config, context.resolve(m_study, false));
    ops::ExportOptions options;
    const ops::ExportFilterArgs filters = m_filters.args();
    BDD_TRY_ASSIGN(options.filter, ops::make_export_filter(filters));
    options.format = m_format;
    options.output = m_output.value_or(std::string());
    options.force = m_force;
    options.stop = context.stop;
    options.on_wait = [this](const std::string& holder) {
      spdlog::warn(
          "waiting for the running download of study \"{}\" to finish ({})", m_study, holder);
    };
    ExportProgressLine progress(context.stderr_is_terminal && !context.quiet);
    options.on_progress = [&progress](const ops::ExportProgress& p) { progress.update(p); };
    options.flatten = m_flatten;
    options.pseudonymise = m_pseudonymise;
    if (m_key_file) {
      options.pseudonym_key_file = *m_key_file;
    }
    options.environment = context.environment;
    if (m_map) {
      options.pseudonym_map = *m_map;
    }
    options.drop_fields = m_drop_fields;
    options.strip_url_query = m_strip_url_query;
    options.zip = m_zip;
    if (m_partition_by) {
      std::size_t start = 0;
      for (;;) {
        const std::size_t comma = m_partition_by->find(',', start);
        options.partition_by.push_back(m_partition_by->substr(start, comma - start));
        if (comma == std::string::npos) {
          break;
        }
        start = comma + 1;
      }
    }
    options.manifest_filters = filters_json().dump();
    options.manifest_options = options_json().dump();
    // Tests only: a smaller sheet than Excel's, so that the row limit can be met quickly.
    if (const auto found = context.environment.find("BDD_TEST_XLSX_MAX_ROWS");
        found != context.environment.end()) {
      std::uint64_t rows = 0;
      const char* end = found->second.data() + found->second.size();
      if (std::from_chars(found->second.data(), end, rows).ptr == end && rows > 1) {
        options.xlsx_max_rows = rows;
      }
    }
    auto report = ops::export_study(config, options);
    progress.finish();
    BDD_TRY(report);
    m_report = std::move(report).value();
    if (!context.quiet && !m_json) {
      std::ostream& out = to_stdout ? std::cerr : std::cout;
      out << "exported " << m_report->rows << (m_report->rows == 1 ? " event" : " events") << " of "
          << m_study << " from " << m_report->files << (m_report->files == 1 ? " file" : " files")
          << " to " << (to_stdout ? std::string("standard output") : m_report->output.string())
          << " (" << m_report->format << ", " << m_report->bytes << " bytes"
          << (m_partition_by ? ", " + std::to_string(m_report->partitions) + " partition files"
                             : std::string())
          << ")\n";
    }
    return k_exit_success;
  }

  json filters_json() const { return m_filters.to_json(); }

  // The options that shape the rows (MANIFEST.json's "options"); never the secret or its file.
  json options_json() const {
    return {{"format", m_format},
            {"flatten", m_flatten},
            {"pseudonymise", m_pseudonymise},
            {"drop_fields", m_drop_fields},
            {"strip_url_query", m_strip_url_query}};
  }

  json summary(const Result<int>& result) const {
    json filters = filters_json();
    const auto* report = m_report ? &*m_report : nullptr;
    return json{
        {"study", m_study},
        {"ok", static_cast<bool>(result)},
        {"format", m_format},
        {"output", report ? json(report->output.string()) : json(nullptr)},
        {"rows", report ? json(report->rows) : json(nullptr)},
        {"files", report ? json(report->files) : json(nullptr)},
        {"events_read", report ? json(report->events_read) : json(nullptr)},
        {"bytes", report ? json(report->bytes) : json(nullptr)},
        {"sorted_runs", report ? json(report->sorted_runs) : json(nullptr)},
        {"stored_format", report ? json(report->stored_format) : json(nullptr)},
        {"columns", report && report->columns > 0 ? json(report->columns) : json(nullptr)},
        {"partitions", report && m_partition_by ? json(report->partitions) : json(nullptr)},
        {"zipped_file", report && m_zip ? json(report->zipped_file) : json(nullptr)},
        {"pseudonym_map", report && m_map ? json(report->pseudonym_map.string()) : json(nullptr)},
        {"options", options_json()},
        {"filters", std::move(filters)},
        {"error",
         result ? json(nullptr)
                : json{{"kind", errc_name(result.error().code)},
                       {"message", Logging::redact(result.error().message)}}},
    };
  }

  std::string m_study;
  std::string m_format = "csv";
  std::optional<std::string> m_output;
  bool m_force = false;
  FilterFlags m_filters;
  bool m_json = false;
  bool m_flatten = false;
  bool m_pseudonymise = false;
  std::optional<std::string> m_key_file;
  std::optional<std::string> m_map;
  std::vector<std::string> m_drop_fields;
  bool m_strip_url_query = false;
  bool m_zip = false;
  std::optional<std::string> m_partition_by;
  std::optional<ops::ExportReport> m_report;
};

} // namespace

std::unique_ptr<Command> make_export_command() {
  return std::make_unique<ExportCommand>();
}

} // namespace bdd::cli
