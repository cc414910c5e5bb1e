#include <bdd/core/text.hpp>

#include <catch2/catch.hpp>

#include <string_view>

using namespace std::string_view_literals;

TEST_CASE("core::trim removes ASCII white space at both ends only", "[core]") {
  CHECK(bdd::trim("  a b \t\r\n") == "a b");
  CHECK(bdd::trim("\f\vvalue\v") == "value");
  CHECK(bdd::trim("x") == "x");
  CHECK(bdd::trim(" \t\r\n ").empty());
  CHECK(bdd::trim("").empty());
  // Not white space: a NUL byte and UTF-8 (a no-break space is two bytes, kept).
  CHECK(bdd::trim(" a\0"sv) == "a\0"sv);
  CHECK(bdd::trim("\xc2\xa0"
                  "a")
        == "\xc2\xa0"
           "a");
}

TEST_CASE("core::edit_distance counts edits, an adjacent transposition as one", "[core]") {
  CHECK(bdd::edit_distance("config", "config") == 0);
  CHECK(bdd::edit_distance("conifg", "config") == 1);
  CHECK(bdd::edit_distance("downlod", "download") == 1);
  CHECK(bdd::edit_distance("timeout", "tiemout") == 1);
  CHECK(bdd::edit_distance("", "abc") == 3);
  CHECK(bdd::edit_distance("abc", "") == 3);
  CHECK(bdd::edit_distance("rm", "dl") == 2);
  CHECK(bdd::edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("core::group_digits puts a comma between groups of three digits", "[core]") {
  CHECK(bdd::group_digits(0) == "0");
  CHECK(bdd::group_digits(999) == "999");
  CHECK(bdd::group_digits(1000) == "1,000");
  CHECK(bdd::group_digits(1234567) == "1,234,567");
  CHECK(bdd::group_digits(18446744073709551615ULL) == "18,446,744,073,709,551,615");
}
