//! The chart of the selected symbol: a line or candles (bars built here, in the browser,
//! over 1 s, 5 s or 1 min), volume below, markers where headlines about the symbol came
//! out (each links to its item in the feed), and a crosshair with a price and time readout.
//!
//! It is SVG, so the server renders the first paint from the snapshot's points and the
//! browser hydrates the very same picture. The geometry is recomputed in one memo when
//! the store's history version moves, at most once per animation frame.

use super::explain::ExplainPanel;
use super::format;
use super::history::{candles, Candle};
use super::store::MarketStore;
use crate::wire::{Cents, Point, Sentiment};
use leptos::prelude::*;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 320.0;
/// The price pane's top and bottom, the volume pane's top and bottom.
const PRICE: (f64, f64) = (12.0, 236.0);
const VOLUME: (f64, f64) = (256.0, 306.0);
/// Room on the right for price labels.
const PLOT_RIGHT: f64 = WIDTH - 64.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Line,
    Candles,
}

/// How far back the chart looks, in milliseconds; `None` for everything kept.
const RANGES: [(&str, Option<u64>); 4] = [
    ("1m", Some(60_000)),
    ("5m", Some(300_000)),
    ("15m", Some(900_000)),
    ("all", None),
];
const INTERVALS: [(&str, u64); 3] = [("1s", 1_000), ("5s", 5_000), ("1m", 60_000)];

/// Everything the SVG draws, in viewBox units.
#[derive(Clone, Debug, Default, PartialEq)]
struct Geometry {
    line: String,
    /// (x, wick top, wick bottom, body top, body height, up)
    candles: Vec<(f64, f64, f64, f64, f64, bool)>,
    candle_width: f64,
    /// (x, top, height)
    volume: Vec<(f64, f64, f64)>,
    bar_width: f64,
    low: Cents,
    high: Cents,
    start: u64,
    end: u64,
    /// (x, news seq, headline, sentiment)
    markers: Vec<(f64, u64, String, Sentiment)>,
    /// The points drawn, for the crosshair.
    points: Vec<Point>,
}

/// The chart panel: its controls above the plot of the selected symbol.
#[component]
pub fn Chart() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let view = ChartView {
        mode: RwSignal::new(Mode::Line),
        interval: RwSignal::new(5_000u64),
        range: RwSignal::new(Some(300_000u64)),
    };
    let geometry = geometry_of(store, view);
    let name = move || {
        let selected = store.selected.get()?;
        store.symbols.with(|rows| {
            rows.iter()
                .find(|row| row.symbol == selected)
                .map(|row| format!("{} · {}", row.symbol, row.name))
        })
    };
    view! {
        <section
            class="chart"
            data-testid="chart"
            data-symbol=move || store.selected.get().unwrap_or_default()
            aria-label="Price chart"
        >
            <header class="chart-head">
                <h2 data-testid="chart-title">{name}</h2>
                <ChartControls view/>
            </header>
            <ChartPlot geometry mode=view.mode label=Signal::derive(move || name().unwrap_or_default())/>
            <ExplainPanel/>
        </section>
    }
}

/// What the reader chose: line or candles, the bar interval, the range shown.
#[derive(Clone, Copy)]
struct ChartView {
    mode: RwSignal<Mode>,
    interval: RwSignal<u64>,
    range: RwSignal<Option<u64>>,
}

/// The geometry of the selected symbol's recent points and headlines, recomputed when the
/// history, the selection, the news or the reader's choices change.
fn geometry_of(store: MarketStore, view: ChartView) -> Memo<Geometry> {
    Memo::new(move |_| {
        store.history_version.track();
        let Some(symbol) = store.selected.get() else {
            return Geometry::default();
        };
        let points: Vec<Point> = store.history.with_value(|history| {
            let Some(all) = history.points(&symbol) else {
                return Vec::new();
            };
            let end = all.back().map_or(0, |p| p.ts);
            let start = view.range.get().map_or(0, |span| end.saturating_sub(span));
            all.iter().filter(|p| p.ts >= start).copied().collect()
        });
        let news: Vec<(u64, u64, String, Sentiment)> = store.news.with(|news| {
            news.iter()
                .filter(|n| n.symbols.contains(&symbol))
                .map(|n| (n.ts, n.seq, n.headline.clone(), n.sentiment))
                .collect()
        });
        layout(points, view.mode.get(), view.interval.get(), &news)
    })
}

