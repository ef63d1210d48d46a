#!/usr/bin/env bash
# Builds rampart and rampart-bench (release), starts a throwaway dev server on a free loopback
# port, runs sts:GetCallerIdentity at 1 and 32 connections, prints the results with the machine
# they were measured on, then stops the server.
#
#   bench/run.sh                      # defaults: 10 s per run, 2 s warmup
#   DURATION=5s WARMUP=1s bench/run.sh
#   CONNS="1 8 32" OP=kms:GenerateRandom bench/run.sh
#   JSON=1 bench/run.sh               # one JSON object per run instead of the table
#   REPEAT=5 bench/run.sh             # each connection count 5 times (report the median: a
#                                     # shared 2-core VM swings 20% from minute to minute)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart-target}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNS="${CONNS:-1 32}"
OP="${OP:-sts:GetCallerIdentity}"
REPEAT="${REPEAT:-1}"

cd "$root"
echo "== building (release)" >&2
cargo build --release -p rampart -p rampart-bench >&2
server="$CARGO_TARGET_DIR/release/rampart"
bench="$CARGO_TARGET_DIR/release/rampart-bench"

workdir="$(mktemp -d)"
log="$workdir/server.log"
pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

# Run from a scratch directory so nothing the server writes lands in the work tree.
(cd "$workdir" && exec "$server" serve --dev --listen 127.0.0.1:0) >"$log" 2>&1 &
pid=$!

port=""
for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "server exited early:" >&2
        cat "$log" >&2
        exit 1
    fi
    port="$(sed -n 's/^Rampart listening on 127\.0\.0\.1:\([0-9][0-9]*\) (http and https)$/\1/p' "$log" | head -n1)"
    [[ -n "$port" ]] && break
    sleep 0.1
done
if [[ -z "$port" ]]; then
    echo "server did not print its listening line within 30 s:" >&2
    cat "$log" >&2
    exit 1
fi
endpoint="http://127.0.0.1:$port"

health() {
    # Plain HTTP/1.1 GET with bash's /dev/tcp, so the script needs no curl.
    local line
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /_rampart/health HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&3
    IFS= read -r -t 2 line <&3 || line=""
    exec 3<&- 3>&-
    [[ "$line" == "HTTP/1.1 200"* ]]
}
ready=""
for _ in $(seq 1 100); do
    if health 2>/dev/null; then ready=1; break; fi
    sleep 0.1
done
if [[ -z "$ready" ]]; then
    echo "GET /_rampart/health did not answer 200 within 10 s:" >&2
    cat "$log" >&2
    exit 1
fi

cpu="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)"
echo "== machine"
echo "nproc:  $(nproc)"
echo "cpu:    ${cpu:-unknown}"
echo "rustc:  $(rustc --version)"
echo "kernel: $(uname -sr)"
echo "load:   $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average before the runs)"
echo "server: $server serve --dev --listen 127.0.0.1:0  (pid $pid, $endpoint)"
echo "note:   server and load generator share this machine's cores"

status=0
for c in $CONNS; do
  for _ in $(seq 1 "$REPEAT"); do
    cmd=("$bench" --endpoint "$endpoint" --access-key test --secret-key test --region us-east-1
         --op "$OP" --connections "$c" --duration "$DURATION" --warmup "$WARMUP")
    [[ -n "${JSON:-}" ]] && cmd+=(--json)
    echo
    echo "== $(printf '%q ' "${cmd[@]}" | sed 's/ $//')"
    "${cmd[@]}" || status=$?
  done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
