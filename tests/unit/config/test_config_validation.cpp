#include <bdd/config/config.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

using bdd::Errc;
using bdd::config::resolve;
using bdd::config::Sources;
using bdd::test::TempDir;

namespace {

// The error of resolving "demo" with `text` as study_configs/demo.json, or "" on success.
std::string study_config_error(const std::string& text,
                               std::map<std::string, std::string> environment = {}) {
  TempDir dir;
  dir.write("study_configs/demo.json", text);
  Sources sources;
  sources.work_dir = dir.path();
  sources.environment = std::move(environment);
  auto config = resolve("demo", sources, false);
  if (config) {
    return "";
  }
  CHECK(config.error().code == Errc::config);
  return config.error().message;
}

} // namespace

TEST_CASE("config::resolve rejects unknown keys with a suggestion", "[config]") {
  CHECK(study_config_error(R"({"api": {"tiemout": 3}})")
        == "study_configs/demo.json: unknown key \"api.tiemout\" (did you mean \"api.timeout\"?)");
  CHECK(study_config_error(R"({"timeout": 3})")
        == "study_configs/demo.json: unknown key \"timeout\" (did you mean \"api.timeout\"?)");
  CHECK(study_config_error(R"({"strage": {}})")
        == "study_configs/demo.json: unknown key \"strage\" (did you mean \"storage\"?)");
  CHECK(study_config_error(R"({"download": {"page_size": 10}})")
        == "study_configs/demo.json: unknown key \"download.page_size\" (known keys in download: "
           "default_page_size, max_concurrent_requests)");
  CHECK(study_config_error(R"({"colour": "blue"})")
        == "study_configs/demo.json: unknown key \"colour\" (known keys: study_name, api, "
           "download, storage)");
  CHECK(study_config_error(R"({"api.timeout": 3})")
        == "study_configs/demo.json: unknown key \"api.timeout\" (nest it instead: \"api\": "
           "{...})");
}

TEST_CASE("config::resolve treats keys starting with '_' as comments", "[config]") {
  CHECK(study_config_error(R"({"_comment": 1, "api": {"_note": [], "timeout": 3},
                               "storage": {"_": {"anything": true}}})")
        == "");
}

TEST_CASE("config::resolve rejects wrong types", "[config]") {
  auto error = [](const std::string& section, const std::string& key, const std::string& value) {
    return study_config_error("{\"" + section + "\": {\"" + key + "\": " + value + "}}");
  };
  const std::string file = "study_configs/demo.json: ";
  CHECK(study_config_error(R"({"study_name": 3})") == file + "study_name must be a string, got 3");
  CHECK(study_config_error(R"({"api": 3})")
        == file + "api must be an object (a section of settings), got 3");
  CHECK(study_config_error(R"({"storage": ["a"]})")
        == file + "storage must be an object (a section of settings), got [\"a\"]");
  CHECK(error("api", "base_url", "true")
        == file + "api.base_url must be a string starting with http:// or https://, got true");
  CHECK(error("api", "api_key", "123") == file + "api.api_key must be a string, got a number");
  CHECK(error("api", "api_key", "null") == file + "api.api_key must be a string, got null");
  CHECK(error("api", "timeout", "\"fast\"")
        == file + "api.timeout must be a number of seconds greater than 0, got \"fast\"");
  CHECK(error("api", "max_retries", "\"3\"")
        == file + "api.max_retries must be an integer from 0 to 100, got \"3\"");
  CHECK(error("api", "max_retries", "1.5")
        == file + "api.max_retries must be an integer from 0 to 100, got 1.5");
  CHECK(error("api", "retry_delay", "null")
        == file + "api.retry_delay must be a number of seconds from 0 to 3600, got null");
  CHECK(error("api", "verify_tls", "\"no\"")
        == file + "api.verify_tls must be true or false, got \"no\"");
  CHECK(error("api", "verify_tls", "0") == file + "api.verify_tls must be true or false, got 0");
  CHECK(error("download", "default_page_size", "\"1000\"")
        == file + "download.default_page_size must be an integer from 1 to 100000, got \"1000\"");
  CHECK(error("download", "max_concurrent_requests", "false")
        == file + "download.max_concurrent_requests must be an integer from 1 to 32, got false");
  CHECK(error("storage", "data_directory", "{}")
        == file + "storage.data_directory must be a non-empty string (a directory path), got {}");
  CHECK(
      error("storage", "default_format", "1")
      == file + "storage.default_format must be one of json, jsonl, csv, sqlite or parquet, got 1");
  CHECK(error("storage", "folder_structure", "\"by_date\"")
        == file
               + "storage.folder_structure must be an array of distinct values from by_user_id, "
                 "by_date or by_event_type, got \"by_date\"");
  CHECK(error("storage", "folder_structure", "[1]")
        == file
               + "storage.folder_structure[0] must be one of by_user_id, by_date or "
                 "by_event_type, got 1");
}

