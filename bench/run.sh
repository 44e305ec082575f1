#!/usr/bin/env bash
# `make bench`: the standard benchmark matrix, written to BENCHMARKS.md.
#
# tickstream and Nchan (nginx + libnginx-mod-nchan), each under 1,000 and 10,000 clients of
# SSE and of WebSocket, at the default (4 msg/s) and a high (32 msg/s) rate of 512-byte
# messages, plus one long-poll cell, then a CPU profile of tickstream under 10,000 SSE
# clients. Every cell gets a fresh server process; `loadgen run` drives it and appends one
# JSON line to bench/out/results.jsonl; `loadgen report` writes BENCHMARKS.md.
#
# Idempotent set-up (Debian packages only when missing), release builds of both binaries,
# and every process it starts is stopped on exit, failure or Ctrl-C. Traffic stays on
# 127.0.0.0/8. Tunables (environment): BENCH_CLIENTS, BENCH_RATES, BENCH_TRANSPORTS,
# BENCH_DURATION (seconds of publishing per cell), BENCH_SIZE (bytes), BENCH_PEER=0 (skip
# Nchan), BENCH_PROFILE=0 (skip the profile), BENCH_OUT (report path).
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${BENCH_CLIENTS:-"1000 10000"}
RATES=${BENCH_RATES:-"4 32"}
TRANSPORTS=${BENCH_TRANSPORTS:-"sse ws"}
DURATION=${BENCH_DURATION:-10}
SIZE=${BENCH_SIZE:-512}
PEER=${BENCH_PEER:-1}
PROFILE=${BENCH_PROFILE:-1}
REPORT=${BENCH_OUT:-BENCHMARKS.md}
OUT=bench/out
RESULTS=$OUT/results.jsonl
# Not a secret: the server only listens on loopback for the length of one cell.
TOKEN=bench-admin-token
NGINX=/usr/sbin/nginx
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so

say() { printf '==> bench: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "bench: '$*' needs root (or sudo)" >&2; return 1
    fi
}

# ---- processes: everything started here is stopped on the way out ----------------------
server_pid=""
server_dir=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
    if [ -n "$server_dir" ]; then
        rm -rf "$server_dir"
        server_dir=""
    fi
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Above the ephemeral range (32768-60999 here), so that no client socket — ours, lingering
# in TIME_WAIT, or anyone else's — holds the port; and not used by any socket right now.
free_port() {
    local port
    for port in $(seq 61100 61199); do
        if ! listening "$port" && [ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]; then
            echo "$port"
            return 0
        fi
    done
    echo "bench: no free port in 61100-61199" >&2
    return 1
}

wait_listening() {
    local port=$1 tries=0
    until listening "$port"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 200 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "bench: the server on port $port did not start" >&2
            return 1
        fi
        sleep 0.05
    done
}

port=""
start_tickstream() {
    port=$(free_port)
    # Lift the concurrency limits (10,000 clients from four source addresses), if this
    # build has them.
    local limits=()
    if ./target/release/tickstream --help | grep -q -- '--max-streams-per-ip'; then
        limits+=(--max-streams 100000 --max-streams-per-ip 100000)
    elif ./target/release/tickstream --help | grep -q -- '--max-streams'; then
        limits+=(--max-streams 100000)
    fi
    ./target/release/tickstream --addr "127.0.0.1:$port" --clock manual --warmup-steps 0 \
        --admin-token "$TOKEN" --leptos-config Leptos.toml "${limits[@]}" \
        >"$OUT/tickstream.log" 2>&1 &
    server_pid=$!
    wait_listening "$port"
}

start_nchan() {
    port=$(free_port)
    server_dir=$(mktemp -d /tmp/tickstream-bench-nchan.XXXXXX)
    sed -e "s|@PREFIX@|$server_dir|g" -e "s|@PORT@|$port|g" bench/nchan.conf >"$server_dir/nginx.conf"
    "$NGINX" -p "$server_dir" -c nginx.conf -e "$server_dir/error.log" >"$OUT/nginx.log" 2>&1 &
    server_pid=$!
    wait_listening "$port"
}

