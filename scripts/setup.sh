#!/usr/bin/env bash
# Installs what a command needs, and nothing twice:
#
#   scripts/setup.sh build   what `make run` needs: the wasm target, and the build's npm tools
#                            (binaryen's wasm-opt, esbuild, Lightning CSS; prebuilt) from
#                            xtask/package-lock.json
#   scripts/setup.sh test    what the tests add: Playwright and the JS clients, the Python
#                            clients, and Debian's chromium, nginx, caddy, haproxy, redis-server
#   scripts/setup.sh dev     what `make dev` adds: cargo-leptos and a matching wasm-bindgen-cli
#
# With no part named, all three. Each step checks first and skips what is already there at
# the right version, so a second run costs seconds. A step that fails stops the script with
# a message naming it. Only the package registries are used (crates.io, npm, Debian).
set -Eeuo pipefail
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

# `npm ci` in $1 unless its node_modules already matches its package-lock.json.
npm_packages() {
    local dir="$1" what="$2"
    local lock_sum stamp
    lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    stamp="$dir/node_modules/.tickstream-lock-sha256"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then
        say "$dir/node_modules ($what): matches package-lock.json"
    else
        say "installing $what from $dir/package-lock.json"
        (cd "$dir" && npm ci --no-audit --no-fund)
        echo "$lock_sum" > "$stamp"
    fi
}

setup_build() {
    begin "rust wasm target"
    if rustup target list --installed | grep -qx "$WASM_TARGET"; then
        say "$WASM_TARGET target: present"
    else
        say "adding the $WASM_TARGET target"
        rustup target add "$WASM_TARGET"
    fi

    begin "the build's npm tools (binaryen's wasm-opt, esbuild, Lightning CSS)"
    npm_packages xtask "the build's npm tools (binaryen's wasm-opt, esbuild, Lightning CSS)"
    for tool in wasm-opt esbuild lightningcss; do
        xtask/node_modules/.bin/$tool --version >/dev/null ||
            { echo "setup: xtask/node_modules/.bin/$tool does not run" >&2; false; }
    done
}

setup_test() {
    begin "end2end npm packages (Playwright, the JS clients)"
    npm_packages end2end "Playwright and the JS clients"

    begin "Python clients for the real-client tests (httpx-sse, end2end/requirements.txt)"
    local req_sum venv=end2end/.venv
    req_sum=$(sha256sum end2end/requirements.txt | cut -d' ' -f1)
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
    local missing=()
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
    local service
    for service in nginx caddy haproxy redis-server; do
        if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
            say "note: a system $service is running; the tests do not use it"
        fi
    done
}

setup_dev() {
    begin "cargo-leptos $CARGO_LEPTOS_VERSION"
    # 0.3.10 is the last release that builds with our rustc (0.3.11 needs 1.96).
    if [ "$(cargo leptos --version 2>/dev/null || true)" = "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
        say "cargo-leptos $CARGO_LEPTOS_VERSION: present"
    else
        say "installing cargo-leptos $CARGO_LEPTOS_VERSION for \`make dev\` (about 10-15 minutes, once)"
        cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
    fi

    begin "wasm-bindgen-cli"
    # cargo-leptos calls a wasm-bindgen binary that must match the library in Cargo.lock exactly.
    local version
    version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
    if [ -z "$version" ]; then
        echo "setup: cannot find the wasm-bindgen version in Cargo.lock" >&2
        false
    fi
    if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $version" ]; then
        say "wasm-bindgen $version: present"
    else
        say "installing wasm-bindgen-cli $version for \`make dev\` (about 3 minutes, once)"
        # Not --locked: the published lock file names a crate version the registry lacks.
        cargo install wasm-bindgen-cli --version "$version"
    fi
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(build test dev)
for part in "${parts[@]}"; do
    case "$part" in
        build) setup_build ;;
        test) setup_test ;;
        dev) setup_dev ;;
        *) echo "setup: unknown part '$part' (build, test or dev)" >&2; exit 2 ;;
    esac
done
say "ready for: ${parts[*]}"
