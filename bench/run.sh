#!/usr/bin/env bash
# The bdd benchmark: builds Release into build-release/, starts the fake API on 127.0.0.1 and
# measures bdd against plain curl on the same pages. Prints a table, writes
# bench/results/latest.json and bench/results/latest.md.
#
# usage: bash bench/run.sh [--quick] [--reps N] [--strict]
#   --quick    10k/100k events, 1 repetition (for development; a few minutes)
#   --reps N   repetitions per case (default 3; a case whose first run takes over 45 s runs
#              once, and the table says so)
#   --strict   exit 1 when a target is missed (without it, targets are only reported)
# A bdd run that fails or stores the wrong number of events always makes the exit code 1.
set -euo pipefail
cd "$(dirname "$0")/.."

for argument in "$@"; do
    if [ "$argument" = "-h" ] || [ "$argument" = "--help" ]; then
        sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
    fi
done

bash scripts/install-deps.sh
if ! command -v python3 >/dev/null; then
    echo "bench/run.sh: python3 is needed (apt-get install python3)" >&2
    exit 1
fi

cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target bdd bdd-demo-server

# The newest binary of that name in the build tree (the output directory has moved before).
newest() {
    local found
    found="$(find build-release -name "$1" -type f -perm -u+x -printf '%T@ %p\n' | sort -rn |
             head -n 1 | cut -d' ' -f2-)"
    if [ -z "$found" ]; then
        echo "bench/run.sh: no $1 in build-release/" >&2
        exit 1
    fi
    echo "$found"
}

bdd="$(newest bdd)"
server="$(newest bdd-demo-server)"
exec python3 bench/bench.py --bdd "$bdd" --server "$server" --out bench/results "$@"
