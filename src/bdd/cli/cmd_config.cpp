#include "command.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace bdd::cli {

namespace {

class ConfigCommand final : public Command {
public:
  void configure(CLI::App&) override {}

  Result<int> run(Context& context) override {
    auto studies = config::list_study_configs(".");
    if (studies.empty()) {
      std::cout << "no study configs in study_configs/ (create one with `bdd create-config "
                   "<study>`)\n";
      return 0;
    }
    for (const auto& study : studies) {
      auto config = context.resolve(study, false);
      if (!config) {
        std::cout << study << "\tinvalid: " << config.error().message << '\n';
        continue;
      }
      std::string key = config->api_key.empty()
                            ? "no API key (set " + config::study_key_variable(study) + ")"
                            : "API key from " + config->api_key_origin.description;
      std::cout << study << '\t' << key << '\t' << config->format << '\t'
                << (config->data_directory / study).string() << '\n';
    }
    return 0;
  }
};

class CreateConfigCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study to create a config for")->required();
  }

  Result<int> run(Context&) override {
    BDD_TRY(config::validate_study_name(m_study));
    BDD_TRY_ASSIGN(auto path, config::create_study_config(".", m_study));
    std::cout << "created " << path.string() << "\nput the study's key in .env as "
              << config::study_key_variable(m_study) << "=<key>, then run `bdd test-connection "
              << m_study << "`\n";
    return 0;
  }

private:
  std::string m_study;
};

} // namespace

std::unique_ptr<Command> make_config_command() {
  return std::make_unique<ConfigCommand>();
}

std::unique_ptr<Command> make_create_config_command() {
  return std::make_unique<CreateConfigCommand>();
}

} // namespace bdd::cli
