//! Axis ticks: round prices for the price axis, round wall-clock times for the time axis.
//!
//! Invariants: the price axis has between 4 and 8 ticks ([`PRICE_TICKS`]), every one a
//! multiple of a step of 1, 2, 2.5 or 5 × 10^k cents, and its scale runs exactly from the
//! lowest tick to the highest, so the data always lies between two labelled prices. The
//! time axis has between 3 and 8 ticks ([`TIME_TICKS`]) at multiples of a round step
//! (5 s, 1 min, 15 min…) in UTC, as many as the width has room for, for any window from
//! [`MIN_SPAN_MS`](super::viewport::MIN_SPAN_MS) to a day.

use crate::ui::format;
use crate::wire::Cents;
use std::ops::RangeInclusive;

/// How many price ticks the axis shows.
pub const PRICE_TICKS: RangeInclusive<usize> = 4..=8;
/// How many time ticks the axis shows.
pub const TIME_TICKS: RangeInclusive<usize> = 3..=8;

/// The narrowest price range drawn: a flat line still gets 4 ticks a cent apart.
const MIN_PRICE_SPAN: Cents = 4;
/// Horizontal room per time label, in pixels: `HH:MM:SS` in 11 px monospace plus a gap.
const PX_PER_TIME_TICK: f64 = 110.0;

/// Round time steps, shortest first, in milliseconds. Neighbours differ by at most 2.5×,
/// which is what guarantees a step with 3 to 8 ticks for any window.
const TIME_STEPS: [u64; 18] = [
    1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/// The price scale of the chart: the range the price pane spans and its labelled ticks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceScale {
    /// The bottom of the pane: the lowest tick.
    pub low: Cents,
    /// The top of the pane: the highest tick.
    pub high: Cents,
    /// Between two ticks.
    pub step: Cents,
    /// Lowest first.
    pub ticks: Vec<Cents>,
}

impl Default for PriceScale {
    fn default() -> PriceScale {
        price_scale(0, 0)
    }
}

/// The steps of the "nice numbers" algorithm in cents, smallest first: 1, 2, 5, then
/// 1, 2, 2.5 and 5 × 10^k (2.5 cents is not a price, so it is left out at k = 0).
fn nice_steps() -> impl Iterator<Item = Cents> {
    let first = [1, 2, 5].into_iter();
    let rest = (1..=17u32).flat_map(|k| {
        let unit: Cents = 10i64.pow(k);
        [unit, 2 * unit, 5 * unit / 2, 5 * unit]
    });
    first.chain(rest)
}

/// The scale for prices from `low` to `high` (in either order): a little headroom, then
/// the smallest round step whose ticks, extended to cover the range, number at most 8.
///
/// Why that is also at least 4: with the range extended to multiples of the step, `n`
/// ticks cover at least `range / step + 1`; the next smaller step (at most 2.5× smaller)
/// needed 9 or more, i.e. its range was at least 6 of its steps, so this step's is at
/// least 6 / 2.5 = 2.4, and 2.4 + 1 rounds up to 4. The smallest step, 1 cent, gets at
/// least 4 ticks from [`MIN_PRICE_SPAN`].
pub fn price_scale(low: Cents, high: Cents) -> PriceScale {
    let (mut low, mut high) = (low.min(high), low.max(high));
    // Headroom, so the highest and lowest prices do not sit on the pane's edges.
    let pad = (high - low) / 16;
    (low, high) = (low - pad, high + pad);
    if high - low < MIN_PRICE_SPAN {
        let middle = low + (high - low) / 2;
        low = middle - MIN_PRICE_SPAN / 2;
        high = low + MIN_PRICE_SPAN;
    }
    let max_ticks = *PRICE_TICKS.end() as i64;
    let mut chosen = None;
    for step in nice_steps() {
        let (first, last) = (low.div_euclid(step), ceil_div(high, step));
        if last - first < max_ticks {
            chosen = Some((step, first, last));
            break;
        }
    }
    // Unreachable for real prices (the last step is 5 × 10^17 cents); stay total anyway.
    let (step, first, last) = chosen.unwrap_or((high - low, 0, 1));
    PriceScale {
        low: first * step,
        high: last * step,
        step,
        ticks: (first..=last).map(|n| n * step).collect(),
    }
}

/// `n / d` rounded towards positive infinity, for `d > 0`.
fn ceil_div(n: Cents, d: Cents) -> Cents {
    -(-n).div_euclid(d)
}

/// The ticks of the time axis: a round step and the multiples of it in the window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeTicks {
    pub step: u64,
    /// Oldest first, milliseconds since the Unix epoch.
    pub ticks: Vec<u64>,
}

