#!/usr/bin/env bash
# `make bench`: the standard benchmark matrix, written to BENCHMARKS.md (and its curve, BENCHMARKS.svg).
#
# tickstream and its peers — Nchan (nginx + libnginx-mod-nchan) with one worker and with
# two, and sse-starlette (uvicorn + uvloop, bench/peers/) — each under 1,000 and 10,000
# clients of SSE and of WebSocket at the default (4 msg/s) and a high (32 msg/s) rate of
# 512-byte messages; at 2,000 and 5,000 clients at the high rate only, for the curve; one
# long-poll cell; then a CPU profile of tickstream under 10,000 SSE clients. Every cell gets
# a fresh server process; `loadgen run` drives it open-loop and appends one JSON line to
# bench/out/results.jsonl; `loadgen report` writes BENCHMARKS.md.
#
# Idempotent set-up (Debian packages only when missing, the peer's virtualenv only when its
# requirements changed), release builds of both binaries, and every process it starts is
# stopped on exit, failure or Ctrl-C. Traffic stays on 127.0.0.0/8. Tunables (environment):
# BENCH_CLIENTS, BENCH_RATES, BENCH_CURVE_CLIENTS (at BENCH_CURVE_RATE only),
# BENCH_TRANSPORTS, BENCH_SERVERS (any of: tickstream nchan1 nchan2 starlette),
# BENCH_DURATION (seconds of publishing per cell), BENCH_SIZE (bytes), BENCH_PIN=1 (server
# on CPU 0, load generator on CPU 1, with taskset), BENCH_PROFILE=0 (skip the profile),
# BENCH_OUT (report path).
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${BENCH_CLIENTS:-"1000 10000"}
RATES=${BENCH_RATES:-"4 32"}
CURVE_CLIENTS=${BENCH_CURVE_CLIENTS:-"2000 5000"}
CURVE_RATE=${BENCH_CURVE_RATE:-32}
TRANSPORTS=${BENCH_TRANSPORTS:-"sse ws"}
SERVERS=${BENCH_SERVERS:-"tickstream nchan1 nchan2 starlette"}
DURATION=${BENCH_DURATION:-10}
SIZE=${BENCH_SIZE:-512}
PIN=${BENCH_PIN:-0}
PROFILE=${BENCH_PROFILE:-1}
REPORT=${BENCH_OUT:-BENCHMARKS.md}
OUT=bench/out
VENV=bench/.venv
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
        # A server still shutting down gracefully after 5 s is killed: the next cell
        # needs the machine to itself.
        local tries=0
        while kill -0 "$server_pid" 2>/dev/null && [ "$tries" -lt 50 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        kill -9 "$server_pid" 2>/dev/null || true
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

# With BENCH_PIN=1 the server runs on CPU 0 and the load generator on CPU 1.
server_cpu=()
loadgen_cpu=()
if [ "$PIN" = 1 ]; then
    server_cpu=(taskset -c 0)
    loadgen_cpu=(taskset -c 1)
fi

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
    "${server_cpu[@]}" ./target/release/tickstream --addr "127.0.0.1:$port" --clock manual --warmup-steps 0 \
        --admin-token "$TOKEN" --leptos-config Leptos.toml "${limits[@]}" \
        >"$OUT/tickstream.log" 2>&1 &
    server_pid=$!
    wait_listening "$port"
}

# start_nchan WORKERS: one worker runs as a single process; more, as a master whose workers
# loadgen measures with it (it sums the CPU and memory of the process's children).
start_nchan() {
    local workers=$1 master="master_process off;"
    [ "$workers" -gt 1 ] && master="master_process on;"
    port=$(free_port)
    server_dir=$(mktemp -d /tmp/tickstream-bench-nchan.XXXXXX)
    # Workers may run as another user: they must reach the prefix.
    chmod 755 "$server_dir"
    sed -e "s|@PREFIX@|$server_dir|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" \
        -e "s|@MASTER@|$master|g" bench/nchan.conf >"$server_dir/nginx.conf"
    "${server_cpu[@]}" "$NGINX" -p "$server_dir" -c nginx.conf -e "$server_dir/error.log" >"$OUT/nginx.log" 2>&1 &
    server_pid=$!
    wait_listening "$port"
}

