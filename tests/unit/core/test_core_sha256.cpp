#include <bdd/core/sha256.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

TEST_CASE("core::sha256_hex matches the FIPS 180-4 test vectors", "[core]") {
  CHECK(bdd::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(bdd::sha256_hex("abc")
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(bdd::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(
      bdd::sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                      "nopqklmnopqrlmnopqrsmnopqrstnopqrstu")
      == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(bdd::sha256_hex(std::string(1'000'000, 'a'))
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("core::sha256_hex pads correctly around the block boundary", "[core]") {
  // Expected values from coreutils sha256sum. 55 and 56 bytes straddle the point where the
  // length no longer fits in the last block.
  CHECK(bdd::sha256_hex(std::string(55, 'x'))
        == "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(bdd::sha256_hex(std::string(56, 'x'))
        == "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  CHECK(bdd::sha256_hex(std::string(63, 'x'))
        == "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
  CHECK(bdd::sha256_hex(std::string(64, 'x'))
        == "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
  CHECK(bdd::sha256_hex(std::string(65, 'x'))
        == "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9");
  CHECK(bdd::sha256_hex(std::string(119, 'x'))
        == "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
}

TEST_CASE("core::Sha256::update gives the same digest however the input is split", "[core]") {
  std::string message;
  for (int i = 0; i < 1000; ++i) {
    message += static_cast<char>((i * 37) & 0xff); // every byte value, including NUL
  }
  const std::string expected = bdd::sha256_hex(message);

  for (std::size_t chunk : {1U, 3U, 63U, 64U, 65U, 127U, 500U}) {
    bdd::Sha256 hasher;
    for (std::size_t at = 0; at < message.size(); at += chunk) {
      hasher.update(std::string_view(message).substr(at, chunk));
    }
    CHECK(hasher.finish_hex() == expected);
  }
}

TEST_CASE("core::Sha256::finish_hex resets the hasher for the next message", "[core]") {
  bdd::Sha256 hasher;
  hasher.update("ab");
  hasher.update("");
  hasher.update("c");
  CHECK(hasher.finish_hex() == bdd::sha256_hex("abc"));
  CHECK(hasher.finish_hex() == bdd::sha256_hex(""));
  hasher.update("abc");
  CHECK(hasher.finish_hex() == bdd::sha256_hex("abc"));
}

TEST_CASE("core::Sha256::export_state resumes hashing where it stopped", "[core]") {
  std::string message;
  for (int i = 0; i < 300; ++i) {
    message += static_cast<char>((i * 91) & 0xff);
  }
  const std::string expected = bdd::sha256_hex(message);
  for (std::size_t split : {0U, 1U, 63U, 64U, 65U, 200U, 300U}) {
    bdd::Sha256 first;
    first.update(std::string_view(message).substr(0, split));
    const std::string state = first.export_state();
    bdd::Sha256 resumed;
    REQUIRE(resumed.import_state(state));
    CHECK(resumed.size() == split);
    resumed.update(std::string_view(message).substr(split));
    CHECK(resumed.finish_hex() == expected);
  }
}

TEST_CASE("core::Sha256::import_state rejects what export_state cannot produce", "[core]") {
  bdd::Sha256 hasher;
  CHECK_FALSE(hasher.import_state(""));
  CHECK_FALSE(hasher.import_state(std::string(39, 'x')));
  bdd::Sha256 source;
  source.update("abc");
  std::string state = source.export_state();
  CHECK_FALSE(hasher.import_state(state.substr(0, state.size() - 1))); // count says 3 buffered
  CHECK(hasher.finish_hex() == bdd::sha256_hex(""));
}

TEST_CASE("core::Sha256 gives the same digests with and without the CPU's SHA extensions",
          "[core]") {
  std::string message;
  std::uint32_t seed = 12345;
  for (int i = 0; i < 70'000; ++i) {
    seed = seed * 1664525U + 1013904223U;
    message += static_cast<char>(seed >> 24);
  }
  auto digests = [&message] {
    std::vector<std::string> out;
    for (std::size_t size : {0U, 1U, 55U, 64U, 65U, 128U, 1000U, 4096U, 70'000U}) {
      out.push_back(bdd::sha256_hex(std::string_view(message).substr(0, size)));
    }
    bdd::Sha256 split;
    for (std::size_t at = 0; at < message.size(); at += 777) {
      split.update(std::string_view(message).substr(at, 777));
    }
    out.push_back(split.finish_hex());
    return out;
  };

  bdd::Sha256::use_cpu_extensions(false);
  const auto portable = digests();
  CHECK(portable.front() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(bdd::sha256_hex(std::string(1'000'000, 'a'))
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  const bool accelerated = bdd::Sha256::use_cpu_extensions(true);
  INFO("SHA extensions in use: " << accelerated);
  CHECK(digests() == portable);
  CHECK(bdd::sha256_hex(std::string(1'000'000, 'a'))
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("core::Sha256::update takes empty input, with a null pointer too", "[core]") {
  // An empty string_view of nothing has a null data(): after a partial block it reached memcpy
  // (found by UBSan in the commit pipeline, which hashes the extents of a batch).
  bdd::Sha256 hasher;
  hasher.update(std::string_view{});
  hasher.update("ab");
  hasher.update(std::string_view{});
  hasher.update("c");
  CHECK(hasher.size() == 3);
  CHECK(hasher.finish_hex() == bdd::sha256_hex("abc"));
}
