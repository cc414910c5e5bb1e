#include "export.hpp"

#include "study_paths.hpp"

#include <bdd/core/file_lock.hpp>
#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/export/inputs.hpp>
#include <bdd/export/stream.hpp>
#include <bdd/tracking/records.hpp>
#include <bdd/tracking/state.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

namespace bdd::ops {

namespace {

namespace stdfs = std::filesystem;

bool is_stdout(const stdfs::path& output) {
  return output == "-";
}

// True if `inner` is `outer` or lies inside it, both resolved (links followed, `..` removed).
bool is_inside(const stdfs::path& inner, const stdfs::path& outer) {
  std::error_code ec;
  const stdfs::path a = stdfs::weakly_canonical(stdfs::absolute(inner), ec);
  const stdfs::path b = stdfs::weakly_canonical(stdfs::absolute(outer), ec);
  auto it = a.begin();
  for (const auto& part : b) {
    if (part.empty()) {
      continue; // a trailing separator
    }
    if (it == a.end() || *it != part) {
      return false;
    }
    ++it;
  }
  return true;
}

Result<std::vector<storage::Level>> levels_of(const tracking::Metadata& metadata) {
  std::vector<storage::Level> levels;
  for (const auto& name : metadata.folder_structure) {
    const auto level = storage::parse_level(name);
    if (!level) {
      return Error(Errc::storage,
                   "\".metadata.json\" names an unknown folder level \"" + name
                       + "\" (run `bdd verify " + metadata.study_name + "`)");
    }
    levels.push_back(*level);
  }
  return levels;
}

stdfs::path temp_folder() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? stdfs::path(tmp) : stdfs::path("/tmp");
}

// The rows of one pass go through `transform` (on a copy: the stream compares the events it
// yields) into `sink`.
class Transformed {
public:
  Transformed(const ExportOptions& options, std::function<Result<void>(const model::Event&)> sink)
      : m_transform(options.transform),
        m_sink(std::move(sink)) {}
  Result<void> operator()(const model::Event& event) {
    if (!m_transform) {
      return m_sink(event);
    }
    m_scratch = event;
    m_transform(m_scratch);
    return m_sink(m_scratch);
  }

private:
  std::function<void(model::Event&)> m_transform;
  std::function<Result<void>(const model::Event&)> m_sink;
  model::Event m_scratch;
};

} // namespace

Result<exporting::Filter> make_export_filter(const ExportFilterArgs& args) {
  exporting::Filter out;
  if (args.since) {
    BDD_TRY_ASSIGN(out.since, exporting::parse_time_bound("--since", *args.since));
  }
  if (args.until) {
    BDD_TRY_ASSIGN(out.until, exporting::parse_time_bound("--until", *args.until));
  }
  if (out.since && out.until && *out.since >= *out.until) {
    return Error(Errc::usage,
                 "--since \"" + *args.since + "\" is not before --until \"" + *args.until + "\"");
  }
  out.time_field =
      args.stored_time ? exporting::TimeField::stored_timestamp : exporting::TimeField::timestamp;
  out.users.insert(args.users.begin(), args.users.end());
  if (args.users_file) {
    BDD_TRY_ASSIGN(auto ids, exporting::read_users_file(*args.users_file));
    out.users.insert(ids.begin(), ids.end());
  }
  out.event_types.insert(args.event_types.begin(), args.event_types.end());
  return out;
}

stdfs::path default_export_path(const std::string& study, std::string_view format) {
  return study + "-export." + std::string(exporting::row_extension(format));
}

