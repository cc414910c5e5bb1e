#!/usr/bin/env bash
# Run the stages that work on several threads under ThreadSanitizer: the download engine's
# commit pipeline and page stream (every test of tests/unit/ops) and the prefetching page stream
# of the HTTP client (the api::PageStream tests). Builds into build-tsan/; any report fails.
#   bash scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBDD_ENABLE_TSAN=ON -DBDD_WERROR=OFF \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER="$CMAKE_CXX_COMPILER_LAUNCHER"} \
  >/dev/null
cmake --build build-tsan -j"$(nproc)" --target test_ops test_api
# halt_on_error: the first race fails the run. second_deadlock_stack: both stacks of a
# lock-order inversion.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
export TMPDIR=/dev/shm
[[ -d $TMPDIR ]] || export TMPDIR=/tmp
build-tsan/tests/test_ops
build-tsan/tests/test_api 'api::PageStream*'
