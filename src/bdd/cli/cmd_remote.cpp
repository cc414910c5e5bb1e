#include "command.hpp"
#include "json_output.hpp"
#include "logging.hpp"

#include <bdd/ops/records.hpp>
#include <bdd/ops/remote.hpp>
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
    BDD_TRY_ASSIGN(auto counts, ops::compare_with_remote(config));
    if (m_json) {
      print_json(json{{"study", m_study},
                      {"remote_total", counts.remote_total},
                      {"local_events", counts.local_events},
                      {"new_events", counts.new_events}});
      return 0;
    }
    std::cout << "remote: " << ops::counted(counts.remote_total, "event") << '\n'
              << "local:  " << ops::counted(counts.local_events, "event") << '\n';
    if (counts.new_events > 0) {
      std::cout << ops::counted(counts.new_events, "new event")
                << " to download (run `bdd download " << m_study << "`)\n";
    } else if (counts.fewer_on_server == 0) {
      std::cout << "up to date\n";
    } else {
      std::cout << "the server holds " << ops::counted(counts.fewer_on_server, "event")
                << " fewer than stored locally (deleted on the server; kept here)\n";
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
      std::cout << study << '\t' << Logging::redact(config->base_url) << '\t'
                << ops::counted(*total, "event") << '\n';
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
    app.add_flag("--json",
                 m_json,
                 "print one JSON object (an array without a study; see README.md, Scripting)");
  }

  Result<int> run(Context& context) override {
    std::vector<std::string> studies;
    if (!m_study.empty()) {
      studies.push_back(m_study);
    } else {
      studies = config::list_study_configs(".");
      if (studies.empty()) {
        return with_json_error(m_json,
                               Error(Errc::usage,
                                     "no study given and none configured in study_configs/ (use "
                                     "`bdd test-connection <study>`)"));
      }
    }
    std::optional<Error> first_error;
    json array = json::array();
    for (const auto& study : studies) {
      auto checked = check(context, study);
      if (m_json && !m_study.empty()) {
        print_json(checked.report); // one object, also on failure
      } else if (m_json) {
        array.push_back(std::move(checked.report));
      }
      if (checked.error) {
        if (studies.size() == 1 && (!m_json || !m_study.empty())) {
          return std::move(*checked.error);
        }
        if (!m_json) {
          std::cout << study << ": FAILED: " << Logging::redact(checked.error->message) << '\n';
        }
        if (!first_error) {
          first_error = checked.error;
        }
      }
    }
    if (m_json && m_study.empty()) {
      print_json(array);
    }
    if (first_error) {
      return Error(first_error->code, "some connections failed (see above)");
    }
    return 0;
  }

private:
  struct Checked {
    json report;                // the --json object of the study
    std::optional<Error> error; // why it failed
  };

  // Never the key, in the text or the JSON: only where it came from.
  Checked check(Context& context, const std::string& study) {
    Checked out;
    out.report = json{{"study", study},
                      {"ok", false},
                      {"status", nullptr},
                      {"base_url", nullptr},
                      {"key_source", nullptr},
                      {"latency_ms", nullptr},
                      {"remote_total", nullptr},
                      {"error", nullptr}};
    auto fail = [&](const Error& error) {
      out.report["status"] = errc_name(error.code);
      out.report["error"] =
          json{{"kind", errc_name(error.code)}, {"message", Logging::redact(error.message)}};
      out.error = error;
      return std::move(out);
    };
    auto config = context.resolve(study, true);
    if (!config) {
      return fail(config.error());
    }
    out.report["base_url"] = Logging::redact(config->base_url);
    out.report["key_source"] = config->api_key_origin.description;
    auto connection = ops::check_connection(*config);
    if (!connection) {
      return fail(connection.error());
    }
    out.report["ok"] = true;
    out.report["status"] = "ok";
    out.report["latency_ms"] = connection->latency.count();
    out.report["remote_total"] = connection->remote_total;
    if (!m_json) {
      std::cout << study << ": OK: " << Logging::redact(config->base_url)
                << " accepted the key from " << config->api_key_origin.description
                << "; the study holds " << ops::counted(connection->remote_total, "event") << " ("
                << connection->latency.count() << " ms)\n";
    }
    return out;
  }

  std::string m_study;
  bool m_json = false;
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