namespace {

Result<ExportReport> run_export(const config::Config& config, const ExportOptions& options) {
  const std::string& study = config.study_name;
  const StudyPaths paths = study_paths(config);
  const bool to_stdout = is_stdout(options.output);
  const auto formats = exporting::row_formats();
  if (std::find(formats.begin(), formats.end(), options.format) == formats.end()) {
    std::string list;
    for (auto name : formats) {
      list += (list.empty() ? "" : ", ") + std::string(name);
    }
    return Error(Errc::usage,
                 "unknown export format \"" + options.format + "\" (use one of " + list + ")");
  }
  if (to_stdout && !exporting::streams_to_stdout(options.format)) {
    return Error(Errc::usage,
                 "--format " + options.format
                     + " cannot be written to standard output (use --output FILE, or csv or "
                       "jsonl)");
  }
  const stdfs::path output =
      to_stdout
          ? options.output
          : (options.output.empty() ? default_export_path(study, options.format) : options.output);
  std::error_code ec;
  if (!stdfs::is_directory(paths.study_dir, ec)) {
    return Error(Errc::usage,
                 "no local data for study \"" + study + "\" in \"" + paths.study_dir.string()
                     + "\" (run `bdd download " + study + "` first)");
  }
  if (!to_stdout && is_inside(output, paths.study_dir)) {
    return Error(Errc::usage,
                 "the output \"" + output.string() + "\" is inside the study folder \""
                     + paths.study_dir.string()
                     + "\", which holds bdd's data only (write it elsewhere)");
  }

  BDD_TRY_ASSIGN(FileLock lock,
                 FileLock::acquire_shared(paths.lock, options.on_wait, options.stop));
  BDD_TRY_ASSIGN(auto metadata, tracking::read_metadata(paths.study_dir));
  if (!metadata) {
    return Error(Errc::usage,
                 "no local data for study \"" + study + "\" in \"" + paths.study_dir.string()
                     + "\" (run `bdd download " + study + "` first)");
  }
  const FormatInfo& stored = format_info(metadata->format);
  if (stored.storage == FormatStorage::leaf_files
      && fs::regular_file_size(tracking::state_path(paths.study_dir))) {
    BDD_TRY_ASSIGN(auto state, tracking::open_state(paths.study_dir));
    BDD_TRY_ASSIGN(auto pending, state->pending());
    if (!pending.empty()) {
      return Error(Errc::storage,
                   "the local copy of study \"" + study
                       + "\" has an unfinished commit from an interrupted "
                         "download (run `bdd download "
                       + study + "` first, which completes it)");
    }
  }
  BDD_TRY_ASSIGN(auto levels, levels_of(*metadata));
  BDD_TRY_ASSIGN(auto inputs,
                 exporting::plan_inputs(paths.study_dir, metadata->format, levels, options.filter));

  std::optional<exporting::OutputFile> file;
  exporting::OutputTarget target{STDOUT_FILENO, {}, "standard output"};
  if (!to_stdout) {
    BDD_TRY_ASSIGN(auto created, exporting::OutputFile::create(output, options.force));
    file.emplace(std::move(created));
    target = file->target();
  }

  exporting::StreamOptions stream_options;
  stream_options.study_dir = paths.study_dir;
  stream_options.study_name = study;
  stream_options.format = metadata->format;
  stream_options.inputs = std::move(inputs);
  stream_options.filter = options.filter;
  stream_options.temp_parent =
      to_stdout ? temp_folder()
                : (output.has_parent_path() ? output.parent_path() : stdfs::path("."));
  stream_options.stop = options.stop;
  if (options.on_progress) {
    stream_options.progress =
        [&options](std::uint64_t read, std::uint64_t done, std::uint64_t total) {
          options.on_progress({read, done, total});
        };
  }
  exporting::EventStream stream(std::move(stream_options));

  if (options.first_pass) {
    Transformed visit(options, options.first_pass);
    BDD_TRY(stream.for_each(std::ref(visit), options.first_pass_rewind));
  }

  BDD_TRY_ASSIGN(auto writer, exporting::make_row_writer(options.format, target, study));
  Transformed visit(options, [&writer](const model::Event& event) { return writer->write(event); });
  exporting::EventStream::Rewind rewind;
  if (file) {
    rewind = [&]() -> Result<void> {
      BDD_TRY(file->rewind());
      BDD_TRY_ASSIGN(writer, exporting::make_row_writer(options.format, target, study));
      return ok();
    };
  }
  BDD_TRY(stream.for_each(std::ref(visit), rewind));
  BDD_TRY(writer->finish());
  if (file) {
    BDD_TRY(file->commit());
  }

  ExportReport report;
  report.format = options.format;
  report.stored_format = metadata->format;
  report.output = to_stdout ? stdfs::path("-") : stdfs::absolute(output, ec);
  report.rows = stream.stats().events;
  report.files = stream.stats().files;
  report.events_read = stream.stats().events_read;
  report.bytes = writer->bytes_written();
  report.sorted_runs = stream.stats().runs;
  return report;
}

} // namespace

Result<ExportReport> export_study(const config::Config& config, const ExportOptions& options) {
  const bool to_stdout = is_stdout(options.output);
  struct sigaction ignore {};
  struct sigaction before {};
  if (to_stdout) {
    // A closed pipe must fail the write, not kill bdd before it removes its temporary files.
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &before);
  }
  auto report = run_export(config, options);
  if (to_stdout) {
    ::sigaction(SIGPIPE, &before, nullptr);
    if (!report && exporting::is_broken_pipe(report.error())) {
      ::signal(SIGPIPE, SIG_DFL);
      ::raise(SIGPIPE);
    }
  }
  return report;
}

} // namespace bdd::ops
