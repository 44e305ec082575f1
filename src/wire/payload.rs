//! The `data` of each event type, as the server sends it and the browser reads it.
//!
//! Prices are whole cents ([`Cents`]); times are milliseconds since the Unix epoch; symbols
//! are the tickers of the universe (`ACME`). Optional fields are always present (as `null`)
//! so that a reader of a raw frame sees the whole shape of an event.

use super::{Cents, EventId, ResetReason, Scenario, Sentiment, SessionState, Transport};
use serde::{Deserialize, Serialize};

/// A symbol's current prices and the day so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Last trade price.
    pub last: Cents,
    /// The best price a buyer offers.
    pub bid: Cents,
    /// The best price a seller asks.
    pub ask: Cents,
    /// The day's opening price; change is measured from it.
    pub open: Cents,
    /// The day's highest trade.
    pub high: Cents,
    /// The day's lowest trade.
    pub low: Cents,
    /// Shares traded today.
    pub day_volume: u64,
}

/// `tick`: one symbol traded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// The ticker that traded.
    pub symbol: String,
    /// The simulator's logical step that produced this tick.
    pub step: u64,
    /// Shares traded in this tick.
    pub volume: u64,
    /// The symbol's prices after this trade (flattened into the tick's fields).
    #[serde(flatten)]
    pub quote: Quote,
}

/// One point of a symbol's recent history, as carried in a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Publish time of the tick, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The trade price.
    pub price: Cents,
    /// Shares traded.
    pub volume: u64,
}

/// What a headline touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum NewsScope {
    /// One company, by ticker.
    Symbol(String),
    /// Every company of one sector, by sector name.
    Sector(String),
    /// The whole market.
    Market,
}

/// `news`: a headline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct News {
    /// The simulator's headline counter.
    pub seq: u64,
    /// The market step at which it was published.
    pub step: u64,
    /// Publish time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The catalogue entry, e.g. `earnings_beat`, or `instructor`. An open set, unlike
    /// the enums of `values`: a newer server may add kinds, and readers show what they get.
    pub kind: String,
    /// One line, at most 200 characters.
    pub headline: String,
    /// A sentence or two (may be empty).
    pub summary: String,
    /// How the item is expected to move what it touches.
    pub sentiment: Sentiment,
    /// 1 (minor) to 3 (major).
    pub importance: u8,
    /// What the item is about.
    pub scope: NewsScope,
    /// Every symbol whose price the item will move.
    pub symbols: Vec<String>,
}

/// `market`: the session state, and the scenario running, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketStatus {
    /// Whether the market trades.
    pub state: SessionState,
    /// The scenario running, if any.
    pub scenario: Option<Scenario>,
    /// The market step at which this state began.
    pub step: u64,
}

/// One symbol in a snapshot: what it is, where it trades, and its recent points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymbolState {
    /// The ticker.
    pub symbol: String,
    /// The company's display name.
    pub name: String,
    /// The sector it trades in.
    pub sector: String,
    /// Its prices now.
    pub quote: Quote,
    /// Oldest first.
    pub points: Vec<Point>,
}

/// `snapshot`: everything a new viewer needs, as of `id`.
///
/// The snapshot's own event id is the id of the last event it includes, so a client that
/// resumes from it receives exactly the events that came after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last event folded into this state; `None` before the first event.
    pub id: Option<EventId>,
    /// The session.
    pub market: MarketStatus,
    /// In universe order.
    pub symbols: Vec<SymbolState>,
    /// Recent headlines, oldest first.
    pub news: Vec<News>,
}

/// `reset`: why the client's history cannot be continued. A `snapshot` always follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// Why the history cannot be continued.
    pub reason: ResetReason,
    /// The id the client asked to resume from, as it was sent (if it was sendable back).
    pub last_event_id: Option<String>,
}

/// `hello`: the connection's name on the server, for `DELETE /api/connections/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The connection's name: unguessable, and told to this client only.
    pub connection: String,
    /// How this connection carries the stream.
    pub transport: Transport,
    /// The longest this connection stays silent: when nothing else is sent for this many
    /// milliseconds, a heartbeat is. A client that hears nothing for much longer (2.5×) may
    /// take the stream for dead and resume it.
    pub heartbeat_ms: u64,
}

/// `heartbeat`: the stream is alive and had nothing else to say. Sent only to clients that
/// ask for visible heartbeats (`?heartbeat=event`): an `EventSource` cannot see the `:`
/// comment lines that keep other streams alive, and a WebSocket page cannot see pings.
/// Outside the history: it has no id, so it never moves `Last-Event-ID`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {}
