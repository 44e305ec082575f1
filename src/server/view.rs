//! The market as a viewer sees it: a fold of the published events into the state a
//! snapshot carries (quotes, recent points per symbol, recent headlines, session).
//!
//! Invariant: the view is updated *before* an event reaches the bus, so a snapshot taken
//! after subscribing always includes every event the subscription will not deliver. Its
//! `id` names the last event folded in; a client that resumes from that id misses nothing.

use crate::wire::{
    EventId, MarketStatus, News, Payload, Point, Quote, Snapshot, SymbolState, Tick,
};
use std::collections::VecDeque;

/// How much recent history a snapshot carries.
#[derive(Clone, Copy, Debug)]
pub struct ViewLimits {
    /// Points per symbol.
    pub points: usize,
    /// Headlines.
    pub news: usize,
}

/// A symbol's fixed description.
#[derive(Clone, Debug)]
pub struct SymbolInfo {
    /// The ticker.
    pub symbol: String,
    /// The company's display name.
    pub name: String,
    /// Its sector.
    pub sector: String,
}

/// The state a snapshot carries, kept up to date event by event.
pub struct MarketView {
    limits: ViewLimits,
    last_id: Option<EventId>,
    market: MarketStatus,
    symbols: Vec<SymbolView>,
    news: VecDeque<News>,
}

struct SymbolView {
    info: SymbolInfo,
    quote: Quote,
    points: VecDeque<Point>,
}

impl MarketView {
    /// The view before any event: the universe with its opening quotes.
    pub fn new(
        limits: ViewLimits,
        market: MarketStatus,
        symbols: impl IntoIterator<Item = (SymbolInfo, Quote)>,
    ) -> MarketView {
        MarketView {
            limits,
            last_id: None,
            market,
            symbols: symbols
                .into_iter()
                .map(|(info, quote)| SymbolView {
                    info,
                    quote,
                    points: VecDeque::with_capacity(limits.points),
                })
                .collect(),
            news: VecDeque::with_capacity(limits.news),
        }
    }

    /// The last event folded in.
    pub fn last_id(&self) -> Option<EventId> {
        self.last_id
    }

    /// Folds one published event in.
    pub fn apply(&mut self, id: EventId, ts: u64, payload: &Payload) {
        self.last_id = Some(id);
        match payload {
            Payload::Tick(tick) => self.apply_tick(ts, tick),
            Payload::News(news) => {
                if self.news.len() == self.limits.news {
                    self.news.pop_front();
                }
                self.news.push_back(news.clone());
            }
            Payload::Market(status) => self.market = status.clone(),
            // Published events are live news for whoever is watching, not market state.
            Payload::Snapshot(_)
            | Payload::Reset(_)
            | Payload::Hello(_)
            | Payload::Heartbeat(_)
            | Payload::Custom(_) => {}
        }
    }

    fn apply_tick(&mut self, ts: u64, tick: &Tick) {
        let Some(symbol) = self
            .symbols
            .iter_mut()
            .find(|s| s.info.symbol == tick.symbol)
        else {
            return;
        };
        symbol.quote = tick.quote.clone();
        if symbol.points.len() == self.limits.points {
            symbol.points.pop_front();
        }
        symbol.points.push_back(Point {
            ts,
            price: tick.quote.last,
            volume: tick.volume,
        });
    }

    /// Replaces the whole state with a snapshot taken elsewhere, keeping this view's limits:
    /// how a follower of the Redis stream starts, or starts over after a hole in it.
    pub fn restore(&mut self, snapshot: &Snapshot) {
        fn newest<T: Clone>(items: &[T], keep: usize) -> VecDeque<T> {
            items[items.len().saturating_sub(keep)..]
                .iter()
                .cloned()
                .collect()
        }
        self.last_id = snapshot.id;
        self.market = snapshot.market.clone();
        self.symbols = snapshot
            .symbols
            .iter()
            .map(|s| SymbolView {
                info: SymbolInfo {
                    symbol: s.symbol.clone(),
                    name: s.name.clone(),
                    sector: s.sector.clone(),
                },
                quote: s.quote.clone(),
                points: newest(&s.points, self.limits.points),
            })
            .collect();
        self.news = newest(&snapshot.news, self.limits.news);
    }

    /// The state as a `snapshot` payload.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            id: self.last_id,
            market: self.market.clone(),
            symbols: self
                .symbols
                .iter()
                .map(|s| SymbolState {
                    symbol: s.info.symbol.clone(),
                    name: s.info.name.clone(),
                    sector: s.info.sector.clone(),
                    quote: s.quote.clone(),
                    points: s.points.iter().copied().collect(),
                })
                .collect(),
            news: self.news.iter().cloned().collect(),
        }
    }
}
