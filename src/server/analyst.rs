//! The analyst note `POST /api/explain` streams: a few sentences about one symbol's recent
//! move, written from the market's own state — its quote and recent trades, its sector's
//! moves, the headlines that touched it, the session.
//!
//! Invariant: a pure function of the snapshot. No clock, no randomness: for a seeded market
//! on a manual clock, the same steps give the same note, word for word. (Times of day are
//! left out for that reason: they are the wall clock's.)

use crate::wire::{Cents, News, Sentiment, SessionState, Snapshot, SymbolState};

/// The note about `symbol` (a ticker of the snapshot), or `None` for an unknown symbol.
pub fn note(snapshot: &Snapshot, symbol: &str) -> Option<String> {
    let state = snapshot.symbols.iter().find(|s| s.symbol == symbol)?;
    let mut note = vec![opening(state), trades(state)];
    note.extend(sector(snapshot, state));
    note.push(headlines(&snapshot.news, symbol));
    note.extend(session(snapshot.market.state));
    note.push(levels(state));
    Some(note.join(" "))
}

/// The note as the stream sends it: a word and the space after it, one at a time.
pub fn tokens(note: &str) -> impl Iterator<Item = &str> {
    note.split_inclusive(' ')
}

fn price(cents: Cents) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

fn percent(change: Cents, base: Cents) -> f64 {
    if base == 0 {
        0.0
    } else {
        change as f64 / base as f64 * 100.0
    }
}

fn opening(state: &SymbolState) -> String {
    let quote = &state.quote;
    let change = quote.last - quote.open;
    let direction = match change.signum() {
        1 => format!(
            "up {} ({:+.2}%)",
            price(change),
            percent(change, quote.open)
        ),
        -1 => format!(
            "down {} ({:+.2}%)",
            price(-change),
            percent(change, quote.open)
        ),
        _ => "unchanged".to_owned(),
    };
    format!(
        "{} ({}) last traded at {}, {direction} from the day's open of {}.",
        state.symbol,
        state.name,
        price(quote.last),
        price(quote.open)
    )
}

fn trades(state: &SymbolState) -> String {
    let points = &state.points;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return "It has not traded since the market opened.".to_owned();
    };
    let low = points.iter().map(|p| p.price).min().unwrap_or(last.price);
    let high = points.iter().map(|p| p.price).max().unwrap_or(last.price);
    let volume: u64 = points.iter().map(|p| p.volume).sum();
    let trend = match (last.price - first.price).signum() {
        1 => "rising",
        -1 => "falling",
        _ => "flat",
    };
    format!(
        "Over its last {} trades it ranged from {} to {} on {} shares, {trend} from {} to {}.",
        points.len(),
        price(low),
        price(high),
        thousands(volume),
        price(first.price),
        price(last.price)
    )
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (at, c) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn sector(snapshot: &Snapshot, state: &SymbolState) -> Option<String> {
    let peers: Vec<&SymbolState> = snapshot
        .symbols
        .iter()
        .filter(|s| s.sector == state.sector && s.symbol != state.symbol)
        .collect();
    if peers.is_empty() {
        return None;
    }
    let change = |s: &SymbolState| percent(s.quote.last - s.quote.open, s.quote.open);
    let average = peers.iter().map(|s| change(s)).sum::<f64>() / peers.len() as f64;
    let own = change(state);
    let verdict = if (own - average).abs() < 0.1 {
        "moving with"
    } else if own > average {
        "outpacing"
    } else {
        "lagging"
    };
    let names: Vec<&str> = peers.iter().map(|s| s.symbol.as_str()).collect();
    Some(format!(
        "Its {} peers ({}) are {:+.2}% on average, so {} is {verdict} its sector.",
        state.sector,
        names.join(", "),
        average,
        state.symbol
    ))
}

fn headlines(news: &[News], symbol: &str) -> String {
    // Newest first: the snapshot keeps them oldest first.
    let touching: Vec<&News> = news
        .iter()
        .rev()
        .filter(|item| item.symbols.iter().any(|s| s == symbol))
        .take(2)
        .collect();
    let quoted = |item: &News| {
        let mood = match item.sentiment {
            Sentiment::Positive => "good news",
            Sentiment::Negative => "bad news",
            Sentiment::Neutral => "no clear direction",
        };
        format!("“{}” ({mood})", item.headline)
    };
    match touching.as_slice() {
        [] => "No headline has touched it lately: the move is the market's own drift and noise."
            .to_owned(),
        [latest] => format!("The move follows the headline {}.", quoted(latest)),
        [latest, earlier, ..] => format!(
            "The move follows the headline {}, and before it {}.",
            quoted(latest),
            quoted(earlier)
        ),
    }
}

fn session(state: SessionState) -> Option<String> {
    match state {
        SessionState::Open => None,
        SessionState::Halted => {
            Some("Trading is halted: the price will not move until it resumes.".to_owned())
        }
        SessionState::Closed => {
            Some("The market is closed: the price stands until the next open.".to_owned())
        }
    }
}

fn levels(state: &SymbolState) -> String {
    format!(
        "Levels to watch: {} above (the day's high) and {} below (the day's low).",
        price(state.quote.high),
        price(state.quote.low)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{MarketStatus, Point, Quote};

    fn symbol(name: &str, sector: &str, open: Cents, last: Cents) -> SymbolState {
        SymbolState {
            symbol: name.to_owned(),
            name: format!("{name} Inc."),
            sector: sector.to_owned(),
            quote: Quote {
                last,
                bid: last - 1,
                ask: last + 1,
                open,
                high: open.max(last) + 50,
                low: open.min(last) - 50,
                day_volume: 1_000,
            },
            points: vec![
                Point {
                    ts: 1,
                    price: open,
                    volume: 600,
                },
                Point {
                    ts: 2,
                    price: last,
                    volume: 700,
                },
            ],
        }
    }

    #[test]
    fn writes_the_move_its_trades_its_sector_and_its_levels() {
        let snapshot = Snapshot {
            id: None,
            market: MarketStatus {
                state: SessionState::Halted,
                scenario: None,
                step: 3,
            },
            symbols: vec![
                symbol("NOVA", "Technology", 10_000, 10_250),
                symbol("QBIT", "Technology", 5_000, 5_050),
                symbol("GRID", "Energy", 3_000, 2_990),
            ],
            news: Vec::new(),
        };
        let text = note(&snapshot, "NOVA").expect("a known symbol");
        assert_eq!(
            text,
            "NOVA (NOVA Inc.) last traded at 102.50, up 2.50 (+2.50%) from the day's open of \
             100.00. Over its last 2 trades it ranged from 100.00 to 102.50 on 1,300 shares, \
             rising from 100.00 to 102.50. Its Technology peers (QBIT) are +1.00% on average, \
             so NOVA is outpacing its sector. No headline has touched it lately: the move is \
             the market's own drift and noise. Trading is halted: the price will not move \
             until it resumes. Levels to watch: 103.00 above (the day's high) and 99.50 below \
             (the day's low)."
        );
        assert_eq!(tokens(&text).collect::<String>(), text);
        assert!(note(&snapshot, "ACME").is_none());
    }
}
