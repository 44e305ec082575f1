//! What `/healthz` and `/readyz` answer: whether the process is alive, and whether this
//! instance is ready to serve the market (it has published, it is not stopping, and with a
//! shared bus its link to it is up and in step).

use super::values::wire_values;
use super::EventId;
use serde::{Deserialize, Serialize};

wire_values! {
    /// `/healthz`: the process answers.
    pub enum Liveness {
        /// Alive.
        Ok = "ok",
    }
}

wire_values! {
    /// `/readyz`'s verdict.
    pub enum ReadyStatus {
        /// Serving the market (`200`).
        Ready = "ready",
        /// Not yet, or not any more (`503`).
        NotReady = "not_ready",
    }
}

wire_values! {
    /// Which bus carries the events (`--bus`).
    pub enum BusKind {
        /// One process, in memory.
        Memory = "memory",
        /// Several instances through a Redis Stream.
        Redis = "redis",
    }
}

wire_values! {
    /// Where an instance's link to a shared bus stands.
    pub enum LinkState {
        /// Not connected (yet, or any more): reconnecting with backoff.
        Connecting = "connecting",
        /// Connected, waiting for the market: an empty stream, or no snapshot to start from.
        Syncing = "syncing",
        /// Another instance runs the market on this stream: this one does not write.
        Conflict = "conflict",
        /// Connected and in step with the stream.
        Ready = "ready",
    }
}

/// `GET /healthz`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok`: an answer at all is the news.
    pub status: Liveness,
}

/// `GET /readyz`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    /// The verdict.
    pub status: ReadyStatus,
    /// The newest event this instance has.
    pub latest_id: Option<EventId>,
    /// Which bus it serves from.
    pub bus: BusKind,
    /// With a shared bus: where the link to it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<LinkState>,
}
