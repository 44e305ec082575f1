#!/usr/bin/env bash
# Installs every tool tickstream needs to build, run and test, and nothing twice.
#
# Each step checks first and skips what is already there at the right version, so
# `make setup` is cheap on a machine that has run it before. A step that fails stops the
# script with a message naming it. Only the package registries are used (crates.io, npm,
# Debian): cargo-leptos is told where our own wasm-opt is, so it never downloads one.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_TARGET=wasm32-unknown-unknown

step=""
say() { printf '==> setup: %s\n' "$*"; }
begin() { step="$1"; }
trap 'printf "setup: FAILED at step \"%s\" (see the output above)\n" "$step" >&2' ERR

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: '$*' needs root (or sudo)" >&2; return 1
    fi
}

begin "rust wasm target"
if rustup target list --installed | grep -qx "$WASM_TARGET"; then
    say "$WASM_TARGET target: present"
else
    say "adding the $WASM_TARGET target"
    rustup target add "$WASM_TARGET"
fi

begin "cargo-leptos $CARGO_LEPTOS_VERSION"
if [ "$(cargo leptos --version 2>/dev/null || true)" = "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    say "cargo-leptos $CARGO_LEPTOS_VERSION: present"
else
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 10-15 minutes, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

begin "wasm-bindgen-cli"
# cargo-leptos calls a wasm-bindgen binary that must match the library in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$WASM_BINDGEN_VERSION" ]; then
    echo "setup: cannot find the wasm-bindgen version in Cargo.lock" >&2
    false
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "wasm-bindgen $WASM_BINDGEN_VERSION: present"
else
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
    # Not --locked: the published lock file names a crate version the registry lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

begin "end2end npm packages (Playwright, binaryen's wasm-opt)"
lock_sum=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
stamp=end2end/node_modules/.tickstream-lock-sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then
    say "end2end/node_modules: matches package-lock.json"
else
    say "installing end2end npm packages from package-lock.json"
    (cd end2end && npm ci --no-audit --no-fund)
    echo "$lock_sum" > "$stamp"
fi
wasm_opt=end2end/node_modules/.bin/wasm-opt
"$wasm_opt" --version >/dev/null || { echo "setup: $wasm_opt does not run" >&2; false; }

begin "Python clients for the real-client tests (httpx-sse, end2end/requirements.txt)"
req_sum=$(sha256sum end2end/requirements.txt | cut -d' ' -f1)
venv=end2end/.venv
if [ -f "$venv/.tickstream-requirements-sha256" ] &&
    [ "$(cat "$venv/.tickstream-requirements-sha256")" = "$req_sum" ]; then
    say "$venv: matches requirements.txt"
else
    say "installing the Python test clients into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r end2end/requirements.txt
    echo "$req_sum" > "$venv/.tickstream-requirements-sha256"
fi

begin "Debian packages (chromium for Playwright; nginx, caddy, haproxy and redis-server for the integration tests)"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/caddy ] || missing+=(caddy)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
    say "chromium, nginx, caddy, haproxy, redis-server: present"
else
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
fi
# The test harness starts its own nginx, caddy and haproxy on free ports, each with a file
# of deploy/; a packaged one serving port 80 is not needed.
# Likewise for Redis: tests/it/redis.rs starts redis-server on a free port in a temporary
# directory, without persistence, and stops it afterwards.
for service in nginx caddy haproxy redis-server; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
        say "note: a system $service is running; the tests do not use it"
    fi
done

say "all tools present"
