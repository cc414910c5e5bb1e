#!/usr/bin/env bash
# Build the unit tests (and the fake Behaverse API some of them serve from) with AddressSanitizer
# and UndefinedBehaviorSanitizer into build-asan/, and run them. Any report fails the run: ASan
# and UBSan halt on the first error, and LeakSanitizer reports every leak at exit.
#   bash scripts/sanitize.sh [ctest args...]
source "$(dirname "$0")/sanitizer-build.sh"
targets=()
for module in tests/unit/*/; do
  targets+=("test_$(basename "$module")")
done
sanitizer_build build-asan BDD_ENABLE_ASAN "${targets[@]}"
# -fno-sanitize-recover (cmake/BddSettings.cmake) and halt_on_error make UBSan findings fatal.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
cd build-asan
ctest --output-on-failure -j"$(nproc)" -R '^unit_' "$@"