cell=0
# run_cell SERVER TRANSPORT CLIENTS RATE [extra loadgen flags…]
run_cell() {
    local server=$1 transport=$2 clients=$3 rate=$4
    shift 4
    cell=$((cell + 1))
    say "cell $cell: $server $transport, $clients clients, $rate msg/s"
    case $server in
        tickstream) start_tickstream ;;
        nchan) start_nchan ;;
    esac
    ./target/release/loadgen run --server "$server" --addr "127.0.0.1:$port" \
        --transport "$transport" --clients "$clients" --rate "$rate" --size "$SIZE" \
        --duration "$DURATION" --pid "$server_pid" --admin-token "$TOKEN" \
        --channel "cell$cell" --out "$RESULTS" "$@" ||
        echo "bench: cell $cell failed (see above); continuing" >&2
    stop_server
}

# ---- set-up ------------------------------------------------------------------------------
missing=()
[ -x "$NGINX" ] || missing+=(nginx)
[ -f "$NCHAN_MODULE" ] || missing+=(libnginx-mod-nchan)
if [ ${#missing[@]} -eq 0 ]; then
    say "nginx, libnginx-mod-nchan: present"
else
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
fi

say "building release binaries"
cargo build --release --features ssr --bin tickstream --bin loadgen

# 10,000 server sockets and 10,000 client sockets: two processes, each with its soft limit
# raised to the hard limit (children inherit it).
ulimit -n "$(ulimit -Hn)"
say "open files limit: $(ulimit -n)"

mkdir -p "$OUT"
: >"$RESULTS"
{
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores online"
    echo "- Memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- $(rustc --version); $("$NGINX" -v 2>&1 | cut -d' ' -f3); libnginx-mod-nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')"
    echo "- Open files limit $(ulimit -n) per process; ephemeral ports $(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range)"
    echo "- Load average when the run started: $(cut -d' ' -f1-3 /proc/loadavg); run on $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Per cell: ${DURATION} s of publishing, ${SIZE}-byte payloads, 4 source addresses, 200 clients connecting at a time"
} >"$OUT/machine.md"

# ---- the matrix --------------------------------------------------------------------------
started=$SECONDS
servers=(tickstream)
[ "$PEER" = 1 ] && servers+=(nchan)
for clients in $CLIENTS; do
    for transport in $TRANSPORTS; do
        for rate in $RATES; do
            for server in "${servers[@]}"; do
                run_cell "$server" "$transport" "$clients" "$rate"
            done
        done
    done
done
# Long-polling, for the workshop's comparison (tickstream only: Nchan's long-poll differs).
run_cell tickstream poll 1000 4

# ---- the profile -------------------------------------------------------------------------
profile_args=()
if [ "$PROFILE" = 1 ] && command -v perf >/dev/null && perf record -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
    say "profile: tickstream sse, 10000 clients, 32 msg/s, perf cpu-clock sampling"
    start_tickstream
    ./target/release/loadgen run --server tickstream --addr "127.0.0.1:$port" --transport sse \
        --clients 10000 --rate 32 --size "$SIZE" --duration "$DURATION" --pid "$server_pid" \
        --admin-token "$TOKEN" >"$OUT/profile-run.txt" 2>&1 &
    loadgen_pid=$!
    tries=0
    until grep -q 'publishing' "$OUT/profile-run.txt" || [ "$tries" -gt 1200 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    perf record -e cpu-clock -F 999 -p "$server_pid" -o "$OUT/perf.data" -- sleep $((DURATION - 1)) \
        >/dev/null 2>&1 || true
    wait "$loadgen_pid" || true
    stop_server
    # `head` closes its pipe early on purpose: no pipefail for these summaries.
    set +o pipefail
    {
        echo "perf record -e cpu-clock -F 999 -p <tickstream>, ${DURATION} s window, 10,000 SSE clients at 32 msg/s"
        echo
        echo "By binary (kernel = TCP/socket work):"
        perf report -i "$OUT/perf.data" --stdio --no-children --sort dso 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -6
        echo
        echo "Top functions:"
        perf report -i "$OUT/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -25 | cut -c1-150
    } >"$OUT/profile.txt"
    set -o pipefail
    profile_args=(--profile "$OUT/profile.txt")
else
    say "profile: skipped (perf unavailable or BENCH_PROFILE=0)"
fi

./target/release/loadgen report --results "$RESULTS" --machine "$OUT/machine.md" \
    --notes bench/notes.md "${profile_args[@]}" --out "$REPORT"
say "done in $((SECONDS - started)) s of measuring: $REPORT"
