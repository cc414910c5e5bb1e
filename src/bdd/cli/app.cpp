#include "app.hpp"

#include "command.hpp"
#include "exit_codes.hpp"
#include "logging.hpp"

#include <bdd/core/environment.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <iostream>
#include <vector>

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

// Pages are parsed by the fetching threads and freed by the consumer. glibc gives each thread
// an arena of its own, each of which keeps freed memory for reuse: with four fetching threads
// that is several megabytes held twice. Two arenas are enough for a handful of threads. Before
// any thread starts.
void limit_allocator_arenas() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 2);
#endif
}

// SQLite counts every allocation under one process-wide mutex unless told not to, and Debian's
// build has no lookaside, so every small allocation is one: a download's two threads that use
// SQLite (the one storing events in the sqlite format, the one committing the state) would take
// turns on it. bdd never reads those statistics. Before SQLite is first used; later it is a
// harmless no-op.
void disable_sqlite_memory_statistics() {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

// A write past the file size limit (`ulimit -f`) raises SIGXFSZ, whose default action kills the
// process mid-commit with no message. Ignored, the write fails with EFBIG instead, which the
// writers report as a storage error naming the file (exit code 8) like a full disk. Done before
// anything is written, the log file included.
void ignore_file_size_signal() {
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  sigaction(SIGXFSZ, &action, nullptr);
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
    if (arg == "-C" || arg == "--config" || arg == "--log-file") {
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

// NO_COLOR (https://no-color.org): any non-empty value turns colour off.
bool use_color(const std::map<std::string, std::string>& environment) {
  auto no_color = environment.find("NO_COLOR");
  return ::isatty(STDERR_FILENO) != 0
         && (no_color == environment.end() || no_color->second.empty());
}

// The colour decision is needed before logging is set up (parse errors).
void print_early_error(bool color, const std::string& message) {
  std::cerr << "bdd: " << (color ? "\x1b[1;31merror:\x1b[0m " : "error: ") << message << '\n';
}

// The value of the `study` positional of `sub`, if it has one and it was given.
std::string study_argument(const CLI::App& sub) {
  const CLI::Option* option = sub.get_option_no_throw("study");
  if (option == nullptr || option->count() == 0) {
    return "";
  }
  return option->results().front();
}

std::string joined_arguments(int argc, char** argv) {
  std::string text;
  for (int i = 1; i < argc; ++i) {
    text += (i > 1 ? " " : "") + std::string(argv[i]);
  }
  return text;
}

} // namespace

Result<config::Config> Context::resolve(const std::string& study, bool require_key) const {
  BDD_TRY(config::validate_study_name(study));
  config::Sources sources;
  sources.work_dir = ".";
  sources.config = config_flag;
  sources.environment = environment;
  if (require_key) {
    BDD_TRY(config::check_key_destination(study, sources));
  }
  auto config = config::resolve(study, sources, require_key);
  if (config) {
    Logging::add_secret(config->api_key);
  }
  if (require_key) {
    warn_about_secret_files(study);
    // An opt-out that exposes the key to anyone on the network path must not go unnoticed,
    // least of all from cron: say it on every run that sends the key.
    if (config && !config->verify_tls && m_warned_unverified.insert(study).second) {
      spdlog::warn("study \"{}\": api.verify_tls is false, so the server's TLS certificate is "
                   "not checked and anyone between bdd and the server can read the API key and "
                   "the data (remove the setting unless you trust the network path)",
                   study);
    }
  }
  return config;
}

void Context::warn_about_secret_files(const std::string& study) const {
  config::Sources sources;
  sources.work_dir = ".";
  sources.config = config_flag;
  sources.environment = environment;
  for (const auto& file : config::world_readable_secret_files(sources, study)) {
    if (m_warned_files.insert(file).second) {
      spdlog::warn(
          "\"{}\" holds an API key and is readable by other users (chmod 600 \"{}\")", file, file);
    }
  }
}

int run(int argc, char** argv) {
  limit_allocator_arenas();
  disable_sqlite_memory_statistics();
  ignore_file_size_signal();
  CLI::App app{"bdd: download Behaverse study data and keep it current on disk", "bdd"};
  app.footer("Run `bdd <command> --help` for the options of a command. Documentation: README.md");
  app.set_version_flag("--version", "bdd " BDD_VERSION);
  app.require_subcommand(1);

  const auto environment = process_environment();
  const bool color = use_color(environment);
  std::string directory;
  std::string config_flag;
  std::string log_file;
  bool quiet = false;
  int verbosity = 0;
  app.add_option("-C", directory, "run as if bdd was started in this directory")->type_name("DIR");
  app.add_option("--config", config_flag, "study config to use: a name in study_configs/ or a path")
      ->type_name("CONFIG");
  app.add_flag("-q,--quiet", quiet, "print errors only");
  app.add_flag("-v,--verbose", verbosity, "print more detail");
  app.add_option("--log-file", log_file, "append a JSON lines log of this run to this file")
      ->type_name("PATH");

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
      print_early_error(color, *hint);
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
      print_early_error(color, "'" + help_topic + "' is not a bdd command (see bdd --help)");
      return k_exit_usage;
    }
    std::cout << app.help();
    return k_exit_success;
  }

  std::size_t selected = 0;
  while (selected < subcommands.size() && !subcommands[selected]->parsed()) {
    ++selected;
  }
  if (selected == subcommands.size()) {
    return k_exit_usage;
  }

  Logging logging({quiet, verbosity, color});
  logging.start(subcommands[selected]->get_name(),
                study_argument(*subcommands[selected]),
                joined_arguments(argc, argv));
  // Every way out below goes through here: the error printed once, the end record logged.
  auto finish = [&logging](const Result<int>& result) {
    int code = result ? *result : exit_code_for(result.error().code);
    if (!result) {
      logging.print_error(result.error().message);
    }
    logging.finish(code);
    return code;
  };

  if (!directory.empty() && ::chdir(directory.c_str()) != 0) {
    return finish(Error(Errc::usage, "-C \"" + directory + "\": " + std::strerror(errno)));
  }
  // Relative to -C, like every other path bdd reads or writes.
  if (!log_file.empty()) {
    if (auto added = logging.add_file(log_file); !added) {
      return finish(std::move(added).error());
    }
  }

  Context context;
  context.environment = environment;
  if (auto loaded = config::load_dotenv(".", context.environment); !loaded) {
    return finish(std::move(loaded).error());
  }
  if (!config_flag.empty()) {
    context.config_flag = config_flag;
  }
  context.quiet = quiet;
  context.stdin_is_terminal = ::isatty(STDIN_FILENO) != 0;
  context.stderr_is_terminal = ::isatty(STDERR_FILENO) != 0;
  context.stop = &g_stop;
  context.logging = &logging;
  context.log_file_given = !log_file.empty();
  install_signal_handlers();

  try {
    return finish(instances[selected]->run(context));
  } catch (const std::exception& e) {
    // A safety net only: library boundaries turn exceptions into Error values.
    return finish(Error(Errc::internal, std::string("unexpected failure: ") + e.what()));
  }
}

} // namespace bdd::cli
