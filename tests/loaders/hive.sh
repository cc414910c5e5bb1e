#!/usr/bin/env bash
# Studies downloaded with `"partition_naming": "hive"` in jsonl, csv, json and parquet, read by DuckDB
# as Hive-partitioned folders (hive.js): every event once, the partition columns equal to the
# events' own values, bdd's own files outside the globs. Values are hostile (the fake server's
# --nasty names, plus '=', '%', '+', '/', spaces, empty and long ones appended below). Then the
# same for `bdd export --partition-by` of each study.
#
#   hive.sh <bdd> <bdd-demo-server>
set -euo pipefail

bdd="$(realpath "$1")"
server="$(realpath "$2")"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../support/fake_server.sh
source "$here/../support/fake_server.sh"
node_modules="${BDD_LOADERS_NODE_MODULES:-$here/node_modules}"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
command -v node >/dev/null || fail "node is missing: run 'bash scripts/install-deps.sh' (Debian packages nodejs npm)"
[ -d "$node_modules/@duckdb/node-api" ] \
    || fail "DuckDB is missing: run 'bash scripts/install-deps.sh' (npm ci in tests/loaders)"

work="$(mktemp -d)"
server_pid=""
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
start_fake_server "$server" "$work" --nasty --users 15 --days 3 --study my-study:key:1500

# Values that URL decoding would change if bdd did not escape them, as user ids and types; the
# last one is long enough for the hashed tail.
extra="$(/usr/bin/python3 -c '
import json
names = ["x=y", "=", "user_id=7", "%", "%41", "a+b", "a b", "/", "..", "~", "\u00e9.", "l" * 150 + "="]
print(json.dumps([{"id": "h%d" % i, "stored": "2025-11-18T10:00:%02dZ" % i, "types": [name],
                   "base": {"userId": name}} for i, name in enumerate(names)]))')"
total="$(curl -sf -X POST --data-binary "$extra" "http://127.0.0.1:$port/_control/append?study=my-study" \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" \
    || fail "the fake server did not take the extra events"

for format in jsonl csv json parquet; do
    dir="$work/$format"
    mkdir -p "$dir/study_configs"
    printf '{"api": {"base_url": "http://127.0.0.1:%s", "api_key": "key"}, "storage": {"default_format": "%s", "partition_naming": "hive", "folder_structure": ["by_user_id", "by_date", "by_event_type"]}}\n' \
        "$port" "$format" >"$dir/study_configs/my-study.json"
    "$bdd" -q -C "$dir" download my-study >/dev/null || fail "bdd download failed in $dir"
    stored="events.$format"
    [ "$format" = parquet ] && stored='part-*.parquet' # immutable part files (README)
    (cd "$dir" && NODE_PATH="$node_modules" node "$here/hive.js" data/my-study "$format" "$total" "$stored")
    # The same events exported as a hive folder.
    "$bdd" -q -C "$dir" export my-study --format "$format" --partition-by event_type,date,user_id \
        -o "$dir/parts" || fail "bdd export --partition-by failed in $dir"
    (cd "$dir" && NODE_PATH="$node_modules" node "$here/hive.js" parts "$format" "$total" "part-0.$format")
done
"$bdd" -q -C "$work/jsonl" export my-study --format parquet --partition-by user_id,date \
    -o "$work/jsonl/parts-parquet" || fail "bdd export --format parquet --partition-by failed"
(cd "$work/jsonl" && NODE_PATH="$node_modules" node "$here/hive.js" parts-parquet parquet "$total" part-0.parquet)
