#include <bdd/config/config.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>
#include <sys/stat.h>

using bdd::Errc;
using bdd::config::Config;
using bdd::config::key_status;
using bdd::config::resolve;
using bdd::config::Sources;
using bdd::test::TempDir;

namespace {

Sources sources_in(const TempDir& dir, std::map<std::string, std::string> environment = {}) {
  Sources sources;
  sources.work_dir = dir.path();
  sources.environment = std::move(environment);
  return sources;
}

std::string key_file(const std::string& key) {
  return R"({"api": {"api_key": ")" + key + R"("}})";
}

} // namespace

TEST_CASE("config::resolve takes the API key from the highest-priority source", "[config]") {
  TempDir dir;
  auto sources = sources_in(dir);
  // Sources, highest priority first: study variable, study config, default variable, default
  // config.
  bool study_variable = GENERATE(false, true);
  bool study_file = GENERATE(false, true);
  bool default_variable = GENERATE(false, true);
  bool default_file = GENERATE(false, true);
  if (study_variable) {
    sources.environment["BEHAVERSE_API_KEY_DEMO"] = "k-study-variable";
  }
  if (study_file) {
    dir.write("study_configs/demo.json", key_file("k-study-file"));
  }
  if (default_variable) {
    sources.environment["BEHAVERSE_API_KEY"] = "k-default-variable";
  }
  if (default_file) {
    dir.write("settings/default_config.json", key_file("k-default-file"));
  }
  auto config = resolve("demo", sources, false);
  REQUIRE(config);
  if (study_variable) {
    CHECK(config->api_key == "k-study-variable");
    CHECK(config->api_key_origin.description == "BEHAVERSE_API_KEY_DEMO");
  } else if (study_file) {
    CHECK(config->api_key == "k-study-file");
    CHECK(config->api_key_origin.description == "study_configs/demo.json api.api_key");
  } else if (default_variable) {
    CHECK(config->api_key == "k-default-variable");
    CHECK(config->api_key_origin.description == "BEHAVERSE_API_KEY");
  } else if (default_file) {
    CHECK(config->api_key == "k-default-file");
    CHECK(config->api_key_origin.description == "settings/default_config.json api.api_key");
  } else {
    CHECK(config->api_key.empty());
    CHECK(config->api_key_origin.description.empty());
  }
}

TEST_CASE("config::resolve turns the study name into its key variable", "[config]") {
  TempDir dir;
  auto config =
      resolve("my-new.study", sources_in(dir, {{"BEHAVERSE_API_KEY_MY_NEW_STUDY", "k1"}}), true);
  REQUIRE(config);
  CHECK(config->api_key == "k1");
}

TEST_CASE("config::resolve reads .env without overriding the environment", "[config]") {
  TempDir dir;
  dir.write(".env", "BEHAVERSE_API_KEY_DEMO=k-from-dotenv\nBEHAVERSE_API_KEY=k-default-dotenv\n");

  SECTION("the environment wins over .env") {
    auto config =
        resolve("demo", sources_in(dir, {{"BEHAVERSE_API_KEY_DEMO", "k-from-env"}}), true);
    REQUIRE(config);
    CHECK(config->api_key == "k-from-env");
    CHECK(config->api_key_origin.description == "BEHAVERSE_API_KEY_DEMO");
  }
  SECTION("a variable set but empty in the environment is not replaced by .env") {
    auto config = resolve("demo", sources_in(dir, {{"BEHAVERSE_API_KEY_DEMO", ""}}), true);
    REQUIRE(config);
    CHECK(config->api_key == "k-default-dotenv");
    CHECK(config->api_key_origin.description == "BEHAVERSE_API_KEY (from .env)");
  }
  SECTION(".env fills what the environment lacks") {
    auto config = resolve("demo", sources_in(dir), true);
    REQUIRE(config);
    CHECK(config->api_key == "k-from-dotenv");
    CHECK(config->api_key_origin.description == "BEHAVERSE_API_KEY_DEMO (from .env)");
  }
}

