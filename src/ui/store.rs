//! The market as the page holds it: a reactive store fed by envelopes from any transport.
//!
//! One signal per symbol quote (not per price point), so a tick re-renders one row. The
//! store ignores an event it has already applied (same epoch, sequence not newer), so a
//! transport that replays a little too much never shows a point twice.

use super::feed::ConnectionState;
use crate::wire::{Envelope, EventId, MarketStatus, Payload, Quote, Snapshot};
use leptos::prelude::*;

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
    /// The newest event applied; the transports resume from it.
    pub last_id: RwSignal<Option<EventId>>,
    pub connection: RwSignal<ConnectionState>,
    /// Events applied since the page loaded.
    pub received: RwSignal<u64>,
}

impl MarketStore {
    /// A store showing `snapshot` (or nothing yet).
    pub fn new(snapshot: Option<Snapshot>) -> MarketStore {
        let store = MarketStore {
            symbols: RwSignal::new(Vec::new()),
            market: RwSignal::new(None),
            last_id: RwSignal::new(None),
            connection: RwSignal::new(ConnectionState::Connecting),
            received: RwSignal::new(0),
        };
        if let Some(snapshot) = snapshot {
            store.load(snapshot);
        }
        store
    }

    /// Applies one event from a transport.
    pub fn apply(&self, envelope: Envelope) {
        if let (Some(id), Some(last)) = (envelope.id, self.last_id.get_untracked()) {
            let already_applied = id.epoch == last.epoch && id.seq <= last.seq;
            if already_applied && !matches!(envelope.payload, Payload::Snapshot(_)) {
                return;
            }
        }
        match envelope.payload {
            Payload::Snapshot(snapshot) => self.load(snapshot),
            Payload::Tick(tick) => {
                let rows = self.symbols.read_untracked();
                if let Some(row) = rows.iter().find(|row| row.symbol == tick.symbol) {
                    row.quote.set(tick.quote);
                }
            }
            Payload::Market(status) => self.market.set(Some(status)),
            // Headlines get their feed in the market-screen work; a reset is always followed
            // by a snapshot, which does the work.
            Payload::News(_) | Payload::Reset(_) => {}
        }
        if let Some(id) = envelope.id {
            self.last_id.set(Some(id));
        }
        self.received.update(|count| *count += 1);
    }

    /// Replaces the state with a snapshot, keeping row signals when the symbols match so
    /// that only changed cells re-render.
    fn load(&self, snapshot: Snapshot) {
        let same_symbols = {
            let rows = self.symbols.read_untracked();
            rows.len() == snapshot.symbols.len()
                && rows
                    .iter()
                    .zip(&snapshot.symbols)
                    .all(|(row, state)| row.symbol == state.symbol)
        };
        if same_symbols {
            let rows = self.symbols.read_untracked();
            for (row, state) in rows.iter().zip(snapshot.symbols) {
                row.quote.set(state.quote);
            }
        } else {
            self.symbols.set(
                snapshot
                    .symbols
                    .into_iter()
                    .map(|state| SymbolRow {
                        symbol: state.symbol,
                        name: state.name,
                        sector: state.sector,
                        quote: RwSignal::new(state.quote),
                    })
                    .collect(),
            );
        }
        self.market.set(Some(snapshot.market));
        self.last_id.set(snapshot.id);
    }
}
