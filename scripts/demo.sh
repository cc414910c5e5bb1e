#!/usr/bin/env bash
# Install what is missing, build, and run a real download.
#
# With BEHAVERSE_API_KEY set (in the environment or .env) and a study name as the first argument,
# it downloads that study from the real API. Otherwise it starts the bundled demo API server on
# 127.0.0.1 with a generated study of 300,000 events and downloads that into demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bdd="$PWD/build/bdd"

study="${1:-}"
if [ -n "$study" ] && { [ -n "${BEHAVERSE_API_KEY:-}" ] || grep -q '^BEHAVERSE_API_KEY' .env 2>/dev/null; }; then
    "$bdd" download "$study"
    "$bdd" status "$study"
    "$bdd" log "$study"
    exit 0
fi

workdir="$PWD/demo"
mkdir -p "$workdir/study_configs"
port_file="$(mktemp)"
./build/bdd-demo-server --port 0 --port-file "$port_file" \
    --study demo-study:demo-key:300000 >/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 100); do
    [ -s "$port_file" ] && break
    sleep 0.1
done
port="$(cat "$port_file")"
cat >"$workdir/study_configs/demo-study.json" <<JSON
{
  "study_name": "demo-study",
  "api": {"base_url": "http://127.0.0.1:$port", "api_key": "\${BEHAVERSE_API_KEY_DEMO_STUDY}"},
  "download": {"default_page_size": 1000, "max_concurrent_requests": 3},
  "storage": {"data_directory": "data", "default_format": "jsonl",
              "folder_structure": ["by_user_id", "by_date"]}
}
JSON
echo "BEHAVERSE_API_KEY_DEMO_STUDY=demo-key" >"$workdir/.env"
chmod 600 "$workdir/.env"

echo "== bdd download demo-study (demo server on 127.0.0.1:$port)"
"$bdd" -C "$workdir" download demo-study
echo "== bdd status demo-study"
"$bdd" -C "$workdir" status demo-study
echo "== bdd log demo-study"
"$bdd" -C "$workdir" log demo-study
