// The public API (include/bdd/bdd.hpp) on top of config:: and ops::.
#include <bdd/bdd.hpp>
#include <bdd/config/config.hpp>
#include <bdd/core/environment.hpp>
#include <bdd/ops/download.hpp>
#include <bdd/ops/study.hpp>

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
  DownloadSummary summary;
  auto config = resolve(m_work_dir, m_environment, study, true);
  if (!config) {
    summary.outcome = failure(config.error());
    return summary;
  }
  ops::DownloadOptions options;
  options.fresh = fresh;
  if (on_progress) {
    options.on_progress = [&on_progress](const ops::DownloadProgress& progress) {
      on_progress({progress.events_received,
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
  if (status->metadata) {
    local.downloaded = true;
    local.events_stored = status->metadata->events_stored;
    local.remote_total = status->metadata->remote_total;
    local.last_update = status->metadata->last_update;
  }
  return local;
}

} // namespace bdd
