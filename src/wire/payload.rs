//! The `data` of each event type, as the server sends it and the browser reads it.
//!
//! Prices are whole cents ([`Cents`]); times are milliseconds since the Unix epoch; symbols
//! are the tickers of the universe (`ACME`). Optional fields are always present (as `null`)
//! so that a reader of a raw frame sees the whole shape of an event.

use super::{Cents, EventId};
use serde::{Deserialize, Serialize};

/// A symbol's current prices and the day so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Last trade price.
    pub last: Cents,
    pub bid: Cents,
    pub ask: Cents,
    /// The day's open, high and low; change is measured from the open.
    pub open: Cents,
    pub high: Cents,
    pub low: Cents,
    /// Shares traded today.
    pub day_volume: u64,
}

/// `tick`: one symbol traded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub symbol: String,
    /// The simulator's logical step that produced this tick.
    pub step: u64,
    /// Shares traded in this tick.
    pub volume: u64,
    #[serde(flatten)]
    pub quote: Quote,
}

/// One point of a symbol's recent history, as carried in a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Publish time of the tick, milliseconds since the Unix epoch.
    pub ts: u64,
    pub price: Cents,
    pub volume: u64,
}

/// What a headline touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum NewsScope {
    Symbol(String),
    Sector(String),
    Market,
}

/// `news`: a headline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct News {
    /// The simulator's headline counter.
    pub seq: u64,
    pub step: u64,
    /// Publish time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The catalogue entry, e.g. `earnings_beat`, or `instructor`.
    pub kind: String,
    pub headline: String,
    pub summary: String,
    /// `positive`, `negative` or `neutral`.
    pub sentiment: String,
    /// 1 (minor) to 3 (major).
    pub importance: u8,
    pub scope: NewsScope,
    /// Every symbol whose price the item will move.
    pub symbols: Vec<String>,
}

/// `market`: the session state, and the scenario running, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketStatus {
    /// `open`, `halted` or `closed`.
    pub state: String,
    /// `crash`, `rally` or `news_storm` while one runs.
    pub scenario: Option<String>,
    /// The market step at which this state began.
    pub step: u64,
}

/// One symbol in a snapshot: what it is, where it trades, and its recent points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymbolState {
    pub symbol: String,
    pub name: String,
    pub sector: String,
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
    pub market: MarketStatus,
    /// In universe order.
    pub symbols: Vec<SymbolState>,
    /// Recent headlines, oldest first.
    pub news: Vec<News>,
}

/// `reset`: why the client's history cannot be continued. A `snapshot` always follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// `unknown_id`, `malformed_id`, `other_epoch`, `too_old` or `lagged`.
    pub reason: String,
    /// The id the client asked to resume from, as it was sent (if it was sendable back).
    pub last_event_id: Option<String>,
}

/// `hello`: the connection's name on the server, for `DELETE /api/connections/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub connection: String,
    /// `sse`, `ws`.
    pub transport: String,
}
