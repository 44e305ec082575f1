//! The integration tests: one binary, so that the whole of Leptos and axum is linked once
//! rather than once per file. Each module tests one surface against a real server on a
//! loopback port (or a real process, nginx or redis-server); [`support`] holds what they
//! share: the test server, a raw HTTP/1.1 client and the WHATWG event-stream reader.
//!
//! Run them with `cargo test` (the `ssr` feature is on by default) or `make test`.

#[cfg(not(feature = "ssr"))]
compile_error!(
    "the integration tests need the server: run `cargo test --features ssr` (or `make test`), \
     not a build without the `ssr` feature"
);

mod support;

mod admin;
mod chaos;
mod conformance;
mod errors;
mod explain;
mod failover;
mod faults;
mod fencing;
mod fuzz_corpus;
mod hardening;
mod leptos_settings;
mod nginx;
mod poll;
mod proxies;
mod redis;
mod replay;
mod secrets;
mod shutdown;
mod soak;
mod sse;
mod tls;
mod usage;
mod ws;