TEST_CASE("config::resolve rejects invalid values", "[config]") {
  auto error = [](const std::string& section, const std::string& key, const std::string& value) {
    return study_config_error("{\"" + section + "\": {\"" + key + "\": " + value + "}}");
  };
  const std::string file = "study_configs/demo.json: ";
  CHECK(error("api", "base_url", "\"ftp://example.org\"")
        == file
               + "api.base_url must be a string starting with http:// or https://, got "
                 "\"ftp://example.org\"");
  CHECK(error("api", "base_url", "\"https:///\"")
        == file
               + "api.base_url must be a string starting with http:// or https://, got "
                 "\"https:///\"");
  CHECK(error("api", "timeout", "0")
        == file + "api.timeout must be a number of seconds greater than 0, got 0");
  CHECK(error("api", "timeout", "-1")
        == file + "api.timeout must be a number of seconds greater than 0, got -1");
  CHECK(error("api", "timeout", "100000")
        == file + "api.timeout must be at most 86400 seconds (one day), got 100000");
  CHECK(error("api", "max_retries", "-1")
        == file + "api.max_retries must be an integer from 0 to 100, got -1");
  CHECK(error("api", "max_retries", "18446744073709551615")
        == file + "api.max_retries must be an integer from 0 to 100, got 18446744073709551615");
  CHECK(error("api", "retry_delay", "-0.5")
        == file + "api.retry_delay must be a number of seconds from 0 to 3600, got -0.5");
  CHECK(error("api", "retry_delay", "0") == "");
  CHECK(error("download", "default_page_size", "0")
        == file + "download.default_page_size must be an integer from 1 to 100000, got 0");
  CHECK(error("download", "default_page_size", "100001")
        == file + "download.default_page_size must be an integer from 1 to 100000, got 100001");
  CHECK(error("download", "max_concurrent_requests", "0")
        == file + "download.max_concurrent_requests must be an integer from 1 to 32, got 0");
  CHECK(error("download", "max_concurrent_requests", "33")
        == file + "download.max_concurrent_requests must be an integer from 1 to 32, got 33");
  CHECK(error("storage", "data_directory", "\"\"")
        == file + "storage.data_directory must be a non-empty string (a directory path), got \"\"");
  CHECK(error("storage", "default_format", "\"xml\"")
        == file
               + "storage.default_format \"xml\" is not supported (use json, jsonl, csv, sqlite or "
                 "parquet)");
  CHECK(error("storage", "default_format", "\"parquet\"").empty()); // a storage format now
  CHECK(error("storage", "folder_structure", R"(["by_user_id", "by_month"])")
        == file
               + "storage.folder_structure[1] \"by_month\" is not supported (use by_user_id, "
                 "by_date or by_event_type)");
  CHECK(error("storage", "folder_structure", R"(["by_date", "by_user_id", "by_date"])")
        == file + "storage.folder_structure lists \"by_date\" twice");
  for (const char* format : {"json", "jsonl", "csv", "sqlite"}) {
    CHECK(error("storage", "default_format", "\"" + std::string(format) + "\"") == "");
  }
}

TEST_CASE("config::resolve expands ${VAR} in every string value", "[config]") {
  const std::string file = "study_configs/demo.json: ";
  CHECK(study_config_error(R"({"storage": {"data_directory": "${ROOT}/x"}})", {{"ROOT", "/tmp"}})
        == "");
  CHECK(study_config_error(R"({"storage": {"data_directory": "${ROOT}/x"}})")
        == file
               + "storage.data_directory uses ${ROOT}, which is not set or is empty (set it in "
                 ".env or the environment)");
  CHECK(study_config_error(R"({"storage": {"default_format": "${FORMAT}"}})", {{"FORMAT", ""}})
        == file
               + "storage.default_format uses ${FORMAT}, which is not set or is empty (set it in "
                 ".env or the environment)");
  CHECK(study_config_error(R"({"storage": {"folder_structure": ["${LEVEL}"]}})")
        == file
               + "storage.folder_structure[0] uses ${LEVEL}, which is not set or is empty (set it "
                 "in .env or the environment)");
  CHECK(study_config_error(R"({"storage": {"default_format": "${FORMAT}"}})", {{"FORMAT", "xml"}})
        == file
               + "storage.default_format \"xml\" is not supported (use json, jsonl, csv, sqlite or "
                 "parquet)");
  CHECK(study_config_error(R"({"api": {"base_url": "https://${HOST"}})")
        == file
               + "api.base_url has a \"${\" that does not start a ${NAME} reference (NAME made of "
                 "letters, digits and '_')");
  CHECK(study_config_error(R"({"api": {"api_key": "${1X}"}})")
        == file
               + "api.api_key has a \"${\" that does not start a ${NAME} reference (NAME made of "
                 "letters, digits and '_')");
}

TEST_CASE("config::resolve keeps $VAR and $$ as written", "[config]") {
  TempDir dir;
  dir.write("study_configs/demo.json", R"({"storage": {"data_directory": "a$HOME$$b"}})");
  Sources sources;
  sources.work_dir = dir.path();
  sources.environment = {{"HOME", "/home/x"}};
  auto config = resolve("demo", sources, false);
  REQUIRE(config);
  CHECK(config->data_directory == dir.path() / "a$HOME$$b");
}

TEST_CASE("config::resolve reports invalid JSON with its position", "[config]") {
  TempDir dir;
  dir.write("settings/default_config.json", "{\n  \"api\": {\n    \"timeout\" 30\n  }\n}\n");
  Sources sources;
  sources.work_dir = dir.path();
  auto config = resolve("demo", sources, false);
  REQUIRE_FALSE(config);
  CHECK(config.error().code == Errc::config);
  CHECK(config.error().message
        == "settings/default_config.json: invalid JSON at line 3, column 16: syntax error while "
           "parsing object separator - unexpected number literal; expected ':'");

  SECTION("a raw line break in a string") {
    dir.write("settings/default_config.json", "{\"a\": \"x\ny\"}");
    auto broken = resolve("demo", sources, false);
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message
          == "settings/default_config.json: invalid JSON at line 1, column 9: syntax error while "
             "parsing value - invalid string: "
             "control character U+000A (LF) must be escaped to \\u000A or \\n");
  }
  SECTION("a number too large") {
    dir.write("settings/default_config.json", "{\"a\": 1e400}");
    auto broken = resolve("demo", sources, false);
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message
          == "settings/default_config.json: invalid JSON: number overflow parsing '1e400'");
  }
  SECTION("an empty file") {
    dir.write("settings/default_config.json", "");
    auto empty = resolve("demo", sources, false);
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message
          == "settings/default_config.json: invalid JSON at line 1, column 1: syntax error while "
             "parsing value - unexpected end of input; expected '[', '{', or a literal");
  }
}

