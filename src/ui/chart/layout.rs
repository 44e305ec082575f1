//! Where everything on the chart goes, in real pixels: the frame (panes and axis room for
//! the measured width) and the geometry of one window of points (line or candles, volume,
//! ticks, gridlines, news markers).
//!
//! Invariant: one SVG unit is one CSS pixel. The frame is laid out for the width the
//! browser measured, so labels keep their 11 px and nothing is stretched; the server,
//! which has no width, lays out for [`DEFAULT_WIDTH`] and the browser redraws once it has
//! measured. Everything here is a pure function of its inputs, so the server's first
//! paint and the browser's first render agree.

use super::axis::{self, PriceScale, TimeTicks};
use super::viewport::{Bounds, Window};
use crate::ui::format;
use crate::ui::history::{candles, Candle};
use crate::wire::{Cents, Point, Sentiment};

/// The width laid out before the browser has measured (and on the server).
pub const DEFAULT_WIDTH: f64 = 800.0;
/// Below this width the chart is shorter, so a phone still shows the page around it.
const NARROW_WIDTH: f64 = 480.0;
/// Room on the right for the price axis labels and the last-price tag.
pub const AXIS_WIDTH: f64 = 64.0;
/// Widths outside this range are not real layouts (a hidden panel measures 0).
const WIDTHS: (f64, f64) = (200.0, 4_000.0);
/// Half the width of a time label, `HH:MM:SS` in 11 px monospace, so none is cut off.
const TIME_LABEL_HALF: f64 = 28.0;

/// Line or candles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Line,
    Candles,
}

/// The chart's panes for one width, in pixels from the SVG's top left.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    /// The plot's right edge; the price axis is to its right.
    pub plot_right: f64,
    /// The price pane's top and bottom.
    pub price: (f64, f64),
    /// The volume pane's top and bottom.
    pub volume: (f64, f64),
    /// The baseline of the time labels.
    pub time_labels: f64,
}

impl Frame {
    /// The frame for a measured width.
    pub fn new(width: f64) -> Frame {
        let width = if width.is_finite() {
            width.clamp(WIDTHS.0, WIDTHS.1).round()
        } else {
            DEFAULT_WIDTH
        };
        let height = if width < NARROW_WIDTH { 260.0 } else { 320.0 };
        Frame {
            width,
            height,
            plot_right: width - AXIS_WIDTH,
            price: (12.0, height - 84.0),
            volume: (height - 64.0, height - 22.0),
            time_labels: height - 6.0,
        }
    }

    /// Whether the frame is phone-narrow (the readout then takes two lines).
    pub fn narrow(&self) -> bool {
        self.width < NARROW_WIDTH
    }
}

/// One candle as drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CandleShape {
    pub x: f64,
    pub wick_top: f64,
    pub wick_bottom: f64,
    pub body_top: f64,
    pub body_height: f64,
    pub up: bool,
}

/// A headline about the symbol, as the chart marks it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewsMark {
    pub ts: u64,
    pub seq: u64,
    pub headline: String,
    pub sentiment: Sentiment,
}

/// A labelled tick: where its gridline goes, where its label goes, the label.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub at: f64,
    pub label_at: f64,
    pub label: String,
}

/// Everything the SVG draws for one window of points.
#[derive(Clone, Debug, PartialEq)]
pub struct Geometry {
    pub frame: Frame,
    /// The window shown; `None` while there are no points.
    pub window: Option<Window>,
    /// The oldest and newest point held; `None` while there are none.
    pub bounds: Option<Bounds>,
    pub mode: Mode,
    pub interval_ms: u64,
    pub scale: PriceScale,
    pub time: TimeTicks,
    /// Horizontal gridlines with their labels on the price axis.
    pub price_ticks: Vec<Tick>,
    /// Vertical gridlines with their labels under the volume pane.
    pub time_ticks: Vec<Tick>,
    /// The line's SVG path (line mode).
    pub line: String,
    /// Candle mode.
    pub candles: Vec<CandleShape>,
    pub candle_width: f64,
    /// (x, top, height), one bar per candle interval.
    pub volume: Vec<(f64, f64, f64)>,
    pub bar_width: f64,
    /// The lowest and highest price in view.
    pub low: Cents,
    pub high: Cents,
    /// (x, the headline).
    pub markers: Vec<(f64, NewsMark)>,
    /// The points in view, oldest first, for the crosshair.
    pub points: Vec<Point>,
    /// The candles in view, oldest first, for the crosshair.
    pub bars: Vec<Candle>,
}

