#!/usr/bin/env bash
# Build the unit tests (and the fake Behaverse API some of them serve from) with AddressSanitizer
# and UndefinedBehaviorSanitizer into build-asan/, and run them. Any report fails the run: ASan
# and UBSan halt on the first error, and LeakSanitizer reports every leak at exit.
#   bash scripts/sanitize.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# RelWithDebInfo keeps the tests fast enough; -fno-sanitize-recover makes UBSan findings fatal.
# No -Werror here: GCC 12 warns maybe-uninitialized inside std::regex under ASan (not our code);
# the normal build (scripts/build.sh) is the -Werror one.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBDD_ENABLE_ASAN=ON -DBDD_WERROR=OFF \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER="$CMAKE_CXX_COMPILER_LAUNCHER"} \
  >/dev/null
targets=()
for module in tests/unit/*/; do
  targets+=("test_$(basename "$module")")
done
cmake --build build-asan -j"$(nproc)" --target "${targets[@]}"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
cd build-asan
ctest --output-on-failure -j"$(nproc)" -R '^unit_' "$@"
