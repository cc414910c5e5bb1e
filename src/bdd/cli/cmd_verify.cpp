#include "command.hpp"
#include "exit_codes.hpp"

#include <bdd/ops/verify.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

namespace bdd::cli {

namespace {

class VerifyCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.footer(
        "check that the local copy of a study is complete and intact: every data file parses, "
        "no event is stored twice, the counts agree and each file matches the SHA-256 recorded "
        "at the last commit (.bdd/manifest.sha256); exits with 9 if anything is wrong");
    app.add_option("study", m_study, "the study to verify")->required();
    app.add_flag("--remote",
                 m_remote,
                 "also check page by page that every event on the server is stored locally");
    app.add_flag("--json", m_json, "print the findings as one JSON object");
  }

  Result<int> run(Context& context) override {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, m_remote));
    ops::VerifyOptions options;
    options.remote = m_remote;
    options.stop = context.stop;
    BDD_TRY_ASSIGN(auto report, ops::verify(config, options));
    if (m_json) {
      print_json(report);
    } else {
      print_text(report, context.quiet);
    }
    return report.ok() ? k_exit_success : k_exit_verify_failed;
  }

private:
  void print_json(const ops::VerifyReport& report) const {
    nlohmann::ordered_json findings = nlohmann::ordered_json::array();
    for (const auto& finding : report.findings) {
      findings.push_back({{"kind", finding.kind},
                          {"file", finding.file},
                          {"line", finding.line},
                          {"id", finding.id},
                          {"message", finding.message},
                          {"error", finding.error}});
    }
    nlohmann::ordered_json out = {{"study", m_study},
                                  {"ok", report.ok()},
                                  {"events", report.events},
                                  {"files", report.files}};
    if (report.remote_total) {
      out["remote_total"] = *report.remote_total;
    }
    out["findings"] = std::move(findings);
    std::cout << out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  }

  void print_text(const ops::VerifyReport& report, bool quiet) const {
    for (const auto& finding : report.findings) {
      if (quiet && !finding.error) {
        continue;
      }
      std::cout << finding.kind << ": ";
      if (!finding.file.empty()) {
        std::cout << (report.study_dir / finding.file).string() << ':';
        if (finding.line > 0) {
          std::cout << finding.line << ':';
        }
        std::cout << ' ';
      }
      std::cout << finding.message << '\n';
    }
    std::size_t problems = 0;
    for (const auto& finding : report.findings) {
      problems += finding.error ? 1 : 0;
    }
    if (problems == 0 && quiet) {
      return;
    }
    std::cout << "verified " << report.events << " events in " << report.files << " files";
    if (report.remote_total) {
      std::cout << " (server total " << *report.remote_total << ")";
    }
    if (problems == 0) {
      std::cout << ": OK\n";
    } else {
      std::cout << ": " << problems << (problems == 1 ? " problem" : " problems")
                << " found (run bdd download " << m_study << " --repair)\n";
    }
  }

  std::string m_study;
  bool m_remote = false;
  bool m_json = false;
};

} // namespace

std::unique_ptr<Command> make_verify_command() {
  return std::make_unique<VerifyCommand>();
}

} // namespace bdd::cli
