#include <bdd/core/bloom_filter.hpp>

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("core::BloomFilter never forgets a key it was given", "[core]") {
  bdd::BloomFilter filter(1 << 16);
  for (int i = 0; i < 20'000; ++i) {
    filter.add("user" + std::to_string(i % 97) + "_" + std::to_string(i));
  }
  for (int i = 0; i < 20'000; ++i) {
    REQUIRE(filter.maybe_contains("user" + std::to_string(i % 97) + "_" + std::to_string(i)));
  }
  bdd::BloomFilter small(1024);
  CHECK_FALSE(small.maybe_contains(""));
  small.add("");
  CHECK(small.maybe_contains(""));
}

TEST_CASE("core::BloomFilter rejects most keys it was not given", "[core]") {
  // 20k keys in 64 KiB is 26 bits per key: false positives should be near 1 in 10000.
  bdd::BloomFilter filter(1 << 16);
  for (int i = 0; i < 20'000; ++i) {
    filter.add("present-" + std::to_string(i));
  }
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) {
    false_positives += filter.maybe_contains("absent-" + std::to_string(i)) ? 1 : 0;
  }
  CHECK(false_positives < 100);
}
