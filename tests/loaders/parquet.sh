#!/usr/bin/env bash
# Files written by bdd's Parquet writer, read back by two independent readers (DuckDB and
# hyparquet, from tests/loaders/node_modules): every value of every row must be what was written.
# Then `bdd export --format parquet` of a study downloaded from the fake server, against its
# `--format jsonl` export: the same events in the same order, every field equal.
#   parquet.sh <parquet_sample> <bdd> <bdd-demo-server>
set -euo pipefail
sample="$(realpath "$1")"
bdd="$(realpath "$2")"
server="$(realpath "$3")"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../support/fake_server.sh
source "$here/../support/fake_server.sh"
modules="${BDD_LOADERS_NODE_MODULES:-$here/node_modules}"
command -v node >/dev/null || { echo "FAIL: node is missing: run 'bash scripts/install-deps.sh'" >&2; exit 1; }
for package in @duckdb/node-api hyparquet hyparquet-compressors; do
    [ -d "$modules/$package" ] \
        || { echo "FAIL: $package is missing: run 'bash scripts/install-deps.sh' (npm ci in tests/loaders)" >&2; exit 1; }
done
work="$(mktemp -d)"
server_pid=""
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for case in mixed nulls empty; do
    "$sample" "$case" "$work/$case.parquet" "$work/$case.jsonl"
    node "$here/parquet_rows.mjs" "$work/$case.jsonl" "$work/$case.parquet"
done

# --- bdd export --format parquet ----------------------------------------------------------
start_fake_server "$server" "$work" --nasty --users 20 --days 3 --study my-study:key:5000
mkdir -p "$work/study/study_configs"
printf '{"api": {"base_url": "http://127.0.0.1:%s", "api_key": "key"}, "storage": {"default_format": "jsonl", "folder_structure": ["by_user_id"]}}\n' \
    "$port" >"$work/study/study_configs/my-study.json"
"$bdd" -q -C "$work/study" download my-study >/dev/null
"$bdd" -q -C "$work/study" export my-study --format jsonl -o "$work/export.jsonl"
"$bdd" -q -C "$work/study" export my-study --format parquet -o "$work/export.parquet"
[ "$(wc -l <"$work/export.jsonl")" -eq 5000 ] || { echo "FAIL: the jsonl export does not hold the server's 5000 events" >&2; exit 1; }
node "$here/parquet_rows.mjs" --export "$work/export.jsonl" "$work/export.parquet"
if "$bdd" -q -C "$work/study" export my-study --format parquet -o - >/dev/null 2>"$work/stdout.err"; then
    echo "FAIL: parquet was written to standard output" >&2
    exit 1
fi
grep -q "standard output" "$work/stdout.err" || { echo "FAIL: no message for parquet to standard output: $(cat "$work/stdout.err")" >&2; exit 1; }