/// Line or candles, bar interval, range.
#[component]
fn ChartControls(view: ChartView) -> impl IntoView {
    let ChartView {
        mode,
        interval,
        range,
    } = view;
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
                    }
                })
            />
        </div>
    }
}

/// The SVG: axes and labels, the line or the candles, volume, news markers, crosshair.
#[component]
fn ChartPlot(
    geometry: Memo<Geometry>,
    mode: RwSignal<Mode>,
    label: Signal<String>,
) -> impl IntoView {
    let hover = RwSignal::new(None::<f64>);
    let on_move = move |ev: leptos::ev::PointerEvent| {
        use leptos::wasm_bindgen::JsCast;
        let width = ev
            .current_target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .map_or(0.0, |e| f64::from(e.client_width()));
        if width > 0.0 {
            hover.set(Some(f64::from(ev.offset_x()) / width * WIDTH));
        }
    };
    view! {
        <svg
            class="chart-plot"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            role="img"
            aria-label=move || label.get()
            on:pointermove=on_move
            on:pointerleave=move |_| hover.set(None)
        >
            <line class="axis" x1="0" x2=PLOT_RIGHT y1=PRICE.1 y2=PRICE.1/>
            <text class="label" x=PLOT_RIGHT + 6.0 y=PRICE.0 + 10.0 data-testid="chart-high">
                {move || geometry.with(|g| format::price(g.high))}
            </text>
            <text class="label" x=PLOT_RIGHT + 6.0 y=PRICE.1>
                {move || geometry.with(|g| format::price(g.low))}
            </text>
            <text class="label" x="0" y=HEIGHT - 2.0>{move || geometry.with(|g| format::clock(g.start))}</text>
            <text class="label" x=PLOT_RIGHT y=HEIGHT - 2.0 text-anchor="end">
                {move || geometry.with(|g| format::clock(g.end))}
            </text>
            <Show when=move || mode.get() == Mode::Line>
                <path class="line" data-testid="chart-line" d=move || geometry.with(|g| g.line.clone())/>
            </Show>
            <Show when=move || mode.get() == Mode::Candles>
                <g class="candles" data-testid="chart-candles">{move || candles_view(geometry)}</g>
            </Show>
            <g class="volume">{move || volume_view(geometry)}</g>
            <g class="markers">{move || markers_view(geometry)}</g>
            {move || crosshair_view(geometry, hover.get())}
        </svg>
    }
}

fn candles_view(geometry: Memo<Geometry>) -> impl IntoView {
    geometry.with(|g| {
        g.candles
            .iter()
            .map(|&(x, top, bottom, body, height, up)| {
                let width = g.candle_width;
                view! {
                    <g class="candle" data-up=up.to_string()>
                        <line x1=x x2=x y1=top y2=bottom/>
                        <rect x=x - width / 2.0 y=body width=width height=height.max(1.0)/>
                    </g>
                }
            })
            .collect_view()
    })
}

fn volume_view(geometry: Memo<Geometry>) -> impl IntoView {
    geometry.with(|g| {
        g.volume
            .iter()
            .map(|&(x, top, height)| {
                view! {
                    <rect x=x - g.bar_width / 2.0 y=top width=g.bar_width height=height/>
                }
            })
            .collect_view()
    })
}

fn markers_view(geometry: Memo<Geometry>) -> impl IntoView {
    geometry.with(|g| {
        g.markers.iter().map(|(x, seq, headline, sentiment)| {
            let x = *x;
            view! {
                <a href=format!("#news-{seq}") data-testid="chart-marker" data-sentiment=sentiment.as_str()>
                    <title>{headline.clone()}</title>
                    <line class="marker-line" x1=x x2=x y1=PRICE.0 y2=PRICE.1/>
                    <polygon points=format!("{},{} {},{} {},{}", x - 5.0, PRICE.1 + 12.0, x + 5.0, PRICE.1 + 12.0, x, PRICE.1 + 3.0)/>
                </a>
            }
        }).collect_view()
    })
}

