//! The crosshair's readout: what the point or candle under the pointer says, as text.
//!
//! Invariant: in line mode the text is exactly `HH:MM:SS · price` (tests match it); in
//! candle mode it is `HH:MM:SS · O … H … L … C … · V 1,234`, the candle's start time, its
//! open, high, low and close, and its volume with thousands separators. Prices are always
//! spelled by [`format::price`], as everywhere else on the page.

use super::layout::{Geometry, Mode};
use crate::ui::format;

/// The readout for the pointer at `x`, and where the crosshair snaps to.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    /// The x of the point or the centre of the candle read out.
    pub x: f64,
    /// Time and price(s).
    pub head: String,
    /// The volume part (` · V 1,234`, candles only), which a narrow chart puts on a line
    /// of its own.
    pub tail: String,
}

#[cfg(test)]
impl Readout {
    /// The whole text, as the page shows it (the two parts are adjacent `<tspan>`s).
    pub fn text(&self) -> String {
        format!("{}{}", self.head, self.tail)
    }
}

/// What the chart reads out with the pointer at `x` (pixels from the plot's left), or
/// `None` when there is nothing under it.
pub fn readout(g: &Geometry, x: f64) -> Option<Readout> {
    let ts = g.ts_at(x)?;
    match g.mode {
        Mode::Line => {
            // The nearest point in time.
            let after = g.points.partition_point(|p| p.ts < ts);
            let nearest = [after.checked_sub(1), Some(after)]
                .into_iter()
                .flatten()
                .filter_map(|i| g.points.get(i))
                .min_by_key(|p| p.ts.abs_diff(ts))?;
            Some(Readout {
                x: g.x_of(nearest.ts),
                head: format!(
                    "{} · {}",
                    format::clock(nearest.ts),
                    format::price(nearest.price)
                ),
                tail: String::new(),
            })
        }
        Mode::Candles => {
            // The candle whose interval holds `ts` (the first one before them all).
            let at = g.bars.partition_point(|c| c.start <= ts).saturating_sub(1);
            let bar = g.bars.get(at)?;
            Some(Readout {
                x: g.x_of(bar.start + g.interval_ms.max(1) / 2),
                head: format!(
                    "{} · O {} H {} L {} C {}",
                    format::clock(bar.start),
                    format::price(bar.open),
                    format::price(bar.high),
                    format::price(bar.low),
                    format::price(bar.close)
                ),
                tail: format!(" · V {}", thousands(bar.volume)),
            })
        }
    }
}

/// `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::layout::{layout, Frame};
    use super::super::viewport::{Bounds, Window};
    use super::*;
    use crate::wire::Point;

    fn geometry(mode: Mode) -> Geometry {
        // 12:00:00.000 UTC on 2025-11-24, then a point every 500 ms for 10 s.
        let base = 1_763_985_600_000;
        let points: Vec<Point> = (0..20)
            .map(|i| Point {
                ts: base + i * 500,
                price: 10_120 + (i as i64 % 4) * 10,
                volume: 1_000 + i,
            })
            .collect();
        let window = Window {
            start: base,
            end: base + 9_500,
        };
        let bounds = Bounds {
            oldest: base,
            latest: base + 9_500,
        };
        layout(
            points,
            Some((window, bounds)),
            Frame::new(800.0),
            mode,
            1_000,
            &[],
        )
    }

    #[test]
    fn line_mode_reads_time_and_price() {
        let g = geometry(Mode::Line);
        let r = readout(&g, 0.0).expect("a point");
        assert_eq!(r.text(), "12:00:00 · 101.20");
        let end = readout(&g, g.frame.plot_right).expect("a point");
        assert_eq!(end.text(), "12:00:09 · 101.50");
        assert_eq!(end.x, g.frame.plot_right);
    }

    #[test]
    fn candle_mode_reads_ohlc_and_volume() {
        let g = geometry(Mode::Candles);
        // Just after 12:00:03: the candle of points 6 and 7 (prices 101.40, 101.50).
        let x = g.x_of(1_763_985_603_100);
        let r = readout(&g, x).expect("a candle");
        assert_eq!(
            r.text(),
            "12:00:03 · O 101.40 H 101.50 L 101.40 C 101.50 · V 2,013"
        );
        assert_eq!(r.x, g.x_of(1_763_985_603_500));
    }

    #[test]
    fn nothing_to_read_without_points() {
        let g = Geometry::empty(Frame::new(800.0), Mode::Candles, 1_000);
        assert_eq!(readout(&g, 10.0), None);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
