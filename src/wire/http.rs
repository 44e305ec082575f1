//! Where the streams live and what their requests say: the paths, the query parameter names
//! and the resume header, spelled once for the server that reads them and the browser that
//! writes them.

/// The Server-Sent Events stream.
pub const SSE_PATH: &str = "/api/sse";
/// The WebSocket stream.
pub const WS_PATH: &str = "/api/ws";
/// Long- and short-polling.
pub const POLL_PATH: &str = "/api/poll";
/// The current state as one `snapshot` envelope.
pub const SNAPSHOT_PATH: &str = "/api/snapshot";
/// The diagnostic stream of the SSE seed article.
pub const DIAGNOSTIC_PATH: &str = "/.sse";
/// `DELETE {CONNECTIONS_PATH}/{name}`: the server drops one streaming connection.
pub const CONNECTIONS_PATH: &str = "/api/connections";
/// `GET {USAGE_PATH}/{client}`: a client's bytes on the wire.
pub const USAGE_PATH: &str = "/api/usage";
/// The server's clock.
pub const TIME_PATH: &str = "/api/time";

/// The header a reconnecting `EventSource` sends: the last id it saw.
pub const LAST_EVENT_ID_HEADER: &str = "last-event-id";

/// Query parameter names.
pub mod query {
    /// Streams: resume after this id (a brand-new `EventSource` cannot send the header).
    pub const LAST_EVENT_ID: &str = "lastEventId";
    /// Streams and polls: only these symbols (comma-separated).
    pub const SYMBOLS: &str = "symbols";
    /// Streams and polls: only these event types (comma-separated).
    pub const TYPES: &str = "types";
    /// Streams: each symbol's latest tick once per this many milliseconds.
    pub const CONFLATE: &str = "conflate";
    /// Polls: the events after this id.
    pub const AFTER: &str = "after";
    /// Polls: seconds to wait when nothing is new (0 answers at once).
    pub const WAIT: &str = "wait";
    /// Streams and polls: the id a client counts its wire bytes under.
    pub const CLIENT: &str = "client";
    /// SSE: `named` (the default) or `unnamed` events (see `EventNaming`).
    pub const EVENTS: &str = "events";
    /// Streams: `comment` (the default) or `event`: heartbeats a page can see (see
    /// `HeartbeatStyle`).
    pub const HEARTBEAT: &str = "heartbeat";
    /// The market page: which transport carries its stream (`?transport=ws`).
    pub const TRANSPORT: &str = "transport";
    /// The market page: `1` shares one stream with the browser's other tabs (`?share=1`).
    pub const SHARE: &str = "share";
}
