#include <bdd/core/redact.hpp>

#include <catch2/catch.hpp>

using bdd::redact;

TEST_CASE("core::redact removes the user information of every URL", "[core]") {
  CHECK(redact("https://u:p@host:1/x?y=1", "") == "https://host:1/x?y=1");
  CHECK(redact("GET http://me@h/a and https://a:b@c", "") == "GET http://h/a and https://c");
  CHECK(redact("no url here, mail@example.org", "") == "no url here, mail@example.org");
  CHECK(redact("http://host/path@x", "") == "http://host/path@x");
}

TEST_CASE("core::redact hides the key and bearer tokens", "[core]") {
  CHECK(redact("bad key SECRET-KEY-123!", "SECRET-KEY-123") == "bad key [redacted]!");
  CHECK(redact("SECRET-KEY-123SECRET-KEY-123", "SECRET-KEY-123") == "[redacted][redacted]");
  CHECK(redact("got 'Bearer abc.def', rejected", "") == "got 'Bearer [redacted]', rejected");
  CHECK(redact("Bearer SECRET-KEY-123", "SECRET-KEY-123") == "Bearer [redacted]");
  CHECK(redact("nothing", "") == "nothing");
}

TEST_CASE("core::redact hides every echoed prefix of the key of 6 characters or more", "[core]") {
  const std::string key = "sk_live_0123456789abcdef";
  // A server that quotes the first 8 characters gives those away: they go, and nothing else.
  CHECK(redact("invalid key \"sk_live_\" for study", key)
        == "invalid key \"[redacted]\" for study");
  CHECK(redact("key sk_liv...", key) == "key [redacted]...");
  CHECK(redact("sk_live_0123 and sk_live_0123456789abcdef", key) == "[redacted] and [redacted]");
  // Five characters are too common to mean anything.
  CHECK(redact("sk_li is fine", key) == "sk_li is fine");
  // Only prefixes count: the middle of the key alone is not matched.
  CHECK(redact("0123456789", key) == "0123456789");
  // A short key is matched whole only.
  CHECK(redact("abc and abcd", "abcd") == "abc and [redacted]");
  // A key in a URL's user information goes with it.
  CHECK(redact("https://sk_live_0123456789abcdef@h/x", key) == "https://h/x");
  CHECK(redact("https://user:sk_live_0123456789abcdef@h/x", key) == "https://h/x");
}

TEST_CASE("core::redact_known_secrets uses every registered secret", "[core]") {
  bdd::register_secret("");
  bdd::register_secret("first-secret-value");
  bdd::register_secret("second-secret-value");
  CHECK(bdd::redact_known_secrets("a first-secret-value b second-sec c https://u:p@h")
        == "a [redacted] b [redacted] c https://h");
}
