//! What every handler can reach: the shared state of one running server.
//!
//! It sits at the bottom of the request-handling layers — transports, admin and routes read
//! it; it reads none of them — and it is built once, by [`startup`](super::startup), which
//! stands above everything. Cloning it is cheap: every part is an `Arc` or a handle.

use super::config::Config;
use super::driver::DriverHandle;
use super::faults::Faults;
use super::hub::Hub;
use super::limits::{AnswerSlots, StreamLimits};
use super::link::BusLink;
use super::meter::WireMeters;
use super::metrics::Metrics;
use super::shutdown::StreamEnds;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The shared state of a running server.
#[derive(Clone)]
pub struct AppState {
    /// The settings it was started with.
    pub config: Arc<Config>,
    /// The Leptos run-time settings (site root, asset folder).
    pub leptos: LeptosOptions,
    /// Where events are published and subscribed to.
    pub hub: Arc<Hub>,
    /// Commands to the market (steps, news, session, speed); stopped on a web instance.
    pub driver: DriverHandle,
    /// The Prometheus registry behind `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The market's symbols, in universe order (to validate filters).
    pub symbols: Arc<[String]>,
    /// Cancelled once, when the server begins to shut down.
    pub shutdown: CancellationToken,
    /// What streams watch to know when to end (shutdown, or an instructor's disconnect).
    pub streams: Arc<StreamEnds>,
    /// This process's name in diagnostics (`/.sse`), unique per start.
    pub instance: Arc<str>,
    /// With `--bus redis://…`: where the link to Redis stands (for `/readyz`).
    pub link: Option<Arc<BusLink>>,
    /// Admits streams within `--max-streams` and `--max-streams-per-ip`.
    pub limits: Arc<StreamLimits>,
    /// What each named client has cost on the wire.
    pub meters: Arc<WireMeters>,
    /// One streamed answer per client at a time.
    pub answers: Arc<AnswerSlots>,
    /// Faults injected on purpose (`--faults`).
    pub faults: Arc<Faults>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos.clone()
    }
}
