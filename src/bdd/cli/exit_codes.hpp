#pragma once

#include <bdd/core/result.hpp>

#include <span>
#include <string>
#include <string_view>

namespace bdd::cli {

// bdd's exit codes. Scripts depend on them: never renumber, only add. What each means is in
// `exit_code_table()` (printed by `bdd help exit-codes`, copied into README.md, "Exit codes").
enum ExitCode : int {
  k_exit_success = 0,
  k_exit_failure = 1,
  k_exit_usage = 2,
  k_exit_config = 3,
  k_exit_auth = 4,
  k_exit_not_found = 5,
  k_exit_network = 6,
  k_exit_locked = 7,
  k_exit_storage = 8,
  k_exit_verify_failed = 9,
  k_exit_no_new_events = 10,
  k_exit_unusable_data = 11,
  k_exit_interrupted = 130
};

struct ExitCodeInfo {
  ExitCode code;
  std::string_view meaning; // one line, lower case, no period
};

// Every exit code with its meaning, in numeric order: the one table.
std::span<const ExitCodeInfo> exit_code_table();

// The table as `bdd help exit-codes` prints it, one "  <code>  <meaning>" line per code.
std::string exit_codes_help();

// The exit code for a failure of kind `code`.
int exit_code_for(Errc code);

} // namespace bdd::cli
