#include "app.hpp"

#include "command.hpp"
#include "exit_codes.hpp"
#include "logging.hpp"

#include <bdd/core/environment.hpp>
#include <bdd/core/text.hpp>
#include <bdd/ops/process.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
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

// `word`'s letters appear in `name` in order, starting with its first ("dl" in "download").
bool is_abbreviation(std::string_view word, std::string_view name) {
  if (word.empty() || name.empty() || word[0] != name[0]) {
    return false;
  }
  std::size_t at = 0;
  for (char c : name) {
    if (at < word.size() && c == word[at]) {
      ++at;
    }
  }
  return at == word.size();
}

// The name the user most likely meant by `word`: the shortest that `word` begins ("stat"), else
// the shortest that `word` abbreviates ("dl", "verfy"), else the nearest by edit distance when it
// is a plausible typo ("downlod", "conifg"). Edit distance alone picks "rm" for "dl".
std::optional<std::string> closest_name(std::string_view word,
                                        const std::vector<std::string>& names) {
  const auto shortest = [&names](auto&& accept) -> std::optional<std::string> {
    const std::string* best = nullptr;
    for (const auto& name : names) {
      if (accept(name) && (best == nullptr || name.size() < best->size())) {
        best = &name;
      }
    }
    return best == nullptr ? std::nullopt : std::optional(*best);
  };
  if (word.empty()) {
    return std::nullopt;
  }
  if (auto prefixed = shortest([&](const std::string& name) { return name.starts_with(word); })) {
    return prefixed;
  }
  if (auto abbreviated =
          shortest([&](const std::string& name) { return is_abbreviation(word, name); })) {
    return abbreviated;
  }
  std::optional<std::string> best;
  std::size_t best_distance = word.size() < 5 ? 2 : 3; // must beat this
  for (const auto& name : names) {
    std::size_t distance = edit_distance(word, name);
    if (distance < best_distance) {
      best = name;
      best_distance = distance;
    }
  }
  return best;
}

// The global options that take a value: their value is not a command.
bool takes_value(std::string_view global_option) {
  return global_option == "-C" || global_option == "--config" || global_option == "--log-file";
}

// Where the command is: the index in argv of the first argument that is not an option (nor a
// global option's value), or of the word after a `--` that ends the global options (as in git:
// that word is the command whatever it looks like); 0 if there is none. `terminator` is the
// index of that `--`, 0 if there is none.
struct CommandPosition {
  int command = 0;
  int terminator = 0;
};

CommandPosition command_position(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (takes_value(arg)) {
      ++i;
      continue;
    }
    if (arg == "--") {
      return {i + 1 < argc ? i + 1 : 0, i};
    }
    if (!arg.empty() && arg[0] == '-') {
      continue;
    }
    return {i, 0};
  }
  return {};
}

std::optional<std::string> command_word(int argc, char** argv) {
  const int at = command_position(argc, argv).command;
  return at == 0 ? std::nullopt : std::optional<std::string>(argv[at]);
}

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (const auto& command : commands()) {
    names.emplace_back(command.name);
  }
  names.emplace_back("help");
  return names;
}

bool is_command(const std::string& word) {
  auto names = command_names();
  return std::find(names.begin(), names.end(), word) != names.end();
}

// A usage error as printed: `bdd: error: <message>` and, if not empty, `hint: <hint>`.
struct UsageError {
  std::string message;
  std::string hint;
};

UsageError unknown_command(const std::string& word) {
  std::string message = "'" + word + "' is not a bdd command";
  if (auto suggestion = closest_name(word, command_names())) {
    message += "; did you mean '" + *suggestion + "'?";
  }
  return {message, "see 'bdd --help' for the list of commands"};
}

// The long option names of `app` and of the global options, as typed ("--fresh").
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* scope : {&app, app.get_parent()}) {
    if (scope == nullptr) {
      continue;
    }
    for (const CLI::Option* option : scope->get_options()) {
      for (const auto& name : option->get_lnames()) {
        names.push_back("--" + name);
      }
    }
  }
  return names;
}

std::string lower_first(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  if (!text.empty()) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

// CLI11's message for `error`, rephrased as one line in bdd's voice. `app` is the root and
// `sub` the command being parsed (null when there is none).
UsageError
describe_parse_error(const CLI::App& app, const CLI::App* sub, const CLI::ParseError& error) {
  const std::string where = sub == nullptr ? "bdd" : "bdd " + sub->get_name();
  UsageError out{lower_first(error.what()), "see '" + where + " --help'"};
  const std::string what = error.what();
  // `--` ends options (`bdd status -- <study>`): CLI11 keeps it among the extras, but it is
  // neither an unknown option nor an unexpected argument.
  auto extras = app.remaining(true);
  std::erase(extras, "--");
  // `bdd --frob` fails for the missing command first, `bdd download --frsh` for the missing
  // study: the unknown option is the news.
  bool unknown_option = !extras.empty() && extras.front().starts_with("-");
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr || unknown_option) {
    if (!extras.empty()) {
      const std::string& extra = extras.front();
      if (extra.size() > 1 && extra[0] == '-') {
        std::string name = extra.substr(0, extra.find('='));
        out.message = "unknown option '" + name + "' for '" + where + "'";
        auto options = option_names(sub == nullptr ? app : *sub);
        if (auto suggestion = name.starts_with("--") ? closest_name(name, options) : std::nullopt) {
          out.message += "; did you mean '" + *suggestion + "'?";
        }
      } else {
        out.message = "unexpected argument '" + extra + "' for '" + where + "'";
      }
    }
  } else if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr) {
    if (sub == nullptr) {
      out.message = "no command given";
      out.hint = "see 'bdd --help' for the list of commands";
    } else if (what.ends_with(" is required")) {
      std::string name = what.substr(0, what.size() - std::string_view(" is required").size());
      out.message = name.starts_with("-")
                        ? "missing option " + name + " for '" + where + "'"
                        : "missing the <" + name + "> argument of '" + where + "'";
    }
  } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr
             && what.find(" required ") != std::string::npos && what.ends_with(" missing")) {
    out.message = "option " + what.substr(0, what.find(':')) + " needs a value";
  } else if (dynamic_cast<const CLI::ValidationError*>(&error) != nullptr
             && what.find(": ") != std::string::npos) {
    // CLI11 says "<option>: <what the validator said>".
    out.message = "invalid value for option " + what.substr(0, what.find(": ")) + " ("
                  + what.substr(what.find(": ") + 2) + ")";
  } else if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr
             && what.starts_with("Could not convert: ")) {
    std::string rest = what.substr(std::string_view("Could not convert: ").size());
    auto equals = rest.find(" = ");
    if (equals != std::string::npos) {
      out.message =
          "invalid value '" + rest.substr(equals + 3) + "' for option " + rest.substr(0, equals);
    }
  }
  return out;
}

