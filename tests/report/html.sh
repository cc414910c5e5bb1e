#!/usr/bin/env bash
# report.html in a real browser: html_render draws the fixture documents of html_check.py, and
# Debian's headless chromium loads each page once, dumping the DOM it built, a 1280x2000
# screenshot and its net log; html_check.py counts the charts' elements in the DOM, looks for
# the charts' colours in the screenshot and for any request of the page in the net log (and
# that it does see the request of a control page).
# The fifth page is the real thing: `bdd report --output` of a study that bdd downloads from the
# fake server, checked against what `bdd report --json` says of the same copy.
#   html.sh <html_render> <bdd> <bdd-demo-server>
set -euo pipefail
render="$(realpath "$1")"
bdd="$(realpath "$2")"
server="$(realpath "$3")"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../support/fake_server.sh
source "$here/../support/fake_server.sh"
browser="$(command -v chromium || true)"
[ -n "$browser" ] || { echo "FAIL: chromium is missing: run 'bash scripts/install-deps.sh'" >&2; exit 1; }
work="$(mktemp -d)"
server_pid=""
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 "$here/html_check.py" fixtures "$work"
for case in study hostile empty large; do
    "$render" "$work/$case.json" "$work/$case.html"
done

# The demo server's study: per-participant indexes with two gaps (bdd-demo-server --help).
start_fake_server "$server" "$work" --users 40 --days 20 --study demo-study:demo-key:4000
mkdir -p "$work/ws/study_configs"
printf '{"api": {"base_url": "http://127.0.0.1:%s", "api_key": "demo-key"}}\n' "$port" \
    >"$work/ws/study_configs/demo-study.json"
"$bdd" -q -C "$work/ws" download demo-study || { echo "FAIL: bdd download failed" >&2; exit 1; }
"$bdd" -q -C "$work/ws" report demo-study --output "$work/report" >/dev/null \
    || { echo "FAIL: bdd report --output failed" >&2; exit 1; }
"$bdd" -q -C "$work/ws" report demo-study --json >"$work/bdd.json" \
    || { echo "FAIL: bdd report --json failed" >&2; exit 1; }
cp "$work/report/report.html" "$work/bdd.html"
# Chromium's own background requests (updates, the clock, accounts) are switched off where a
# flag can, and never leave the machine: every host name fails to resolve. A profile of its own
# per page, so that nothing is cached from one page to the next.
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-default-apps --disable-extensions
       --no-pings --disable-domain-reliability --disable-breakpad
       "--host-resolver-rules=MAP * ~NOTFOUND" --window-size=1280,2000)
load() {
    local case="$1"
    if ! timeout 60 "$browser" "${flags[@]}" --user-data-dir="$work/profile-$case" \
        --log-net-log="$work/$case.netlog.json" --screenshot="$work/$case.png" \
        --dump-dom "file://$work/$case.html" >"$work/$case.dom.html" 2>"$work/$case.log"; then
        echo "FAIL: chromium could not load $case.html: $(grep -v dbus "$work/$case.log" | tail -5)" >&2
        exit 1
    fi
}
# Two at a time: the machine has two cores.
for pair in "study hostile" "empty large" "bdd control"; do
    pids=()
    for case in $pair; do
        load "$case" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || exit 1
    done
done
python3 "$here/html_check.py" check "$work"
echo "report.html: 4 fixture pages, bdd report's page and a control loaded in chromium, all checks passed"
