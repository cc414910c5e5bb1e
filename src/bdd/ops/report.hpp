#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>
#include <bdd/ops/export.hpp>
#include <bdd/report/accumulator.hpp>
#include <bdd/report/document.hpp>

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bdd::ops {

struct ReportOptions {
  ExportFilterArgs filters; // as `bdd export` takes them (make_export_filter)
  // --output DIR: the full tables as CSV files and report.html there (created if missing); never
  // inside the study folder; an existing non-empty folder only with `force` (files of the same
  // names are then replaced, others left alone).
  std::optional<std::filesystem::path> output;
  bool force = false;
  report::Limits limits; // silence_days from --silence-days
  // Called once if a download holds the study's lock, with who holds it; the report then waits.
  std::function<void(const std::string& holder)> on_wait;
  const std::atomic<bool>* stop = nullptr; // set by SIGINT/SIGTERM
  // The process environment: TMPDIR for sorted runs, if the stored files are out of order.
  std::map<std::string, std::string> environment;
};

struct ReportResult {
  report::Report report;
  report::Header header;
  std::string stored_format;
  std::uint64_t files = 0;                    // data files read
  std::vector<std::filesystem::path> written; // with `output`: the files written, absolute
};

// The CSV files `--output DIR` holds, in this order, then the page drawn from the report
// document (report/html.hpp).
inline constexpr std::array<std::string_view, 4> k_report_files = {
    "participants.csv", "activity.csv", "missing_fields.csv", "sequence_gaps.csv"};
inline constexpr std::string_view k_report_page = "report.html";

// `bdd report`: reads the local copy of `config.study_name` (never the server) once, through
// the stream `export_study` reads (the same lock, checks and filters), into a report::Report,
// and with `output` writes its tables and report.html (each file replaced atomically). Fails as
// `export_study` does for the study and the filters; with Errc::usage for an output inside the
// study folder or an existing non-empty one without `force`; Errc::storage when a table cannot be
// written.
Result<ReportResult> report_study(const config::Config& config, const ReportOptions& options);

} // namespace bdd::ops
