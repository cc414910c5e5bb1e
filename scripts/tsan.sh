#!/usr/bin/env bash
# Run the stages that work on several threads under ThreadSanitizer, built into build-tsan/:
# - every test of tests/unit/ops: ops::download against scripted clients with up to 3 fetching
#   threads, ops::CommitPipeline's committing thread, and the memory bound with a slow disk;
# - the api::PageStream tests: the fetching threads, with libcurl clients against a server on
#   127.0.0.1 in the "[concurrency]" cases;
# - tests/e2e/test_library_api: the whole download through the library (libcurl, PageStream,
#   CommitPipeline, the state) against the fake Behaverse API running in the same process.
# Any report fails the run (halt_on_error).
#   bash scripts/tsan.sh
source "$(dirname "$0")/sanitizer-build.sh"
sanitizer_build build-tsan BDD_ENABLE_TSAN test_ops test_api test_library_api
# second_deadlock_stack: both stacks of a lock-order inversion.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
build-tsan/tests/test_ops
build-tsan/tests/test_api 'api::PageStream*'
build-tsan/tests/test_library_api
