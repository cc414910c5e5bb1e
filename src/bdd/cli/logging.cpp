#include "logging.hpp"

#include "exit_codes.hpp"

#include <bdd/core/clock.hpp>
#include <bdd/core/redact.hpp>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <regex>

namespace bdd::cli {

namespace stdfs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr std::size_t k_max_buffered_records = 1000;
constexpr const char* k_red = "\x1b[1;31m";
constexpr const char* k_yellow = "\x1b[1;33m";
constexpr const char* k_reset = "\x1b[0m";

std::string level_name(spdlog::level::level_enum level) {
  switch (level) {
  case spdlog::level::trace:
  case spdlog::level::debug:
    return "debug";
  case spdlog::level::info:
    return "info";
  case spdlog::level::warn:
    return "warning";
  default:
    return "error";
  }
}

void write_all(int fd, const std::string& text) {
  // One write() per record: with O_APPEND, concurrent bdd processes sharing a daily log never
  // interleave inside a line.
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t written = ::write(fd, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      return; // a log that cannot be written must not stop the download
    }
    done += static_cast<std::size_t>(written);
  }
}

void write_stderr_line(spdlog::level::level_enum level, const std::string& message, bool color) {
  std::string name = level_name(level);
  const char* start = "";
  if (color && level >= spdlog::level::err) {
    start = k_red;
  } else if (color && level == spdlog::level::warn) {
    start = k_yellow;
  }
  std::string line =
      std::string("bdd: ") + start + name + ":" + (*start ? k_reset : "") + " " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace

// Shared by `Logging` and the sinks, which spdlog may keep after `Logging` is gone.
class Logging::State {
public:
  explicit State(bool color) : m_color(color) {}
  ~State() {
    for (int fd : m_fds) {
      ::close(fd);
    }
  }

  bool color() const { return m_color; }

  void set_names(const std::string& command, const std::string& study) {
    std::lock_guard lock(m_mutex);
    m_command = command;
    m_study = study;
  }

  void record(spdlog::level::level_enum level,
              const std::string& message,
              std::chrono::system_clock::time_point time,
              std::optional<int> exit_code = std::nullopt) {
    std::lock_guard lock(m_mutex);
    json object = {
        {"time", format_utc(time)},
        {"level", level_name(level)},
        {"study", m_study.empty() ? json(nullptr) : json(m_study)},
        {"command", m_command.empty() ? json(nullptr) : json(m_command)},
        {"message", message},
    };
    if (exit_code) {
      object["exit_code"] = *exit_code;
    }
    std::string line = object.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    if (level == spdlog::level::warn) {
      m_warnings.push_back(message);
    }
    for (int fd : m_fds) {
      write_all(fd, line);
    }
    if (m_buffered.size() < k_max_buffered_records) {
      m_buffered.push_back(std::move(line));
    }
  }

  Result<void> add_file(const stdfs::path& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Error(Errc::storage,
                   "cannot open log file \"" + path.string() + "\": " + std::strerror(errno));
    }
    std::lock_guard lock(m_mutex);
    for (const auto& line : m_buffered) {
      write_all(fd, line);
    }
    m_fds.push_back(fd);
    return ok();
  }

  bool has_files() const {
    std::lock_guard lock(m_mutex);
    return !m_fds.empty();
  }

  std::vector<std::string> warnings() const {
    std::lock_guard lock(m_mutex);
    return m_warnings;
  }

private:
  mutable std::mutex m_mutex;
  bool m_color;
  std::string m_command;
  std::string m_study;
  std::vector<int> m_fds;
  std::vector<std::string> m_buffered; // every record so far, for files added later
  std::vector<std::string> m_warnings;
};

namespace {

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit StderrSink(bool color) : m_color(color) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    write_stderr_line(msg.level,
                      Logging::redact(std::string_view(msg.payload.data(), msg.payload.size())),
                      m_color);
  }
  void flush_() override { std::fflush(stderr); }

private:
  bool m_color;
};

class JsonLinesSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit JsonLinesSink(std::shared_ptr<Logging::State> state) : m_state(std::move(state)) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    m_state->record(msg.level,
                    Logging::redact(std::string_view(msg.payload.data(), msg.payload.size())),
                    msg.time);
  }
  void flush_() override {}

private:
  std::shared_ptr<Logging::State> m_state;
};

} // namespace

Logging::Logging(const Options& options) : m_state(std::make_shared<State>(options.color)) {
  auto level = options.verbosity > 0 ? spdlog::level::debug : spdlog::level::info;
  auto to_stderr = std::make_shared<StderrSink>(options.color);
  to_stderr->set_level(options.quiet ? spdlog::level::err : level);
  auto to_files = std::make_shared<JsonLinesSink>(m_state);
  to_files->set_level(level);
  auto logger =
      std::make_shared<spdlog::logger>("bdd", spdlog::sinks_init_list{to_stderr, to_files});
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

Logging::~Logging() {
  spdlog::default_logger()->flush();
}

void Logging::start(const std::string& command,
                    const std::string& study,
                    const std::string& arguments) {
  m_state->set_names(command, study);
  m_state->record(
      spdlog::level::info, redact("started: bdd " + arguments), std::chrono::system_clock::now());
}

Result<void> Logging::add_file(const stdfs::path& path) {
  return m_state->add_file(path);
}

Result<void> Logging::add_daily_file(const stdfs::path& data_directory, std::size_t keep) {
  auto directory = data_directory / ".logs";
  std::error_code ec;
  stdfs::create_directories(directory, ec);
  if (ec) {
    return Error(Errc::storage,
                 "cannot create log directory \"" + directory.string() + "\": " + ec.message());
  }
  std::string today = format_utc(std::chrono::system_clock::now()).substr(0, 10);
  BDD_TRY(m_state->add_file(directory / ("bdd-" + today + ".jsonl")));

  // Keep the newest `keep` days; the names sort by date.
  static const std::regex k_daily_name(R"(bdd-\d{4}-\d{2}-\d{2}\.jsonl)");
  std::vector<std::string> names;
  for (const auto& entry : stdfs::directory_iterator(directory, ec)) {
    auto name = entry.path().filename().string();
    if (std::regex_match(name, k_daily_name)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  for (std::size_t i = 0; i + keep < names.size(); ++i) {
    stdfs::remove(directory / names[i], ec);
  }
  return ok();
}

bool Logging::has_files() const {
  return m_state->has_files();
}

void Logging::print_error(const std::string& message) {
  auto text = redact(message);
  write_stderr_line(spdlog::level::err, text, m_state->color());
  m_state->record(spdlog::level::err, text, std::chrono::system_clock::now());
}

void Logging::finish(int exit_code) {
  bool success = exit_code == k_exit_success || exit_code == k_exit_no_new_events;
  m_state->record(success ? spdlog::level::info : spdlog::level::err,
                  "finished with exit code " + std::to_string(exit_code),
                  std::chrono::system_clock::now(),
                  exit_code);
}

std::vector<std::string> Logging::warnings() const {
  return m_state->warnings();
}

void Logging::add_secret(const std::string& secret) {
  register_secret(secret);
}

std::string Logging::redact(std::string_view text) {
  return redact_known_secrets(text);
}

} // namespace bdd::cli
