#include <bdd/config/config.hpp>

#include <catch2/catch.hpp>
#include <grp.h>
#include <pwd.h>
#include <support/temp_dir.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using bdd::Errc;
using bdd::config::Config;
using bdd::config::resolve;
using bdd::config::Sources;
using bdd::test::TempDir;
using namespace std::chrono_literals;

namespace {

Sources sources_in(const TempDir& dir) {
  Sources sources;
  sources.work_dir = dir.path();
  return sources;
}

std::string error_of(const bdd::Result<Config>& result) {
  REQUIRE_FALSE(result);
  CHECK(result.error().code == Errc::config);
  return result.error().message;
}

// The error of `resolve("demo", ...)` in `dir` as a user who does not own its files: the test's
// own user, or `nobody` when the test runs as root, in a child process that drops root first.
std::string error_as_another_user(const TempDir& dir) {
  if (::geteuid() != 0) {
    return error_of(resolve("demo", sources_in(dir), false));
  }
  const passwd* nobody = ::getpwnam("nobody");
  const uid_t uid = nobody != nullptr ? nobody->pw_uid : 65534;
  const gid_t gid = nobody != nullptr ? nobody->pw_gid : 65534;
  ::chmod(dir.path().c_str(), 0755); // mkdtemp's 0700 would hide everything, not just the file
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string text = "could not switch to user " + std::to_string(uid);
    if (::setgroups(0, nullptr) == 0 && ::setgid(gid) == 0 && ::setuid(uid) == 0) {
      auto result = resolve("demo", sources_in(dir), false);
      text = result                                ? std::string("resolved: no error")
             : result.error().code != Errc::config ? "not a config error: " + result.error().message
                                                   : result.error().message;
    }
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      const ssize_t n = ::write(fds[1], data, left);
      if (n <= 0) {
        break;
      }
      data += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  return text;
}

} // namespace

TEST_CASE("config::resolve uses the built-in defaults in an empty directory", "[config]") {
  TempDir dir;
  auto config = resolve("demo", sources_in(dir), false);
  REQUIRE(config);
  CHECK(config->study_name == "demo");
  CHECK(config->base_url == "https://api.behaverse.org");
  CHECK(config->api_key.empty());
  CHECK(config->api_key_origin.description.empty());
  CHECK(config->timeout == 30s);
  CHECK(config->max_retries == 3);
  CHECK(config->retry_delay == 1s);
  CHECK(config->verify_tls);
  CHECK(config->page_size == 1000);
  CHECK(config->max_concurrent_requests == 3);
  CHECK(config->data_directory == dir.path() / "data");
  CHECK(config->format == "json");
  CHECK(config->folder_structure.empty());
  CHECK_FALSE(config->format_from_study_config);
  CHECK_FALSE(config->folder_structure_from_study_config);
  CHECK(config->files_read.empty());
}

TEST_CASE("config::resolve rejects an invalid study name", "[config]") {
  TempDir dir;
  auto config = resolve("../etc", sources_in(dir), false);
  REQUIRE_FALSE(config);
  CHECK(config.error().code == Errc::usage);
}

TEST_CASE("config::resolve honours every setting of a study config", "[config]") {
  TempDir dir;
  dir.write("study_configs/demo.json", R"({
    "study_name": "demo",
    "api": {"base_url": "http://127.0.0.1:8080/v1//", "timeout": 2.5, "max_retries": 0,
            "retry_delay": 0.25, "verify_tls": false},
    "download": {"default_page_size": 100000, "max_concurrent_requests": 32},
    "storage": {"data_directory": "out/events", "default_format": "sqlite",
                "folder_structure": ["by_event_type"]}
  })");
  auto config = resolve("demo", sources_in(dir), false);
  REQUIRE(config);
  CHECK(config->base_url == "http://127.0.0.1:8080/v1");
  CHECK(config->timeout == 2500ms);
  CHECK(config->max_retries == 0);
  CHECK(config->retry_delay == 250ms);
  CHECK_FALSE(config->verify_tls);
  CHECK(config->page_size == 100000);
  CHECK(config->max_concurrent_requests == 32);
  CHECK(config->data_directory == dir.path() / "out" / "events");
  CHECK(config->format == "sqlite");
  CHECK(config->folder_structure == std::vector<std::string>{"by_event_type"});
  CHECK(config->format_from_study_config);
  CHECK(config->folder_structure_from_study_config);
  CHECK(config->files_read
        == std::vector<std::filesystem::path>{dir.path() / "study_configs/demo.json"});
}

