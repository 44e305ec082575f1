//! The chart of the selected symbol, read like a trading screen: a line or candles (bars
//! built here, in the browser, over 1 s, 5 s or 1 min), volume below, round-number price
//! and time axes with gridlines, the last price as a dashed line with a tag in the axis,
//! markers where headlines about the symbol came out (each links to its item in the feed),
//! and a crosshair that reads out the price, or a candle's OHLC and volume.
//!
//! The reader can look back through the history the page holds: the wheel or a pinch
//! zooms, a drag pans, the arrow keys and +/− do both from the keyboard, and "Live" (or
//! picking a range) follows the stream again. The section exposes the window shown as
//! `data-view-start`, `data-view-end` (ms since the epoch) and `data-live`.
//!
//! It is SVG, so the server renders the first paint from the snapshot's points and the
//! browser hydrates the very same picture, then redraws at the width it measures.
//!
//! Code map, one concept per file:
//!
//! | file | what | invariant |
//! |---|---|---|
//! | `mod.rs` | the section, its controls, the geometry memo | the geometry is recomputed in one memo, at most once per animation frame of history |
//! | [`viewport`] | the visible window, zoom and pan | never outside the history held, never shorter than 5 s |
//! | [`gesture`] | keys, wheel, drag and pinch as actions | pure: no browser |
//! | [`axis`] | round price and time ticks | 4–8 price ticks, 3–8 time ticks |
//! | [`layout`] | the frame and everything's place in it | one SVG unit is one pixel |
//! | [`readout`] | the crosshair's text | line: `HH:MM:SS · price`; candles: OHLC and volume |
//! | [`markup`] | the picture and the crosshair as SVG markup | every text escaped; the same bytes on server and browser |
//! | [`plot`] | the SVG and its browser events | the first render matches the server's |

mod axis;
mod gesture;
mod layout;
mod markup;
mod plot;
mod readout;
mod viewport;

use super::explain::ExplainPanel;
use super::store::MarketStore;
use crate::wire::{Cents, Point};
use layout::{Geometry, Mode, NewsMark, DEFAULT_WIDTH};
use leptos::prelude::*;
use plot::ChartPlot;
use viewport::{Bounds, Follow};

/// How far back the chart looks when live, in milliseconds; `None` for everything kept.
const RANGES: [(&str, Option<u64>); 4] = [
    ("1m", Some(60_000)),
    ("5m", Some(300_000)),
    ("15m", Some(900_000)),
    ("all", None),
];
const INTERVALS: [(&str, u64); 3] = [("1s", 1_000), ("5s", 5_000), ("1m", 60_000)];

/// What the reader chose: line or candles, the bar interval, the range shown when live,
/// and whether the chart follows the stream or a window they zoomed or panned to.
#[derive(Clone, Copy)]
struct ChartView {
    mode: RwSignal<Mode>,
    interval: RwSignal<u64>,
    range: RwSignal<Option<u64>>,
    follow: RwSignal<Follow>,
    /// The plot's measured width in pixels ([`DEFAULT_WIDTH`] until the browser measures).
    width: RwSignal<f64>,
}

/// The chart panel: its controls above the plot of the selected symbol.
#[component]
pub fn Chart() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let view = ChartView {
        mode: RwSignal::new(Mode::Line),
        interval: RwSignal::new(5_000u64),
        range: RwSignal::new(Some(300_000u64)),
        follow: RwSignal::new(Follow::Live),
        width: RwSignal::new(DEFAULT_WIDTH),
    };
    let geometry = geometry_of(store, view);
    let last = last_of(store);
    let name = move || {
        let selected = store.selected.get()?;
        store.symbols.with(|rows| {
            rows.iter()
                .find(|row| row.symbol == selected)
                .map(|row| format!("{} · {}", row.symbol, row.name))
        })
    };
    let window = move || geometry.with(|g| g.window.map_or((0, 0), |w| (w.start, w.end)));
    view! {
        <section
            class="chart"
            data-testid="chart"
            data-symbol=move || store.selected.get().unwrap_or_default()
            data-view-start=move || window().0.to_string()
            data-view-end=move || window().1.to_string()
            data-live=move || (view.follow.get() == Follow::Live).to_string()
            aria-label="Price chart"
        >
            <header class="chart-head">
                <h2 data-testid="chart-title">{name}</h2>
                <ChartControls view/>
            </header>
            <ChartPlot
                geometry
                mode=view.mode
                follow=view.follow
                width=view.width
                last
                label=Signal::derive(move || name().unwrap_or_default())
            />
            <ExplainPanel/>
        </section>
    }
}

