//! Price history for charts: a bounded ring of points per symbol, and the pure functions
//! that turn it into what a chart draws (candles over an interval, a line thinned to the
//! pixels available). Kept out of signals on purpose: 200 events a second would otherwise
//! mean 200 reactive updates; the store bumps one version number per animation frame.

use crate::wire::{Cents, Point};
use std::collections::VecDeque;

/// Points kept per symbol: an hour at the default four ticks a second is more than enough
/// for the longest chart range.
pub const POINTS_PER_SYMBOL: usize = 4_000;

#[derive(Clone, Debug, Default)]
pub struct History {
    symbols: Vec<(String, VecDeque<Point>)>,
}

impl History {
    /// Replaces everything (a snapshot).
    pub fn load(&mut self, series: impl IntoIterator<Item = (String, Vec<Point>)>) {
        self.symbols = series
            .into_iter()
            .map(|(symbol, points)| {
                let skip = points.len().saturating_sub(POINTS_PER_SYMBOL);
                (symbol, points.into_iter().skip(skip).collect())
            })
            .collect();
    }

    pub fn push(&mut self, symbol: &str, point: Point) {
        let Some((_, points)) = self.symbols.iter_mut().find(|(s, _)| s == symbol) else {
            return;
        };
        if points.len() == POINTS_PER_SYMBOL {
            points.pop_front();
        }
        points.push_back(point);
    }

    pub fn points(&self, symbol: &str) -> Option<&VecDeque<Point>> {
        self.symbols
            .iter()
            .find(|(s, _)| s == symbol)
            .map(|(_, points)| points)
    }
}

/// One bar of a candle chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candle {
    /// Start of the interval, milliseconds since the Unix epoch.
    pub start: u64,
    pub open: Cents,
    pub high: Cents,
    pub low: Cents,
    pub close: Cents,
    pub volume: u64,
}

/// Aggregates points into candles of `interval_ms`, aligned to multiples of the interval.
pub fn candles<'a>(points: impl IntoIterator<Item = &'a Point>, interval_ms: u64) -> Vec<Candle> {
    let interval_ms = interval_ms.max(1);
    let mut out: Vec<Candle> = Vec::new();
    for point in points {
        let start = point.ts - point.ts % interval_ms;
        match out.last_mut() {
            Some(candle) if candle.start == start => {
                candle.high = candle.high.max(point.price);
                candle.low = candle.low.min(point.price);
                candle.close = point.price;
                candle.volume += point.volume;
            }
            _ => out.push(Candle {
                start,
                open: point.price,
                high: point.price,
                low: point.price,
                close: point.price,
                volume: point.volume,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(ts: u64, price: Cents, volume: u64) -> Point {
        Point { ts, price, volume }
    }

    #[test]
    fn candles_aggregate_by_aligned_interval() {
        let points = [
            point(1_000, 100, 1),
            point(1_400, 105, 2),
            point(1_900, 98, 3),
            point(2_100, 99, 4),
            point(4_000, 101, 5),
        ];
        let bars = candles(&points, 1_000);
        assert_eq!(
            bars,
            vec![
                Candle {
                    start: 1_000,
                    open: 100,
                    high: 105,
                    low: 98,
                    close: 98,
                    volume: 6
                },
                Candle {
                    start: 2_000,
                    open: 99,
                    high: 99,
                    low: 99,
                    close: 99,
                    volume: 4
                },
                Candle {
                    start: 4_000,
                    open: 101,
                    high: 101,
                    low: 101,
                    close: 101,
                    volume: 5
                },
            ]
        );
    }

    #[test]
    fn history_is_bounded_per_symbol() {
        let mut history = History::default();
        history.load([("NOVA".to_owned(), vec![point(0, 1, 1)])]);
        for ts in 1..=(POINTS_PER_SYMBOL as u64 + 10) {
            history.push("NOVA", point(ts, 1, 1));
        }
        history.push("ACME", point(0, 1, 1)); // unknown symbols are ignored
        let points = history.points("NOVA").expect("known");
        assert_eq!(points.len(), POINTS_PER_SYMBOL);
        assert_eq!(
            points.back().map(|p| p.ts),
            Some(POINTS_PER_SYMBOL as u64 + 10)
        );
        assert!(history.points("ACME").is_none());
    }
}