TEST_CASE("config::resolve expands ${VAR} after reading .env", "[config]") {
  // The Python tool expanded before loading .env and sent the literal "${...}" as the key.
  TempDir dir;
  dir.write(".env", "LAB_KEY=k-lab\nAPI_HOST=api.example.org\n");
  dir.write("study_configs/demo.json",
            R"({"api": {"api_key": "${LAB_KEY}", "base_url": "https://${API_HOST}/"}})");
  auto config = resolve("demo", sources_in(dir), true);
  REQUIRE(config);
  CHECK(config->api_key == "k-lab");
  CHECK(config->api_key_origin.description == "study_configs/demo.json api.api_key");
  CHECK(config->base_url == "https://api.example.org");
}

TEST_CASE("config::resolve falls through an api_key whose variable is unset", "[config]") {
  TempDir dir;
  dir.write("study_configs/demo.json", key_file("${BEHAVERSE_API_KEY_DEMO}"));
  dir.write("settings/default_config.json", key_file("${NOT_SET_EITHER}"));

  SECTION("to the default variable") {
    auto config = resolve("demo", sources_in(dir, {{"BEHAVERSE_API_KEY", "k-default"}}), true);
    REQUIRE(config);
    CHECK(config->api_key == "k-default");
    CHECK(config->api_key_origin.tried
          == std::vector<std::string>{
              "BEHAVERSE_API_KEY_DEMO",
              "study_configs/demo.json api.api_key (${BEHAVERSE_API_KEY_DEMO} is not set)"});
  }
  SECTION("to nothing") {
    auto config = resolve("demo", sources_in(dir, {{"NOT_SET_EITHER", ""}}), true);
    REQUIRE_FALSE(config);
    CHECK(config.error().message
          == "no API key for study \"demo\": tried BEHAVERSE_API_KEY_DEMO, study_configs/demo.json "
             "api.api_key (${BEHAVERSE_API_KEY_DEMO} is not set), BEHAVERSE_API_KEY, "
             "settings/default_config.json api.api_key (${NOT_SET_EITHER} is not set); set "
             "BEHAVERSE_API_KEY_DEMO in .env or the environment");
  }
}

TEST_CASE("config::resolve ignores placeholder keys", "[config]") {
  TempDir dir;
  dir.write("study_configs/demo.json", key_file("your-api-key-here"));
  dir.write("settings/default_config.json", key_file("your_key_here"));
  auto sources = sources_in(dir,
                            {{"BEHAVERSE_API_KEY", "your_default_api_key_here"},
                             {"BEHAVERSE_API_KEY_DEMO", "your_demo_study_key"}});
  auto config = resolve("demo", sources, true);
  REQUIRE_FALSE(config);
  CHECK(config.error().message
        == "no API key for study \"demo\": tried BEHAVERSE_API_KEY_DEMO (a placeholder), "
           "study_configs/demo.json api.api_key (a placeholder), BEHAVERSE_API_KEY (a "
           "placeholder), settings/default_config.json api.api_key (a placeholder); set "
           "BEHAVERSE_API_KEY_DEMO in .env or the environment");

  SECTION("a real key further down is used") {
    dir.write("settings/default_config.json", key_file("k-real"));
    auto next = resolve("demo", sources, true);
    REQUIRE(next);
    CHECK(next->api_key == "k-real");
  }
}

TEST_CASE("config::resolve without a key lists every source and how to fix it", "[config]") {
  TempDir dir;
  auto sources = sources_in(dir);

  SECTION("all files present") {
    dir.write("study_configs/demo.json", key_file(""));
    dir.write("settings/default_config.json", key_file(""));
    auto config = resolve("demo", sources, true);
    REQUIRE_FALSE(config);
    CHECK(config.error().code == Errc::config);
    CHECK(config.error().message
          == "no API key for study \"demo\": tried BEHAVERSE_API_KEY_DEMO, study_configs/demo.json "
             "api.api_key, BEHAVERSE_API_KEY, settings/default_config.json api.api_key; set "
             "BEHAVERSE_API_KEY_DEMO in .env or the environment");
  }
  SECTION("no files") {
    auto config = resolve("demo-study", sources, true);
    REQUIRE_FALSE(config);
    CHECK(config.error().message
          == "no API key for study \"demo-study\": tried BEHAVERSE_API_KEY_DEMO_STUDY, "
             "study_configs/demo-study.json (not found), BEHAVERSE_API_KEY, "
             "settings/default_config.json (not found); set BEHAVERSE_API_KEY_DEMO_STUDY in .env "
             "or the environment");
  }
  SECTION("without require_key it is not an error") {
    auto config = resolve("demo", sources, false);
    REQUIRE(config);
    CHECK(key_status(*config)
          == "not set (tried BEHAVERSE_API_KEY_DEMO, study_configs/demo.json (not found), "
             "BEHAVERSE_API_KEY, settings/default_config.json (not found))");
  }
}

TEST_CASE("config::resolve never puts a key in a message", "[config]") {
  TempDir dir;
  const std::string secret = "SECRET-4f9a";
  auto sources = sources_in(dir);

  SECTION("a key with a line break") {
    sources.environment["BEHAVERSE_API_KEY_DEMO"] = secret + "\nX";
    auto config = resolve("demo", sources, true);
    REQUIRE_FALSE(config);
    CHECK(config.error().message
          == "BEHAVERSE_API_KEY_DEMO holds an API key with spaces or control characters (check "
             "for a stray quote or line break)");
  }
  SECTION("a key of the wrong type") {
    dir.write("study_configs/demo.json", R"({"api": {"api_key": ["SECRET-4f9a"]}})");
    auto config = resolve("demo", sources, true);
    REQUIRE_FALSE(config);
    CHECK(config.error().message
          == "study_configs/demo.json: api.api_key must be a string, got an array");
  }
  SECTION("a key left unquoted, which is invalid JSON") {
    dir.write("study_configs/demo.json", "{\"api\": {\"api_key\": SECRET-4f9a}}");
    auto config = resolve("demo", sources, true);
    REQUIRE_FALSE(config);
    CHECK(config.error().message.find("invalid JSON at line 1, column 21") != std::string::npos);
    CHECK(config.error().message.find("SECRET") == std::string::npos);
  }
  SECTION("a key in a malformed .env line") {
    dir.write(".env", "BEHAVERSE_API_KEY_DEMO=\"SECRET-4f9a\n");
    auto config = resolve("demo", sources, true);
    REQUIRE_FALSE(config);
    CHECK(config.error().message == ".env:1: unterminated double quote");
  }
  SECTION("a key that works, then a bad setting") {
    sources.environment["BEHAVERSE_API_KEY_DEMO"] = secret;
    dir.write("study_configs/demo.json", R"({"api": {"api_key": "SECRET-4f9a", "timeout": 0}})");
    auto config = resolve("demo", sources, true);
    REQUIRE_FALSE(config);
    CHECK(config.error().message.find("SECRET") == std::string::npos);
  }
}

TEST_CASE("config::key_status names the source, never the key", "[config]") {
  TempDir dir;
  auto config = resolve("demo", sources_in(dir, {{"BEHAVERSE_API_KEY", "k-secret"}}), true);
  REQUIRE(config);
  CHECK(key_status(*config) == "set (from BEHAVERSE_API_KEY)");
}

TEST_CASE("config::world_readable_secret_files finds shared files holding a key", "[config]") {
  TempDir dir;
  auto env = dir.write(".env", "BEHAVERSE_API_KEY=k-secret\n");
  auto study = dir.write("study_configs/demo.json", key_file("k-secret"));
  auto defaults = dir.write("settings/default_config.json", key_file("${BEHAVERSE_API_KEY}"));
  for (const auto& path : {env, study, defaults}) {
    ::chmod(path.c_str(), 0644);
  }
  auto sources = sources_in(dir);
  CHECK(bdd::config::world_readable_secret_files(sources, "demo")
        == std::vector<std::string>{".env", "study_configs/demo.json"});

  ::chmod(env.c_str(), 0600);
  ::chmod(study.c_str(), 0600);
  CHECK(bdd::config::world_readable_secret_files(sources, "demo").empty());

  SECTION("placeholders are not keys") {
    dir.write(".env", "BEHAVERSE_API_KEY=your_default_api_key_here\nOTHER=x\n");
    ::chmod(env.c_str(), 0640);
    CHECK(bdd::config::world_readable_secret_files(sources, "demo").empty());
  }
}