/// The geometry of the selected symbol's points in the visible window, and its
/// headlines, recomputed when the history (once per animation frame at most), the
/// selection, the news, the width or the reader's choices change.
fn geometry_of(store: MarketStore, view: ChartView) -> Memo<Geometry> {
    Memo::new(move |_| {
        store.history_version.track();
        let frame = layout::Frame::new(view.width.get());
        let (mode, interval) = (view.mode.get(), view.interval.get());
        let Some(symbol) = store.selected.get() else {
            return Geometry::empty(frame, mode, interval);
        };
        let (follow, range) = (view.follow.get(), view.range.get());
        let (points, shown) = store.history.with_value(|history| {
            let Some(all) = history.points(&symbol) else {
                return (Vec::new(), None);
            };
            let (Some(first), Some(last)) = (all.front(), all.back()) else {
                return (Vec::new(), None);
            };
            let bounds = Bounds {
                oldest: first.ts,
                latest: last.ts,
            };
            let window = viewport::resolve(follow, bounds, range);
            // Points are in time order: two binary searches, not a scan of 4,000.
            let from = all.partition_point(|p| p.ts < window.start);
            let to = all.partition_point(|p| p.ts <= window.end);
            let points: Vec<Point> = all.range(from..to).copied().collect();
            (points, Some((window, bounds)))
        });
        let news: Vec<NewsMark> = store.news.with(|news| {
            news.iter()
                .filter(|n| n.symbols.contains(&symbol))
                .map(|n| NewsMark {
                    ts: n.ts,
                    seq: n.seq,
                    headline: n.headline.clone(),
                    sentiment: n.sentiment,
                })
                .collect()
        });
        layout::layout(points, shown, frame, mode, interval, &news)
    })
}

/// The selected symbol's last price and open, from its quote: the very numbers the
/// watchlist shows its Last and direction from.
fn last_of(store: MarketStore) -> Memo<Option<(Cents, Cents)>> {
    Memo::new(move |_| {
        let selected = store.selected.get()?;
        let quote = store.symbols.with(|rows| {
            rows.iter()
                .find(|row| row.symbol == selected)
                .map(|row| row.quote)
        })?;
        Some(quote.with(|q| (q.last, q.open)))
    })
}

/// Line or candles, bar interval, range, and the way back to the live stream.
#[component]
fn ChartControls(view: ChartView) -> impl IntoView {
    let ChartView {
        mode,
        interval,
        range,
        follow,
        ..
    } = view;
    let live = move || follow.get() == Follow::Live;
    view! {
        <div class="chart-controls">
            <Choice
                label="Chart"
                testid="chart-mode"
                options=vec![("line", "Line"), ("candles", "Candles")]
                current=Signal::derive(move || match mode.get() {
                    Mode::Line => "line",
                    Mode::Candles => "candles",
                })
                pick=Callback::new(move |value: String| {
                    mode.set(if value == "candles" { Mode::Candles } else { Mode::Line })
                })
            />
            <Choice
                label="Bars"
                testid="chart-interval"
                options=INTERVALS.iter().map(|(name, _)| (*name, *name)).collect()
                current=Signal::derive(move || {
                    INTERVALS.iter().find(|(_, ms)| *ms == interval.get()).map_or("5s", |i| i.0)
                })
                pick=Callback::new(move |value: String| {
                    if let Some((_, ms)) = INTERVALS.iter().find(|(name, _)| *name == value) {
                        interval.set(*ms);
                    }
                })
            />
            <Choice
                label="Range"
                testid="chart-range"
                options=RANGES.iter().map(|(name, _)| (*name, *name)).collect()
                current=Signal::derive(move || {
                    RANGES.iter().find(|(_, span)| *span == range.get()).map_or("5m", |r| r.0)
                })
                pick=Callback::new(move |value: String| {
                    if let Some((_, span)) = RANGES.iter().find(|(name, _)| *name == value) {
                        range.set(*span);
                        // A range is a live view by definition.
                        follow.set(Follow::Live);
                    }
                })
            />
            <button
                type="button"
                class="chart-live"
                data-testid="chart-live"
                aria-pressed=move || live().to_string()
                title="Follow the stream again"
                on:click=move |_| follow.set(Follow::Live)
            >
                "Live"
            </button>
        </div>
    }
}

/// A small segmented control.
#[component]
fn Choice(
    label: &'static str,
    testid: &'static str,
    options: Vec<(&'static str, &'static str)>,
    current: Signal<&'static str>,
    pick: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="choice" role="group" aria-label=label data-testid=testid>
            {options
                .into_iter()
                .map(|(value, text)| {
                    view! {
                        <button
                            type="button"
                            data-value=value
                            aria-pressed=move || (current.get() == value).to_string()
                            on:click=move |_| pick.run(value.to_owned())
                        >
                            {text}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