TEST_CASE("config::resolve layers the study config over the default config", "[config]") {
  TempDir dir;
  dir.write("settings/default_config.json",
            R"({"api": {"timeout": 10, "max_retries": 7}, "storage": {"default_format": "csv"}})");
  dir.write("study_configs/demo.json",
            R"({"api": {"timeout": 20}, "storage": {"folder_structure": []}})");
  auto config = resolve("demo", sources_in(dir), false);
  REQUIRE(config);
  CHECK(config->timeout == 20s);
  CHECK(config->max_retries == 7);
  CHECK(config->format == "csv");
  CHECK(config->folder_structure.empty());
  // Only the study config's layout binds a study that holds data (see ops::download).
  CHECK_FALSE(config->format_from_study_config);
  CHECK(config->folder_structure_from_study_config);
  CHECK(config->files_read
        == std::vector<std::filesystem::path>{dir.path() / "settings/default_config.json",
                                              dir.path() / "study_configs/demo.json"});

  SECTION("another study does not read demo's config") {
    auto other = resolve("other", sources_in(dir), false);
    REQUIRE(other);
    CHECK(other->timeout == 10s);
    CHECK(other->folder_structure.empty());
  }
}

TEST_CASE("config::resolve takes the study from the command line and rejects another study_name",
          "[config]") {
  TempDir dir;
  dir.write("study_configs/demo.json", R"({"study_name": "something-else"})");
  auto mismatch = resolve("demo", sources_in(dir), false);
  REQUIRE_FALSE(mismatch);
  CHECK(mismatch.error().code == bdd::Errc::config);
  CHECK(mismatch.error().message
        == "study_configs/demo.json: study_name is \"something-else\" but the study is \"demo\" "
           "(set study_name to \"demo\" or remove it, or run bdd with the study "
           "\"something-else\")");

  dir.write("study_configs/demo.json", R"({"study_name": "demo"})");
  auto same = resolve("demo", sources_in(dir), false);
  REQUIRE(same);
  CHECK(same->study_name == "demo");

  dir.write("study_configs/demo.json", R"({"api": {"timeout": 5}})");
  auto absent = resolve("demo", sources_in(dir), false);
  REQUIRE(absent);
  CHECK(absent->study_name == "demo");
}

TEST_CASE("config::resolve keeps an absolute data_directory", "[config]") {
  TempDir dir;
  TempDir elsewhere;
  dir.write("study_configs/demo.json",
            R"({"storage": {"data_directory": ")" + elsewhere.path().string() + R"(/store/"}})");
  auto config = resolve("demo", sources_in(dir), false);
  REQUIRE(config);
  CHECK(config->data_directory == elsewhere.path() / "store");
}