impl Geometry {
    /// Nothing to draw yet, in a frame of `frame`.
    pub fn empty(frame: Frame, mode: Mode, interval_ms: u64) -> Geometry {
        Geometry {
            frame,
            window: None,
            bounds: None,
            mode,
            interval_ms,
            scale: PriceScale::default(),
            time: TimeTicks::default(),
            price_ticks: Vec::new(),
            time_ticks: Vec::new(),
            line: String::new(),
            candles: Vec::new(),
            candle_width: 1.0,
            volume: Vec::new(),
            bar_width: 1.0,
            low: 0,
            high: 0,
            markers: Vec::new(),
            points: Vec::new(),
            bars: Vec::new(),
        }
    }

    /// The x of a time (outside the plot for times outside the window).
    pub fn x_of(&self, ts: u64) -> f64 {
        let Some(window) = self.window else {
            return 0.0;
        };
        (ts as f64 - window.start as f64) / window.span().max(1) as f64 * self.frame.plot_right
    }

    /// The time at an x of the plot.
    pub fn ts_at(&self, x: f64) -> Option<u64> {
        let window = self.window?;
        Some(window.at(x / self.frame.plot_right))
    }

    /// The y of a price (outside the price pane for prices off the scale).
    pub fn y_of(&self, price: Cents) -> f64 {
        let (top, bottom) = self.frame.price;
        let span = (self.scale.high - self.scale.low).max(1) as f64;
        bottom - (price - self.scale.low) as f64 / span * (bottom - top)
    }

    /// The price at a y of the price pane, to the cent.
    pub fn price_at(&self, y: f64) -> Cents {
        let (top, bottom) = self.frame.price;
        let span = (self.scale.high - self.scale.low) as f64;
        self.scale.low + ((bottom - y) / (bottom - top) * span).round() as Cents
    }
}

/// Lays out `points` (those in `window`, oldest first) in `frame`. `view` is the window
/// and the history's bounds, `None` when the symbol has no points.
pub fn layout(
    points: Vec<Point>,
    view: Option<(Window, Bounds)>,
    frame: Frame,
    mode: Mode,
    interval_ms: u64,
    news: &[NewsMark],
) -> Geometry {
    let mut g = Geometry::empty(frame, mode, interval_ms);
    let Some((window, bounds)) = view else {
        return g;
    };
    g.window = Some(window);
    g.bounds = Some(bounds);
    let interval_ms = interval_ms.max(1);
    g.bars = candles(&points, interval_ms);
    let extremes = match mode {
        Mode::Line => points
            .iter()
            .map(|p| (p.price, p.price))
            .collect::<Vec<_>>(),
        Mode::Candles => g.bars.iter().map(|c| (c.low, c.high)).collect(),
    };
    (g.low, g.high) = extremes
        .iter()
        .fold(None, |acc: Option<(Cents, Cents)>, &(lo, hi)| {
            Some(acc.map_or((lo, hi), |(l, h)| (l.min(lo), h.max(hi))))
        })
        .unwrap_or((0, 0));
    g.scale = axis::price_scale(g.low, g.high);
    g.price_ticks = g
        .scale
        .ticks
        .iter()
        .map(|&price| {
            let y = tenth(g.y_of(price));
            Tick {
                at: y,
                // Centred on the gridline, but never above the SVG's top.
                label_at: (y + 4.0).max(11.0),
                label: format::price(price),
            }
        })
        .collect();
    g.time = axis::time_ticks(window.start, window.end, frame.plot_right);
    g.time_ticks = g
        .time
        .ticks
        .iter()
        .map(|&ts| {
            let x = tenth(g.x_of(ts));
            Tick {
                at: x,
                label_at: x.clamp(TIME_LABEL_HALF, frame.plot_right - TIME_LABEL_HALF),
                label: axis::time_label(ts, g.time.step),
            }
        })
        .collect();

    // Volume always by bar, so a busy second is one bar, not fifty slivers.
    let slot =
        (interval_ms as f64 / window.span().max(1) as f64 * frame.plot_right).clamp(1.0, 40.0);
    g.bar_width = tenth((slot * 0.7).max(1.0));
    let max_volume = g.bars.iter().map(|c| c.volume).max().unwrap_or(1).max(1) as f64;
    let (volume_top, volume_bottom) = frame.volume;
    g.volume = g
        .bars
        .iter()
        .map(|c| {
            let height = c.volume as f64 / max_volume * (volume_bottom - volume_top);
            (
                tenth(g.x_of(c.start + interval_ms / 2)),
                tenth(volume_bottom - height),
                tenth(height),
            )
        })
        .collect();
    match mode {
        Mode::Line => g.line = thinned_line(&g, &points),
        Mode::Candles => {
            g.candle_width = g.bar_width;
            g.candles = g
                .bars
                .iter()
                .map(|c| {
                    let (open, close) = (g.y_of(c.open), g.y_of(c.close));
                    CandleShape {
                        x: tenth(g.x_of(c.start + interval_ms / 2)),
                        wick_top: tenth(g.y_of(c.high)),
                        wick_bottom: tenth(g.y_of(c.low)),
                        body_top: tenth(open.min(close)),
                        body_height: tenth((open - close).abs()),
                        up: c.close >= c.open,
                    }
                })
                .collect();
        }
    }
    g.markers = news
        .iter()
        .filter(|mark| (window.start..=window.end).contains(&mark.ts))
        .map(|mark| (tenth(g.x_of(mark.ts)), mark.clone()))
        .collect();
    g.points = points;
    g
}

