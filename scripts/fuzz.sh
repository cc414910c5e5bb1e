#!/usr/bin/env bash
# Fuzz the page parser and the id derivation with libFuzzer for N minutes (default 3):
#   bash scripts/fuzz.sh [minutes]
# Builds bdd's libraries with clang and AddressSanitizer/UBSan into build-fuzz/, links
# tests/fuzz/fuzz_page_body.cpp against them and runs it on a copy of tests/fuzz/corpus/ (new
# inputs it finds stay in build-fuzz/corpus/). A crash leaves its input as build-fuzz/crash-*;
# replay it with `build-fuzz/fuzz_page_body build-fuzz/crash-...`. Needs clang and
# libclang-rt-14-dev (Debian), which CI does not: CI runs the short random-input loop instead
# (the [fuzz] tests of test_api).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-3}"
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_COMPILER=clang -DBUILD_TESTING=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link ${sanitizers}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target bdd_api bdd_model bdd_core
libs=(build-fuzz/src/bdd/libbdd_api.a build-fuzz/src/bdd/libbdd_model.a
      build-fuzz/src/bdd/libbdd_core.a)
# shellcheck disable=SC2086
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer ${sanitizers} -Isrc -Itests \
  tests/fuzz/fuzz_page_body.cpp "${libs[@]}" -lcurl -o build-fuzz/fuzz_page_body
mkdir -p build-fuzz/corpus
cp -n tests/fuzz/corpus/* build-fuzz/corpus/
cd build-fuzz
./fuzz_page_body -max_total_time=$((minutes * 60)) -max_len=200000 -timeout=10 \
  -rss_limit_mb=2048 corpus
