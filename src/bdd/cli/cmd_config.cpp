#include "command.hpp"
#include "json_output.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace bdd::cli {

namespace {

using json = nlohmann::ordered_json;

class ConfigCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_flag("--json", m_json, "print a JSON array, one object per study (see README.md)");
  }

  Result<int> run(Context& context) override {
    auto studies = config::list_study_configs(".");
    for (const auto& study : studies) {
      context.warn_about_secret_files(study);
    }
    std::vector<std::string> invalid;
    if (m_json) {
      print_studies_json(context, studies, invalid);
      return invalid_configs(invalid);
    }
    if (studies.empty()) {
      std::cout << "no study configs in study_configs/ (create one with `bdd create-config "
                   "<study>`)\n";
      return 0;
    }
    for (const auto& study : studies) {
      auto config = context.resolve(study, false);
      if (!config) {
        std::cout << study << "\tinvalid: " << config.error().message << '\n';
        invalid.push_back(study);
        continue;
      }
      std::string key = config->api_key.empty()
                            ? "no API key (set " + config::study_key_variable(study) + ")"
                            : "API key from " + config->api_key_origin.description;
      std::cout << study << '\t' << key << '\t' << config->format << '\t'
                << (config->data_directory / study).string() << '\n';
    }
    return invalid_configs(invalid);
  }

private:
  // Exit code 3 when a config is invalid, so that a script or a CI check notices; what is wrong
  // with each was printed beside it.
  static Result<int> invalid_configs(const std::vector<std::string>& invalid) {
    if (invalid.empty()) {
      return 0;
    }
    std::string names;
    for (const auto& study : invalid) {
      names += (names.empty() ? "\"" : ", \"") + study + "\"";
    }
    return Error(Errc::config,
                 (invalid.size() == 1 ? "the config of study " : "the configs of studies ") + names
                     + (invalid.size() == 1 ? " is" : " are")
                     + " invalid (fix what is shown beside each, then run bdd config again)");
  }

  // Never the key: only where it comes from. An invalid config gives nulls and `error`.
  void print_studies_json(Context& context,
                          const std::vector<std::string>& studies,
                          std::vector<std::string>& invalid) {
    json array = json::array();
    for (const auto& study : studies) {
      json entry{{"study", study},
                 {"config_file",
                  absolute_path(std::filesystem::path("study_configs") / (study + ".json"))},
                 {"key_source", nullptr},
                 {"key_set", false},
                 {"format", nullptr},
                 {"data_directory", nullptr},
                 {"folder_structure", nullptr},
                 {"partition_naming", nullptr},
                 {"error", nullptr}};
      auto config = context.resolve(study, false);
      if (!config) {
        entry["error"] = config.error().message;
        invalid.push_back(study);
      } else {
        if (!config->files_read.empty()) {
          entry["config_file"] = absolute_path(config->files_read.back());
        }
        entry["key_set"] = !config->api_key.empty();
        entry["key_source"] = or_null(config->api_key_origin.description);
        entry["format"] = config->format;
        entry["data_directory"] = absolute_path(config->data_directory);
        entry["folder_structure"] = config->folder_structure;
        entry["partition_naming"] = config->partition_naming;
      }
      array.push_back(std::move(entry));
    }
    print_json(array);
  }

  bool m_json = false;
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
