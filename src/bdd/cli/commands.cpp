#include "command.hpp"

#include <array>

namespace bdd::cli {

std::unique_ptr<Command> make_download_command();
std::unique_ptr<Command> make_status_command();
std::unique_ptr<Command> make_log_command();
std::unique_ptr<Command> make_fetch_command();
std::unique_ptr<Command> make_remote_info_command();
std::unique_ptr<Command> make_remote_command();
std::unique_ptr<Command> make_test_connection_command();
std::unique_ptr<Command> make_config_command();
std::unique_ptr<Command> make_create_config_command();
std::unique_ptr<Command> make_rm_command();
std::unique_ptr<Command> make_verify_command();
std::unique_ptr<Command> make_export_command();
std::unique_ptr<Command> make_report_command();

namespace {

// clang-format off
const std::array k_commands = {
    CommandInfo{"download",        "download new events of a study (incremental by default)",  &make_download_command},
    CommandInfo{"status",          "show what is stored locally for a study",                   &make_status_command},
    CommandInfo{"verify",          "check that the local copy is complete and intact",          &make_verify_command},
    CommandInfo{"export",          "write the local copy of a study as one csv, jsonl or json file", &make_export_command},
    CommandInfo{"report",          "describe the local copy of a study: participants, gaps, findings", &make_report_command},
    CommandInfo{"log",             "show the download history of a study",                      &make_log_command},
    CommandInfo{"fetch",           "show how many new events wait on the server",               &make_fetch_command},
    CommandInfo{"remote-info",     "estimate a full download of a study from a few requests",  &make_remote_info_command},
    CommandInfo{"remote",          "list the configured studies with their remote event count", &make_remote_command},
    CommandInfo{"test-connection", "check the API key and connection for a study",              &make_test_connection_command},
    CommandInfo{"config",          "list study configs and whether each has an API key",        &make_config_command},
    CommandInfo{"create-config",   "create study_configs/<study>.json from the template",       &make_create_config_command},
    CommandInfo{"rm",              "delete the local data of a study",                          &make_rm_command},
};
// clang-format on

} // namespace

std::span<const CommandInfo> commands() {
  return k_commands;
}

} // namespace bdd::cli
