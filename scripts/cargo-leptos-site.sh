#!/usr/bin/env bash
# Writes xtask/cargo-leptos-site.txt: the files `cargo leptos build --release --split
# --precompress` makes of this project (hashes written `<hash>`, with sizes), which
# xtask/tests/site.rs holds every build of ours to. Run it when the site changes in a way
# cargo-leptos would follow as well (a new lazy module, a new asset, a new wasm-bindgen), and
# commit the list with the change.
#
# cargo-leptos builds in a target directory of its own (target/cargo-leptos), so neither
# build undoes the other's work; it is installed if missing (`scripts/setup.sh dev`, 10-15
# minutes once), and the build itself takes as long as a release build from clean.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build dev
export PATH="$PWD/xtask/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

out=target/cargo-leptos
CARGO_TARGET_DIR=$out LEPTOS_SITE_ROOT=$out/site \
    cargo leptos build --release --split --precompress
cargo build --release -p xtask
{
    echo "# The site \`cargo leptos build --release --split --precompress\` (cargo-leptos $(cargo leptos --version | cut -d' ' -f2))"
    changes=""
    if [ -n "$(git status --porcelain --untracked-files=no -- src style public Cargo.toml Cargo.lock)" ]; then
        changes=" with uncommitted changes"
    fi
    echo "# made of commit $(git rev-parse --short HEAD)$changes: size in bytes, then the path under the site"
    echo "# root with its content hash written <hash>. Written by scripts/cargo-leptos-site.sh."
    ./target/release/xtask manifest "$out/site"
} > xtask/cargo-leptos-site.txt
echo "==> cargo-leptos-site: xtask/cargo-leptos-site.txt written ($(grep -vc '^#' xtask/cargo-leptos-site.txt) files)"
