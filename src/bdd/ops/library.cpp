// The public API (include/bdd/bdd.hpp) on top of config:: and ops::.
#include <bdd/bdd.hpp>
#include <bdd/config/config.hpp>
#include <bdd/core/environment.hpp>
#include <bdd/ops/download.hpp>
#include <bdd/ops/events.hpp>
#include <bdd/ops/export.hpp>
#include <bdd/ops/records.hpp>
#include <bdd/ops/study.hpp>
#include <bdd/ops/verify.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace bdd {

namespace {

Outcome failure(const Error& error) {
  return {false, errc_name(error.code), error.message};
}

Result<config::Config> resolve(const std::filesystem::path& work_dir,
                               std::map<std::string, std::string> environment,
                               const std::string& study,
                               bool require_key) {
  BDD_TRY(config::validate_study_name(study));
  config::Sources sources;
  sources.work_dir = work_dir;
  sources.environment = std::move(environment);
  // .env is read by config::resolve, which records what came from it.
  if (require_key) {
    BDD_TRY(config::check_key_destination(study, sources));
  }
  return config::resolve(study, sources, require_key);
}

} // namespace

Downloader::Downloader(std::filesystem::path work_dir)
    : Downloader(std::move(work_dir), process_environment()) {}

Downloader::Downloader(std::filesystem::path work_dir,
                       std::map<std::string, std::string> environment)
    : m_work_dir(std::move(work_dir)),
      m_environment(std::move(environment)) {}

DownloadSummary
Downloader::download(const std::string& study,
                     bool fresh,
                     const std::function<void(const Progress&)>& on_progress) const {
  DownloadRequest request;
  request.fresh = fresh;
  request.on_progress = on_progress;
  return download(study, request);
}

DownloadSummary Downloader::download(const std::string& study,
                                     const DownloadRequest& request) const {
  DownloadSummary summary;
  auto config = resolve(m_work_dir, m_environment, study, true);
  if (!config) {
    summary.outcome = failure(config.error());
    return summary;
  }
  ops::DownloadOptions options;
  options.fresh = request.fresh;
  options.stop = request.stop;
  if (request.on_progress) {
    options.on_progress = [&request](const ops::DownloadProgress& progress) {
      request.on_progress({progress.events_received,
                           progress.events_added,
                           progress.offset,
                           progress.remote_total});
    };
  }
  auto report = ops::download(*config, options);
  if (!report) {
    summary.outcome = failure(report.error());
    return summary;
  }
  summary.events_received = report->run.events_received;
  summary.events_added = report->run.events_added;
  summary.duplicates_skipped = report->run.duplicates_skipped;
  summary.events_stored = report->events_stored;
  summary.study_dir = report->study_dir;
  return summary;
}

LocalStatus Downloader::status(const std::string& study) const {
  LocalStatus local;
  auto config = resolve(m_work_dir, m_environment, study, false);
  if (!config) {
    local.outcome = failure(config.error());
    return local;
  }
  auto status = ops::study_status(*config);
  if (!status) {
    local.outcome = failure(status.error());
    return local;
  }
  local.study_dir = status->study_dir;
  local.format = config->format;
  local.folder_structure = config->folder_structure;
  if (status->metadata) {
    const auto& metadata = *status->metadata;
    local.downloaded = true;
    local.events_stored = metadata.events_stored;
    local.remote_total = metadata.remote_total;
    local.last_update = metadata.last_update;
    local.format = metadata.format;
    local.folder_structure = metadata.folder_structure;
    local.newest_stored_timestamp = metadata.newest_stored_timestamp;
  }
  return local;
}

History Downloader::history(const std::string& study) const {
  History history;
  auto config = resolve(m_work_dir, m_environment, study, false);
  if (!config) {
    history.outcome = failure(config.error());
    return history;
  }
  auto runs = ops::study_history(*config);
  if (!runs) {
    history.outcome = failure(runs.error());
    return history;
  }
  for (const auto& run : *runs) {
    history.runs.push_back(ops::run_to_json(run).dump()); // records.hpp brings nlohmann's json
  }
  return history;
}

