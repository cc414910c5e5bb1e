#include "command.hpp"
#include "exit_codes.hpp"
#include "filter_flags.hpp"
#include "json_output.hpp"

#include <bdd/ops/report.hpp>
#include <bdd/report/document.hpp>
#include <bdd/report/summary.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

namespace bdd::cli {

namespace {

class ReportCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.footer(
        "read a study's local copy (never the server) once and describe it: the overview "
        "(events, participants, event types, first and last event, events per day), each "
        "participant (events, first and last event, active days, events per type, longest "
        "silence, and gaps and duplicates in their own sequence of base.index/object.index), "
        "the participant x day activity matrix, the share of events missing each field per "
        "event type, and findings: what looks wrong, in plain words. Times are each event's "
        "timestamp, or its stored_timestamp when it has none; days are UTC dates. The filters "
        "are those of bdd export. Prints a summary; --output DIR writes the full tables as "
        "CSV and report.html, a self-contained page with charts; --json prints everything as "
        "one JSON document.");
    app.add_option("study", m_study, "the study to report on")->required();
    m_filters.configure(app);
    app.add_option("-o,--output",
                   m_output,
                   "write participants.csv, activity.csv, missing_fields.csv, "
                   "sequence_gaps.csv and report.html into this folder (created if missing; not "
                   "inside the study folder)");
    app.add_flag("--force",
                 m_force,
                 "write into an --output folder that is not empty (the report's files in it "
                 "are replaced)");
    app.add_option("--silence-days",
                   m_silence_days,
                   "a participant silent for more than N days while others are active, or an "
                   "event type not seen for N days before the last event, is a finding")
        ->check(CLI::Range(1, 36500))
        ->capture_default_str();
    app.add_flag("--json", m_json, "print the whole report as one line of JSON on stdout");
  }

  Result<int> run(Context& context) override { return with_json_error(m_json, report(context)); }

private:
  Result<int> report(Context& context) {
    BDD_TRY_ASSIGN(const auto config, context.resolve(m_study, false));
    ops::ReportOptions options;
    options.filters = m_filters.args();
    if (m_output) {
      options.output = *m_output;
    }
    options.force = m_force;
    options.limits.silence_days = m_silence_days;
    options.stop = context.stop;
    options.environment = context.environment;
    options.on_wait = [this](const std::string& holder) {
      spdlog::warn(
          "waiting for the running download of study \"{}\" to finish ({})", m_study, holder);
    };
    BDD_TRY_ASSIGN(const auto result, ops::report_study(config, options));
    if (m_json) {
      print_json(report::document(result.report, result.header));
      return k_exit_success;
    }
    if (context.quiet) {
      return k_exit_success;
    }
    std::cout << report::summary(result.report, result.header, m_output.has_value());
    if (m_output) {
      std::cout << "\nwrote " << result.written.size() - 1 << " tables and report.html to "
                << absolute_path(*m_output) << "\n";
    }
    return k_exit_success;
  }

  std::string m_study;
  FilterFlags m_filters;
  std::optional<std::string> m_output;
  bool m_force = false;
  int m_silence_days = 7;
  bool m_json = false;
};

} // namespace

std::unique_ptr<Command> make_report_command() {
  return std::make_unique<ReportCommand>();
}

} // namespace bdd::cli