/// Ticks for the window `start..=end` on an axis `width` pixels wide: of the round steps
/// giving 3 to 8 ticks, the one whose count is nearest to what the width has room for
/// (the longer step on a tie: fewer labels read better).
pub fn time_ticks(start: u64, end: u64, width: f64) -> TimeTicks {
    let (min, max) = (*TIME_TICKS.start(), *TIME_TICKS.end());
    let room = ((width / PX_PER_TIME_TICK).round() as usize).clamp(min, max);
    let count = |step: u64| (end / step + 1).saturating_sub(start.div_ceil(step)) as usize;
    let best = TIME_STEPS
        .iter()
        .rev()
        .copied()
        .filter(|&step| (min..=max).contains(&count(step)))
        .min_by_key(|&step| count(step).abs_diff(room))
        // A window too short for 3 ticks (a history of a few seconds): the finest step.
        .unwrap_or(TIME_STEPS[0]);
    TimeTicks {
        step: best,
        ticks: (start.div_ceil(best)..=end / best)
            .map(|n| n * best)
            .collect(),
    }
}

/// A time tick's label: `HH:MM` when the step is whole minutes, `HH:MM:SS` otherwise.
pub fn time_label(ts: u64, step: u64) -> String {
    let mut label = format::clock(ts);
    if step.is_multiple_of(60_000) {
        label.truncate("HH:MM".len());
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_nice(step: Cents) -> bool {
        let mut unit = 1;
        while unit * 10 <= step {
            unit *= 10;
        }
        step == unit || step == 2 * unit || step == 5 * unit || (unit >= 10 && 2 * step == 5 * unit)
    }

    #[test]
    fn price_ticks_are_round_and_four_to_eight() {
        let mut cases = vec![(0, 0), (17_888, 17_888), (1, 2), (-50, 50)];
        // Lows from 1 cent to 10,000.00, ranges from 1 cent to 1,000 times the low.
        for low in [1, 7, 99, 1_234, 17_888, 250_000, 1_000_000] {
            let mut span = 1;
            while span < 1_000 * low.max(10) {
                cases.push((low, low + span));
                span = span * 13 / 10 + 1;
            }
        }
        for (low, high) in cases {
            let scale = price_scale(low, high);
            let n = scale.ticks.len();
            assert!(
                PRICE_TICKS.contains(&n),
                "{n} ticks for {low}..{high}: {scale:?}"
            );
            assert!(is_nice(scale.step), "step {} for {low}..{high}", scale.step);
            assert!(scale.ticks.iter().all(|t| t % scale.step == 0));
            assert!(
                scale.low <= low && scale.high >= high,
                "{scale:?} for {low}..{high}"
            );
            assert_eq!(scale.ticks.first(), Some(&scale.low));
            assert_eq!(scale.ticks.last(), Some(&scale.high));
        }
    }

    #[test]
    fn a_typical_range_gets_familiar_steps() {
        let scale = price_scale(17_830, 17_920);
        assert_eq!(scale.step, 20);
        assert_eq!(
            scale.ticks,
            vec![17_820, 17_840, 17_860, 17_880, 17_900, 17_920, 17_940]
        );
        assert_eq!(price_scale(10_000, 12_000).step, 500);
        assert_eq!(price_scale(10_000, 11_200).step, 250);
    }

    #[test]
    fn time_ticks_are_three_to_eight_at_any_width_and_span() {
        let base = 1_764_000_000_123;
        for width in [200.0, 300.0, 470.0, 736.0, 1_200.0, 2_400.0] {
            let mut span = 5_000;
            while span <= 86_400_000 {
                for offset in [0, 1, 499, 4_321] {
                    let start = base + offset;
                    let ticks = time_ticks(start, start + span, width);
                    let n = ticks.ticks.len();
                    assert!(
                        TIME_TICKS.contains(&n),
                        "{n} ticks, span {span}, width {width}"
                    );
                    assert!(ticks.ticks.iter().all(|t| t % ticks.step == 0));
                    assert!(ticks
                        .ticks
                        .iter()
                        .all(|t| (start..=start + span).contains(t)));
                }
                span = span * 11 / 10;
            }
        }
    }

    #[test]
    fn wider_axes_get_more_time_ticks() {
        let start = 1_764_000_000_000;
        let narrow = time_ticks(start, start + 300_000, 300.0);
        let wide = time_ticks(start, start + 300_000, 1_000.0);
        assert_eq!(narrow.step, 120_000);
        assert_eq!(narrow.ticks.len(), 3);
        assert_eq!(wide.step, 60_000);
        assert_eq!(wide.ticks.len(), 6);
        assert!(wide.ticks.len() > narrow.ticks.len());
    }

    #[test]
    fn time_labels_drop_seconds_for_minute_steps() {
        assert_eq!(time_label(1_764_000_045_000, 15_000), "16:00:45");
        assert_eq!(time_label(1_764_000_060_000, 60_000), "16:01");
    }
}
