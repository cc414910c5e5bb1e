#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bdd::test {

struct ProcessResult {
  int exit_code = -1; // 128 + signal number if killed by a signal
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::filesystem::path cwd;
  // Variables set on top of a clean environment (PATH, HOME and LANG are kept; every
  // BEHAVERSE_* variable of the test runner is dropped so that tests never see a real key).
  std::map<std::string, std::string> env;
  std::string stdin_text;
  // Resource limits set in the child before exec, RLIMIT_* -> soft and hard limit (e.g.
  // RLIMIT_FSIZE in bytes, to make writes past it fail). The child exits with 125 if one cannot
  // be set.
  std::map<int, std::uint64_t> limits;
  // Run the child as this user id, with the same group id and no supplementary groups (root
  // only: tests that need permission checks, which root ignores). The child exits with 124 if
  // the switch fails.
  std::optional<unsigned> run_as;
};

// Run `program` with `args` to completion, capturing stdout and stderr.
ProcessResult run_process(const std::string& program,
                          const std::vector<std::string>& args,
                          const ProcessOptions& options);

// Run the `bdd` binary under test.
ProcessResult run_bdd(const std::vector<std::string>& args, const ProcessOptions& options);

// A `bdd` started in the background, for tests that interrupt it.
class BackgroundProcess {
public:
  BackgroundProcess(const std::vector<std::string>& args, const ProcessOptions& options);
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  ~BackgroundProcess();

  int pid() const { return m_pid; }
  void send_signal(int signal_number);
  // Wait for the process to end (at most `timeout`) and collect its result.
  std::optional<ProcessResult> wait(std::chrono::milliseconds timeout);
  bool running();

private:
  int m_pid = -1;
  std::filesystem::path m_in;
  std::filesystem::path m_out;
  std::filesystem::path m_err;
  std::optional<int> m_status;
};

} // namespace bdd::test
