#!/usr/bin/env bash
# A first run as a stranger has it, measured: `make run` until the first page is served, and
# `make test` until it passes, each from a new clone with nothing of ours cached.
#
#   scripts/first-run.sh [--rev REV] [--only run|test] [--readme] [--out FILE]
#
# Each command gets a clone of REV (default HEAD; uncommitted changes are not measured) and a
# home of its own: an empty cargo home (no registry cache, no installed tools), an empty npm
# and pip cache, no target directory and no node_modules. What a fresh machine of our kind
# already has is used as it is and named in the report: the Rust toolchain (rustup's
# proxies, and the wasm target if it is installed), Node.js, Python, and Debian packages,
# which are noted, never removed. Every output line is timestamped; a step starts at a line
# `make` echoes (a recipe's command) or one of our tools announces (`==> …`), so the same
# breakdown works for any commit. The report goes to stdout and FILE (default
# target/first-run.md); with --readme it also replaces the README's first-run section.
#
# It takes as long as a first run does (tens of minutes) and uses the whole machine: run it
# with nothing else building.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

rev=HEAD
only=""
readme=0
out=target/first-run.md
while [ $# -gt 0 ]; do
    case "$1" in
        --rev) rev="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --readme) readme=1; shift ;;
        --out) out="$2"; shift 2 ;;
        *) echo "first-run: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
case "$only" in ""|run|test) ;; *) echo "first-run: --only takes run or test" >&2; exit 2 ;; esac
commit=$(git rev-parse --short "$rev")
RUN_TIMEOUT=${FIRST_RUN_TIMEOUT_RUN:-3600}
TEST_TIMEOUT=${FIRST_RUN_TIMEOUT_TEST:-5400}

