#!/usr/bin/env bash
# clang-tidy over src/ with the checked-in .clang-tidy; any finding fails (WarningsAsErrors).
# Uses build/compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS is on): configures build/ if it
# is missing. Files can be given to check only those: bash scripts/tidy.sh src/bdd/core/fs.cpp
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/compile_commands.json ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if (($# > 0)); then
  files=("$@")
else
  mapfile -t files < <(find src -name '*.cpp' | sort)
fi
# One file per process, in parallel. --quiet: findings only.
printf '%s\n' "${files[@]}" |
  xargs -P"$(nproc)" -n1 clang-tidy -p build --quiet --warnings-as-errors='*'
