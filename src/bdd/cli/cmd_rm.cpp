#include "command.hpp"

#include <bdd/ops/study.hpp>

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace bdd::cli {

namespace {

class RmCommand final : public Command {
public:
  void configure(CLI::App& app) override {
    app.add_option("study", m_study, "the study whose local data to delete")->required();
    app.add_flag("-f,--force", m_force, "delete without asking");
  }

  Result<int> run(Context& context) override {
    BDD_TRY_ASSIGN(auto config, context.resolve(m_study, false));
    BDD_TRY(ops::check_removable(config)); // before asking: refused with or without --force
    if (!m_force) {
      if (!context.stdin_is_terminal) {
        return Error(Errc::usage,
                     "refusing to delete the data of \"" + m_study
                         + "\" without confirmation; use `bdd rm --force " + m_study + "`");
      }
      std::cerr << "delete all local data of study \"" << m_study << "\" in \""
                << (config.data_directory / m_study).string() << "\"? [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") {
        std::cerr << "nothing deleted\n";
        return 1;
      }
    }
    BDD_TRY_ASSIGN(auto removed, ops::remove_study(config));
    if (!context.quiet) {
      std::cout << "deleted " << removed.string() << '\n';
    }
    return 0;
  }

private:
  std::string m_study;
  bool m_force = false;
};

} // namespace

std::unique_ptr<Command> make_rm_command() {
  return std::make_unique<RmCommand>();
}

} // namespace bdd::cli
