//! `/metrics`: what the server is doing, in the Prometheus text format.
//!
//! Counters are cheap to bump from hot paths: a stream looks up its own counter handles once
//! when it opens and then only increments atomics. The one registry lives in [`Metrics`],
//! one per server, so tests running several servers in one process do not share counts.

use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::wire::faults::FaultKind;
use crate::wire::{ResetReason, Transport};

/// The labels of a per-transport metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    /// The transport's wire name.
    pub transport: &'static str,
}

impl TransportLabels {
    /// The labels of one transport.
    pub fn of(transport: Transport) -> TransportLabels {
        TransportLabels {
            transport: transport.as_str(),
        }
    }
}

/// The labels of `tickstream_resets_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResetLabels {
    /// The transport's wire name.
    pub transport: &'static str,
    /// The reset's reason, as the `reset` event says it.
    pub reason: &'static str,
}

/// The labels of `tickstream_refused_streams_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// The transport's wire name.
    pub transport: &'static str,
    /// `per_ip` or `overall`.
    pub reason: &'static str,
}

/// The labels of `tickstream_faults_injected_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabels {
    /// The fault's kind, as the API names it.
    pub kind: &'static str,
}

/// Every metric of one server, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    /// Streaming connections open now.
    pub connections: Family<TransportLabels, Gauge>,
    /// Events through `Hub::publish` (each encoded once).
    pub events_published: Counter,
    /// Events written to clients.
    pub deliveries: Family<TransportLabels, Counter>,
    /// Connections that resumed by replaying history.
    pub resumes: Family<TransportLabels, Counter>,
    /// `reset` events sent, by reason.
    pub resets: Family<ResetLabels, Counter>,
    /// Times a client fell behind its backlog.
    pub lagged: Family<TransportLabels, Counter>,
    /// Seconds from an event's publish time to its write to a client.
    pub latency: Histogram,
    /// Streams refused by the limits (`per_ip`, `overall`).
    pub refused: Family<RefusedLabels, Counter>,
    /// Connections closed because their writes made no progress for `--write-timeout-secs`.
    pub stalled: Counter,
    /// Faults injected on purpose (`/api/admin/faults`), by kind.
    pub faults: Family<FaultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tickstream");
        let connections = Family::<TransportLabels, Gauge>::default();
        registry.register(
            "open_connections",
            "Streaming connections open now",
            connections.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Events published to the bus",
            events_published.clone(),
        );
        let deliveries = Family::<TransportLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Events written to clients",
            deliveries.clone(),
        );
        let resumes = Family::<TransportLabels, Counter>::default();
        registry.register(
            "resumes",
            "Connections that resumed from an event id by replaying history",
            resumes.clone(),
        );
        let resets = Family::<ResetLabels, Counter>::default();
        registry.register("resets", "Reset events sent, by reason", resets.clone());
        let lagged = Family::<TransportLabels, Counter>::default();
        registry.register(
            "lagged_clients",
            "Times a client fell behind its backlog and was reset",
            lagged.clone(),
        );
        // 0.5 ms to ~4 s, doubling.
        let latency = Histogram::new((0..14).map(|i| 0.000_5 * f64::from(1u32 << i)));
        registry.register(
            "publish_to_write_seconds",
            "Time from an event's publication to its write to a client",
            latency.clone(),
        );
        let refused = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "refused_streams",
            "Streams refused because a client or the server held as many as allowed",
            refused.clone(),
        );
        let stalled = Counter::default();
        registry.register(
            "stalled_connections",
            "Connections closed because their writes made no progress for the write timeout",
            stalled.clone(),
        );
        let faults = Family::<FaultLabels, Counter>::default();
        registry.register(
            "faults_injected",
            "Faults injected on purpose through /api/admin/faults (only with --faults)",
            faults.clone(),
        );
        for kind in FaultKind::ALL {
            drop(faults.get_or_create(&FaultLabels {
                kind: kind.as_str(),
            }));
        }
        // Show every transport from the start, at zero, rather than only once it is used.
        for transport in Transport::ALL {
            let labels = TransportLabels::of(*transport);
            drop(connections.get_or_create(&labels));
            drop(deliveries.get_or_create(&labels));
            drop(resumes.get_or_create(&labels));
            drop(lagged.get_or_create(&labels));
        }
        Metrics {
            registry,
            connections,
            events_published,
            deliveries,
            resumes,
            resets,
            lagged,
            latency,
            refused,
            stalled,
            faults,
        }
    }

    /// The whole registry in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Counts one open connection until the guard is dropped.
    pub fn connection(&self, transport: Transport) -> ConnectionGuard {
        let gauge = self
            .connections
            .get_or_create(&TransportLabels::of(transport))
            .clone();
        gauge.inc();
        ConnectionGuard(gauge)
    }

    /// Streaming connections open now, all transports together.
    pub fn open_streams(&self) -> i64 {
        Transport::ALL
            .iter()
            .map(|t| {
                self.connections
                    .get_or_create(&TransportLabels::of(*t))
                    .get()
            })
            .sum()
    }

    /// Counts a stream refused by the limits.
    pub fn count_refused(&self, transport: Transport, reason: &'static str) {
        self.refused
            .get_or_create(&RefusedLabels {
                transport: transport.as_str(),
                reason,
            })
            .inc();
    }

    /// Counts a `reset` sent to a client.
    pub fn count_reset(&self, transport: Transport, reason: ResetReason) {
        self.resets
            .get_or_create(&ResetLabels {
                transport: transport.as_str(),
                reason: reason.as_str(),
            })
            .inc();
    }
}

/// Decrements the open-connections gauge when the connection's stream is dropped, however
/// it ends (client gone, shutdown, error).
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