TEST_CASE("config::resolve requires a JSON object at the top level", "[config]") {
  CHECK(study_config_error("[1, 2]")
        == "study_configs/demo.json: expected a JSON object ({...}) at the top level, got an "
           "array");
  CHECK(study_config_error("\"demo\"")
        == "study_configs/demo.json: expected a JSON object ({...}) at the top level, got a "
           "string");
}

TEST_CASE("config::resolve refuses a base_url with a query string or a fragment", "[config]") {
  const std::string file = "study_configs/demo.json: ";
  CHECK(study_config_error(R"({"api": {"base_url": "https://api.example.org/x?token=1"}})")
        == file
               + "api.base_url must not have a query string (the part from '?'), got "
                 "\"https://api.example.org/x?token=1\" (remove it: bdd adds the path and the "
                 "query of each request itself)");
  CHECK(study_config_error(R"({"api": {"base_url": "https://api.example.org#top"}})")
        == file
               + "api.base_url must not have a fragment (the part from '#'), got "
                 "\"https://api.example.org#top\" (remove it: bdd adds the path and the query of "
                 "each request itself)");
  CHECK(study_config_error(R"({"api": {"base_url": "https://api.example.org/v/"}})") == "");
}

TEST_CASE("config::resolve never shows the user information of a base_url", "[config]") {
  for (const char* url : {"https://alice:pa55word@api.example.org/?x=1",
                          "https://alice:pa55word@api.example.org#f",
                          "ftp://alice:pa55word@api.example.org"}) {
    const std::string error =
        study_config_error(std::string(R"({"api": {"base_url": ")") + url + "\"}}");
    CHECK_FALSE(error.empty());
    CHECK(error.find("pa55word") == std::string::npos);
    CHECK(error.find("alice") == std::string::npos);
    CHECK(error.find("api.example.org") != std::string::npos);
  }
}

TEST_CASE("config::resolve reads and checks the response and wait limits", "[config]") {
  const std::string file = "study_configs/demo.json: ";
  CHECK(study_config_error(R"({"api": {"max_response_bytes": 1000}})")
        == file
               + "api.max_response_bytes must be an integer number of bytes from 1048576 (1 MiB) "
                 "to 17179869184 (16 GiB), got 1000");
  CHECK(study_config_error(R"({"api": {"max_response_bytes": "1G"}})")
        == file
               + "api.max_response_bytes must be an integer number of bytes from 1048576 (1 MiB) "
                 "to 17179869184 (16 GiB), got \"1G\"");
  CHECK(study_config_error(R"({"api": {"max_total_wait_seconds": -1}})")
        == file + "api.max_total_wait_seconds must be a number of seconds from 0 to 86400, got -1");

  TempDir dir;
  Sources sources;
  sources.work_dir = dir.path();
  auto defaults = resolve("demo", sources, false);
  REQUIRE(defaults);
  CHECK(defaults->max_response_bytes == 256U * 1024 * 1024);
  CHECK(defaults->max_total_wait == std::chrono::seconds{900});
  dir.write("study_configs/demo.json",
            R"({"api": {"max_response_bytes": 2097152, "max_total_wait_seconds": 1.5}})");
  auto config = resolve("demo", sources, false);
  REQUIRE(config);
  CHECK(config->max_response_bytes == 2097152U);
  CHECK(config->max_total_wait == std::chrono::milliseconds{1'500});
}
