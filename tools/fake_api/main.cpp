// bdd-demo-server: the fake Behaverse API as a standalone program, for demo downloads, the
// benchmark and end-to-end tests that need a separate process. Serves 127.0.0.1 only, until
// SIGINT or SIGTERM. Each participant's events carry their own `index` (1, 2, 3, ...), as real
// clients number them, with two deliberate gaps that `bdd report` finds: participant P-0001
// never has indexes 20 to 22, and participant P-0003 never has index 100.

#include <fake_api/fake_api.hpp>
#include <pthread.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fake_api = bdd::fake_api;

constexpr std::string_view k_usage =
    R"(usage: bdd-demo-server [options]

Serves the fake Behaverse API on 127.0.0.1 until SIGINT or SIGTERM. Every
participant's events are numbered 1, 2, 3, ... (their "index"), except that
P-0001 skips 20-22 and P-0003 skips 100: gaps for `bdd report` to find.

  --port N              port to listen on; 0 (the default) picks a free one
  --port-file PATH      write the port there (atomically) once listening
  --study NAME:KEY:N    a study with key KEY and N generated events; repeatable
                        (default: demo-study:demo-key:300000)
  --seed S              generator seed (default 1); study i uses S + i
  --users U             participants per study (default 300)
  --days D              days the stored times span (default 30)
  --nasty               mix hostile values into the events
  --max-limit M         largest page served, whatever limit asks (default 1000)
  --omit-total          leave "total" out of pages
  --latency-ms L        delay every events request by L ms
  --fault-rate P        fail a share P of events requests, spread evenly over
                        500, 503, 429, reset, truncated and invalid-JSON answers
  --threads T           worker threads (default 32)
  -h, --help            show this help
)";

struct StudySpec {
  std::string name;
  std::string key;
  std::size_t count = 0;
};

struct Arguments {
  int port = 0;
  std::string port_file;
  std::vector<StudySpec> studies;
  std::uint64_t seed = 1;
  int users = 300;
  double days = 30;
  bool nasty = false;
  std::size_t max_limit = 1000;
  bool omit_total = false;
  int latency_ms = 0;
  double fault_rate = 0;
  int threads = 32;
};

class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

template <typename Number>
Number parse_number(std::string_view flag, std::string_view text) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw UsageError(std::string(flag) + ": not a valid number: \"" + std::string(text) + "\"");
  }
  return value;
}

// NAME:KEY:COUNT. The name ends at the first colon and the count starts after the last, so a key
// may contain colons.
StudySpec parse_study(std::string_view text) {
  const auto first = text.find(':');
  const auto last = text.rfind(':');
  if (first == std::string_view::npos || first == last || first == 0) {
    throw UsageError("--study: expected NAME:KEY:COUNT, got \"" + std::string(text) + "\"");
  }
  StudySpec spec;
  spec.name = std::string(text.substr(0, first));
  spec.key = std::string(text.substr(first + 1, last - first - 1));
  spec.count = parse_number<std::size_t>("--study", text.substr(last + 1));
  return spec;
}

