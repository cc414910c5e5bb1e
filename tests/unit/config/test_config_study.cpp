#include <bdd/config/config.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <support/temp_dir.hpp>

using bdd::Errc;
using bdd::config::create_study_config;
using bdd::config::list_study_configs;
using bdd::config::study_key_variable;
using bdd::config::validate_study_name;
using bdd::test::TempDir;

TEST_CASE("config::study_key_variable upper-cases and replaces other characters", "[config]") {
  CHECK(study_key_variable("my-new.study") == "BEHAVERSE_API_KEY_MY_NEW_STUDY");
  CHECK(study_key_variable("demo") == "BEHAVERSE_API_KEY_DEMO");
  CHECK(study_key_variable("Demo_2") == "BEHAVERSE_API_KEY_DEMO_2");
  CHECK(study_key_variable("caf\xC3\xA9") == "BEHAVERSE_API_KEY_CAF__");
}

TEST_CASE("config::validate_study_name accepts safe names only", "[config]") {
  for (const std::string& name :
       std::vector<std::string>{"demo", "my-new.study", "A_1", "x", std::string(128, 'a')}) {
    CHECK(validate_study_name(name));
  }
  for (const std::string& name : std::vector<std::string>{"",
                                                          ".hidden",
                                                          "-flag",
                                                          "a/b",
                                                          "..",
                                                          "a b",
                                                          "caf\xC3\xA9",
                                                          "a\nb",
                                                          std::string(129, 'a')}) {
    auto result = validate_study_name(name);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::usage);
  }
  CHECK(validate_study_name("a/b").error().message
        == "invalid study name \"a/b\" (use 1 to 128 letters, digits, '.', '_' or '-', not "
           "starting with '.' or '-')");
  CHECK(validate_study_name("a\nb").error().message
        == "invalid study name \"a\\nb\" (use 1 to 128 letters, digits, '.', '_' or '-', not "
           "starting with '.' or '-')");
}

TEST_CASE("config::list_study_configs lists valid study config names, sorted", "[config]") {
  TempDir dir;
  CHECK(list_study_configs(dir.path()).empty());
  dir.write("study_configs/zeta.json", "{}");
  dir.write("study_configs/alpha.json", "{}");
  dir.write("study_configs/.gitkeep", "");
  dir.write("study_configs/notes.txt", "");
  dir.write("study_configs/.hidden.json", "{}");
  std::filesystem::create_directories(dir.path() / "study_configs/dir.json");
  CHECK(list_study_configs(dir.path()) == std::vector<std::string>{"alpha", "zeta"});
}

TEST_CASE("config::create_study_config fills in the template", "[config]") {
  TempDir dir;

  SECTION("from settings/config_template.json, keeping its key order") {
    dir.write("settings/config_template.json",
              R"({"_comment": "x", "study_name": "my-study", "api": {"base_url": "https://h", )"
              R"("api_key": "${BEHAVERSE_API_KEY_STUDY}", "timeout": 5}})");
    auto path = create_study_config(dir.path(), "my-new-study");
    REQUIRE(path);
    CHECK(*path == dir.path() / "study_configs/my-new-study.json");
    CHECK(dir.read("study_configs/my-new-study.json")
          == "{\n"
             "  \"_comment\": \"x\",\n"
             "  \"study_name\": \"my-new-study\",\n"
             "  \"api\": {\n"
             "    \"base_url\": \"https://h\",\n"
             "    \"api_key\": \"${BEHAVERSE_API_KEY_MY_NEW_STUDY}\",\n"
             "    \"timeout\": 5\n"
             "  }\n"
             "}\n");
    CHECK(list_study_configs(dir.path()) == std::vector<std::string>{"my-new-study"});

    // The new file resolves, and its key comes from the study's variable.
    bdd::config::Sources sources;
    sources.work_dir = dir.path();
    sources.environment = {{"BEHAVERSE_API_KEY_MY_NEW_STUDY", "k-new"},
                           {"BEHAVERSE_API_KEY", "k-default"}};
    auto config = bdd::config::resolve("my-new-study", sources, true);
    REQUIRE(config);
    CHECK(config->api_key == "k-new");
    CHECK(config->timeout == std::chrono::seconds(5));
  }
  SECTION("from the built-in template when the file is missing") {
    auto path = create_study_config(dir.path(), "demo");
    REQUIRE(path);
    auto document = nlohmann::json::parse(dir.read("study_configs/demo.json"));
    CHECK(document["study_name"] == "demo");
    CHECK(document["api"]["api_key"] == "${BEHAVERSE_API_KEY_DEMO}");
    // No layout: the study follows the defaults, and one downloaded before keeps its own.
    CHECK_FALSE(document["storage"].contains("default_format"));
    CHECK_FALSE(document["storage"].contains("folder_structure"));
  }
  SECTION("the built-in template matches the shipped one") {
    std::ifstream in(std::filesystem::path(BDD_SOURCE_DIR) / "settings/config_template.json");
    std::string shipped{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    REQUIRE_FALSE(shipped.empty());
    TempDir with_template;
    with_template.write("settings/config_template.json", shipped);
    REQUIRE(create_study_config(dir.path(), "demo"));
    REQUIRE(create_study_config(with_template.path(), "demo"));
    CHECK(dir.read("study_configs/demo.json") == with_template.read("study_configs/demo.json"));
  }
  SECTION("a template without study_name gets it first") {
    dir.write("settings/config_template.json", R"({"storage": {"default_format": "csv"}})");
    REQUIRE(create_study_config(dir.path(), "demo"));
    CHECK(dir.read("study_configs/demo.json")
          == "{\n"
             "  \"study_name\": \"demo\",\n"
             "  \"storage\": {\n"
             "    \"default_format\": \"csv\"\n"
             "  },\n"
             "  \"api\": {\n"
             "    \"api_key\": \"${BEHAVERSE_API_KEY_DEMO}\"\n"
             "  }\n"
             "}\n");
  }
  SECTION("an invalid template") {
    dir.write("settings/config_template.json", "[]");
    auto path = create_study_config(dir.path(), "demo");
    REQUIRE_FALSE(path);
    CHECK(path.error().message
          == "settings/config_template.json: expected a JSON object ({...}) at the top level, got "
             "an array");
  }
}

TEST_CASE("config::create_study_config never overwrites", "[config]") {
  TempDir dir;
  dir.write("study_configs/demo.json", "{\"mine\": true}");
  auto path = create_study_config(dir.path(), "demo");
  REQUIRE_FALSE(path);
  CHECK(path.error().code == Errc::config);
  CHECK(path.error().message
        == "study_configs/demo.json already exists (edit it, or delete it to start again)");
  CHECK(dir.read("study_configs/demo.json") == "{\"mine\": true}");
  // No temporary file is left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator(dir.path() / "study_configs")) {
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("config::create_study_config rejects an invalid study name", "[config]") {
  TempDir dir;
  auto path = create_study_config(dir.path(), "../escape");
  REQUIRE_FALSE(path);
  CHECK(path.error().code == Errc::usage);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "study_configs"));
}
