//! The seam between the UI and the transports. The UI picks a [`TransportKind`], hands a
//! callback to the [`LiveFeed`] (provided by the browser build), and hears [`FeedEvent`]s;
//! it never touches a socket. Closing the returned [`FeedHandle`] (or dropping it) ends the
//! connection.

use crate::wire::usage::WireUsage;
use crate::wire::{Envelope, EventId};
use std::rc::Rc;

/// Where a live connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConnectionState {
    /// Rendered on the server, or not yet connected.
    #[default]
    Connecting,
    Open,
    /// Lost; the transport is trying again.
    Reconnecting,
    /// The browser is offline: nothing is tried until it is back online.
    Offline,
    /// Closed on purpose while the tab is hidden; resumes when it is shown.
    Paused,
    /// Given up or stopped.
    Closed,
}

impl ConnectionState {
    /// Every state.
    pub const ALL: [ConnectionState; 6] = [
        ConnectionState::Connecting,
        ConnectionState::Open,
        ConnectionState::Reconnecting,
        ConnectionState::Offline,
        ConnectionState::Paused,
        ConnectionState::Closed,
    ];

    /// The state with this name.
    pub fn from_name(name: &str) -> Option<ConnectionState> {
        ConnectionState::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    /// The name the page shows (and `data-state`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
            ConnectionState::Paused => "paused",
            ConnectionState::Closed => "closed",
        }
    }
}

/// A tab's part in a stream shared by the browser's tabs (`?share=1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareRole {
    /// This tab holds the stream and hands its events to the others.
    Leader,
    /// This tab reads the events another tab's stream receives.
    Follower,
}

impl ShareRole {
    /// The name in `data-role`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShareRole::Leader => "leader",
            ShareRole::Follower => "follower",
        }
    }
}

/// The five ways the page can carry the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TransportKind {
    /// `EventSource` on `/api/sse`.
    #[default]
    Sse,
    /// `fetch` on `/api/sse`, read by the page's own parser (the "polyfill").
    Fetch,
    /// A WebSocket on `/api/ws`.
    Ws,
    /// `/api/poll` with `wait=25`.
    LongPoll,
    /// `/api/poll` every second.
    ShortPoll,
}

impl TransportKind {
    /// Every transport, in the order the page lists them.
    pub const ALL: [TransportKind; 5] = [
        TransportKind::Sse,
        TransportKind::Fetch,
        TransportKind::Ws,
        TransportKind::LongPoll,
        TransportKind::ShortPoll,
    ];

    /// The name in URLs (`?transport=ws`) and test ids.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Sse => "sse",
            TransportKind::Fetch => "fetch",
            TransportKind::Ws => "ws",
            TransportKind::LongPoll => "long-poll",
            TransportKind::ShortPoll => "short-poll",
        }
    }

    /// The name a person reads.
    pub fn label(self) -> &'static str {
        match self {
            TransportKind::Sse => "SSE",
            TransportKind::Fetch => "fetch-SSE",
            TransportKind::Ws => "WebSocket",
            TransportKind::LongPoll => "Long-poll",
            TransportKind::ShortPoll => "Short-poll",
        }
    }

    /// The transport a URL names.
    pub fn from_name(name: &str) -> Option<TransportKind> {
        TransportKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// How far the browser's clock is from the server's, as well as the page can tell: the
/// server's clock reads `browser + offset_ms`, give or take `uncertainty_ms` (half the
/// round trip of the best exchange with `/api/time`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockOffset {
    /// Server clock minus browser clock, in milliseconds.
    pub offset_ms: f64,
    /// How wrong the offset may be, either way.
    pub uncertainty_ms: f64,
}

/// Publish → receive delay of one event, on one clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// Milliseconds; may be slightly negative within the uncertainty.
    pub ms: f64,
    /// How wrong it may be, either way.
    pub uncertainty_ms: f64,
}

impl Latency {
    /// The delay of an event published at `ts` (server clock) and received at `received_at`
    /// (browser clock), once the clocks' offset is known.
    pub fn of(ts: u64, received_at: f64, clock: Option<ClockOffset>) -> Option<Latency> {
        let clock = clock?;
        Some(Latency {
            ms: received_at + clock.offset_ms - ts as f64,
            uncertainty_ms: clock.uncertainty_ms,
        })
    }
}

/// What a running transport reports. (A `Message` is much larger than the rest; events
/// are moved once, straight to their consumer, so boxing it would buy nothing.)
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum FeedEvent {
    /// An event arrived. `raw` is the frame as received (for SSE, as `EventSource` hands
    /// it over: its fields reassembled); `received_at` is milliseconds since the Unix epoch
    /// on the browser's clock, `clock` how that clock relates to the server's (once known).
    Message {
        envelope: Envelope,
        raw: String,
        received_at: f64,
        clock: Option<ClockOffset>,
    },
    /// Something arrived that is not an event (a WebSocket pong or error message).
    Control {
        raw: String,
    },
    /// Bytes received: frames, messages, or response bodies.
    Bytes(usize),
    /// An HTTP request was made (a stream opened, a handshake, a poll).
    Request,
    State(ConnectionState),
    /// The connection came back after being lost.
    Reconnected,
    /// The server named this connection (so it can be asked to drop it).
    Named(String),
    /// The transport kept failing and handed over to another.
    FellBack(TransportKind),
    /// What this connection has cost on the wire so far, as the server counted it (only
    /// for a metered feed).
    Wire(WireUsage),
    /// This tab's part in a shared stream (only for a shared feed).
    Shared(ShareRole),
}

/// What the UI can do to a running transport.
pub trait FeedControl {
    /// Closes the connection from the client side; it stays closed.
    fn close(&self);
    /// Kills the connection from the client side as a network failure would; the
    /// transport reconnects and resumes by itself.
    fn kill(&self);
    /// Asks the server to drop this connection; the transport reconnects and resumes.
    fn drop_by_server(&self);
}

/// A running transport. Dropping it closes the connection.
pub struct FeedHandle(Box<dyn FeedControl>);

impl FeedHandle {
    pub fn new(control: impl FeedControl + 'static) -> FeedHandle {
        FeedHandle(Box::new(control))
    }

    pub fn kill(&self) {
        self.0.kill();
    }

    pub fn drop_by_server(&self) {
        self.0.drop_by_server();
    }
}

impl Drop for FeedHandle {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// What the UI asks of a new feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedRequest {
    /// Which transport.
    pub kind: TransportKind,
    /// Resume after this id (the page's snapshot), or start with a snapshot.
    pub last_id: Option<EventId>,
    /// Count this feed's bytes on the wire and report them ([`FeedEvent::Wire`]).
    pub metered: bool,
    /// Share one stream with the browser's other tabs that ask to ([`ShareRole`]).
    pub shared: bool,
}

/// Starts a transport, reporting to `on`.
pub type StartFeed = fn(FeedRequest, Rc<dyn Fn(FeedEvent)>) -> FeedHandle;

/// The browser build's transports, provided as context (absent on the server).
#[derive(Clone, Copy)]
pub struct LiveFeed(pub StartFeed);

impl LiveFeed {
    /// Starts a transport as `request` asks, reporting to `on`.
    pub fn start(&self, request: FeedRequest, on: Rc<dyn Fn(FeedEvent)>) -> FeedHandle {
        (self.0)(request, on)
    }
}