TEST_CASE("config::resolve selects the study config named by --config", "[config]") {
  TempDir dir;
  dir.write("study_configs/demo.json", R"({"api": {"max_retries": 1}})");
  dir.write("study_configs/shared.json", R"({"api": {"max_retries": 2}})");
  dir.write("elsewhere/custom.json", R"({"api": {"max_retries": 4}})");
  auto sources = sources_in(dir);

  SECTION("as a study config name") {
    sources.config = "shared";
    auto config = resolve("demo", sources, false);
    REQUIRE(config);
    CHECK(config->max_retries == 2);
  }
  SECTION("as a relative path") {
    sources.config = "elsewhere/custom.json";
    auto config = resolve("demo", sources, false);
    REQUIRE(config);
    CHECK(config->max_retries == 4);
  }
  SECTION("as an absolute path") {
    sources.config = dir.path() / "elsewhere/custom.json";
    auto config = resolve("demo", sources, false);
    REQUIRE(config);
    CHECK(config->max_retries == 4);
  }
  SECTION("as a name that does not exist") {
    sources.config = "new-study";
    CHECK(error_of(resolve("demo", sources, false))
          == "--config \"new-study\": study_configs/new-study.json does not exist (create it "
             "with: bdd create-config new-study)");
  }
  SECTION("as a misspelt name") {
    sources.config = "shraed";
    CHECK(error_of(resolve("demo", sources, false))
          == "--config \"shraed\": study_configs/shraed.json does not exist (did you mean "
             "\"shared\"? or create it with: bdd create-config shraed)");
  }
  SECTION("as a path that does not exist") {
    sources.config = "elsewhere/missing.json";
    CHECK(error_of(resolve("demo", sources, false))
          == "--config \"elsewhere/missing.json\": no such file (to create a study config, run: "
             "bdd create-config missing)");
  }
  SECTION("as a directory") {
    sources.config = "elsewhere/";
    CHECK(error_of(resolve("demo", sources, false))
          == "--config \"elsewhere/\": elsewhere/ is not a regular file");
  }
}

TEST_CASE("config::resolve reads a study config that is outside the work dir", "[config]") {
  TempDir dir;
  TempDir other;
  auto path = other.write("x.json", R"({"api": {"timeout": "slow"}})");
  auto sources = sources_in(dir);
  sources.config = path;
  CHECK(error_of(resolve("demo", sources, false))
        == path.string()
               + ": api.timeout must be a number of seconds greater than 0, got \"slow\"");
}

TEST_CASE("config::resolve accepts the shipped settings files", "[config]") {
  TempDir dir;
  for (const char* name : {"settings/default_config.json", "settings/config_template.json"}) {
    std::ifstream in(std::filesystem::path(BDD_SOURCE_DIR) / name, std::ios::binary);
    REQUIRE(in);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    dir.write(name, text);
  }
  auto sources = sources_in(dir);
  auto config = resolve("demo", sources, false);
  REQUIRE(config);
  Config defaults;
  CHECK(config->base_url == defaults.base_url);
  CHECK(config->timeout == defaults.timeout);
  CHECK(config->max_retries == defaults.max_retries);
  CHECK(config->retry_delay == defaults.retry_delay);
  CHECK(config->verify_tls == defaults.verify_tls);
  CHECK(config->page_size == defaults.page_size);
  CHECK(config->max_concurrent_requests == defaults.max_concurrent_requests);
  CHECK(config->format == defaults.format);
  CHECK(config->folder_structure == defaults.folder_structure);
  CHECK(config->api_key.empty());

  // The template as a study config (of the study it names): its ${VAR} key is unset, which means
  // "no key here".
  sources.config = "settings/config_template.json";
  sources.environment["BEHAVERSE_API_KEY_STUDY"] = "k-template";
  auto from_template = resolve("my-study", sources, true);
  REQUIRE(from_template);
  CHECK(from_template->api_key == "k-template");
}

TEST_CASE("config::resolve reports a config file it cannot read", "[config]") {
  // Root reads anything, and CI runs as root: there the resolve runs as `nobody` in a child
  // process, for whom the root-owned file of mode 0 (or a folder of mode 0700) is unreadable.
  TempDir dir;
  std::string expected;
  SECTION("a file") {
    auto path = dir.write("settings/default_config.json", "{}");
    ::chmod(path.c_str(), 0);
    expected = "cannot read \"settings/default_config.json\": permission denied";
  }
  SECTION("in a folder") {
    dir.write("settings/default_config.json", "{}");
    ::chmod((dir.path() / "settings").c_str(), 0700);
    if (::geteuid() != 0) {
      ::chmod((dir.path() / "settings").c_str(), 0);
    }
    expected = "cannot read \"settings/default_config.json\": permission denied";
  }
  CHECK(error_as_another_user(dir) == expected);
}
