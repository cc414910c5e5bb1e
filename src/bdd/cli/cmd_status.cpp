#include "command.hpp"
#include "json_output.hpp"
#include "logging.hpp"

#include <bdd/config/config.hpp>
#include <bdd/ops/records.hpp>
#include <bdd/ops/study.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>

namespace bdd::cli {

namespace {

using json = nlohmann::ordered_json;

std::string or_unknown(const std::optional<std::uint64_t>& value) {
  return value ? std::to_string(*value) : std::string("unknown");
}

// "12.5", "600": seconds to one decimal, without a trailing ".0".
std::string format_seconds(double seconds) {
  std::string text = std::to_string(std::llround(seconds * 10) / 10.0);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.') {
    text.pop_back();
  }
  return text;
}

std::string join(const std::vector<std::string>& parts) {
  if (parts.empty()) {
    return "[] (one file)";
  }
  std::string out;
  for (const auto& part : parts) {
    out += (out.empty() ? "" : " / ") + part;
  }
  return out;
}

// "2025-11-18 10:00" of an ISO-8601 time ("2025-11-18T10:00:05Z"); the text itself if odd.
std::string minutes_of(const std::string& time) {
  if (time.size() < 16 || time[10] != 'T') {
    return time;
  }
  return time.substr(0, 10) + ' ' + time.substr(11, 5);
}

// "2025-11-18 10:00–11:00 UTC", or with both dates when they differ.
std::string time_range(const std::string& from, const std::string& to) {
  const std::string start = minutes_of(from);
  const std::string end = minutes_of(to.empty() ? from : to);
  if (start.size() == 16 && end.size() == 16 && start.compare(0, 10, end, 0, 10) == 0) {
    return start + "\u2013" + end.substr(11) + " UTC";
  }
  return start + " \u2013 " + end + " UTC";
}

// A study bdd knows nothing about: no study config (nor --config) and no local folder. `status`
// and `log` fail for it with Errc::not_found, so that a typo in a script is not taken for a
// study that was never downloaded.
Result<void> check_known(const Context& context,
                         const std::string& study,
                         const std::filesystem::path& study_dir) {
  std::error_code ec;
  if (context.config_flag || std::filesystem::exists(study_dir, ec)) {
    return ok();
  }
  const auto configs = config::list_study_configs(".");
  if (std::find(configs.begin(), configs.end(), study) != configs.end()) {
    return ok();
  }
  return Error(Errc::not_found,
               "unknown study \"" + study + "\": no study_configs/" + study
                   + ".json and no local data in \"" + study_dir.string()
                   + "\" (check the name, or run `bdd create-config " + study + "`)");
}

class StatusCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study to describe")->required();
    app.add_flag("--json", m_json, "print one JSON object (see README.md, Scripting)");
  }

  Result<int> run(Context& context) override { return with_json_error(m_json, show(context)); }

private:
  Result<int> show(Context& context) {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, false));
    BDD_TRY_ASSIGN(auto status, ops::study_status(config));
    BDD_TRY(check_known(context, m_study, status.study_dir));
    if (m_json) {
      print_json(status_json(config, status));
      return 0;
    }
    // Configured and never downloaded is a state like any other: exit 0, as with --json.
    if (!status.metadata) {
      std::cout << "study:            " << m_study << '\n'
                << "location:         " << status.study_dir.string() << '\n'
                << "downloaded:       no (run `bdd download " << m_study << "`)\n";
      return 0;
    }
    const auto& m = *status.metadata;
    std::cout << "study:            " << m.study_name << '\n'
              << "location:         " << status.study_dir.string() << '\n'
              << "format:           " << m.format << '\n'
              << "folder structure: " << join(m.folder_structure) << '\n'
              << "partition naming: " << m.partition_naming << '\n'
              << "events stored:    " << m.events_stored << '\n'
              << "deleted on server: " << m.deleted_on_server
              << " (kept here; the server no longer lists them)\n"
              << "remote total:     " << or_unknown(m.remote_total) << " (at the last download)\n"
              << "newest event:     "
              << (m.newest_stored_timestamp.empty() ? "none" : m.newest_stored_timestamp) << '\n'
              << "first download:   " << m.first_download << '\n'
              << "last update:      " << m.last_update << '\n';
    if (m.quarantined > 0) {
      std::cout << "unusable items:   " << m.quarantined
                << " kept in the quarantine, not stored as events (`bdd verify " << m_study
                << "` lists them)\n";
    }
    if (status.last_run) {
      std::cout << "last run:         " << status.last_run->started_at << ' '
                << status.last_run->status;
      if (!status.last_run->error.empty()) {
        std::cout << ": " << status.last_run->error;
      }
      std::cout << '\n';
    }
    return 0;
  }

  // Never downloaded: `downloaded` false, the configured format and structure, no numbers.
  json status_json(const config::Config& config, const ops::StudyStatus& status) const {
    const auto* m = status.metadata ? &*status.metadata : nullptr;
    return json{
        {"study", m_study},
        {"study_dir", absolute_path(status.study_dir)},
        {"downloaded", m != nullptr},
        {"format", m ? m->format : config.format},
        {"folder_structure", m ? m->folder_structure : config.folder_structure},
        {"partition_naming", m ? m->partition_naming : config.partition_naming},
        {"events_stored", m ? m->events_stored : 0},
        {"remote_total", m ? or_null(m->remote_total) : json(nullptr)},
        {"deleted_on_server", m ? m->deleted_on_server : 0},
        {"quarantined", m ? m->quarantined : 0},
        {"first_download", m ? or_null(m->first_download) : json(nullptr)},
        {"last_update", m ? or_null(m->last_update) : json(nullptr)},
        {"newest_stored_timestamp", m ? or_null(m->newest_stored_timestamp) : json(nullptr)},
        {"last_run", status.last_run ? ops::run_to_json(*status.last_run) : json(nullptr)},
    };
  }

  std::string m_study;
  bool m_json = false;
};

class LogCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study whose download history to show")->required();
    app.add_option("-n,--max-count",
                   m_limit,
                   "show only the newest N records (N >= 1; runs that found nothing in a row "
                   "are one record)")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
              const bool digits = !value.empty() && value.size() <= 9
                                  && value.find_first_not_of("0123456789") == std::string::npos;
              return digits && std::stoul(value) > 0
                         ? std::string()
                         : "'" + value + "' is not a whole number of 1 or more";
            },
            "N>=1"));
    app.add_flag("--json", m_json, "print a JSON array of run records (see README.md, Scripting)");
  }

  Result<int> run(Context& context) override { return with_json_error(m_json, show(context)); }

private:
  Result<int> show(Context& context) {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, false));
    BDD_TRY_ASSIGN(auto runs, ops::study_history(config));
    if (runs.empty()) {
      // (A folder with a history, or whose metadata cannot be read, is known.)
      if (auto status = ops::study_status(config)) {
        BDD_TRY(check_known(context, m_study, status->study_dir));
      }
    }
    if (m_json) {
      json array = json::array();
      for (auto it = runs.rbegin(); it != runs.rend() && (m_limit == 0 || array.size() < m_limit);
           ++it) {
        array.push_back(ops::run_to_json(*it));
      }
      print_json(array);
      return 0;
    }
    if (runs.empty()) {
      std::cout << "no downloads recorded for " << m_study << '\n';
      return 0;
    }
    std::size_t shown = 0;
    for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
      if (m_limit > 0 && shown++ >= m_limit) {
        break;
      }
      const auto& run = *it;
      if (run.runs > 1) {
        // Runs that found nothing in a row are one record: one line, not one block per run.
        std::cout << run.runs << " runs with nothing new, "
                  << time_range(run.started_at, run.ended_at) << '\n'
                  << "  type:     " << run.type << '\n'
                  << "  transfer: " << ops::counted(run.pages, "page") << ", "
                  << ops::counted(run.bytes, "byte") << ", the last from offset "
                  << run.start_offset << ", remote total " << or_unknown(run.remote_total) << '\n';
      } else {
        std::cout << "run " << run.run_id << '\n'
                  << "  type:     " << run.type << '\n'
                  << "  status:   " << run.status << '\n'
                  << "  started:  " << run.started_at << '\n'
                  << "  ended:    " << (run.ended_at.empty() ? "-" : run.ended_at) << '\n'
                  << "  events:   " << run.events_added << " added, " << run.events_received
                  << " received, " << ops::counted(run.duplicates_skipped, "duplicate")
                  << " skipped\n"
                  << "  transfer: " << ops::counted(run.pages, "page") << ", "
                  << ops::counted(run.bytes, "byte") << " from offset " << run.start_offset
                  << ", remote total " << or_unknown(run.remote_total) << '\n';
      }
      if (run.retries > 0) {
        std::cout << "  retries:  " << run.retries << ", " << format_seconds(run.retry_wait_seconds)
                  << " s waiting\n";
      }
      if (!run.error.empty()) {
        std::cout << "  error:    " << Logging::redact(run.error) << '\n';
      }
      for (const auto& warning : run.warnings) {
        std::cout << "  warning:  " << Logging::redact(warning) << '\n';
      }
      std::cout << '\n';
    }
    return 0;
  }

private:
  std::string m_study;
  std::size_t m_limit = 0;
  bool m_json = false;
};

} // namespace

std::unique_ptr<Command> make_status_command() {
  return std::make_unique<StatusCommand>();
}

std::unique_ptr<Command> make_log_command() {
  return std::make_unique<LogCommand>();
}

} // namespace bdd::cli
