#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace bdd::cli {

class Logging;

// What every subcommand gets from the global options and the process.
struct Context {
  std::map<std::string, std::string> environment;   // the process environment (not .env)
  std::optional<std::filesystem::path> config_flag; // --config
  bool quiet = false;                               // -q: errors only
  bool stdin_is_terminal = false;
  bool stderr_is_terminal = false;
  const std::atomic<bool>* stop = nullptr; // set by SIGINT/SIGTERM
  Logging* logging = nullptr;              // stderr and JSON lines logs (never null in `run`)
  bool log_file_given = false;             // --log-file: no daily log under the data directory

  // The resolved configuration of `study` (see config::resolve). The key found is registered
  // with `Logging::add_secret`; with `require_key`, also `warn_about_secret_files(study)`, and a
  // warning (once per study) if `api.verify_tls` is false.
  Result<config::Config> resolve(const std::string& study, bool require_key) const;
  // Warn once per file about files holding an API key that other users can read
  // (config::world_readable_secret_files).
  void warn_about_secret_files(const std::string& study) const;

private:
  mutable std::set<std::string> m_warned_files;
  mutable std::set<std::string> m_warned_unverified; // studies warned about api.verify_tls
};

// One git-style subcommand. Implementations live in cmd_<name>.cpp and own their flag values.
class Command {
public:
  virtual ~Command() = default;
  // Declare flags and positionals on `app`, bound to members of this object.
  virtual void configure(CLI::App& app) = 0;
  // Do the work (usually one ops:: call). Returns the exit code; failures go up as Error.
  virtual Result<int> run(Context& context) = 0;
};

struct CommandInfo {
  std::string_view name;
  std::string_view summary; // one line, lower case, no period: shown by `bdd --help`
  std::unique_ptr<Command> (*make)();
};

// Every subcommand, in --help order.
std::span<const CommandInfo> commands();

} // namespace bdd::cli
