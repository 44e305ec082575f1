# tickstream: the two commands are `make run` and `make test`; the rest are their parts.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

# Our wasm-opt (npm's binaryen) must come before any other: Debian's breaks hydration.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# Where `make run` serves, and extra server flags, e.g. `make run ARGS="--seed 42"`.
ADDR ?= 127.0.0.1:3000
ARGS ?=

.PHONY: setup run dev build test lint fmt clippy rust-test e2e clean

## Install every tool the project needs (idempotent).
setup:
	bash scripts/setup.sh

## Build the release server and browser bundle.
build: setup
	cargo leptos build --release

## Build, then serve the market on http://$(ADDR).
run: build
	./target/release/tickstream --addr $(ADDR) $(ARGS)

## Rebuild and restart on every change (cargo leptos watch).
dev: setup
	cargo leptos watch

## Everything CI checks: formatting, lints, Rust tests, browser tests on a release build.
test: setup lint rust-test build e2e

lint: fmt clippy

fmt:
	cargo fmt --check

clippy:
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

rust-test:
	cargo test --features ssr

## The Playwright suite, against the release build (run `make build` first).
e2e:
	cd end2end && npx playwright test

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/playwright-report
