# tickstream: the two commands are `make run` and `make test`; the rest are their parts.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

# The build's wasm-opt (npm's binaryen) comes before any other, for `make dev`'s cargo-leptos:
# Debian's breaks hydration. Then what `cargo install` put in place (cargo-leptos).
CARGO_BIN := $(if $(CARGO_HOME),$(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(CURDIR)/xtask/node_modules/.bin:$(CARGO_BIN):$(PATH)

# Where `make run` serves, and extra server flags, e.g. `make run ARGS="--seed 42"`.
# `make run TLS=1` serves HTTPS and HTTP/2 on https://127.0.0.1:3443 with a certificate made
# at start-up (the browser asks to trust it; the log prints its SHA-256 fingerprint).
ifeq ($(TLS),1)
ADDR ?= 127.0.0.1:3443
TLS_ARGS := --tls self-signed
endif
ADDR ?= 127.0.0.1:3000
ARGS ?=

.PHONY: setup setup-build setup-test setup-dev run dev build test lint fmt clippy rust-test \
	site-test e2e lab-report page-weight first-run-report bench fuzz soak chaos clean

## Install what a command needs (idempotent): `make setup` installs everything; each command
## below installs only its own part (scripts/setup.sh build | test | dev).
setup:
	bash scripts/setup.sh build test dev
setup-build:
	bash scripts/setup.sh build
setup-test:
	bash scripts/setup.sh test
setup-dev:
	bash scripts/setup.sh dev

## Build the release server and the site (target/site) with the project's own build tool
## (xtask/): no cargo-leptos. Each step redoes only what changed: an unchanged wasm module
## reuses its processed bundle, so `make run` after `make test` starts in seconds.
build: setup-build
	cargo build --release -p xtask
	./target/release/xtask build

## Build, then serve the market on http://$(ADDR).
run: build
	./target/release/tickstream --addr $(ADDR) $(TLS_ARGS) $(ARGS)

## Rebuild and restart on every change (cargo leptos watch; cargo-leptos is installed the
## first time, which takes 10-15 minutes).
dev: setup-build setup-dev
	cargo leptos watch

## Everything CI checks: formatting, lints, Rust tests, the release build and what it built,
## browser tests against it.
test: setup-build setup-test lint rust-test build site-test e2e

lint: fmt clippy

fmt:
	cargo fmt --all --check

clippy:
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --release -p xtask --all-targets -- -D warnings

rust-test:
	cargo test --features ssr

## The build tool's tests, and the site it built held to what cargo-leptos builds
## (xtask/tests/site.rs, against xtask/cargo-leptos-site.txt; it says when it compares kinds
## of files only).
site-test: build
	cargo test --release -p xtask -- --nocapture

## The Playwright suite, against the release build.
e2e: setup-test build
	cd end2end && npx playwright test

## The transport lab for LAB_SECONDS (60) in headless Chromium: prints its table and writes it
## into the README (between the lab-report markers).
lab-report: setup-test build
	cd end2end && npx playwright test --config report/playwright.config.ts lab-report

## The market page's weight in headless Chromium (first and second visit, loopback and a
## throttled fast 3G link) and the wasm modules' sizes: printed and written into the README.
page-weight: setup-test build
	cd end2end && npx playwright test --config report/playwright.config.ts page-weight

## A first run as a stranger has it: `make run` until the first page is served and `make test`
## until it passes, each in a new clone with empty caches (scripts/first-run.sh; about half an
## hour, using the whole machine). Prints where the time went and writes it into the README.
first-run-report:
	bash scripts/first-run.sh --readme

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
## verdict, then fails if the soak did. SOAK_BUILD='--no-default-features --features ssr' soaks
## the server built with glibc's allocator instead of mimalloc.
SOAK_BUILD ?= --features ssr
soak:
	mkdir -p bench/out; rm -f bench/out/soak.md
	ulimit -n 20000 2>/dev/null || true; \
	SOAK_REPORT=$(CURDIR)/bench/out/soak.md \
	SOAK_STAMP="$$(date -u '+%Y-%m-%d %H:%M UTC'), commit $$(git rev-parse --short HEAD)$$(\
		git status --porcelain --untracked-files=no -- $(MEASURED_CODE) | grep -q . && \
		echo ' with uncommitted changes'), allocator $(if $(findstring no-default-features,$(SOAK_BUILD)),glibc malloc,mimalloc)" \
	cargo test --release $(SOAK_BUILD) --test it soak::soak -- --ignored --exact --nocapture \
		|| status=$$?; \
	if [ -f bench/out/soak.md ]; then \
		sed -i '/^## Soak$$/,$$d' BENCHMARKS.md; cat bench/out/soak.md >> BENCHMARKS.md; fi; \
	exit $${status:-0}

## The chaos run: three `--role auto` instances and one `--role web` behind nginx on one Redis,
## clients on every transport, and faults from a seed (kill -9, SIGSTOP, partitions, Redis
## restarts, the faults API) for CHAOS_SECS (300) seconds; a history checker proves one id means
## one event, no gap, no long silence. Pass or fail it rewrites RELIABILITY.md from its own run
## (CHAOS_SEED reproduces a schedule), then fails if the checker found a violation.
chaos: setup-test
	mkdir -p bench/out; rm -f bench/out/chaos.md
	CHAOS_REPORT=$(CURDIR)/bench/out/chaos.md \
	CHAOS_STAMP="$$(date -u '+%Y-%m-%d %H:%M UTC'), commit $$(git rev-parse --short HEAD)$$(\
		git status --porcelain --untracked-files=no -- $(MEASURED_CODE) | grep -q . && \
		echo ' with uncommitted changes')" \
	cargo test --release --features ssr --test it chaos::chaos -- --ignored --exact --nocapture \
		|| status=$$?; \
	if [ -f bench/out/chaos.md ]; then cp bench/out/chaos.md RELIABILITY.md; fi; \
	exit $${status:-0}

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/playwright-report xtask/node_modules
