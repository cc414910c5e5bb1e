// libFuzzer target for the JSON minifier against nlohmann's parser (see json_minify_fuzz.hpp).
// Built and run by `bash scripts/fuzz.sh [minutes] json_minify`; the seed corpus is
// tests/fuzz/corpus/.

#include "json_minify_fuzz.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bdd::fuzz::check_minify(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
