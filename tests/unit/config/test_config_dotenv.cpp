#include <bdd/config/config.hpp>

#include <catch2/catch.hpp>
#include <support/temp_dir.hpp>

using bdd::Errc;
using bdd::config::load_dotenv;
using bdd::test::TempDir;

namespace {

using Environment = std::map<std::string, std::string>;

Environment load(const std::string& text, Environment environment = {}) {
  TempDir dir;
  dir.write(".env", text);
  auto loaded = load_dotenv(dir.path(), environment);
  REQUIRE(loaded);
  return environment;
}

std::string load_error(const std::string& text) {
  TempDir dir;
  dir.write(".env", text);
  Environment environment;
  auto loaded = load_dotenv(dir.path(), environment);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == Errc::config);
  return loaded.error().message;
}

} // namespace

TEST_CASE("config::load_dotenv without a .env file changes nothing", "[config]") {
  TempDir dir;
  Environment environment{{"A", "1"}};
  REQUIRE(load_dotenv(dir.path(), environment));
  CHECK(environment == Environment{{"A", "1"}});
}

TEST_CASE("config::load_dotenv parses the usual syntax", "[config]") {
  auto environment = load("# a comment\n"
                          "\n"
                          "PLAIN=value\n"
                          "  SPACED  =   padded value   \n"
                          "export EXPORTED=yes\n"
                          "INLINE=abc # a comment\n"
                          "HASH=a#b\n"
                          "SINGLE='has # no comment'  # but this is\n"
                          "LITERAL='a\\nb ${X}'\n"
                          "DOUBLE=\"line1\\nline2 \\\"quoted\\\" back\\\\slash\" # comment\n"
                          "EMPTY=\n"
                          "EMPTY_QUOTED=\"\"\n"
                          "WINDOWS=crlf\r\n"
                          "REPEATED=first\n"
                          "REPEATED=second\n"
                          "EQUALS=a=b=c\n"
                          "NO_NEWLINE_AT_END=last");
  CHECK(environment.at("PLAIN") == "value");
  CHECK(environment.at("SPACED") == "padded value");
  CHECK(environment.at("EXPORTED") == "yes");
  CHECK(environment.at("INLINE") == "abc");
  CHECK(environment.at("HASH") == "a#b");
  CHECK(environment.at("SINGLE") == "has # no comment");
  CHECK(environment.at("LITERAL") == "a\\nb ${X}");
  CHECK(environment.at("DOUBLE") == "line1\nline2 \"quoted\" back\\slash");
  CHECK(environment.at("EMPTY").empty());
  CHECK(environment.at("EMPTY_QUOTED").empty());
  CHECK(environment.at("WINDOWS") == "crlf");
  CHECK(environment.at("REPEATED") == "second");
  CHECK(environment.at("EQUALS") == "a=b=c");
  CHECK(environment.at("NO_NEWLINE_AT_END") == "last");
}

TEST_CASE("config::load_dotenv skips a UTF-8 byte order mark", "[config]") {
  CHECK(load("\xEF\xBB\xBF"
             "A=1\n")
        == Environment{{"A", "1"}});
}

TEST_CASE("config::load_dotenv never overrides a variable already set", "[config]") {
  auto environment = load("A=from-file\nB=from-file\n", {{"A", "from-env"}, {"C", ""}});
  CHECK(environment == Environment{{"A", "from-env"}, {"B", "from-file"}, {"C", ""}});
  auto kept_empty = load("C=from-file\n", {{"C", ""}});
  CHECK(kept_empty.at("C").empty());
}

TEST_CASE("config::load_dotenv names the line of a malformed entry, not its text", "[config]") {
  CHECK(load_error("OK=1\n\nsk-SECRET\n") == ".env:3: expected NAME=VALUE");
  CHECK(
      load_error("1ABC=SECRET\n")
      == ".env:1: invalid variable name (use letters, digits and '_', not starting with a digit)");
  CHECK(
      load_error("MY-KEY=SECRET\n")
      == ".env:1: invalid variable name (use letters, digits and '_', not starting with a digit)");
  CHECK(
      load_error("=SECRET\n")
      == ".env:1: invalid variable name (use letters, digits and '_', not starting with a digit)");
  CHECK(load_error("A=1\nKEY=\"SECRET\n") == ".env:2: unterminated double quote");
  CHECK(load_error("KEY='SECRET\n") == ".env:1: unterminated single quote");
  CHECK(load_error("KEY=\"SECRET\" trailing\n")
        == ".env:1: unexpected text after the quoted value");
}
