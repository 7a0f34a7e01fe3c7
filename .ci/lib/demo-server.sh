# Sourced by .ci/fuzz, .ci/openapi and .ci/metrics: build wallet-server and start it with `--demo` on
# loopback, in a data directory of its own that goes away with it.
#
# Usage: start_demo_server OUT_DIR [SERVER_ARGS...]   (root of the checkout in $root)
# Sets: $base (e.g. http://127.0.0.1:41234), $server_pid; writes OUT_DIR/server.out (the
# demo banner) and OUT_DIR/server.log. Installs an EXIT trap that stops the server.
# Knob: FUZZ_LISTEN (default 127.0.0.1:0).

start_demo_server() {
    local out=$1
    shift
    # The same build command as the end-to-end tests, so after them nothing is rebuilt.
    cargo build --quiet --locked -p wallet-server -p canteen-terminal -p firmware-sim --bins
    mkdir -p "$out"
    demo_data=$(mktemp -d /tmp/wallet-demo.XXXXXX)
    server_pid=
    trap stop_demo_server EXIT
    # There before the server's shell opens it: the loop below reads it at once.
    : >"$out/server.out"
    env -u DATABASE_URL RUST_LOG=info,sqlx=warn \
        "$root/target/debug/wallet-server" --demo --listen "${FUZZ_LISTEN:-127.0.0.1:0}" \
        --data-dir "$demo_data" "$@" >"$out/server.out" 2>"$out/server.log" &
    server_pid=$!
    base=
    for _ in $(seq 1 300); do
        base=$(sed -n 's/^ *listening on \(http:[^ ]*\).*/\1/p' "$out/server.out" | head -n 1)
        [ -n "$base" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; echo "wallet-server exited" >&2; return 1; }
        sleep 0.1
    done
    echo "wallet-server printed no address" >&2
    return 1
}

stop_demo_server() {
    if [ -n "${server_pid:-}" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "${demo_data:-}"
}
