//! The simulator's values in wire form, and back: the one place where `market` types become
//! `wire` payloads (and the admin API's words become market commands).
//!
//! The market knows nothing of the wire and the wire nothing of the market; the matches here
//! are exhaustive, so a new session state, scenario or sentiment on either side does not
//! compile until it is translated.

use crate::market::{self, Market, MarketEvent};
use crate::wire::{self, MarketStatus, Payload, Scenario, Sentiment, SessionState};

/// The wire form of a market event at `ts`, and the symbols it concerns (for filters).
pub fn payload(event: &MarketEvent, ts: u64) -> (Payload, Vec<String>) {
    match event {
        MarketEvent::Tick(tick) => (
            Payload::Tick(wire::Tick {
                symbol: tick.quote.symbol.clone(),
                step: tick.step,
                volume: tick.volume,
                quote: quote(&tick.quote),
            }),
            vec![tick.quote.symbol.clone()],
        ),
        MarketEvent::News(item) => (Payload::News(news(item, ts)), item.symbols.clone()),
        MarketEvent::Session(change) => (
            Payload::Market(MarketStatus {
                state: session_state(change.state),
                scenario: change.scenario.map(scenario),
                step: change.step,
            }),
            Vec::new(),
        ),
    }
}

fn news(item: &market::NewsItem, ts: u64) -> wire::News {
    wire::News {
        seq: item.seq,
        step: item.step,
        ts,
        kind: item.kind.as_str().to_owned(),
        headline: item.headline.clone(),
        summary: item.summary.clone(),
        sentiment: sentiment(item.sentiment),
        importance: item.importance,
        scope: match &item.scope {
            market::NewsScope::Symbol(symbol) => wire::NewsScope::Symbol(symbol.clone()),
            market::NewsScope::Sector(sector) => wire::NewsScope::Sector(sector.clone()),
            market::NewsScope::Market => wire::NewsScope::Market,
        },
        symbols: item.symbols.clone(),
    }
}

/// The wire form of a quote.
pub fn quote(quote: &market::Quote) -> wire::Quote {
    wire::Quote {
        last: quote.last,
        bid: quote.bid,
        ask: quote.ask,
        open: quote.open,
        high: quote.high,
        low: quote.low,
        day_volume: quote.day_volume,
    }
}

/// The market's session as a `market` event carries it.
pub fn status(market: &Market) -> MarketStatus {
    MarketStatus {
        state: session_state(market.session()),
        scenario: market.scenario().map(scenario),
        step: market.step_count(),
    }
}

/// A session state on the wire.
pub fn session_state(state: market::SessionState) -> SessionState {
    match state {
        market::SessionState::Open => SessionState::Open,
        market::SessionState::Halted => SessionState::Halted,
        market::SessionState::Closed => SessionState::Closed,
    }
}

/// A scenario on the wire.
pub fn scenario(kind: market::ScenarioKind) -> Scenario {
    match kind {
        market::ScenarioKind::Crash => Scenario::Crash,
        market::ScenarioKind::Rally => Scenario::Rally,
        market::ScenarioKind::NewsStorm => Scenario::NewsStorm,
    }
}

/// The scenario an admin request names, as the market runs it.
pub fn scenario_kind(scenario: Scenario) -> market::ScenarioKind {
    match scenario {
        Scenario::Crash => market::ScenarioKind::Crash,
        Scenario::Rally => market::ScenarioKind::Rally,
        Scenario::NewsStorm => market::ScenarioKind::NewsStorm,
    }
}

/// A sentiment on the wire.
pub fn sentiment(sentiment: market::Sentiment) -> Sentiment {
    match sentiment {
        market::Sentiment::Positive => Sentiment::Positive,
        market::Sentiment::Negative => Sentiment::Negative,
        market::Sentiment::Neutral => Sentiment::Neutral,
    }
}

/// The sentiment an admin request names, as the market's news path takes it.
pub fn market_sentiment(sentiment: Sentiment) -> market::Sentiment {
    match sentiment {
        Sentiment::Positive => market::Sentiment::Positive,
        Sentiment::Negative => market::Sentiment::Negative,
        Sentiment::Neutral => market::Sentiment::Neutral,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_agree_on_both_sides() {
        // The market's own names (its logs and error messages) match the wire's.
        for kind in market::ScenarioKind::ALL {
            assert_eq!(scenario(kind).as_str(), kind.as_str());
            assert_eq!(scenario_kind(scenario(kind)), kind);
        }
        for state in [
            market::SessionState::Open,
            market::SessionState::Halted,
            market::SessionState::Closed,
        ] {
            assert_eq!(session_state(state).as_str(), state.as_str());
        }
        for value in Sentiment::ALL {
            assert_eq!(sentiment(market_sentiment(*value)), *value);
        }
    }
}
