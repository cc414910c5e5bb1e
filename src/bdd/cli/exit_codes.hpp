#pragma once

#include <bdd/core/result.hpp>

namespace bdd::cli {

// bdd's exit codes, documented in README.md ("Exit codes"). Scripts depend on them: never
// renumber, only add.
enum ExitCode : int {
  k_exit_success = 0,
  k_exit_failure = 1,        // anything not listed below
  k_exit_usage = 2,          // bad command line
  k_exit_config = 3,         // invalid configuration or no API key
  k_exit_auth = 4,           // the server rejected the key (401/403)
  k_exit_not_found = 5,      // the server does not know the study (404)
  k_exit_network = 6,        // network or server failure after every retry, or a bad response
  k_exit_locked = 7,         // another bdd is downloading the study
  k_exit_storage = 8,        // local files: disk full, permissions, corrupt or edited data
  k_exit_verify_failed = 9,  // `bdd verify` found problems in the local copy
  k_exit_no_new_events = 10, // `download --exit-code`: the run succeeded and found nothing new
  k_exit_unusable_data = 11, // `download --strict`: the server sent unusable items (quarantined)
  k_exit_interrupted = 130   // stopped by Ctrl-C or SIGTERM after saving what was downloaded
};

// The exit code for a failure of kind `code`.
int exit_code_for(Errc code);

} // namespace bdd::cli
