//! The wire protocol: the only module that knows how tickstream's events look on the wire.
//!
//! Every transport (SSE, WebSocket, polling) carries the same [`envelope`]: a protocol
//! version `v`, an event [`id`](id::EventId) (`EPOCH-SEQ`), a `type`, the server's publish time
//! `ts` (milliseconds since the Unix epoch, so a client can measure latency) and the `data`.
//! The payload types in [`payload`] are shared by the server, which encodes them once per
//! event, and by the browser, which decodes them.
//!
//! Besides its own events, it carries events anyone may publish under a name of their own
//! ([`custom`]). And it spells every other value that crosses the wire: the closed sets of
//! words inside payloads ([`values`]), the admin API's requests and replies ([`admin`]), the
//! error body of every API ([`error`]), the streamed analyst note ([`explain`]), faults on purpose ([`faults`]), readiness
//! ([`health`]), a client's cost on the wire and the server's clock ([`usage`]), the WebSocket commands ([`control`]), the polling
//! batch ([`batch`]), and the paths and query parameter names ([`http`]).
//!
//! Invariants kept here:
//! - field names, event names and the words of every closed set are spelled in this module
//!   and nowhere else;
//! - an encoded envelope is one line of JSON (serde_json escapes CR and LF inside strings), so
//!   it always fits in one SSE `data:` line or one WebSocket text frame;
//! - the SSE framing in [`sse`] cannot be split or forged by any value it is given.

pub mod admin;
pub mod batch;
pub mod control;
pub mod custom;
pub mod envelope;
pub mod error;
pub mod explain;
pub mod faults;
pub mod health;
pub mod http;
pub mod id;
pub mod payload;
pub mod sse;
pub mod usage;
pub mod values;

pub use custom::{CustomEvent, EventName};
pub use envelope::{decode, encode, DecodeError, Envelope, Payload};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use id::{Epoch, EventId, EventIdError};
pub use payload::*;
pub use values::{
    EventNaming, HeartbeatStyle, ResetReason, Scenario, Sentiment, SessionState, Transport,
};

/// The protocol version carried in every envelope's `v` field. Bump it on any incompatible
/// change to the envelope or a payload.
pub const PROTOCOL_VERSION: u32 = 1;

/// Prices travel as whole cents (minor units), never as floating point.
pub type Cents = i64;

/// The kinds of event on the stream; the name is the envelope's `type` and the SSE `event:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The whole current state; first on every new connection.
    Snapshot,
    /// One symbol's new trade and quote.
    Tick,
    /// A headline, generated or typed by an instructor.
    News,
    /// The session changed: open, halted, closed, or a scenario began or ended.
    Market,
    /// The client's history cannot be continued; a snapshot follows.
    Reset,
    /// The first event of a streaming connection: its name, so a client can ask the server
    /// to drop it (the transport lab). Outside the history: it has no id.
    Hello,
    /// The stream is alive and idle (only for `?heartbeat=event`). Outside the history.
    Heartbeat,
    /// An event someone published with a name of their own ([`custom`]); its name travels
    /// where a type's does. Not in [`EventType::ALL`]: no wire name is "custom".
    Custom,
}

impl EventType {
    /// Every type, in a stable order (for filters and documentation).
    pub const ALL: [EventType; 7] = [
        EventType::Snapshot,
        EventType::Tick,
        EventType::News,
        EventType::Market,
        EventType::Reset,
        EventType::Hello,
        EventType::Heartbeat,
    ];

    /// The name used on the wire (for [`EventType::Custom`], the event's own name is).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Snapshot => "snapshot",
            EventType::Tick => "tick",
            EventType::News => "news",
            EventType::Market => "market",
            EventType::Reset => "reset",
            EventType::Hello => "hello",
            EventType::Heartbeat => "heartbeat",
            EventType::Custom => "custom",
        }
    }

    /// The type with this wire name, if any.
    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
