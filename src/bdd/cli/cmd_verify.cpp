#include "command.hpp"
#include "exit_codes.hpp"
#include "json_output.hpp"
#include "logging.hpp"

#include <bdd/ops/verify.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>

namespace bdd::cli {

namespace {

using json = nlohmann::ordered_json;

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
    app.add_flag("--json",
                 m_json,
                 "print the findings as one line of JSON, also on failure (see README.md)");
  }

  Result<int> run(Context& context) override {
    auto report = check(context);
    if (!report) {
      if (m_json) {
        // The same object, so that a script reads one shape: no counts, the error.
        print_json(json{{"study", m_study},
                        {"ok", false},
                        {"events", nullptr},
                        {"files", nullptr},
                        {"findings", json::array()},
                        {"error",
                         {{"kind", errc_name(report.error().code)},
                          {"message", Logging::redact(report.error().message)}}}});
      }
      return std::move(report).error();
    }
    if (m_json) {
      print_json(report_json(*report));
    } else {
      print_text(*report, context.quiet);
    }
    return report->ok() ? k_exit_success : k_exit_verify_failed;
  }

private:
  Result<ops::VerifyReport> check(Context& context) {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, m_remote));
    ops::VerifyOptions options;
    options.remote = m_remote;
    options.stop = context.stop;
    options.on_wait = [this](const std::string& holder) {
      spdlog::warn(
          "waiting for the running download of study \"{}\" to finish ({})", m_study, holder);
    };
    return ops::verify(config, options);
  }

  json report_json(const ops::VerifyReport& report) const {
    json findings = json::array();
    for (const auto& finding : report.findings) {
      findings.push_back({{"kind", finding.kind},
                          {"file", finding.file},
                          {"line", finding.line},
                          {"id", finding.id},
                          {"message", finding.message},
                          {"error", finding.error}});
    }
    json out = {{"study", m_study},
                {"ok", report.ok()},
                {"events", report.events},
                {"files", report.files}};
    if (report.remote_total) {
      out["remote_total"] = *report.remote_total;
    }
    out["findings"] = std::move(findings);
    out["error"] = nullptr;
    return out;
  }

  // Events on the server that are only newer than the local copy: every problem is an event not
  // downloaded, at a server position past the events stored (the server appends). Then the fix
  // is a plain download, not --repair. Returns how many, or 0 if that is not the case.
  static std::uint64_t only_new_on_server(const ops::VerifyReport& report) {
    std::uint64_t listed = 0;
    for (const auto& finding : report.findings) {
      if (!finding.error) {
        continue;
      }
      // line 0: the summary of findings beyond those listed, which come later on the server.
      if (finding.kind != "not_downloaded"
          || (finding.line != 0 && finding.line <= report.events)) {
        return 0;
      }
      listed += finding.line != 0 ? 1 : 0;
    }
    if (listed == 0) {
      return 0;
    }
    if (report.remote_total && *report.remote_total > report.events) {
      return std::max(listed, *report.remote_total - report.events);
    }
    return listed;
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
    std::cout << "verified " << count(report.events, "event", "events") << " in "
              << count(report.files, "file", "files");
    if (report.remote_total) {
      std::cout << " (server total " << *report.remote_total << ")";
    }
    if (problems == 0) {
      std::cout << ": OK\n";
    } else if (auto fresh = only_new_on_server(report); fresh > 0) {
      std::cout << ": " << count(fresh, "new event", "new events")
                << " on the server: run bdd download " << m_study << '\n';
    } else {
      std::cout << ": " << count(problems, "problem", "problems") << " found (run bdd download "
                << m_study << " --repair)\n";
    }
  }

  static std::string count(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + ' ' + (n == 1 ? one : many);
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
