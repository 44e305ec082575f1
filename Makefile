# tickstream: the two commands are `make run` and `make test`; the rest are their parts.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

# Our wasm-opt (npm's binaryen) must come before any other: Debian's breaks hydration.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# Where `make run` serves, and extra server flags, e.g. `make run ARGS="--seed 42"`.
# `make run TLS=1` serves HTTPS and HTTP/2 on https://127.0.0.1:3443 with a certificate made
# at start-up (the browser asks to trust it; the log prints its SHA-256 fingerprint).
ifeq ($(TLS),1)
ADDR ?= 127.0.0.1:3443
TLS_ARGS := --tls self-signed
endif
ADDR ?= 127.0.0.1:3000
ARGS ?=

.PHONY: setup run dev build test lint fmt clippy rust-test e2e lab-report page-weight bench fuzz soak clean

## Install every tool the project needs (idempotent).
setup:
	bash scripts/setup.sh

## Build the release server and browser bundle, only when a source changed since the last
## build, an output is missing, or another command (`make bench`'s plain cargo build) rebuilt
## the server since: `make run` after `make test` starts at once.
BUILD_INPUTS := $(shell find src style public -type f) Cargo.toml Cargo.lock Leptos.toml \
	.cargo/config.toml
BUILD_STAMP := target/release/.leptos-build
build: setup
	@if [ ! -x target/release/tickstream ] || [ ! -f target/hash.txt ] || \
		[ target/release/tickstream -nt $(BUILD_STAMP) ]; then rm -f $(BUILD_STAMP); fi
	@$(MAKE) --no-print-directory $(BUILD_STAMP)

# --split cuts the lazy routes (src/ui/app.rs) out of the wasm every visitor downloads first;
# --precompress writes a .br and a .gz beside every static file, served to browsers that
# accept them. Neither can be set in Cargo.toml.
$(BUILD_STAMP): $(BUILD_INPUTS)
	cargo leptos build --release --split --precompress
	touch $@

## Build, then serve the market on http://$(ADDR).
run: build
	./target/release/tickstream --addr $(ADDR) $(TLS_ARGS) $(ARGS)

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

## The transport lab for LAB_SECONDS (60) in headless Chromium: prints its table and writes it
## into the README (between the lab-report markers).
lab-report: setup build
	cd end2end && npx playwright test --config report/playwright.config.ts lab-report

## The market page's weight in headless Chromium (first and second visit, loopback and a
## throttled fast 3G link) and the wasm modules' sizes: printed and written into the README.
page-weight: setup build
	cd end2end && npx playwright test --config report/playwright.config.ts page-weight

## The benchmark matrix (tickstream against Nchan with 1 and 2 workers and sse-starlette; SSE and
## WebSocket; 1k to 10k clients; open-loop) → BENCHMARKS.md and its curve, BENCHMARKS.svg.
bench:
	bash bench/run.sh

## Every fuzz target for FUZZ_SECS seconds each (default 60; nightly + cargo-fuzz, installed
## if missing). `make test` replays the seeds and findings as ordinary tests instead.
fuzz:
	bash scripts/fuzz.sh

# What a measurement's "commit" stamp vouches for (make soak, bench/run.sh).
MEASURED_CODE := src tests bench Cargo.toml Cargo.lock Leptos.toml

## The soak: SOAK_CLIENTS (2000) clients over SSE, WebSocket and long-poll with churn and
## forced disconnects for SOAK_SECS (600) seconds; no gaps, memory back near its baseline.
## Pass or fail, it rewrites BENCHMARKS.md's `## Soak` section from its own figures and
## verdict, then fails if the soak did.
soak:
	mkdir -p bench/out; rm -f bench/out/soak.md
	ulimit -n 20000 2>/dev/null || true; \
	SOAK_REPORT=$(CURDIR)/bench/out/soak.md \
	SOAK_STAMP="$$(date -u '+%Y-%m-%d %H:%M UTC'), commit $$(git rev-parse --short HEAD)$$(\
		git status --porcelain --untracked-files=no -- $(MEASURED_CODE) | grep -q . && \
		echo ' with uncommitted changes')" \
	cargo test --release --features ssr --test it soak::soak -- --ignored --exact --nocapture \
		|| status=$$?; \
	if [ -f bench/out/soak.md ]; then \
		sed -i '/^## Soak$$/,$$d' BENCHMARKS.md; cat bench/out/soak.md >> BENCHMARKS.md; fi; \
	exit $${status:-0}

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/playwright-report
