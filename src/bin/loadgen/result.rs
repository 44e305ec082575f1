//! One run's result: what `loadgen run` measured, appended as one JSON line to `--out` and
//! read back by `loadgen report`. The one shape both sides agree on, so a figure in
//! BENCHMARKS.md is a field here, never a string key looked up by hand.

use crate::clients::TransportKind;
use crate::publish::ServerKind;
use serde::{Deserialize, Serialize};

/// A cell that published less than this share of its target rate is overloaded.
pub const OVERLOAD_RATE: f64 = 0.95;

/// Everything one benchmark cell measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// A name for the run in the report.
    pub label: String,
    /// The server under test.
    pub server: ServerKind,
    /// The clients' transport.
    pub transport: TransportKind,
    /// Clients asked for.
    pub clients: u64,
    /// Messages per second asked for (0: the market's own events).
    pub rate: f64,
    /// Payload bytes per message as a client receives it.
    pub size: usize,
    /// Seconds of publishing asked for.
    pub duration_s: u64,
    /// Source addresses the clients were spread over.
    pub sources: u8,
    /// Clients connected once connecting ended.
    pub connected: u64,
    /// Seconds connecting took.
    pub connect_s: f64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Clients still connected at the end.
    pub held: u64,
    /// Connections that ended and were opened again.
    pub reconnects: u64,
    /// Messages published.
    pub published: u64,
    /// Publishes that failed.
    pub publish_errors: u64,
    /// Messages published per second, achieved.
    pub publish_rate: f64,
    /// The most publish requests unanswered at once (open loop, see `publish.rs`).
    #[serde(default)]
    pub peak_in_flight: u64,
    /// Why the cell's figures are not a fair comparison, if they are not: the achieved
    /// publish rate under [`OVERLOAD_RATE`] of the target, or deliveries missing.
    #[serde(default)]
    pub overloaded: Option<String>,
    /// Deliveries expected: published × connected.
    pub expected: u64,
    /// Measured messages received by all clients.
    pub deliveries: u64,
    /// Deliveries per second over the window.
    pub deliveries_per_s: f64,
    /// Clients × rate.
    pub offered_per_s: f64,
    /// Expected deliveries not received.
    pub missing: u64,
    /// Messages clients skipped.
    pub gaps: u64,
    /// Messages received twice or out of order.
    pub duplicates: u64,
    /// `reset` events received.
    pub resets: u64,
    /// HTTP requests the clients made.
    pub requests: u64,
    /// Payload bytes per measured message.
    pub message_bytes: u64,
    /// Publish → receive latency percentiles and maximum, in milliseconds.
    pub p50_ms: Option<f64>,
    /// See `p50_ms`.
    pub p90_ms: Option<f64>,
    /// See `p50_ms`.
    pub p99_ms: Option<f64>,
    /// See `p50_ms`.
    pub max_ms: Option<f64>,
    /// Server CPU over the window, as % of one core.
    pub server_cpu_pct: Option<f64>,
    /// Server CPU per delivery, in microseconds.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// The load generator's own CPU, as % of one core.
    pub loadgen_cpu_pct: Option<f64>,
    /// Server RSS before any client connected.
    pub rss_base_kib: Option<u64>,
    /// Server RSS with every client connected and idle.
    pub rss_idle_kib: Option<u64>,
    /// Server RSS at the end of the window.
    pub rss_loaded_kib: Option<u64>,
    /// Server peak RSS.
    pub rss_peak_kib: Option<u64>,
    /// (idle − base) ÷ connected.
    pub idle_kib_per_conn: Option<f64>,
    /// tickstream's own counters over the window.
    pub metrics: Option<EncodeCounts>,
}

/// tickstream's `/metrics` over one window: events encoded, and writes to clients.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct EncodeCounts {
    /// `tickstream_events_published_total` (one encode each).
    pub published: f64,
    /// `tickstream_deliveries_total`, all transports.
    pub deliveries: f64,
}
