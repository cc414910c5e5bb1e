#include "report.hpp"

#include "local_copy.hpp"
#include "study_paths.hpp"

#include <bdd/core/clock.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/export/stream.hpp>
#include <bdd/report/document.hpp>
#include <bdd/report/html.hpp>
#include <bdd/report/tables.hpp>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;

Result<void> check_output(const stdfs::path& dir, const StudyPaths& paths, bool force) {
  if (is_inside(dir, paths.study_dir)) {
    return Error(Errc::usage,
                 "the output \"" + dir.string() + "\" is inside the study folder \""
                     + paths.study_dir.string()
                     + "\", which holds bdd's data only (write it elsewhere)");
  }
  std::error_code ec;
  const auto status = stdfs::symlink_status(dir, ec);
  if (status.type() == stdfs::file_type::not_found) {
    return ok();
  }
  if (status.type() != stdfs::file_type::directory) {
    return Error(Errc::usage,
                 "the output \"" + dir.string()
                     + "\" exists and is not a folder (choose another "
                       "--output)");
  }
  if (!force && !stdfs::is_empty(dir, ec)) {
    return Error(Errc::usage,
                 "the output folder \"" + dir.string()
                     + "\" is not empty (choose another --output, or add --force to replace the "
                       "report's files in it)");
  }
  return ok();
}

report::Header make_header(const config::Config& config, const ExportFilterArgs& filters) {
  report::Header header;
  header.study = config.study_name;
  header.bdd_version = BDD_VERSION;
  header.generated_at = utc_now();
  header.since = filters.since;
  header.until = filters.until;
  header.time_field = filters.stored_time ? "stored_timestamp" : "timestamp";
  header.users = filters.users;
  if (filters.users_file) {
    header.users_file = filters.users_file->string();
  }
  header.event_types = filters.event_types;
  return header;
}

} // namespace

Result<ReportResult> report_study(const config::Config& config, const ReportOptions& options) {
  const StudyPaths paths = study_paths(config);
  BDD_TRY_ASSIGN(const exporting::Filter filter, make_export_filter(options.filters));
  if (options.output) {
    BDD_TRY(check_output(*options.output, paths, options.force));
  }
  BDD_TRY_ASSIGN(LocalCopy copy,
                 open_local_copy(config.study_name, paths, filter, options.on_wait, options.stop));

  exporting::StreamOptions stream_options;
  stream_options.study_dir = paths.study_dir;
  stream_options.study_name = config.study_name;
  stream_options.format = copy.metadata.format;
  stream_options.inputs = std::move(copy.inputs);
  stream_options.filter = filter;
  stream_options.temp_parent = temp_folder(options.environment);
  stream_options.stop = options.stop;
  exporting::EventStream stream(std::move(stream_options));

  std::optional<report::Accumulator> accumulator(std::in_place, options.limits);
  const exporting::EventStream::Rewind rewind = [&]() -> Result<void> {
    accumulator.emplace(options.limits);
    return ok();
  };
  BDD_TRY(stream.for_each(
      [&](const model::Event& event) -> Result<void> {
        accumulator->add(event);
        return ok();
      },
      rewind));

  ReportResult result;
  result.report = accumulator->finish();
  result.header = make_header(config, options.filters);
  result.stored_format = copy.metadata.format;
  result.files = stream.stats().files;
  if (options.output) {
    const stdfs::path& dir = *options.output;
    BDD_TRY(fs::create_directories(dir));
    // One table in memory at a time.
    using Table = std::string (*)(const report::Report&);
    const std::array<Table, k_report_files.size()> tables = {&report::participants_csv,
                                                             &report::activity_csv,
                                                             &report::missing_fields_csv,
                                                             &report::sequence_gaps_csv};
    std::error_code ec;
    for (std::size_t i = 0; i < tables.size(); ++i) {
      const stdfs::path file = dir / k_report_files[i];
      BDD_TRY(fs::write_file_atomic(file, tables[i](result.report)));
      result.written.push_back(stdfs::absolute(file, ec));
    }
    // The page is drawn from the document `--json` prints, so that the two never disagree.
    const stdfs::path page = dir / k_report_page;
    BDD_TRY(fs::write_file_atomic(
        page, report::render_html(report::document(result.report, result.header))));
    result.written.push_back(stdfs::absolute(page, ec));
  }
  return result;
}

} // namespace bdd::ops
