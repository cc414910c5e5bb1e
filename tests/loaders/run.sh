#!/usr/bin/env bash
# The README's "Loading the data" one-liners, run verbatim against studies that bdd downloads
# from the fake server: each must load exactly the server's events.
#
#   run.sh <bdd> <bdd-demo-server> <README.md> [tool...]
#
# Tools: pandas, R, duckdb (default: all three). Every snippet is the fenced block that follows a
# `<!-- loader: <layout> <format> <tool> -->` line in README.md, so README and test cannot drift.
# A missing tool fails the test with the command that installs it: nothing is skipped.
set -euo pipefail

bdd="$(realpath "$1")"
server="$(realpath "$2")"
readme="$(realpath "$3")"
shift 3
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(pandas R duckdb)
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../support/fake_server.sh
source "$here/../support/fake_server.sh"
events=3000 # per study; enough for several pages and commits, small enough for 60 s in all

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# --- the tools -------------------------------------------------------------------------------
python=""
for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import pandas' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
node_modules="${BDD_LOADERS_NODE_MODULES:-$here/node_modules}"
for tool in "${tools[@]}"; do
    case "$tool" in
    pandas)
        [ -n "$python" ] || fail "pandas is missing: run 'bash scripts/install-deps.sh' (Debian package python3-pandas)"
        ;;
    R)
        command -v Rscript >/dev/null || fail "R is missing: run 'bash scripts/install-deps.sh' (Debian packages r-base-core r-cran-jsonlite r-cran-rsqlite)"
        Rscript -e 'library(jsonlite); library(RSQLite)' >/dev/null 2>&1 \
            || fail "R's jsonlite or RSQLite is missing: run 'bash scripts/install-deps.sh' (Debian packages r-cran-jsonlite r-cran-rsqlite)"
        ;;
    duckdb)
        command -v node >/dev/null || fail "node is missing: run 'bash scripts/install-deps.sh' (Debian packages nodejs npm)"
        [ -d "$node_modules/@duckdb/node-api" ] \
            || fail "DuckDB is missing: run 'bash scripts/install-deps.sh' (npm ci in tests/loaders)"
        ;;
    *) fail "unknown tool '$tool' (use pandas, R or duckdb)" ;;
    esac
done

# --- the snippets ----------------------------------------------------------------------------
# snippet <layout> <format> <tool>: the block after the marker, without its fences.
snippet() {
    awk -v marker="<!-- loader: $1 $2 $3 -->" '
        $0 == marker { found = 1; next }
        found == 1 && /^```/ { found = 2; next }
        found == 2 && /^```/ { exit }
        found == 2 { print }
    ' "$readme"
}

# --- the server and the studies --------------------------------------------------------------
work="$(mktemp -d)"
server_pid=""
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
start_fake_server "$server" "$work" --nasty --users 20 --days 3 --study my-study:key:$events

# study <dir> <storage settings as JSON, or "" for the defaults>: download my-study into <dir>.
study() {
    local dir="$1" storage="$2"
    mkdir -p "$dir/study_configs"
    printf '{"api": {"base_url": "http://127.0.0.1:%s", "api_key": "key"}%s}\n' \
        "$port" "${storage:+, \"storage\": $storage}" >"$dir/study_configs/my-study.json"
    "$bdd" -q -C "$dir" download my-study >/dev/null || fail "bdd download failed in $dir"
}

# count <tool> <dir> <snippet>: the number of events the snippet loads, run from <dir>.
count() {
    local tool="$1" dir="$2" code="$3"
    case "$tool" in
    pandas) (cd "$dir" && "$python" -c "$code"$'\n''print(len(events))') ;;
    R) (cd "$dir" && Rscript -e "$code" -e 'cat(nrow(events), "\n")') ;;
    duckdb) (cd "$dir" && NODE_PATH="$node_modules" node "$here/duckdb_count.js" "$code") ;;
    esac
}

total=$events
checked=0
# One study per layout and format; the defaults first (what a new user gets).
for case in "flat json" "flat jsonl" "flat csv" "flat sqlite" "nested json" "hive jsonl" "hive csv" "hive parquet" "flat parquet" "nested parquet"; do
    read -r layout format <<<"$case"
    dir="$work/$layout-$format"
    if [ "$case" = "flat json" ]; then
        study "$dir" "" # no storage settings: bdd's defaults must be one events.json
        [ "$(cd "$dir/data/my-study" && find . -name 'events.*')" = ./events.json ] \
            || fail "the default layout is not data/my-study/events.json alone"
    elif [ "$layout" = hive ]; then
        study "$dir" "{\"default_format\": \"$format\", \"partition_naming\": \"hive\", \"folder_structure\": [\"by_user_id\", \"by_date\"]}"
    elif [ "$layout" = nested ]; then
        study "$dir" "{\"default_format\": \"$format\", \"folder_structure\": [\"by_user_id\", \"by_date\"]}"
    else
        study "$dir" "{\"default_format\": \"$format\"}"
    fi
    for tool in "${tools[@]}"; do
        code="$(snippet "$layout" "$format" "$tool")"
        if [ -z "$code" ]; then
            [ "$format/$tool" = sqlite/duckdb ] && continue # see README: needs an extension download
            [ "$layout" = hive ] && [ "$tool" != duckdb ] && continue # shown for DuckDB only
            # See README: pandas and R read Parquet only through pyarrow/fastparquet or arrow,
            # which Debian 12 does not package.
            [ "$format/$tool" = parquet/pandas ] && continue
            [ "$format/$tool" = parquet/R ] && continue
            fail "README.md has no '<!-- loader: $layout $format $tool -->' block"
        fi
        got="$(count "$tool" "$dir" "$code" | tail -n 1 | tr -d ' ')" \
            || fail "$layout $format $tool: the README snippet failed:"$'\n'"$code"
        [ "$got" = "$total" ] || fail "$layout $format $tool: loaded '$got' events, the server has $total:"$'\n'"$code"
        echo "ok: $layout $format $tool ($got events)"
        checked=$((checked + 1))
    done
done
echo "$checked passed, 0 failed"
