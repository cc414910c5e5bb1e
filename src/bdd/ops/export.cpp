#include "export.hpp"

#include "events.hpp"
#include "study_paths.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/export/flatten.hpp>
#include <bdd/export/inputs.hpp>
#include <bdd/export/pseudonymise.hpp>
#include <bdd/export/stream.hpp>
#include <bdd/export/xlsx_writer.hpp>
#include <bdd/export/zip_archive.hpp>
#include <bdd/storage/layout.hpp>
#include <bdd/tracking/records.hpp>

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <random>

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

bool same_file(const stdfs::path& a, const stdfs::path& b) {
  std::error_code ec;
  return stdfs::weakly_canonical(stdfs::absolute(a), ec)
         == stdfs::weakly_canonical(stdfs::absolute(b), ec);
}

// A private folder beside `near`, removed with this object: for the file a zip packs, or the
// folder of --partition-by until it is renamed to `near`.
class ZipStaging {
public:
  static Result<ZipStaging> create(const stdfs::path& near) {
    const stdfs::path parent = near.has_parent_path() ? near.parent_path() : stdfs::path(".");
    std::random_device device;
    const stdfs::path dir =
        parent / ("." + near.filename().string() + "." + std::to_string(device()) + ".d");
    std::error_code ec;
    if (!stdfs::create_directory(dir, ec) || ec) {
      return Error(Errc::storage,
                   fs::describe_errno("cannot create", dir, ec ? ec.value() : EEXIST));
    }
    return ZipStaging(dir);
  }
  ZipStaging(ZipStaging&& other) noexcept : m_dir(std::exchange(other.m_dir, {})) {}
  ZipStaging& operator=(ZipStaging&&) = delete;
  ~ZipStaging() {
    if (!m_dir.empty()) {
      static_cast<void>(fs::remove_tree(m_dir));
    }
  }
  const stdfs::path& dir() const { return m_dir; }

private:
  explicit ZipStaging(stdfs::path dir) : m_dir(std::move(dir)) {}
  stdfs::path m_dir;
};

// --partition-by's keys (storage::partition_key) as folder levels, outermost first.
Result<std::vector<storage::Level>> partition_levels(const std::vector<std::string>& keys) {
  std::vector<storage::Level> levels;
  for (const auto& key : keys) {
    std::optional<storage::Level> level;
    for (const auto candidate :
         {storage::Level::by_user_id, storage::Level::by_date, storage::Level::by_event_type}) {
      if (storage::partition_key(candidate) == key) {
        level = candidate;
      }
    }
    if (!level) {
      return Error(Errc::usage,
                   "--partition-by: unknown key \"" + key
                       + "\" (use user_id, date and event_type, in any order)");
    }
    if (std::find(levels.begin(), levels.end(), *level) != levels.end()) {
      return Error(Errc::usage, "--partition-by names \"" + key + "\" twice");
    }
    levels.push_back(*level);
  }
  return levels;
}

// --partition-by's folder of hive folders (`user_id=<v>/date=<v>/part-0.<ext>`), built in
// `dir`. The stream yields each partition's events together, so one file is open at a time.
class PartitionedOutput {
public:
  PartitionedOutput(stdfs::path dir,
                    std::vector<storage::Level> levels,
                    std::string format,
                    std::string study,
                    const exporting::FlatColumns* flat)
      : m_dir(std::move(dir)),
        m_levels(std::move(levels)),
        m_format(std::move(format)),
        m_study(std::move(study)),
        m_flat(flat) {}

  Result<void> write(const model::Event& event) {
    std::string folder =
        storage::leaf_directory_string(event, m_levels, storage::PartitionNaming::hive);
    if (!m_writer || folder != m_current) {
      BDD_TRY(close_current());
      const stdfs::path path = m_dir / folder;
      BDD_TRY(fs::create_directories(path));
      BDD_TRY_ASSIGN(
          auto created,
          exporting::OutputFile::create(
              path / ("part-0." + std::string(exporting::row_extension(m_format))), false));
      m_file.emplace(std::move(created));
      BDD_TRY_ASSIGN(m_writer,
                     exporting::make_row_writer(m_format, m_file->target(), m_study, m_flat));
      m_current = std::move(folder);
      ++m_files;
    }
    return m_writer->write(event);
  }

  Result<void> finish() { return close_current(); }