// Returns nullopt when --help was asked for. Throws UsageError.
std::optional<Arguments> parse_arguments(int argc, char** argv) {
  Arguments arguments;
  const std::vector<std::string_view> words(argv + 1, argv + argc);
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string_view flag = words[i];
    std::optional<std::string_view> inline_value;
    if (const auto equals = flag.find('='); flag.starts_with("--") && equals != flag.npos) {
      inline_value = flag.substr(equals + 1);
      flag = flag.substr(0, equals);
    }
    const auto value = [&]() -> std::string_view {
      if (inline_value) {
        return *inline_value;
      }
      if (i + 1 >= words.size()) {
        throw UsageError(std::string(flag) + ": missing value");
      }
      return words[++i];
    };
    if (flag == "-h" || flag == "--help") {
      return std::nullopt;
    } else if (flag == "--port") {
      arguments.port = parse_number<int>(flag, value());
    } else if (flag == "--port-file") {
      arguments.port_file = std::string(value());
    } else if (flag == "--study") {
      arguments.studies.push_back(parse_study(value()));
    } else if (flag == "--seed") {
      arguments.seed = parse_number<std::uint64_t>(flag, value());
    } else if (flag == "--users") {
      arguments.users = parse_number<int>(flag, value());
    } else if (flag == "--days") {
      arguments.days = parse_number<double>(flag, value());
    } else if (flag == "--nasty") {
      arguments.nasty = true;
    } else if (flag == "--max-limit") {
      arguments.max_limit = parse_number<std::size_t>(flag, value());
    } else if (flag == "--omit-total") {
      arguments.omit_total = true;
    } else if (flag == "--latency-ms") {
      arguments.latency_ms = parse_number<int>(flag, value());
    } else if (flag == "--fault-rate") {
      arguments.fault_rate = parse_number<double>(flag, value());
      if (arguments.fault_rate < 0 || arguments.fault_rate > 1) {
        throw UsageError("--fault-rate: must be between 0 and 1");
      }
    } else if (flag == "--threads") {
      arguments.threads = parse_number<int>(flag, value());
    } else {
      throw UsageError("unknown option \"" + std::string(words[i]) + "\"");
    }
  }
  if (arguments.studies.empty()) {
    arguments.studies.push_back({"demo-study", "demo-key", 300'000});
  }
  return arguments;
}

// Write-then-rename, so a script polling for the file never reads half a port number.
void write_port_file(const std::filesystem::path& path, int port) {
  auto temporary = path;
  temporary += ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << '\n';
    out.close();
    if (!out) {
      throw std::runtime_error("cannot write " + temporary.string());
    }
  }
  std::filesystem::rename(temporary, path);
}

int run(const Arguments& arguments) {
  fake_api::ServerOptions options;
  options.max_limit = arguments.max_limit;
  options.omit_total = arguments.omit_total;
  options.threads = arguments.threads;
  fake_api::FakeApi api(options);

  const auto started = std::chrono::steady_clock::now();
  std::uint64_t seed = arguments.seed;
  for (const auto& spec : arguments.studies) {
    api.add_study({spec.name, spec.key, false});
    fake_api::GeneratorOptions generator;
    generator.count = spec.count;
    generator.users = arguments.users;
    generator.days = arguments.days;
    generator.seed = seed++;
    generator.nasty = arguments.nasty;
    generator.per_user_index = true;
    // Deliberate gaps (see the usage text): user numbers 1 and 3 are P-0001 and P-0003.
    generator.drop = {{1, 20, 22}, {3, 100, 100}};
    api.append_generated(spec.name, generator);
    std::cerr << "bdd-demo-server: study \"" << spec.name << "\": " << spec.count << " events\n";
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::cerr << "bdd-demo-server: generated in " << elapsed.count() << " ms\n";

  fake_api::Faults faults;
  faults.latency_ms = arguments.latency_ms;
  const double share = arguments.fault_rate / 6;
  faults.p_500 = share;
  faults.p_503 = share;
  faults.p_429 = share;
  faults.p_reset = share;
  faults.p_truncate = share;
  faults.p_invalid_json = share;
  faults.seed = arguments.seed;
  api.set_faults(faults);

  const int port = api.start(arguments.port);
  if (!arguments.port_file.empty()) {
    write_port_file(arguments.port_file, port);
  }
  std::cout << "bdd-demo-server listening on " << api.base_url() << std::endl;

  // The signals were blocked in every thread before the server started; wait for one here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "bdd-demo-server: stopping\n";
  api.stop();
  const auto stats = api.stats();
  std::cerr << "bdd-demo-server: served " << stats.requests << " requests, " << stats.events_served
            << " events, " << stats.total_faults() << " faults\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Block before any thread exists so that every server thread inherits the mask and only
  // sigwait() in run() sees SIGINT/SIGTERM. A client hanging up mid-write must not kill us.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    const auto arguments = parse_arguments(argc, argv);
    if (!arguments) {
      std::cout << k_usage;
      return 0;
    }
    return run(*arguments);
  } catch (const UsageError& e) {
    std::cerr << "bdd-demo-server: error: " << e.what() << "\n\n" << k_usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bdd-demo-server: error: " << e.what() << '\n';
    return 1;
  }
}
