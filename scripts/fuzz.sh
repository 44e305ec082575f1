#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time: `make fuzz` (FUZZ_SECS per target,
# default 60). Idempotent: installs cargo-fuzz only if missing, needs the nightly toolchain.
# Findings are left in fuzz/artifacts/<target>/; copy a fixed one into fuzz/seeds/<target>/
# so that `cargo test` (tests/it/fuzz_corpus.rs) replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECS:-60}"
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# No sanitizer: the code under test is safe Rust, and without ASan the build and the runs
# are several times faster; libFuzzer still finds panics, overflows (debug assertions on)
# and broken round trips.
cargo +nightly fuzz build -s none
for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    echo "== fuzz $target for ${secs}s"
    # The fuzzer's own exit status decides (pipefail: a crash, a timeout, an out-of-memory,
    # a target that does not build or start); the filter only trims what is printed, and a
    # filter that matched nothing is not a failure.
    if ! cargo +nightly fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -max_len=4096 -print_final_stats=1 2>&1 |
        { grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss|==|INFO: seed corpus|.*panicked|SUMMARY|Test unit written|error)' || true; }; then
        echo "fuzz $target failed: see the output above and fuzz/artifacts/$target/" >&2
        exit 1
    fi
    if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
        echo "fuzz $target left a finding: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