  // A pass that starts over: nothing written so far is kept.
  Result<void> rewind() {
    m_writer.reset();
    m_file.reset();
    m_current.clear();
    m_files = 0;
    m_bytes = 0;
    BDD_TRY(fs::remove_tree(m_dir));
    return fs::create_directories(m_dir);
  }

  std::uint64_t files() const { return m_files; }
  std::uint64_t bytes() const { return m_bytes; }

private:
  Result<void> close_current() {
    if (!m_writer) {
      return ok();
    }
    BDD_TRY(m_writer->finish());
    m_bytes += m_writer->bytes_written();
    m_writer.reset();
    BDD_TRY(m_file->commit());
    m_file.reset();
    return ok();
  }

  stdfs::path m_dir;
  std::vector<storage::Level> m_levels;
  std::string m_format;
  std::string m_study;
  const exporting::FlatColumns* m_flat;
  std::optional<exporting::OutputFile> m_file;
  std::unique_ptr<exporting::RowWriter> m_writer;
  std::string m_current;
  std::uint64_t m_files = 0;
  std::uint64_t m_bytes = 0;
};

// Rename the complete folder `built` to `output`; with `force` an existing `output` is swapped
// with it in one step (its old content is then at `built`, which the caller removes).
Result<void> publish_folder(const stdfs::path& built, const stdfs::path& output, bool force) {
  if (::renameat2(AT_FDCWD, built.c_str(), AT_FDCWD, output.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    if (err != EEXIST || !force) {
      return Error(err == EEXIST ? Errc::usage : Errc::storage,
                   err == EEXIST ? "\"" + output.string()
                                       + "\" already exists (choose another --output, or add "
                                         "--force to replace it)"
                                 : fs::describe_errno("cannot rename to", output, err));
    }
    if (::renameat2(AT_FDCWD, built.c_str(), AT_FDCWD, output.c_str(), RENAME_EXCHANGE) != 0) {
      return Error(Errc::storage, fs::describe_errno("cannot replace", output, errno));
    }
  }
  return fs::sync_directory(output.has_parent_path() ? output.parent_path() : stdfs::path("."));
}

// What the export's own checks refuse before anything is read.
Result<void> check_extras(const ExportOptions& options, bool to_stdout) {
  if (options.flatten && !exporting::flattens(options.format)) {
    return Error(Errc::usage,
                 "--flatten makes columns, which --format " + options.format
                     + " does not have (use --format csv or xlsx)");
  }
  if (options.zip && to_stdout) {
    return Error(Errc::usage,
                 "--zip writes a file, not standard output (give --output NAME.zip or leave "
                 "--output out)");
  }
  if (options.zip && !options.output.empty() && options.output.extension() != ".zip") {
    return Error(Errc::usage,
                 "with --zip, --output names the zip: \"" + options.output.string()
                     + "\" should end in .zip");
  }
  if (options.pseudonym_map && !options.pseudonymise) {
    return Error(Errc::usage, "--pseudonym-map needs --pseudonymise");
  }
  if (!options.partition_by.empty()) {
    if (to_stdout || options.zip) {
      return Error(Errc::usage,
                   std::string("--partition-by writes a folder of files, not ")
                       + (to_stdout ? "standard output (give --output FOLDER)"
                                    : "a zip (zip the folder it writes instead)"));
    }
    if (!exporting::partitions(options.format)) {
      std::string list;
      for (const auto name : exporting::row_formats()) {
        if (exporting::partitions(name)) {
          list += (list.empty() ? "" : ", ") + std::string(name);
        }
      }
      return Error(Errc::usage,
                   "--partition-by writes files that engines read as one table, which --format "
                       + options.format + " is not (use " + list + ")");
    }
  }
  return ok();
}

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

Result<ExportReport> run_export(const config::Config& config, const ExportOptions& given) {
  ExportOptions options = given;
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
  BDD_TRY(check_extras(options, to_stdout));
  BDD_TRY_ASSIGN(const auto part_levels, partition_levels(options.partition_by));
  const bool partitioned = !part_levels.empty();
  // With --zip the output is the zip; the export file inside is named after it.
  stdfs::path output = to_stdout
                           ? options.output
                           : (options.output.empty()
                                  ? default_export_path(study, options.zip ? "zip" : options.format)
                                  : options.output);
  if (partitioned && options.output.empty()) {
    output = study + "-export-" + std::string(exporting::row_extension(options.format));
  }
  std::error_code ec;
  if (!stdfs::is_directory(paths.study_dir, ec)) {
    return no_local_data(study, paths.study_dir);
  }
  if (!to_stdout && is_inside(output, paths.study_dir)) {
    return Error(Errc::usage,
                 "the output \"" + output.string() + "\" is inside the study folder \""
                     + paths.study_dir.string()
                     + "\", which holds bdd's data only (write it elsewhere)");
  }
  if (options.pseudonym_map) {
    const stdfs::path& map = *options.pseudonym_map;
    if (is_inside(map, paths.study_dir) || (!to_stdout && same_file(map, output))) {
      return Error(Errc::usage,
                   "--pseudonym-map \"" + map.string()
                       + "\" would be the export or inside the study folder: keep the map "
                         "apart from the data it unlocks");
    }
    if (!options.force && fs::regular_file_size(map)) {
      return Error(Errc::usage,
                   "\"" + map.string()
                       + "\" already exists (choose another --pseudonym-map, or add --force to "
                         "replace it)");
    }
  }

  // The per-event transform: pseudonyms, dropped fields, URL queries.
  std::optional<exporting::EventTransform> transform;
  if (options.pseudonymise || !options.drop_fields.empty() || options.strip_url_query) {
    exporting::TransformOptions transform_options;
    if (options.pseudonymise) {
      BDD_TRY_ASSIGN(
          transform_options.pseudonym_key,
          exporting::load_pseudonym_key(options.pseudonym_key_file, options.environment));
    }
    transform_options.record_pseudonyms = options.pseudonym_map.has_value();
    transform_options.drop_fields = options.drop_fields;
    transform_options.strip_url_query = options.strip_url_query;
    BDD_TRY_ASSIGN(auto made, exporting::EventTransform::make(std::move(transform_options)));
    transform.emplace(std::move(made));
    options.transform = [&transform](model::Event& event) { transform->apply(event); };
  }

  BDD_TRY_ASSIGN(auto local,
                 open_local_copy(config, options.filter, options.on_wait, options.stop));
  const tracking::Metadata& metadata = local.metadata;

  // --zip: the zip's own output file, and the export file in a private folder beside it.
  std::optional<exporting::OutputFile> zip_file;
  std::optional<ZipStaging> staging;
  stdfs::path data_path = output;
  std::string zipped_name;
  if (options.zip) {
    BDD_TRY_ASSIGN(auto created, exporting::OutputFile::create(output, options.force));
    zip_file.emplace(std::move(created));
    BDD_TRY_ASSIGN(auto made, ZipStaging::create(output));
    staging.emplace(std::move(made));
    zipped_name =
        output.stem().string() + "." + std::string(exporting::row_extension(options.format));
    data_path = staging->dir() / zipped_name;
  }

  if (partitioned) {
    if (!options.force && stdfs::symlink_status(output, ec).type() != stdfs::file_type::not_found) {
      return Error(Errc::usage,
                   "\"" + output.string()
                       + "\" already exists (choose another --output, or add --force to replace "
                         "it)");
    }
    BDD_TRY_ASSIGN(auto made, ZipStaging::create(output));
    staging.emplace(std::move(made));
  }

  std::optional<exporting::OutputFile> file;
  exporting::OutputTarget target{STDOUT_FILENO, {}, "standard output"};
  if (!to_stdout && !partitioned) {
    BDD_TRY_ASSIGN(auto created, exporting::OutputFile::create(data_path, options.force));
    file.emplace(std::move(created));
    target = file->target();
    if (options.zip) {
      target.shown = output.string();
    }
  }

  exporting::StreamOptions stream_options;
  stream_options.study_dir = paths.study_dir;
  stream_options.study_name = study;
  stream_options.format = metadata.format;
  stream_options.inputs = std::move(local.inputs);
  stream_options.filter = options.filter;
  stream_options.temp_parent =
      to_stdout ? temp_folder(options.environment)
                : (output.has_parent_path() ? output.parent_path() : stdfs::path("."));
  stream_options.stop = options.stop;
  if (partitioned) {
    // The folder of the event as written: after the transform (a pseudonymised user id names
    // its folder, never the real one).
    stream_options.partition = [&options, &part_levels](const model::Event& event) {
      if (!options.transform) {
        return storage::leaf_directory_string(event, part_levels, storage::PartitionNaming::hive);
      }
      model::Event copy = event;
      options.transform(copy);
      return storage::leaf_directory_string(copy, part_levels, storage::PartitionNaming::hive);
    };
  }
  if (options.on_progress) {
    stream_options.progress =
        [&options](std::uint64_t read, std::uint64_t done, std::uint64_t total) {
          options.on_progress({read, done, total});
        };
  }
  exporting::EventStream stream(std::move(stream_options));

  // A first pass when the writer must know the events before the first row: the flattened
  // columns, or whether an xlsx sheet can hold them (the stored count says so when it is below).
  const bool xlsx = options.format == "xlsx";
  const bool count_first = xlsx && metadata.events_stored + 1 > options.xlsx_max_rows;
  std::optional<exporting::FlatColumns> columns;
  if (options.flatten) {
    columns.emplace();
  }
  std::uint64_t counted = 0;
  if (options.first_pass || columns || count_first) {
    const auto first_pass = options.first_pass;
    const auto first_rewind = options.first_pass_rewind;
    Transformed visit(options, [&](const model::Event& event) -> Result<void> {
      ++counted;
      if (columns) {
        BDD_TRY(columns->collect(event));
      }
      return first_pass ? first_pass(event) : ok();
    });
    const exporting::EventStream::Rewind rewind = [&]() -> Result<void> {
      counted = 0;
      if (columns) {
        columns.emplace();
      }
      return first_rewind ? first_rewind() : ok();
    };
    BDD_TRY(stream.for_each(std::ref(visit), rewind));
    if (xlsx) {
      BDD_TRY(exporting::check_xlsx_rows(counted, options.xlsx_max_rows));
    }
  }
  const exporting::FlatColumns* flat = columns ? &*columns : nullptr;

  std::unique_ptr<exporting::RowWriter> writer;
  std::optional<PartitionedOutput> parts;
  if (partitioned) {
    parts.emplace(staging->dir(), part_levels, options.format, study, flat);
    Transformed visit(options, [&parts](const model::Event& event) { return parts->write(event); });
    BDD_TRY(stream.for_each(std::ref(visit), [&parts]() { return parts->rewind(); }));
    BDD_TRY(parts->finish());
    BDD_TRY(publish_folder(staging->dir(), output, options.force));
  } else {
    BDD_TRY_ASSIGN(writer, exporting::make_row_writer(options.format, target, study, flat));
    Transformed visit(options,
                      [&writer](const model::Event& event) { return writer->write(event); });
    exporting::EventStream::Rewind rewind;
    if (file) {
      rewind = [&]() -> Result<void> {
        writer.reset();
        BDD_TRY(file->rewind());
        BDD_TRY_ASSIGN(writer, exporting::make_row_writer(options.format, target, study, flat));
        return ok();
      };
    }
    BDD_TRY(stream.for_each(std::ref(visit), rewind));
    BDD_TRY(writer->finish());
    if (file) {
      BDD_TRY(file->commit());
    }
  }

  ExportReport report;
  report.format = options.format;
  report.stored_format = metadata.format;
  report.output = to_stdout ? stdfs::path("-") : stdfs::absolute(output, ec);
  report.rows = stream.stats().events;
  report.files = stream.stats().files;
  report.events_read = stream.stats().events_read;
  report.bytes = parts ? parts->bytes() : writer->bytes_written();
  report.partitions = parts ? parts->files() : 0;
  report.sorted_runs = stream.stats().runs;
  report.columns = flat ? flat->header().size() : 0;

  if (zip_file) {
    exporting::Manifest manifest;
    manifest.bdd_version = BDD_VERSION;
    manifest.study = study;
    manifest.api_base_url = config.base_url;
    manifest.exported_at = std::chrono::system_clock::now();
    manifest.filters = options.manifest_filters;
    manifest.options = options.manifest_options;
    manifest.events_stored = metadata.events_stored;
    manifest.remote_total = metadata.remote_total;
    manifest.last_download = metadata.last_update;
    BDD_TRY(exporting::write_export_zip(
        zip_file->target().path, manifest, {{data_path, zipped_name, report.rows}}));
    BDD_TRY(zip_file->commit());
    report.bytes = fs::file_size_or_zero(output);
    report.zipped_file = zipped_name;
  }
  if (options.pseudonym_map) {
    BDD_TRY(exporting::write_pseudonym_map(*options.pseudonym_map, transform->pseudonyms()));
    report.pseudonym_map = stdfs::absolute(*options.pseudonym_map, ec);
  }
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
