//! The market as the page holds it: a reactive store fed by envelopes from any transport.
//!
//! Updates are coalesced to animation frames: an event lands in plain (non-reactive) state
//! at once, and the signals the page renders from change at most once per frame — one
//! signal per symbol quote, one version number for all price history — so 200 events a
//! second cost 60 renders, not 200. The store ignores an event it has already applied
//! (same epoch, sequence not newer), so a transport that replays a little too much never
//! shows a point twice. Price alerts ([`super::alerts`]) are the exception to the frames:
//! each trade is handed to the alert book as it is applied, so none is skipped.

use super::alerts::book::AlertBook;
use super::feed::{ConnectionState, FeedEvent, Latency, ShareRole, TransportKind};
use super::history::History;
use crate::wire::custom::ANNOUNCEMENT;
use crate::wire::{Envelope, EventId, MarketStatus, News, Payload, Point, Quote, Snapshot};
use leptos::prelude::*;

/// Headlines kept in the feed.
pub const NEWS_KEPT: usize = 50;

/// An announcement to show: the text of a published `announcement` event.
#[derive(Clone, Debug, PartialEq)]
pub struct Announcement {
    /// Its event id (a new one replaces a dismissed one).
    pub id: Option<EventId>,
    /// What it says.
    pub text: String,
}

/// One watchlist symbol: fixed description, live quote.
#[derive(Clone, Debug)]
pub struct SymbolRow {
    pub symbol: String,
    pub name: String,
    pub sector: String,
    pub quote: RwSignal<Quote>,
}

/// The page's market state. `Copy`: it is a bundle of signal handles.
#[derive(Clone, Copy, Debug)]
pub struct MarketStore {
    pub symbols: RwSignal<Vec<SymbolRow>>,
    pub market: RwSignal<Option<MarketStatus>>,
    /// Newest first.
    pub news: RwSignal<Vec<News>>,
    /// The symbol the chart shows.
    pub selected: RwSignal<Option<String>>,
    /// Price history per symbol; read it when `history_version` changes.
    pub history: StoredValue<History>,
    pub history_version: RwSignal<u64>,
    /// The newest event applied; the transports resume from it.
    pub last_id: RwSignal<Option<EventId>>,
    /// Where the connection stands.
    pub connection: RwSignal<ConnectionState>,
    /// The transport the page asked for (the URL's `?transport=`).
    pub transport: RwSignal<TransportKind>,
    /// The transport actually carrying the stream (another after a fallback).
    pub active: RwSignal<TransportKind>,
    /// Whether the page asked to share one stream with the browser's other tabs (`?share=1`).
    pub share: RwSignal<bool>,
    /// This tab's part in the shared stream, once it has one.
    pub share_role: RwSignal<Option<ShareRole>>,
    /// Events applied since the page loaded.
    pub received: RwSignal<u64>,
    /// Times the connection came back after a loss.
    pub reconnects: RwSignal<u32>,
    /// Times the server said the page's history could not be continued (`reset`): each one
    /// means events were skipped and a fresh snapshot replaced the state.
    pub resets: RwSignal<u32>,
    /// Publish → receive delay of the latest event, on one clock (once the clocks' offset
    /// is known).
    pub latency: RwSignal<Option<Latency>>,
    /// The latest `announcement` published, until dismissed.
    pub announcement: RwSignal<Option<Announcement>>,
    /// This browser's price alerts, checked against every trade as it is applied.
    pub alerts: AlertBook,
    /// Quotes that arrived since the last frame, waiting to be shown.
    pending: StoredValue<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    quotes: Vec<(String, Quote)>,
    history_changed: bool,
    frame_requested: bool,
}

impl MarketStore {
    /// A store showing `snapshot` (or nothing yet).
    pub fn new(snapshot: Option<Snapshot>) -> MarketStore {
        let store = MarketStore {
            symbols: RwSignal::new(Vec::new()),
            market: RwSignal::new(None),
            news: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            history: StoredValue::new(History::default()),
            history_version: RwSignal::new(0),
            last_id: RwSignal::new(None),
            connection: RwSignal::new(ConnectionState::Connecting),
            transport: RwSignal::new(TransportKind::default()),
            active: RwSignal::new(TransportKind::default()),
            received: RwSignal::new(0),
            reconnects: RwSignal::new(0),
            share: RwSignal::new(false),
            share_role: RwSignal::new(None),
            resets: RwSignal::new(0),
            latency: RwSignal::new(None),
            announcement: RwSignal::new(None),
            alerts: AlertBook::from_context(),
            pending: StoredValue::new(Pending::default()),
        };
        if let Some(snapshot) = snapshot {
            store.load(snapshot);
        }
        store
    }

    /// Takes what a transport reports.
    pub fn on_feed(&self, event: FeedEvent) {
        match event {
            FeedEvent::Message {
                envelope,
                received_at,
                clock,
                ..
            } => {
                match envelope.payload {
                    // Not market events: no publish time to measure from.
                    Payload::Hello(_) | Payload::Heartbeat(_) | Payload::Snapshot(_) => {}
                    Payload::Reset(_) => self.resets.update(|n| *n += 1),
                    _ => {
                        if let Some(latency) = Latency::of(envelope.ts, received_at, clock) {
                            self.latency.set(Some(latency));
                        }
                    }
                }
                self.apply(envelope);
            }
            FeedEvent::State(state) => self.connection.set(state),
            FeedEvent::Reconnected => self.reconnects.update(|n| *n += 1),
            FeedEvent::FellBack(kind) => self.active.set(kind),
            FeedEvent::Shared(role) => self.share_role.set(Some(role)),
            FeedEvent::Control { .. }
            | FeedEvent::Bytes(_)
            | FeedEvent::Request
            | FeedEvent::Named(_)
            | FeedEvent::Wire(_) => {}
        }
    }