/// `v` to a tenth of a pixel: finer is invisible, and every digit is sent in the page.
fn tenth(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The line's path with one vertex per pixel column at most (the column's last price):
/// 4,000 points on a 300 px phone would otherwise be 4,000 vertices for 300 columns.
fn thinned_line(g: &Geometry, points: &[Point]) -> String {
    let mut line = String::with_capacity(points.len().min(g.frame.width as usize) * 14);
    let mut push = |(x, y): (f64, f64)| {
        let command = if line.is_empty() { 'M' } else { 'L' };
        line.push_str(&format!("{command}{x:.1} {y:.1}"));
    };
    let mut column = None;
    let mut pending = None;
    for point in points {
        let vertex = (g.x_of(point.ts), g.y_of(point.price));
        let this_column = vertex.0.floor() as i64;
        if column.is_none() {
            // The first point itself, so the line starts at the window's left edge.
            push(vertex);
            column = Some(this_column);
            continue;
        }
        if column != Some(this_column) {
            if let Some(previous) = pending.take() {
                push(previous);
            }
            column = Some(this_column);
        }
        pending = Some(vertex);
    }
    if let Some(last) = pending {
        push(last);
    }
    line
}

/// For the tests of what draws a geometry: a minute of points every 250 ms, laid out in
/// `mode` at the default width over their whole span, with `news` marked.
#[cfg(test)]
pub fn sample_geometry(mode: Mode, news: &[NewsMark]) -> Geometry {
    let points: Vec<Point> = (0..240)
        .map(|i| Point {
            ts: 1_764_000_000_000 + i * 250,
            price: 17_800 + (i as i64 % 9) * 4,
            volume: 100,
        })
        .collect();
    let (first, last) = (points[0].ts, points[239].ts);
    let view = Window {
        start: first,
        end: last,
    };
    let bounds = Bounds {
        oldest: first,
        latest: last,
    };
    let frame = Frame::new(DEFAULT_WIDTH);
    layout(points, Some((view, bounds)), frame, mode, 5_000, news)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(count: u64, every_ms: u64) -> Vec<Point> {
        (0..count)
            .map(|i| Point {
                ts: 1_000_000 + i * every_ms,
                price: 10_000 + (i as i64 % 7) * 3,
                volume: 100 + i,
            })
            .collect()
    }

    fn view_of(points: &[Point]) -> Option<(Window, Bounds)> {
        let (first, last) = (points.first()?, points.last()?);
        Some((
            Window {
                start: first.ts,
                end: last.ts,
            },
            Bounds {
                oldest: first.ts,
                latest: last.ts,
            },
        ))
    }

    #[test]
    fn the_frame_fills_the_measured_width() {
        let phone = Frame::new(364.0);
        assert_eq!((phone.width, phone.height), (364.0, 260.0));
        assert!(phone.narrow());
        assert_eq!(phone.plot_right, 300.0);
        let desk = Frame::new(560.4);
        assert_eq!((desk.width, desk.height), (560.0, 320.0));
        assert!(desk.price.1 < desk.volume.0 && desk.volume.1 < desk.time_labels);
        assert_eq!(Frame::new(0.0).width, 200.0);
        assert_eq!(Frame::new(f64::NAN).width, DEFAULT_WIDTH);
    }

    #[test]
    fn the_line_has_at_most_one_vertex_per_column() {
        let many = points(4_000, 250);
        let frame = Frame::new(364.0);
        let g = layout(many.clone(), view_of(&many), frame, Mode::Line, 5_000, &[]);
        let vertices = g.line.matches(['M', 'L']).count();
        assert!(
            vertices <= frame.plot_right as usize + 2,
            "{vertices} vertices"
        );
        assert!(g.line.starts_with("M0.0 "));
        assert!(g.line.contains(&format!("L{:.1} ", frame.plot_right)));
        assert_eq!(g.points.len(), 4_000);
    }

    #[test]
    fn everything_lies_inside_its_pane() {
        let some = points(240, 250);
        for mode in [Mode::Line, Mode::Candles] {
            let g = layout(
                some.clone(),
                view_of(&some),
                Frame::new(560.0),
                mode,
                1_000,
                &[],
            );
            let (top, bottom) = g.frame.price;
            assert!((4..=8).contains(&g.price_ticks.len()));
            assert!((3..=8).contains(&g.time_ticks.len()));
            for tick in &g.price_ticks {
                assert!(
                    tick.at >= top - 0.01 && tick.at <= bottom + 0.01,
                    "{tick:?}"
                );
            }
            for tick in &g.time_ticks {
                assert!(tick.at >= 0.0 && tick.at <= g.frame.plot_right, "{tick:?}");
                assert!(tick.label_at - TIME_LABEL_HALF >= 0.0);
                assert!(tick.label_at + TIME_LABEL_HALF <= g.frame.plot_right);
            }
            for c in &g.candles {
                assert!(c.wick_top >= top - 0.01 && c.wick_bottom <= bottom + 0.01);
                assert!(c.wick_top <= c.body_top);
            }
            for &(_, bar_top, height) in &g.volume {
                assert!(bar_top >= g.frame.volume.0 - 0.01 && height >= 0.0);
            }
            assert!(g.y_of(g.high) >= top - 0.01 && g.y_of(g.low) <= bottom + 0.01);
        }
    }

    #[test]
    fn prices_and_times_map_both_ways() {
        let some = points(240, 250);
        let g = layout(
            some.clone(),
            view_of(&some),
            Frame::new(800.0),
            Mode::Line,
            5_000,
            &[],
        );
        for price in [g.scale.low, g.low, g.high, g.scale.high] {
            assert_eq!(g.price_at(g.y_of(price)), price);
        }
        let window = g.window.expect("points");
        assert_eq!(g.ts_at(0.0), Some(window.start));
        assert_eq!(g.ts_at(g.frame.plot_right), Some(window.end));
        assert_eq!(g.x_of(window.end), g.frame.plot_right);
    }

    #[test]
    fn markers_only_for_headlines_in_the_window() {
        let some = points(240, 250);
        let mark = |ts, seq| NewsMark {
            ts,
            seq,
            headline: format!("h{seq}"),
            sentiment: Sentiment::Neutral,
        };
        let news = [mark(999_999, 1), mark(1_030_000, 2), mark(9_000_000, 3)];
        let g = layout(
            some.clone(),
            view_of(&some),
            Frame::new(800.0),
            Mode::Line,
            5_000,
            &news,
        );
        let seqs: Vec<u64> = g.markers.iter().map(|(_, m)| m.seq).collect();
        assert_eq!(seqs, vec![2]);
    }

    #[test]
    fn no_points_no_drawing() {
        let g = layout(Vec::new(), None, Frame::new(800.0), Mode::Line, 5_000, &[]);
        assert!(g.window.is_none() && g.line.is_empty() && g.price_ticks.is_empty());
    }
}
