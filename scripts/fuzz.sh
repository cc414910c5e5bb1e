#!/usr/bin/env bash
# Fuzz with libFuzzer for N minutes (default 3):
#   bash scripts/fuzz.sh [minutes] [target]
# Targets (tests/fuzz/fuzz_<target>.cpp):
#   page_body    the page parser and the id derivation (default)
#   json_minify  the JSON minifier against nlohmann's parser (accept/reject and output)
# Builds bdd's libraries with clang and AddressSanitizer/UBSan into build-fuzz/, links the target
# against them and runs it on a copy of tests/fuzz/corpus/ (new inputs it finds stay in
# build-fuzz/corpus-<target>/). A crash leaves its input as build-fuzz/crash-*; replay it with
# `build-fuzz/fuzz_<target> build-fuzz/crash-...`. Needs clang and libclang-rt-14-dev (Debian),
# which CI does not: CI runs the short random-input loops instead (the [fuzz] tests of test_api
# and test_model).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-3}"
target="${2:-page_body}"
case "$target" in
  page_body) modules=(api model core); link=(-lcurl) ;;
  json_minify) modules=(model core); link=() ;;
  *) echo "fuzz.sh: unknown target \"$target\" (use page_body or json_minify)" >&2; exit 2 ;;
esac
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_COMPILER=clang -DBUILD_TESTING=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link ${sanitizers}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${modules[@]/#/bdd_}"
libs=("${modules[@]/#/build-fuzz/src/bdd/libbdd_}")
libs=("${libs[@]/%/.a}")
# shellcheck disable=SC2086
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer ${sanitizers} -Isrc -Itests \
  "tests/fuzz/fuzz_${target}.cpp" "${libs[@]}" "${link[@]}" -o "build-fuzz/fuzz_${target}"
mkdir -p "build-fuzz/corpus-${target}"
cp -n tests/fuzz/corpus/* "build-fuzz/corpus-${target}/"
cd build-fuzz
"./fuzz_${target}" -max_total_time=$((minutes * 60)) -max_len=200000 -timeout=10 \
  -rss_limit_mb=2048 "corpus-${target}"
