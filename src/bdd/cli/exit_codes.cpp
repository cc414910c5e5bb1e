#include "exit_codes.hpp"

#include <array>
#include <cstdio>

namespace bdd::cli {

namespace {

// clang-format off
constexpr std::array k_exit_codes = {
    ExitCodeInfo{k_exit_success,       "success (new events or not, unless download --exit-code: then see 10)"},
    ExitCodeInfo{k_exit_failure,       "other failure"},
    ExitCodeInfo{k_exit_usage,         "usage error: unknown command or option, missing or bad argument, invalid study name"},
    ExitCodeInfo{k_exit_config,        "configuration error, or no API key"},
    ExitCodeInfo{k_exit_auth,          "the server rejected the key (HTTP 401/403)"},
    ExitCodeInfo{k_exit_not_found,     "the server does not know the study (HTTP 404)"},
    ExitCodeInfo{k_exit_network,       "network or server failure after every retry, or a response bdd cannot use"},
    ExitCodeInfo{k_exit_locked,        "another bdd is downloading this study"},
    ExitCodeInfo{k_exit_storage,       "local storage error: disk full, permissions, corrupt or hand-edited data files"},
    ExitCodeInfo{k_exit_verify_failed, "bdd verify found problems in the local copy"},
    ExitCodeInfo{k_exit_no_new_events, "download --exit-code only: the run succeeded and there was nothing new"},
    ExitCodeInfo{k_exit_unusable_data, "download --strict only: the server sent items that are not usable events (quarantined; every other event was stored)"},
    ExitCodeInfo{k_exit_interrupted,   "interrupted (Ctrl-C or SIGTERM); what was downloaded is saved, run again to continue"},
};
// clang-format on

} // namespace

std::span<const ExitCodeInfo> exit_code_table() {
  return k_exit_codes;
}

std::string exit_codes_help() {
  std::string text = "bdd's exit codes:\n";
  for (const auto& info : k_exit_codes) {
    char code[16];
    std::snprintf(code, sizeof code, "  %3d  ", static_cast<int>(info.code));
    text += code;
    text += info.meaning;
    text += '\n';
  }
  return text;
}

int exit_code_for(Errc code) {
  switch (code) {
  case Errc::usage:
    return k_exit_usage;
  case Errc::config:
    return k_exit_config;
  case Errc::auth:
    return k_exit_auth;
  case Errc::not_found:
    return k_exit_not_found;
  case Errc::bad_request:
  case Errc::network:
  case Errc::protocol:
    return k_exit_network;
  case Errc::storage:
    return k_exit_storage;
  case Errc::interrupted:
    return k_exit_interrupted;
  case Errc::locked:
    return k_exit_locked;
  case Errc::internal:
    return k_exit_failure;
  case Errc::unusable_data:
    return k_exit_unusable_data;
  }
  return k_exit_failure;
}

} // namespace bdd::cli