/// The crosshair and its readout at `hover` (viewBox units), if the pointer is over the
/// plot.
fn crosshair_view(geometry: Memo<Geometry>, hover: Option<f64>) -> impl IntoView {
    let readout = hover.and_then(|x| {
        geometry.with(|g| {
            if g.points.is_empty() || g.end <= g.start {
                return None;
            }
            let ts = g.start + ((x / PLOT_RIGHT).clamp(0.0, 1.0) * (g.end - g.start) as f64) as u64;
            let at = g
                .points
                .partition_point(|p| p.ts < ts)
                .min(g.points.len() - 1);
            let point = g.points[at];
            Some((
                x,
                format!(
                    "{} · {}",
                    format::clock(point.ts),
                    format::price(point.price)
                ),
            ))
        })
    });
    readout.map(|(x, text)| {
        view! {
            <g class="crosshair">
                <line x1=x x2=x y1=PRICE.0 y2=VOLUME.1/>
                <text class="readout" data-testid="chart-readout" x=(x + 6.0).min(PLOT_RIGHT - 150.0) y=PRICE.0 + 12.0>{text}</text>
            </g>
        }
    })
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

/// Lays the points out in viewBox units.
fn layout(
    points: Vec<Point>,
    mode: Mode,
    interval_ms: u64,
    news: &[(u64, u64, String, Sentiment)],
) -> Geometry {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Geometry::default();
    };
    let (start, end) = (first.ts, last.ts.max(first.ts + 1));
    let x_of = |ts: u64| (ts.saturating_sub(start)) as f64 / (end - start) as f64 * PLOT_RIGHT;
    let bars: Vec<Candle> = candles(&points, interval_ms);
    let (low, high) = match mode {
        Mode::Line => points.iter().fold((Cents::MAX, Cents::MIN), |(lo, hi), p| {
            (lo.min(p.price), hi.max(p.price))
        }),
        Mode::Candles => bars.iter().fold((Cents::MAX, Cents::MIN), |(lo, hi), c| {
            (lo.min(c.low), hi.max(c.high))
        }),
    };
    let span = (high - low).max(1) as f64;
    let y_of = |price: Cents| PRICE.1 - (price - low) as f64 / span * (PRICE.1 - PRICE.0);

    let mut geometry = Geometry {
        low,
        high,
        start,
        end,
        ..Geometry::default()
    };
    // Volume always by bar, so a busy second is one bar, not fifty slivers.
    let slot = (interval_ms as f64 / (end - start) as f64 * PLOT_RIGHT).clamp(1.0, 40.0);
    geometry.bar_width = (slot * 0.7).max(1.0);
    let max_volume = bars.iter().map(|c| c.volume).max().unwrap_or(1).max(1) as f64;
    geometry.volume = bars
        .iter()
        .map(|c| {
            let height = c.volume as f64 / max_volume * (VOLUME.1 - VOLUME.0);
            (
                x_of(c.start + interval_ms / 2).min(PLOT_RIGHT),
                VOLUME.1 - height,
                height,
            )
        })
        .collect();
    match mode {
        Mode::Line => {
            // One vertex per horizontal pixel at most: the last price in each.
            let mut line = String::with_capacity(points.len().min(800) * 12);
            let mut last_column = None;
            for point in &points {
                let x = x_of(point.ts);
                let column = x as i64;
                if last_column == Some(column) && point.ts != last.ts {
                    continue;
                }
                last_column = Some(column);
                let command = if line.is_empty() { 'M' } else { 'L' };
                line.push_str(&format!("{command}{x:.1} {:.1}", y_of(point.price)));
            }
            geometry.line = line;
        }
        Mode::Candles => {
            geometry.candle_width = (slot * 0.7).max(1.0);
            geometry.candles = bars
                .iter()
                .map(|c| {
                    let x = x_of(c.start + interval_ms / 2).min(PLOT_RIGHT);
                    let (open, close) = (y_of(c.open), y_of(c.close));
                    (
                        x,
                        y_of(c.high),
                        y_of(c.low),
                        open.min(close),
                        (open - close).abs(),
                        c.close >= c.open,
                    )
                })
                .collect();
        }
    }
    geometry.markers = news
        .iter()
        .filter(|(ts, ..)| (start..=end).contains(ts))
        .map(|(ts, seq, headline, sentiment)| (x_of(*ts), *seq, headline.clone(), *sentiment))
        .collect();
    geometry.points = points;
    geometry
}
