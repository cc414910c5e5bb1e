#include "command.hpp"
#include "exit_codes.hpp"
#include "json_output.hpp"
#include "logging.hpp"
#include "progress.hpp"

#include <bdd/ops/download.hpp>
#include <bdd/ops/records.hpp>
#include <bdd/ops/study.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <iostream>

namespace bdd::cli {

namespace {

using json = nlohmann::ordered_json;

// When a download that is not on a terminal logs its first progress line.
constexpr std::chrono::seconds k_first_log_line{5};

class DownloadCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study to download")->required();
    auto* fresh =
        app.add_flag("--fresh",
                     m_fresh,
                     "download everything again into a new folder, swapped in when complete");
    app.add_flag("--repair",
                 m_repair,
                 "rebuild the download state from the data files (damaged files are cut back or "
                 "moved to .bdd/quarantine/), then download what is missing")
        ->excludes(fresh);
    app.add_flag("--exit-code",
                 m_exit_code,
                 "exit with 10 instead of 0 when the download succeeded with no new events");
    app.add_flag("--strict",
                 m_strict,
                 "exit with 11 when the server sent items that are not usable events (they are "
                 "quarantined and every other event is stored either way)");
    app.add_flag("--json", m_json, "end with a one-line JSON summary on stdout, also on failure");
  }

  Result<int> run(Context& context) override {
    auto result = download(context);
    if (m_json) {
      print_json(summary(context, result));
    }
    return result;
  }

private:
  Result<int> download(Context& context) {
    BDD_TRY_ASSIGN(m_config, context.resolve(m_study, true));
    // From cron (stderr not a terminal) without --log-file: a daily JSON lines log next to the
    // data, so that unattended runs leave a trace. Its failure must not stop the download.
    if (!context.stderr_is_terminal && !context.log_file_given) {
      if (auto added = context.logging->add_daily_file(m_config->data_directory); !added) {
        spdlog::warn("{}", added.error().message);
      }
    }
    const bool log_lines = !context.quiet && !context.stderr_is_terminal;
    ProgressDisplay display(context.quiet                ? ProgressDisplay::Mode::silent
                            : context.stderr_is_terminal ? ProgressDisplay::Mode::bar
                                                         : ProgressDisplay::Mode::log_lines);
    ops::DownloadOptions options;
    options.fresh = m_fresh;
    options.repair = m_repair;
    options.strict = m_strict;
    options.stop = context.stop;
    // Documented in README.md (Parquet): how many parts a leaf folder holds before compaction.
    if (const auto parts = context.environment.find("BDD_PARQUET_COMPACT_PARTS");
        parts != context.environment.end()) {
      const auto& text = parts->second;
      std::size_t value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc() || end != text.data() + text.size() || value < 2) {
        return Error(Errc::usage,
                     "BDD_PARQUET_COMPACT_PARTS must be a whole number of at least 2 (unset it "
                     "for the default, 16)");
      }
      options.compact_parts = value;
    }
    const auto started = std::chrono::steady_clock::now();
    options.on_progress = [&display, log_lines, started](const ops::DownloadProgress& progress) {
      // From cron, the first progress line comes after 5 s like the others: a run that is over
      // by then (most of them, and every one that finds nothing) prints nothing.
      if (log_lines && std::chrono::steady_clock::now() - started < k_first_log_line) {
        return;
      }
      display.update(progress);
    };
    options.on_recorded = [this](const ops::RunRecord& run) { m_run = run; };
    auto report = ops::download(*m_config, options);
    display.finish();
    BDD_TRY(report);
    m_report = std::move(report).value();
    const auto& run = m_report->run;
    // With --json, stdout holds the JSON line only; the warnings were logged as they happened.
    // A run that found nothing prints nothing on stdout (cron mails every line); on a terminal
    // it says so on stderr.
    if (!context.quiet && !m_json) {
      const std::string counts = " (" + std::to_string(run.events_received) + " received, "
                                 + ops::counted(run.duplicates_skipped, "duplicate") + " skipped, "
                                 + ops::counted(run.pages, "page") + "); "
                                 + ops::counted(m_report->events_stored, "event") + " stored in "
                                 + m_report->study_dir.string();
      if (run.events_added > 0) {
        std::cout << "downloaded " << ops::counted(run.events_added, "new event") << " for "
                  << m_study << counts << '\n';
      } else if (context.stderr_is_terminal) {
        spdlog::info("no new events for {}{}", m_study, counts);
      }
    }
    return m_exit_code && run.events_added == 0 ? k_exit_no_new_events : k_exit_success;
  }

  json summary(const Context& context, const Result<int>& result) const {
    const std::optional<ops::RunRecord>& run = m_run;
    json events_stored = nullptr;
    json study_dir = nullptr;
    if (m_report) {
      events_stored = m_report->events_stored;
      study_dir = absolute_path(m_report->study_dir);
    } else if (m_config) {
      auto status = ops::study_status(*m_config);
      if (status) {
        events_stored = status->metadata ? status->metadata->events_stored : 0;
        study_dir = absolute_path(status->study_dir);
      }
    }
    std::string status;
    if (result) {
      status = m_report && m_report->run.events_added == 0 ? "no_new_events" : "success";
    } else {
      status = result.error().code == Errc::interrupted ? "interrupted" : "failed";
    }
    return json{
        {"study", m_study},
        {"status", status},
        {"exit_code", result ? *result : exit_code_for(result.error().code)},
        {"type", run ? json(run->type) : json(nullptr)},
        {"events_received", run ? run->events_received : 0},
        {"events_added", run ? run->events_added : 0},
        {"duplicates_skipped", run ? run->duplicates_skipped : 0},
        {"pages", run ? run->pages : 0},
        {"bytes", run ? run->bytes : 0},
        {"retries", run ? run->retries : 0},
        {"retry_wait_seconds", run ? run->retry_wait_seconds : 0.0},
        {"deleted_on_server", run ? run->deleted_on_server : 0},
        {"unusable_events", run ? run->unusable_events : 0},
        {"changed_on_server", run ? run->changed_on_server : 0},
        {"events_stored", events_stored},
        {"remote_total", run ? or_null(run->remote_total) : json(nullptr)},
        {"study_dir", study_dir},
        {"error", result ? json(nullptr) : json(Logging::redact(result.error().message))},
        {"warnings", context.logging->warnings()},
    };
  }

  std::string m_study;
  bool m_fresh = false;
  bool m_repair = false;
  bool m_strict = false;
  bool m_exit_code = false;
  bool m_json = false;
  std::optional<config::Config> m_config;
  std::optional<ops::RunRecord> m_run; // the history record of this run, once written
  std::optional<ops::DownloadReport> m_report;
};

} // namespace

std::unique_ptr<Command> make_download_command() {
  return std::make_unique<DownloadCommand>();
}

} // namespace bdd::cli