work=$(mktemp -d "${TMPDIR:-/tmp}/tickstream-first-run.XXXXXX")
say() { printf '==> first-run: %s\n' "$*" >&2; }
say "working in $work (removed at the end unless FIRST_RUN_KEEP=1)"
cleanup() {
    # A server or a build left behind by a failed step must not outlive the measurement.
    if [ -n "${pgid:-}" ]; then stop_group "$pgid"; fi
    if [ "${FIRST_RUN_KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

# The toolchain stays: its rustup proxies are linked into a directory of their own, so that
# nothing else a developer installed into ~/.cargo/bin (cargo-leptos, wasm-bindgen) is found.
real_cargo_home=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
[ -d "$HOME/.pyenv" ] && export PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
shims="$work/toolchain-bin"
mkdir -p "$shims"
for tool in rustup cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver rust-gdb; do
    [ -x "$real_cargo_home/bin/$tool" ] && ln -s "$real_cargo_home/bin/$tool" "$shims/$tool"
done
clean_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$real_cargo_home/bin" | paste -sd: -)

# What a new machine would not have, but this one does: named in the report.
present=()
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    present+=("rustup's wasm32 target")
fi
debs=()
for pkg in chromium nginx caddy haproxy redis-server; do
    dpkg -s "$pkg" >/dev/null 2>&1 && debs+=("$pkg")
done
[ ${#debs[@]} -gt 0 ] && present+=("Debian's ${debs[*]}")
others=$(find "$real_cargo_home/bin" -maxdepth 1 -type f -printf '%f\n' 2>/dev/null |
    grep -vxE 'rustup|cargo|rustc|rustdoc|rustfmt|cargo-fmt|cargo-clippy|clippy-driver|rust-gdb|rust-gdbgui|rust-lldb|rls|rust-analyzer|cargo-miri|cargo-nextest' |
    paste -sd' ' - || true)
[ -n "$others" ] && present+=("in ~/.cargo/bin, not used: $others")

# Stops a process group: SIGTERM, and SIGKILL for whatever still runs 10 s later.
stop_group() {
    local group="$1" tries=0
    kill -- "-$group" 2>/dev/null || return 0
    while kill -0 -- "-$group" 2>/dev/null && [ "$tries" -lt 50 ]; do
        sleep 0.2; tries=$((tries + 1))
    done
    kill -KILL -- "-$group" 2>/dev/null || true
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A new clone of the commit for one command, in $work/<name>/clone, with an empty home beside it.
prepare() {
    local dir="$work/$1"
    mkdir -p "$dir/home"
    git clone -q --no-hardlinks "$repo" "$dir/clone"
    git -C "$dir/clone" checkout -q "$commit"
}

# Runs "$@" in the clone `prepare $name` made, with its fresh home, every output line
# timestamped into $log. Sets `runner` and `pgid` while it runs so that the caller (and the
# exit trap) can stop it.
start_fresh() {
    local name="$1"; shift
    local dir="$work/$name"
    log="$dir/log"
    # setsid: the command, its children and the timestamper form one process group, led by
    # $runner. (setsid does not fork here: a script's background job is not a group leader,
    # so the pid $! names is the group's.)
    HOME="$dir/home" CARGO_HOME="$dir/home/.cargo" PATH="$dir/home/.cargo/bin:$shims:$clean_path" \
        npm_config_cache="$dir/home/.npm" PIP_CACHE_DIR="$dir/home/.cache/pip" \
        CI=true CARGO_INCREMENTAL=0 \
        setsid bash -c 'set -o pipefail; cd "$0" && "$@" </dev/null 2>&1 |
            perl -MTime::HiRes=time -ne "BEGIN { \$| = 1 } printf q(%.2f %s), time, \$_"' \
        "$dir/clone" "$@" >"$log" &
    runner=$!
    pgid=$runner
}

fmt_secs() {
    local s=${1%.*}
    if [ "$s" -ge 60 ]; then printf '%d min %02d s' $((s / 60)) $((s % 60)); else printf '%d s' "$s"; fi
}

# The breakdown of a log: one row per step, a step being a make recipe line or a `==> ` line.
# The build tool's own steps (`==> build: …`) are not rows here: two run at once, which a
# timeline cannot show; its account of them (`build_steps`) is a table of its own.
breakdown() {
    local log="$1" start="$2" end="$3"
    awk -v start="$start" -v end="$end" '
        function flush(t) { if (name != "") { d = t - since; if (d >= 1) printf "%s\t%.0f\n", name, d } }
        {
            t = $1; line = substr($0, index($0, " ") + 1)
            if ((line ~ /^==> / && line !~ /^==> build: /) ||
                line ~ /^(cargo|bash|cd |\.\/target|npx|rustup|touch|\$\(MAKE\)|make )/) {
                flush(t); name = substr(line, 1, 110); since = t
            }
        }
        END { flush(end) }' "$log"
}

# The build tool's own account of its steps (`xtask build` ends with one), as table rows:
# the server and the browser bundle are built at the same time, which a timeline of output
# lines cannot show.
build_steps() {
    awk '
        { line = substr($0, index($0, " ") + 1) }
        line ~ /^build: where the time went/ { inside = 1; rows = ""; next }
        inside && line ~ /^ +[0-9].* s  / {
            match(line, /^ +[0-9.]+( min [0-9]+)? s  /)
            took = substr(line, RSTART, RLENGTH); gsub(/^ +| +$/, "", took)
            what = substr(line, RSTART + RLENGTH)
            rows = rows sprintf("| %s | %s |\n", what, took)
            if (what == "in all") inside = 0
            next
        }
        { inside = 0 }
        END { printf "%s", rows }' "$1"
}

# Each measurement sets its outcome and total; the report says what happened either way.
measure_run() {
    local port; port=$(free_port)
    say "make run (serving on 127.0.0.1:$port) in a fresh clone of $commit"
    prepare run
    local t0; t0=$(date +%s.%N)
    start_fresh run make run "ADDR=127.0.0.1:$port"
    local served="" deadline=$(( ${t0%.*} + RUN_TIMEOUT ))
    run_outcome="timed out"
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if curl -fsS -o "$work/run/page.html" "http://127.0.0.1:$port/" 2>/dev/null &&
            grep -q 'data-testid' "$work/run/page.html"; then
            served=$(date +%s.%N); run_outcome=served; break
        fi
        if ! kill -0 "$runner" 2>/dev/null; then run_outcome="stopped before serving"; break; fi
        sleep 1
    done
    local t1; t1=${served:-$(date +%s.%N)}
    stop_group "$pgid"
    wait "$runner" 2>/dev/null || true
    pgid=""
    run_total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
    run_rows=$(breakdown "$work/run/log" "$t0" "$t1")
    run_build_steps=$(build_steps "$work/run/log")
    if [ "$run_outcome" = served ]; then
        say "make run: first page after $(fmt_secs "$run_total")"
    else
        say "make run $run_outcome after $(fmt_secs "$run_total"); its log's last lines:"
        tail -n 30 "$work/run/log" >&2
    fi
}

measure_test() {
    say "make test in a fresh clone of $commit"
    prepare test
    local t0; t0=$(date +%s.%N)
    start_fresh test make test
    local deadline=$(( ${t0%.*} + TEST_TIMEOUT ))
    while kill -0 "$runner" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 2; done
    local timed_out=0
    kill -0 "$runner" 2>/dev/null && timed_out=1
    stop_group "$pgid"
    local status=0
    wait "$runner" || status=$?
    pgid=""
    local t1; t1=$(date +%s.%N)
    test_total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
    test_rows=$(breakdown "$work/test/log" "$t0" "$t1")
    if [ "$timed_out" = 1 ]; then
        test_outcome="timed out"
    elif [ "$status" != 0 ]; then
        test_outcome=failed
    else
        test_outcome=passed
    fi
    if [ "$test_outcome" = passed ]; then
        say "make test: passed after $(fmt_secs "$test_total")"
    else
        say "make test $test_outcome after $(fmt_secs "$test_total"); its log's last lines:"
        tail -n 40 "$work/test/log" >&2
    fi
}

run_total=""; test_total=""; run_rows=""; test_rows=""; run_build_steps=""
run_outcome=""; test_outcome=""
# make test first: on a machine without the Debian packages, it is the one that installs them.
if [ "$only" != run ]; then measure_test; fi
if [ "$only" != test ]; then measure_run; fi

# The report.
machine="$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
{
    echo "Measured by \`make first-run-report\` on $(date -u +%Y-%m-%d) at commit \`$commit\` ($machine):"
    echo "each command in a new clone with an empty cargo home, target directory, npm and pip"
    echo "cache, run as CI runs it (\`CI=true\`, no incremental builds). Already on the machine:"
    echo "the Rust toolchain, Node.js and Python$(for p in "${present[@]}"; do printf ', %s' "$p"; done)."
    echo
    echo "| command | until | time |"
    echo "|---|---|--:|"
    case "$run_outcome" in
        "") ;;
        served) echo "| \`make run\` | the first page is served | $(fmt_secs "$run_total") |" ;;
        *) echo "| \`make run\` | **$run_outcome** | $(fmt_secs "$run_total") |" ;;
    esac
    case "$test_outcome" in
        "") ;;
        passed) echo "| \`make test\` | it passes | $(fmt_secs "$test_total") |" ;;
        *) echo "| \`make test\` | **it $test_outcome** | $(fmt_secs "$test_total") |" ;;
    esac
    for which in run test; do
        rows=$([ "$which" = run ] && echo "$run_rows" || echo "$test_rows")
        [ -n "$rows" ] || continue
        echo
        echo "Where \`make $which\`'s time went (steps of a second or more):"
        echo
        echo "| step | time |"
        echo "|---|--:|"
        printf '%s\n' "$rows" | while IFS=$'\t' read -r name secs; do
            name=${name//|/\\|}
            echo "| \`$name\` | $(fmt_secs "$secs") |"
        done
        if [ "$which" = run ] && [ -n "$run_build_steps" ]; then
            echo
            echo "Inside \`xtask build\`, by its own account (the server and the browser bundle are built at"
            echo "the same time, so their steps overlap):"
            echo
            echo "| step | time |"
            echo "|---|--:|"
            printf '%s' "$run_build_steps"
        fi
    done
} >"$work/report.md"

mkdir -p "$(dirname "$out")"
cp "$work/report.md" "$out"
cat "$out"
ok=1
[ -z "$run_outcome" ] || [ "$run_outcome" = served ] || ok=0
[ -z "$test_outcome" ] || [ "$test_outcome" = passed ] || ok=0
if [ "$ok" = 0 ]; then
    say "a first run failed: the README keeps its last report (this one is in $out)"
    exit 1
fi
if [ "$readme" = 1 ]; then
    python3 - "$out" <<'EOF'
import sys
report = open(sys.argv[1]).read().rstrip("\n")
begin, end = "<!-- first-run:begin -->", "<!-- first-run:end -->"
text = open("README.md").read()
a, b = text.find(begin), text.find(end)
if a < 0 or b < a:
    sys.exit("first-run: README.md has no first-run markers")
open("README.md", "w").write(text[: a + len(begin)] + "\n" + report + "\n" + text[b:])
EOF
    say "README.md's first-run section rewritten"
fi
