// libFuzzer target for the page parser and the id derivation. Built and run by scripts/fuzz.sh
// (clang++ -fsanitize=fuzzer,address,undefined); the seed corpus is tests/fuzz/corpus/.

#include "page_fuzz.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  bdd::fuzz::check_page_body(bytes);
  bdd::fuzz::check_event_text(bytes);
  return 0;
}
