#!/usr/bin/env bash
# Configure and build bdd (and its tests) into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DBDD_WERROR="${BDD_WERROR:-ON}" >/dev/null
cmake --build build -j"$(nproc)"
