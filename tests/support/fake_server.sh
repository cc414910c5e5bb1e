# Sourced by the shell tests. start_fake_server <bdd-demo-server> <dir> [options...] starts the
# fake Behaverse API on a free port of 127.0.0.1 with those options (its log in <dir>/server.log),
# waits until it listens, and sets server_pid and port; the caller's EXIT trap stops $server_pid.
start_fake_server() {
    local binary="$1" dir="$2"
    shift 2
    rm -f "$dir/port"
    "$binary" --port 0 --port-file "$dir/port" "$@" >"$dir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        [ -s "$dir/port" ] && break
        sleep 0.1
    done
    if [ ! -s "$dir/port" ]; then
        echo "FAIL: the fake server did not start: $(cat "$dir/server.log")" >&2
        exit 1
    fi
    port="$(cat "$dir/port")"
}