    /// Applies one event from a transport.
    pub fn apply(&self, envelope: Envelope) {
        if matches!(envelope.payload, Payload::Hello(_) | Payload::Heartbeat(_)) {
            return; // about the connection, not the market
        }
        if let (Some(id), Some(last)) = (envelope.id, self.last_id.get_untracked()) {
            let already_applied = id.epoch == last.epoch && id.seq <= last.seq;
            if already_applied && !matches!(envelope.payload, Payload::Snapshot(_)) {
                return;
            }
        }
        match envelope.payload {
            Payload::Snapshot(snapshot) => self.load(snapshot),
            Payload::Tick(tick) => {
                // Per event, not per frame: a crossing that reverses within a frame counts.
                self.alerts
                    .on_trade(&tick.symbol, tick.quote.last, envelope.ts);
                let point = Point {
                    ts: envelope.ts,
                    price: tick.quote.last,
                    volume: tick.volume,
                };
                self.history
                    .update_value(|history| history.push(&tick.symbol, point));
                self.pending.update_value(|pending| {
                    pending.quotes.push((tick.symbol, tick.quote));
                    pending.history_changed = true;
                });
                self.request_frame();
            }
            Payload::News(item) => self.news.update(|news| {
                news.insert(0, item);
                news.truncate(NEWS_KEPT);
            }),
            Payload::Market(status) => self.market.set(Some(status)),
            Payload::Custom(custom) => {
                if custom.event.as_str() == ANNOUNCEMENT {
                    self.announcement.set(Some(Announcement {
                        id: envelope.id,
                        text: custom.text(),
                    }));
                }
            }
            // A reset is always followed by a snapshot, which does the work.
            Payload::Reset(_) | Payload::Hello(_) | Payload::Heartbeat(_) => {}
        }
        if let Some(id) = envelope.id {
            self.last_id.set(Some(id));
        }
        self.received.update(|count| *count += 1);
    }

    /// Shows what is pending at the next animation frame (at once where there are no
    /// frames, i.e. on the server).
    fn request_frame(&self) {
        let first = self
            .pending
            .try_update_value(|pending| !std::mem::replace(&mut pending.frame_requested, true));
        if first != Some(true) {
            return; // already requested for this frame
        }
        #[cfg(feature = "hydrate")]
        {
            let store = *self;
            request_animation_frame(move || store.flush());
        }
        #[cfg(not(feature = "hydrate"))]
        self.flush();
    }

    /// Moves pending quotes and history into the signals the page renders from.
    fn flush(&self) {
        let Some(pending) = self.pending.try_update_value(std::mem::take) else {
            return; // the page is gone
        };
        if pending.quotes.is_empty() && !pending.history_changed {
            return;
        }
        self.symbols.with_untracked(|rows| {
            for (symbol, quote) in pending.quotes {
                if let Some(row) = rows.iter().find(|row| row.symbol == symbol) {
                    row.quote.set(quote);
                }
            }
        });
        if pending.history_changed {
            self.history_version.update(|v| *v += 1);
        }
    }

    /// Replaces the state with a snapshot, keeping row signals when the symbols match so
    /// that only changed cells re-render.
    fn load(&self, snapshot: Snapshot) {
        self.pending.update_value(|pending| {
            pending.quotes.clear();
        });
        let same_symbols = self.symbols.with_untracked(|rows| {
            rows.len() == snapshot.symbols.len()
                && rows
                    .iter()
                    .zip(&snapshot.symbols)
                    .all(|(row, state)| row.symbol == state.symbol)
        });
        self.alerts.on_snapshot(
            snapshot
                .symbols
                .iter()
                .map(|s| (s.symbol.as_str(), s.quote.last)),
        );
        self.history.update_value(|history| {
            history.load(
                snapshot
                    .symbols
                    .iter()
                    .map(|s| (s.symbol.clone(), s.points.clone())),
            );
        });
        if same_symbols {
            self.symbols.with_untracked(|rows| {
                for (row, state) in rows.iter().zip(&snapshot.symbols) {
                    row.quote.set(state.quote.clone());
                }
            });
        } else {
            self.symbols.set(
                snapshot
                    .symbols
                    .iter()
                    .map(|state| SymbolRow {
                        symbol: state.symbol.clone(),
                        name: state.name.clone(),
                        sector: state.sector.clone(),
                        quote: RwSignal::new(state.quote.clone()),
                    })
                    .collect(),
            );
        }
        let known = |symbol: &String| snapshot.symbols.iter().any(|s| s.symbol == *symbol);
        if !self.selected.get_untracked().is_some_and(|s| known(&s)) {
            self.selected
                .set(snapshot.symbols.first().map(|s| s.symbol.clone()));
        }
        self.news.set(
            snapshot
                .news
                .iter()
                .rev()
                .take(NEWS_KEPT)
                .cloned()
                .collect(),
        );
        self.history_version.update(|v| *v += 1);
        self.market.set(Some(snapshot.market));
        self.last_id.set(snapshot.id);
    }
}
