//! The visible window of time: which part of the held history the chart shows, and the
//! pure arithmetic of zooming and panning it.
//!
//! Invariant: a window [`clamp`]ed to the history's [`Bounds`] never starts before the
//! oldest point held, never ends after the newest, spans at least [`MIN_SPAN_MS`] (or all
//! of the history if that is shorter) and at most all of it, and always has `end > start`
//! so that the layout can divide by its span.

/// The shortest window the reader can zoom to.
pub const MIN_SPAN_MS: u64 = 5_000;

/// A window of time in milliseconds since the Unix epoch, `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

impl Window {
    /// Its length in milliseconds.
    pub fn span(self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// The time at `fraction` (0 = start, 1 = end) of the window.
    pub fn at(self, fraction: f64) -> u64 {
        self.start + (fraction.clamp(0.0, 1.0) * self.span() as f64).round() as u64
    }
}

/// The oldest and the newest point the page holds for the symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub oldest: u64,
    pub latest: u64,
}

impl Bounds {
    /// The longest window: all of the history (at least 1 ms, so a lone point has a span).
    fn max_span(self) -> u64 {
        self.latest.saturating_sub(self.oldest).max(1)
    }

    /// The shortest window: [`MIN_SPAN_MS`], or all of a shorter history.
    fn min_span(self) -> u64 {
        MIN_SPAN_MS.min(self.max_span())
    }
}

/// What the chart follows: the stream (the window's right edge is the newest point), or a
/// window the reader chose by zooming or panning, which new points do not move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    Live,
    Fixed(Window),
}

/// The window shown: when live, the chosen `range` (`None`: everything held) up to the
/// newest point, cut to the history held; otherwise the reader's window, clamped.
pub fn resolve(follow: Follow, bounds: Bounds, range: Option<u64>) -> Window {
    match follow {
        Follow::Live => {
            let start = range.map_or(bounds.oldest, |span| {
                bounds.latest.saturating_sub(span).max(bounds.oldest)
            });
            clamp(
                Window {
                    start,
                    end: bounds.latest,
                },
                bounds,
            )
        }
        Follow::Fixed(window) => clamp(window, bounds),
    }
}

/// Brings `window` inside `bounds`: its span limited to what the history allows, then
/// moved (never shrunk further) so it starts no earlier than the oldest point and ends no
/// later than the newest.
pub fn clamp(window: Window, bounds: Bounds) -> Window {
    let span = window.span().clamp(bounds.min_span(), bounds.max_span());
    // With a lone point `latest - span` is before `oldest`: start at the oldest then.
    let last_start = bounds.latest.saturating_sub(span).max(bounds.oldest);
    let start = window.start.clamp(bounds.oldest, last_start);
    Window {
        start,
        end: start + span,
    }
}

/// Zooms by `factor` (below 1 zooms in) around the time at `anchor` (0 = left edge,
/// 1 = right edge), which stays under the pointer.
pub fn zoom(window: Window, bounds: Bounds, factor: f64, anchor: f64) -> Window {
    let anchor = anchor.clamp(0.0, 1.0);
    let span = window.span() as f64;
    let wanted = (span * factor)
        .round()
        .clamp(bounds.min_span() as f64, bounds.max_span() as f64);
    let pivot = window.start as f64 + anchor * span;
    let start = (pivot - anchor * wanted).max(0.0).round() as u64;
    clamp(
        Window {
            start,
            end: start + wanted as u64,
        },
        bounds,
    )
}

/// Moves the window by `delta_ms` (negative: back in time), keeping its span.
pub fn pan(window: Window, bounds: Bounds, delta_ms: i64) -> Window {
    let start = window.start.saturating_add_signed(delta_ms);
    clamp(
        Window {
            start,
            end: start + window.span(),
        },
        bounds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        oldest: 1_000_000,
        latest: 1_600_000,
    };

    fn window(start: u64, end: u64) -> Window {
        Window { start, end }
    }

    #[test]
    fn live_follows_the_newest_point_over_the_range() {
        assert_eq!(
            resolve(Follow::Live, BOUNDS, Some(60_000)),
            window(1_540_000, 1_600_000)
        );
        // A range longer than the history shows all of it; `None` is everything.
        assert_eq!(
            resolve(Follow::Live, BOUNDS, Some(900_000)),
            window(1_000_000, 1_600_000)
        );
        assert_eq!(
            resolve(Follow::Live, BOUNDS, None),
            window(1_000_000, 1_600_000)
        );
    }

    #[test]
    fn a_fixed_window_stays_put_as_history_grows() {
        let fixed = window(1_100_000, 1_200_000);
        let grown = Bounds {
            latest: 1_900_000,
            ..BOUNDS
        };
        assert_eq!(resolve(Follow::Fixed(fixed), BOUNDS, Some(60_000)), fixed);
        assert_eq!(resolve(Follow::Fixed(fixed), grown, Some(60_000)), fixed);
    }

    #[test]
    fn clamping_keeps_the_window_inside_the_history() {
        // Too early, too late, too long, too short.
        assert_eq!(
            clamp(window(0, 100_000), BOUNDS),
            window(1_000_000, 1_100_000)
        );
        assert_eq!(
            clamp(window(1_580_000, 1_680_000), BOUNDS),
            window(1_500_000, 1_600_000)
        );
        assert_eq!(
            clamp(window(0, 9_000_000), BOUNDS),
            window(1_000_000, 1_600_000)
        );
        assert_eq!(
            clamp(window(1_200_000, 1_200_001), BOUNDS),
            window(1_200_000, 1_205_000)
        );
        // A history shorter than the minimum span, and a lone point.
        let short = Bounds {
            oldest: 10_000,
            latest: 12_000,
        };
        assert_eq!(clamp(window(0, 1), short), window(10_000, 12_000));
        let lone = Bounds {
            oldest: 10_000,
            latest: 10_000,
        };
        let w = clamp(window(0, 50_000), lone);
        assert!(w.end > w.start);
        assert_eq!(w.start, 10_000);
    }

    #[test]
    fn zoom_keeps_the_anchor_under_the_pointer() {
        let w = window(1_200_000, 1_300_000);
        let zoomed = zoom(w, BOUNDS, 0.5, 0.25);
        assert_eq!(zoomed.span(), 50_000);
        assert_eq!(zoomed.at(0.25), w.at(0.25));
        // Out again, at the same anchor: back where it was.
        assert_eq!(zoom(zoomed, BOUNDS, 2.0, 0.25), w);
        // Never below the minimum span, never beyond all of the history.
        assert_eq!(zoom(w, BOUNDS, 0.000_1, 0.5).span(), MIN_SPAN_MS);
        assert_eq!(zoom(w, BOUNDS, 100.0, 0.5), window(1_000_000, 1_600_000));
        // Zooming in at the right edge keeps the right edge.
        let live = window(1_540_000, 1_600_000);
        assert_eq!(zoom(live, BOUNDS, 0.5, 1.0), window(1_570_000, 1_600_000));
    }

    #[test]
    fn pan_moves_and_stops_at_either_end() {
        let w = window(1_200_000, 1_300_000);
        assert_eq!(pan(w, BOUNDS, -10_000), window(1_190_000, 1_290_000));
        assert_eq!(pan(w, BOUNDS, 10_000), window(1_210_000, 1_310_000));
        assert_eq!(pan(w, BOUNDS, -900_000), window(1_000_000, 1_100_000));
        assert_eq!(pan(w, BOUNDS, 900_000), window(1_500_000, 1_600_000));
        assert_eq!(pan(w, BOUNDS, i64::MIN), window(1_000_000, 1_100_000));
    }
}