start_starlette() {
    port=$(free_port)
    (cd bench/peers && exec "${server_cpu[@]}" "../.venv/bin/python" -m uvicorn starlette_app:app \
        --host 127.0.0.1 --port "$port" --loop uvloop --http httptools --ws websockets-sansio \
        --backlog 4096 --no-access-log --log-level warning) >"$OUT/starlette.log" 2>&1 &
    server_pid=$!
    wait_listening "$port"
}

cell=0
# run_cell SERVER TRANSPORT CLIENTS RATE [extra loadgen flags…], SERVER one of $SERVERS.
run_cell() {
    local server=$1 transport=$2 clients=$3 rate=$4 kind label
    shift 4
    cell=$((cell + 1))
    case $server in
        tickstream) kind=tickstream label=tickstream; start_tickstream ;;
        nchan1) kind=nchan label="nchan, 1 worker"; start_nchan 1 ;;
        nchan2) kind=nchan label="nchan, 2 workers"; start_nchan 2 ;;
        starlette) kind=starlette label=sse-starlette; start_starlette ;;
        *) echo "bench: unknown server $server" >&2; return 1 ;;
    esac
    say "cell $cell: $label $transport, $clients clients, $rate msg/s"
    "${loadgen_cpu[@]}" ./target/release/loadgen run --server "$kind" --label "$label" \
        --addr "127.0.0.1:$port" --transport "$transport" --clients "$clients" --rate "$rate" \
        --size "$SIZE" --duration "$DURATION" --pid "$server_pid" --admin-token "$TOKEN" \
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

case " $SERVERS " in
    *" starlette "*)
        # The virtualenv is remade only when the pinned requirements change.
        if ! cmp -s bench/peers/requirements.txt "$VENV/requirements.txt" 2>/dev/null; then
            say "installing sse-starlette into $VENV"
            rm -rf "$VENV"
            python3 -m venv "$VENV"
            "$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/peers/requirements.txt
            cp bench/peers/requirements.txt "$VENV/requirements.txt"
        else
            say "sse-starlette: present in $VENV"
        fi
        ;;
esac

if [ "$PIN" = 1 ] && ! command -v taskset >/dev/null; then
    echo "bench: BENCH_PIN=1 needs taskset (util-linux)" >&2
    exit 1
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
    echo "- $(rustc --version); $("$NGINX" -v 2>&1 | cut -d' ' -f3); libnginx-mod-nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?'); $([ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys, sse_starlette, uvicorn; print(f"Python {sys.version.split()[0]}, sse-starlette {sse_starlette.__version__}, uvicorn {uvicorn.__version__}")' 2>/dev/null || echo 'sse-starlette not installed')"
    echo "- Open files limit $(ulimit -n) per process; ephemeral ports $(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range)"
    echo "- Load average when the run started: $(cut -d' ' -f1-3 /proc/loadavg); run on $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Per cell: ${DURATION} s of publishing, ${SIZE}-byte payloads, 4 source addresses, 200 clients connecting at a time"
    if [ "$PIN" = 1 ]; then
        echo "- Pinning: the server on CPU 0, the load generator on CPU 1 (taskset)"
    else
        echo "- Pinning: none; server and load generator share every core (BENCH_PIN=1 separates them)"
    fi
    dirty=""
    # The code measured (src, tests, bench, the manifests); BENCHMARKS.md and docs do not count.
    [ -n "$(git status --porcelain --untracked-files=no -- src tests bench Cargo.toml Cargo.lock Leptos.toml 2>/dev/null)" ] &&
        dirty=" with uncommitted changes"
    echo "- Code: commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$dirty"
} >"$OUT/machine.md"

# ---- the matrix --------------------------------------------------------------------------
started=$SECONDS
for clients in $(printf '%s\n' $CLIENTS $CURVE_CLIENTS | sort -n | uniq); do
    rates=$RATES
    case " $CLIENTS " in *" $clients "*) ;; *) rates=$CURVE_RATE ;; esac
    for transport in $TRANSPORTS; do
        for rate in $rates; do
            for server in $SERVERS; do
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
    "${loadgen_cpu[@]}" ./target/release/loadgen run --server tickstream --addr "127.0.0.1:$port" --transport sse \
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

echo "- The run took $(((SECONDS - started + 30) / 60)) min of measuring" >>"$OUT/machine.md"
./target/release/loadgen report --results "$RESULTS" --machine "$OUT/machine.md" \
    --notes bench/notes.md "${profile_args[@]}" --out "$REPORT" \
    --curve "${REPORT%.md}.svg" --curve-rate "$CURVE_RATE"
say "done in $((SECONDS - started)) s of measuring: $REPORT"
