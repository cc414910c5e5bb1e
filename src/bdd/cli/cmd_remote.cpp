#include "command.hpp"

#include <bdd/ops/study.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

namespace bdd::cli {

namespace {

class FetchCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study to check")->required();
  }

  Result<int> run(Context& context) override {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, true));
    BDD_TRY_ASSIGN(auto status, ops::study_status(config));
    BDD_TRY_ASSIGN(std::uint64_t total, ops::remote_total(config));
    std::uint64_t local = status.metadata ? status.metadata->events_stored : 0;
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

private:
  std::string m_study;
};

class RemoteCommand final : public Command {
public:
  void configure(CLI::App&) override {}

  Result<int> run(Context& context) override {
    auto studies = config::list_study_configs(".");
    if (studies.empty()) {
      std::cout << "no studies configured (create one with `bdd create-config <study>`)\n";
      return 0;
    }
    int failures = 0;
    for (const auto& study : studies) {
      auto config = context.resolve(study, true);
      if (!config) {
        std::cout << study << "\t-\t" << config.error().message << '\n';
        ++failures;
        continue;
      }
      auto total = ops::remote_total(*config);
      if (!total) {
        std::cout << study << '\t' << config->base_url << "\terror: " << total.error().message
                  << '\n';
        ++failures;
        continue;
      }
      std::cout << study << '\t' << config->base_url << '\t' << *total << " events\n";
    }
    return failures == 0 ? 0 : 1;
  }
};

class TestConnectionCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study whose key to test (default: every configured study)");
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
        std::cout << study << ": FAILED: " << checked.error().message << '\n';
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
    std::cout << study << ": OK: " << config.base_url << " accepted the key from "
              << config.api_key_origin.description << "; the study holds " << total
              << " events\n";
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
