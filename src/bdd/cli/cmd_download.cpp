#include "command.hpp"
#include "progress.hpp"

#include <bdd/ops/download.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

namespace bdd::cli {

namespace {

class DownloadCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study to download")->required();
    app.add_flag("--fresh",
                 m_fresh,
                 "download everything again into a new folder, swapped in when complete");
  }

  Result<int> run(Context& context) override {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, true));
    ProgressDisplay display(context.quiet ? ProgressDisplay::Mode::silent
                            : context.stderr_is_terminal ? ProgressDisplay::Mode::bar
                                                         : ProgressDisplay::Mode::log_lines);
    ops::DownloadOptions options;
    options.fresh = m_fresh;
    options.stop = context.stop;
    options.on_progress = [&display](const ops::DownloadProgress& progress) {
      display.update(progress);
    };
    auto report = ops::download(config, options);
    display.finish();
    BDD_TRY(report);
    if (!context.quiet) {
      const auto& run = report->run;
      if (run.events_added == 0) {
        std::cout << "no new events for " << m_study;
      } else {
        std::cout << "downloaded " << run.events_added << " new events for " << m_study;
      }
      std::cout << " (" << run.events_received << " received, " << run.duplicates_skipped
                << " duplicates skipped, " << run.pages << " pages); " << report->events_stored
                << " events stored in " << report->study_dir.string() << '\n';
    }
    return 0;
  }

private:
  std::string m_study;
  bool m_fresh = false;
};

} // namespace

std::unique_ptr<Command> make_download_command() {
  return std::make_unique<DownloadCommand>();
}

} // namespace bdd::cli
