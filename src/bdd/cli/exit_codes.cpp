#include "exit_codes.hpp"

namespace bdd::cli {

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
