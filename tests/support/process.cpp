#include "process.hpp"

#include "temp_dir.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace bdd::test {

namespace {

std::vector<std::string> child_environment(const ProcessOptions& options) {
  std::vector<std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text = *entry;
    for (const char* keep : {"PATH=", "HOME=", "LANG=", "TMPDIR="}) {
      if (text.rfind(keep, 0) == 0) {
        env.emplace_back(text);
      }
    }
  }
  for (const auto& [key, value] : options.env) {
    env.push_back(key + "=" + value);
  }
  return env;
}

std::filesystem::path capture_path(const char* stream) {
  static std::atomic<int> counter{0};
  return std::filesystem::temp_directory_path()
         / ("bdd-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "."
            + stream);
}

int spawn(const std::string& program,
          const std::vector<std::string>& args,
          const ProcessOptions& options,
          const std::filesystem::path& out,
          const std::filesystem::path& err,
          const std::filesystem::path& in) {
  std::vector<std::string> argv_text{program};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_text) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  auto env_text = child_environment(options);
  std::vector<char*> envp;
  for (auto& entry : env_text) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    int in_fd = ::open(in.c_str(), O_RDONLY);
    int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
      ::_exit(126);
    }
    // Only system calls between fork and exec: the test process has other threads, whose locks
    // the child may have inherited held.
    for (const auto& [resource, value] : options.limits) {
      const rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
      if (::setrlimit(resource, &limit) != 0) {
        ::_exit(125);
      }
    }
    if (options.run_as) {
      const auto id = static_cast<uid_t>(*options.run_as);
      // Groups first: once the user id is dropped, the group ids can no longer be changed.
      if (::setgroups(0, nullptr) != 0 || ::setresgid(id, id, id) != 0
          || ::setresuid(id, id, id) != 0) {
        ::_exit(124);
      }
    }
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

std::filesystem::path stdin_file(const std::string& text) {
  auto path = capture_path("in");
  FILE* file = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
  return path;
}

} // namespace

ProcessResult run_process(const std::string& program,
                          const std::vector<std::string>& args,
                          const ProcessOptions& options) {
  auto out = capture_path("out");
  auto err = capture_path("err");
  auto in = stdin_file(options.stdin_text);
  int pid = spawn(program, args, options, out, err, in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ProcessResult result{decode_status(status), read_text(out), read_text(err)};
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  std::filesystem::remove(in);
  return result;
}

ProcessResult run_bdd(const std::vector<std::string>& args, const ProcessOptions& options) {
  return run_process(BDD_BINARY, args, options);
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& args,
                                     const ProcessOptions& options)
    : m_in(stdin_file("")),
      m_out(capture_path("out")),
      m_err(capture_path("err")) {
  m_pid = spawn(BDD_BINARY, args, options, m_out, m_err, m_in);
}

BackgroundProcess::~BackgroundProcess() {
  if (!m_status && m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove(m_in, ec);
  std::filesystem::remove(m_out, ec);
  std::filesystem::remove(m_err, ec);
}

void BackgroundProcess::send_signal(int signal_number) {
  if (!m_status) {
    ::kill(m_pid, signal_number);
  }
}

bool BackgroundProcess::running() {
  if (m_status) {
    return false;
  }
  int status = 0;
  if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
    m_status = status;
    return false;
  }
  return true;
}

std::optional<ProcessResult> BackgroundProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ProcessResult{decode_status(*m_status), read_text(m_out), read_text(m_err)};
}

} // namespace bdd::test
