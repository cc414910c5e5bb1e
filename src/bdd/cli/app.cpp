#include "app.hpp"

#include "command.hpp"
#include "exit_codes.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <iostream>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace bdd::cli {

namespace {

std::atomic<bool> g_stop{false};

// First signal: ask the download to stop after its current commit. Second: die at once, which is
// safe because every commit is crash-safe.
extern "C" void on_stop_signal(int signal_number) {
  if (g_stop.exchange(true)) {
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  constexpr const char k_message[] =
      "\nbdd: stopping after the current commit (press Ctrl-C again to stop at once)\n";
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, k_message, sizeof k_message - 1);
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (equals) {
      environment.emplace(std::string(*entry, static_cast<std::size_t>(equals - *entry)), std::string(equals + 1));
    }
  }
  return environment;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "did you mean" for a mistyped subcommand (CLI11 has none).
std::optional<std::string> unknown_command_hint(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-C" || arg == "--config") {
      ++i; // skip the option's value
      continue;
    }
    if (arg.empty() || arg[0] == '-') {
      continue;
    }
    for (const auto& command : commands()) {
      if (command.name == arg) {
        return std::nullopt;
      }
    }
    std::string message = "'" + std::string(arg) + "' is not a bdd command";
    std::size_t best = 3;
    for (const auto& command : commands()) {
      std::size_t distance = edit_distance(arg, command.name);
      if (distance < best) {
        best = distance;
        message = "'" + std::string(arg) + "' is not a bdd command; did you mean '"
                  + std::string(command.name) + "'?";
      }
    }
    return message + " (see bdd --help)";
  }
  return std::nullopt;
}

void configure_logging(bool quiet, int verbosity) {
  auto logger = spdlog::stderr_logger_st("bdd");
  logger->set_pattern("bdd: %l: %v");
  logger->set_level(quiet ? spdlog::level::err
                          : (verbosity > 0 ? spdlog::level::debug : spdlog::level::info));
  spdlog::set_default_logger(logger);
}

int report(const Error& error) {
  std::cerr << "bdd: error: " << error.message << '\n';
  return exit_code_for(error.code);
}

} // namespace

Result<config::Config> Context::resolve(const std::string& study, bool require_key) const {
  BDD_TRY(config::validate_study_name(study));
  config::Sources sources;
  sources.work_dir = ".";
  sources.config = config_flag;
  sources.environment = environment;
  return config::resolve(study, sources, require_key);
}

int run(int argc, char** argv) {
  CLI::App app{"bdd: download Behaverse study data and keep it current on disk", "bdd"};
  app.footer("Run `bdd <command> --help` for the options of a command. Documentation: README.md");
  app.set_version_flag("--version", "bdd " BDD_VERSION);
  app.require_subcommand(1);

  std::string directory;
  std::string config_flag;
  bool quiet = false;
  int verbosity = 0;
  app.add_option("-C", directory, "run as if bdd was started in this directory")
      ->type_name("DIR");
  app.add_option("--config", config_flag, "study config to use: a name in study_configs/ or a path")
      ->type_name("CONFIG");
  app.add_flag("-q,--quiet", quiet, "print errors only");
  app.add_flag("-v,--verbose", verbosity, "print more detail");

  std::vector<std::unique_ptr<Command>> instances;
  std::vector<CLI::App*> subcommands;
  for (const auto& info : commands()) {
    auto command = info.make();
    CLI::App* sub = app.add_subcommand(std::string(info.name), std::string(info.summary));
    command->configure(*sub);
    subcommands.push_back(sub);
    instances.push_back(std::move(command));
  }
  // `bdd help [command]` is `bdd [command] --help`.
  CLI::App* help = app.add_subcommand("help", "show help for bdd or one of its commands");
  std::string help_topic;
  help->add_option("command", help_topic, "the command to explain");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (auto hint = unknown_command_hint(argc, argv);
        hint && error.get_exit_code() != static_cast<int>(CLI::ExitCodes::Success)) {
      std::cerr << "bdd: error: " << *hint << '\n';
      return k_exit_usage;
    }
    int code = app.exit(error);
    return code == 0 ? k_exit_success : k_exit_usage;
  }

  if (help->parsed()) {
    for (std::size_t i = 0; i < subcommands.size(); ++i) {
      if (subcommands[i]->get_name() == help_topic) {
        std::cout << subcommands[i]->help();
        return k_exit_success;
      }
    }
    if (!help_topic.empty()) {
      std::cerr << "bdd: error: '" << help_topic << "' is not a bdd command (see bdd --help)\n";
      return k_exit_usage;
    }
    std::cout << app.help();
    return k_exit_success;
  }

  configure_logging(quiet, verbosity);
  if (!directory.empty() && ::chdir(directory.c_str()) != 0) {
    std::cerr << "bdd: error: -C \"" << directory << "\": " << std::strerror(errno) << '\n';
    return k_exit_usage;
  }

  Context context;
  context.environment = process_environment();
  if (auto loaded = config::load_dotenv(".", context.environment); !loaded) {
    return report(loaded.error());
  }
  if (!config_flag.empty()) {
    context.config_flag = config_flag;
  }
  context.quiet = quiet;
  context.stdin_is_terminal = ::isatty(STDIN_FILENO) != 0;
  context.stderr_is_terminal = ::isatty(STDERR_FILENO) != 0;
  context.stop = &g_stop;
  install_signal_handlers();

  for (std::size_t i = 0; i < subcommands.size(); ++i) {
    if (!subcommands[i]->parsed()) {
      continue;
    }
    try {
      auto result = instances[i]->run(context);
      if (!result) {
        return report(result.error());
      }
      return *result;
    } catch (const std::exception& e) {
      // A safety net only: library boundaries turn exceptions into Error values.
      return report(Error(Errc::internal, std::string("unexpected failure: ") + e.what()));
    }
  }
  return k_exit_usage;
}

} // namespace bdd::cli