// NO_COLOR (https://no-color.org): any non-empty value turns colour off.
bool use_color(const std::map<std::string, std::string>& environment) {
  auto no_color = environment.find("NO_COLOR");
  return ::isatty(STDERR_FILENO) != 0
         && (no_color == environment.end() || no_color->second.empty());
}

// Before logging is set up (command-line mistakes): the error line and, if any, one hint line.
int print_usage_error(bool color, const UsageError& error) {
  std::cerr << "bdd: " << (color ? "\x1b[1;31merror:\x1b[0m " : "error: ") << error.message << '\n';
  if (!error.hint.empty()) {
    std::cerr << "hint: " << error.hint << '\n';
  }
  return k_exit_usage;
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
  ops::prepare_process();
  CLI::App app{"bdd: download Behaverse study data and keep it current on disk", "bdd"};
  app.set_version_flag("--version", "bdd " BDD_VERSION);
  app.require_subcommand(1);
  // Options a command does not know go up to these global ones, so that `bdd download s -q`
  // works as git and gh allow. Inherited by the subcommands added below.
  app.fallthrough();

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

  constexpr std::string_view k_global_note =
      "Global options (before or after the command): -C DIR, --config CONFIG, -q, -v, --log-file "
      "PATH (see bdd --help).";
  std::vector<std::unique_ptr<Command>> instances;
  std::vector<CLI::App*> subcommands;
  for (const auto& info : commands()) {
    auto command = info.make();
    CLI::App* sub = app.add_subcommand(std::string(info.name), std::string(info.summary));
    command->configure(*sub);
    std::string footer = sub->get_footer();
    sub->footer(footer + (footer.empty() ? "" : "\n\n") + std::string(k_global_note));
    subcommands.push_back(sub);
    instances.push_back(std::move(command));
  }
  // After the subcommands, which would inherit it.
  app.footer("Run `bdd <command> --help` or `bdd help <command>` for the options of a command; the "
             "global options may also come after the command. Exit codes: `bdd help exit-codes`. "
             "Documentation: README.md");
  // `bdd help [command]` is `bdd [command] --help`; `bdd help exit-codes` prints the table.
  CLI::App* help = app.add_subcommand("help", "show help for bdd, a command, or exit-codes");
  std::string help_topic;
  help->add_option("topic", help_topic, "a command, or exit-codes");

  // A `--` before the command ends the global options, as in git (`bdd -C dir -- status s`):
  // CLI11 would take it for an unknown option of bdd's, so it is dropped here, and the word after
  // it must be the command, even one that looks like an option.
  std::vector<char*> arguments(argv, argv + argc);
  if (const auto position = command_position(argc, argv); position.terminator != 0) {
    if (position.command != 0 && argv[position.command][0] == '-') {
      return print_usage_error(color, unknown_command(argv[position.command]));
    }
    arguments.erase(arguments.begin() + position.terminator);
    argc = static_cast<int>(arguments.size());
    argv = arguments.data();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(error); // --help or --version: printed on stdout
      return k_exit_success;
    }
    auto word = command_word(argc, argv);
    if (word && !is_command(*word)) {
      return print_usage_error(color, unknown_command(*word));
    }
    const CLI::App* sub = nullptr;
    for (const auto* candidate : subcommands) {
      sub = word && candidate->get_name() == *word ? candidate : sub;
    }
    return print_usage_error(color, describe_parse_error(app, sub, error));
  }

  if (help->parsed()) {
    if (help_topic == "exit-codes") {
      std::cout << exit_codes_help();
      return k_exit_success;
    }
    for (const auto* sub : subcommands) {
      if (sub->get_name() == help_topic) {
        std::cout << sub->help("bdd"); // as `bdd <command> --help` shows it
        return k_exit_success;
      }
    }
    if (!help_topic.empty()) {
      auto error = unknown_command(help_topic);
      error.hint = "see 'bdd --help' for the commands, or 'bdd help exit-codes'";
      return print_usage_error(color, error);
    }
    // Not app.help(), which would describe the parsed `help` subcommand.
    std::cout << app.get_formatter()->make_help(&app, "bdd", CLI::AppFormatMode::Normal);
    return k_exit_success;
  }

  std::size_t selected = 0;
  while (selected < subcommands.size() && !subcommands[selected]->parsed()) {
    ++selected;
  }
  if (selected == subcommands.size()) {
    return print_usage_error(color, {"no command given", "see 'bdd --help'"});
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
  // Not .env: config::resolve reads it, and only there does it know which values came from it
  // (`bdd config` shows "(from .env)"); merged in here first, .env looked like the environment.
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
