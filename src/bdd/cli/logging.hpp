#pragma once

#include <bdd/core/result.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::cli {

// Where bdd's messages go, set up once per process by `run()`:
// - stderr: `bdd: <level>: <message>` lines at the level chosen by -q/-v; the `error:` and
//   `warning:` prefixes are coloured only when stderr is a terminal and NO_COLOR is unset or
//   empty;
// - JSON lines files (`--log-file`, or the daily log of a non-interactive `bdd download`): one
//   object per record, `{"time", "level", "study", "command", "message"}` plus `"exit_code"` in
//   the end record. The README ("Scripting") documents the format.
// Every message written anywhere is passed through `redact` first.
class Logging {
public:
  struct Options {
    bool quiet = false; // -q: only errors on stderr (files still get info and up)
    int verbosity = 0;  // -v: debug on stderr and in files
    bool color = false; // colour the stderr prefixes
  };

  // Install the default spdlog logger "bdd" with the stderr sink and the JSON lines sink.
  explicit Logging(const Options& options);
  ~Logging();
  Logging(const Logging&) = delete;
  Logging& operator=(const Logging&) = delete;

  // Name the command and study that every JSON record carries (study may be empty: null), and
  // emit the start record `started: bdd <arguments>`.
  void start(const std::string& command, const std::string& study, const std::string& arguments);

  // Append JSON lines to `path` (created if missing). Records emitted before the call (the start
  // record, early warnings) are written to it first, so every file holds the whole run. Fails
  // with Errc::storage naming the file if it cannot be opened.
  Result<void> add_file(const std::filesystem::path& path);
  // Append to `<data_directory>/.logs/bdd-YYYY-MM-DD.jsonl` (UTC day) and delete all but the
  // newest `keep` such files. Fails like `add_file`.
  Result<void> add_daily_file(const std::filesystem::path& data_directory, std::size_t keep = 30);
  bool has_files() const;

  // Print `bdd: error: <message>` on stderr and record it in the JSON files (once each).
  void print_error(const std::string& message);
  // Emit the end record with the exit code (level "info" for 0 and 10, else "error").
  void finish(int exit_code);

  // Every warning logged so far in this process, in order (for `download --json`).
  std::vector<std::string> warnings() const;

  // Never write `secret` (an API key) in any message: `bdd::register_secret`.
  static void add_secret(const std::string& secret);
  // `bdd::redact_known_secrets` (core/redact.hpp), the one redaction of every output path: URL
  // user information, "Bearer " tokens and every registered key or run of its first characters.
  static std::string redact(std::string_view text);

  class State; // shared with the spdlog sinks

private:
  std::shared_ptr<State> m_state;
};

} // namespace bdd::cli