VerifyResult Downloader::verify(const std::string& study, bool remote) const {
  VerifyResult result;
  auto config = resolve(m_work_dir, m_environment, study, remote);
  if (!config) {
    result.outcome = failure(config.error());
    return result;
  }
  ops::VerifyOptions options;
  options.remote = remote;
  auto report = ops::verify(*config, options);
  if (!report) {
    result.outcome = failure(report.error());
    return result;
  }
  result.ok = report->ok();
  result.events = report->events;
  result.files = report->files;
  result.study_dir = report->study_dir;
  for (auto& finding : report->findings) {
    result.findings.push_back({std::move(finding.kind),
                               std::move(finding.file),
                               finding.line,
                               std::move(finding.id),
                               std::move(finding.message),
                               finding.error});
  }
  return result;
}

// The reading thread fills `queue` while `next` empties it; it waits when the queue holds
// `k_max_events` events or `k_max_bytes` bytes, so memory stays flat.
struct EventReader::Impl {
  static constexpr std::size_t k_max_events = 4096;
  static constexpr std::size_t k_max_bytes = std::size_t{8} << 20;

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> queue;
  std::size_t queued_bytes = 0;
  bool done = false;
  Outcome outcome;
  std::atomic<bool> stop{false};
  std::thread reader;

  ~Impl() {
    {
      // Under the mutex: the reading thread cannot miss it between its check and its wait.
      const std::lock_guard lock(mutex);
      stop = true;
    }
    changed.notify_all();
    if (reader.joinable()) {
      reader.join();
    }
  }

  Result<void> push(std::string event) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [this] {
      return stop || (queue.size() < k_max_events && queued_bytes < k_max_bytes);
    });
    if (stop) {
      return Error(Errc::interrupted, "the event reader was closed");
    }
    queued_bytes += event.size();
    queue.push_back(std::move(event));
    changed.notify_all();
    return ok();
  }

  void finish(Outcome result) {
    const std::lock_guard lock(mutex);
    done = true;
    if (!stop) {
      outcome = std::move(result);
    }
    changed.notify_all();
  }
};

EventReader::EventReader(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
EventReader::EventReader(EventReader&&) noexcept = default;
EventReader& EventReader::operator=(EventReader&&) noexcept = default;
EventReader::~EventReader() = default;

std::optional<std::string> EventReader::next() {
  Impl& impl = *m_impl;
  std::unique_lock lock(impl.mutex);
  impl.changed.wait(lock, [&impl] { return impl.done || !impl.queue.empty(); });
  if (impl.queue.empty()) {
    return std::nullopt;
  }
  std::string event = std::move(impl.queue.front());
  impl.queue.pop_front();
  impl.queued_bytes -= event.size();
  impl.changed.notify_all();
  return event;
}

Outcome EventReader::outcome() const {
  const std::lock_guard lock(m_impl->mutex); // the reading thread sets it when it ends
  return m_impl->outcome;
}

EventReader Downloader::events(const std::string& study, const EventQuery& query) const {
  auto impl = std::make_unique<EventReader::Impl>();
  const auto fail = [&impl](const Error& error) {
    impl->done = true;
    impl->outcome = failure(error);
    return EventReader(std::move(impl));
  };
  auto config = resolve(m_work_dir, m_environment, study, false);
  if (!config) {
    return fail(config.error());
  }
  ops::ExportFilterArgs args;
  args.since = query.since;
  args.until = query.until;
  args.stored_time = query.stored_time;
  args.users = query.users;
  args.event_types = query.event_types;
  auto filter = ops::make_export_filter(args);
  if (!filter) {
    return fail(filter.error());
  }
  auto copy =
      ops::open_local_copy(config->study_name, ops::study_paths(*config), *filter, {}, nullptr);
  if (!copy) {
    return fail(copy.error());
  }
  ops::EventReadOptions options;
  options.filter = std::move(*filter);
  options.stop = &impl->stop;
  options.temp_parent = ops::temp_folder(m_environment);
  EventReader::Impl* shared = impl.get();
  impl->reader = std::thread([shared,
                              resolved = std::move(*config),
                              local = std::move(*copy),
                              options = std::move(options)]() mutable {
    const std::string study_name = resolved.study_name;
    try {
      auto read = ops::read_events(
          resolved, std::move(local), options, [shared, &study_name](const model::Event& event) {
            return shared->push(model::to_normalised_json(event, study_name));
          });
      shared->finish(read ? Outcome{} : failure(read.error()));
    } catch (const std::exception& error) {
      // Out of memory, most likely: this thread must not end the program.
      shared->finish(failure(Error(Errc::internal, error.what())));
    }
  });
  return EventReader(std::move(impl));
}

} // namespace bdd
