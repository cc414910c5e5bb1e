#include "command.hpp"
#include "json_output.hpp"
#include "logging.hpp"

#include <bdd/ops/study.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

namespace bdd::cli {

namespace {

using json = nlohmann::ordered_json;

class FetchCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study to check")->required();
    app.add_flag("--json", m_json, "print one JSON object (see README.md, Scripting)");
  }

  Result<int> run(Context& context) override { return with_json_error(m_json, check(context)); }

private:
  Result<int> check(Context& context) {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, true));
    BDD_TRY_ASSIGN(auto status, ops::study_status(config));
    BDD_TRY_ASSIGN(std::uint64_t total, ops::remote_total(config));
    std::uint64_t local = status.metadata ? status.metadata->events_stored : 0;
    if (m_json) {
      print_json(json{{"study", m_study},
                      {"remote_total", total},
                      {"local_events", local},
                      {"new_events", total > local ? total - local : 0}});
      return 0;
    }
    std::cout << "remote: " << total << " events\n"
              << "local:  " << local << " events\n";
    if (total > local) {
      std::cout << total - local << " new events to download (run `bdd download " << m_study
                << "`)\n";
    } else if (total == local) {
      std::cout << "up to date\n";
    } else {
      std::cout << "the server holds " << local - total
                << " fewer events than stored locally (events were deleted on the server)\n";
    }
    return 0;
  }

  std::string m_study;
  bool m_json = false;
};

class RemoteCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_flag("--json", m_json, "print a JSON array, one object per study (see README.md)");
  }

  Result<int> run(Context& context) override {
    auto studies = config::list_study_configs(".");
    if (m_json) {
      return print_studies_json(context, studies);
    }
    if (studies.empty()) {
      std::cout << "no studies configured (create one with `bdd create-config <study>`)\n";
      return 0;
    }
    int failures = 0;
    for (const auto& study : studies) {
      auto config = context.resolve(study, true);
      if (!config) {
        std::cout << study << "\t-\t" << Logging::redact(config.error().message) << '\n';
        ++failures;
        continue;
      }
      auto total = ops::remote_total(*config);
      if (!total) {
        std::cout << study << '\t' << Logging::redact(config->base_url)
                  << "\terror: " << Logging::redact(total.error().message) << '\n';
        ++failures;
        continue;
      }
      std::cout << study << '\t' << Logging::redact(config->base_url) << '\t' << *total
                << " events\n";
    }
    return failures == 0 ? 0 : 1;
  }

private:
  // Same checks and exit code as the text output; failures are in each object's `error`.
  int print_studies_json(Context& context, const std::vector<std::string>& studies) {
    int failures = 0;
    json array = json::array();
    for (const auto& study : studies) {
      json entry{
          {"study", study}, {"base_url", nullptr}, {"remote_total", nullptr}, {"error", nullptr}};
      auto config = context.resolve(study, true);
      if (!config) {
        entry["error"] = Logging::redact(config.error().message);
        ++failures;
      } else {
        entry["base_url"] = Logging::redact(config->base_url);
        auto total = ops::remote_total(*config);
        if (total) {
          entry["remote_total"] = *total;
        } else {
          entry["error"] = Logging::redact(total.error().message);
          ++failures;
        }
      }
      array.push_back(std::move(entry));
    }
    print_json(array);
    return failures == 0 ? 0 : 1;
  }

  bool m_json = false;
};

class TestConnectionCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option(
        "study", m_study, "the study whose key to test (default: every configured study)");
  }

  Result<int> run(Context& context) override {
    std::vector<std::string> studies;
    if (!m_study.empty()) {
      studies.push_back(m_study);
    } else {
      studies = config::list_study_configs(".");
      if (studies.empty()) {
        return Error(Errc::usage,
                     "no study given and none configured in study_configs/ (use `bdd "
                     "test-connection <study>`)");
      }
    }
    std::optional<Error> first_error;
    for (const auto& study : studies) {
      auto checked = check(context, study);
      if (!checked) {
        if (studies.size() == 1) {
          return std::move(checked).error();
        }
        std::cout << study << ": FAILED: " << Logging::redact(checked.error().message) << '\n';
        if (!first_error) {
          first_error = checked.error();
        }
      }
    }
    if (first_error) {
      return Error(first_error->code, "some connections failed");
    }
    return 0;
  }

private:
  Result<void> check(Context& context, const std::string& study) {
    BDD_TRY_ASSIGN(auto config, context.resolve(study, true));
    BDD_TRY_ASSIGN(std::uint64_t total, ops::remote_total(config));
    std::cout << study << ": OK: " << Logging::redact(config.base_url) << " accepted the key from "
              << config.api_key_origin.description << "; the study holds " << total << " events\n";
    return ok();
  }

  std::string m_study;
};

} // namespace

std::unique_ptr<Command> make_fetch_command() {
  return std::make_unique<FetchCommand>();
}

std::unique_ptr<Command> make_remote_command() {
  return std::make_unique<RemoteCommand>();
}

std::unique_ptr<Command> make_test_connection_command() {
  return std::make_unique<TestConnectionCommand>();
}

} // namespace bdd::cli
