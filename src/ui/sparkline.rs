//! A watchlist sparkline: the symbol's recent prices as one SVG polyline, redrawn at most
//! once per animation frame (when the store's history version moves).

use super::store::MarketStore;
use leptos::prelude::*;

/// Points drawn.
const POINTS: usize = 80;
const WIDTH: f64 = 80.0;
const HEIGHT: f64 = 24.0;

#[component]
pub fn Sparkline(symbol: String) -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let shape = Memo::new(move |_| {
        store.history_version.track();
        store.history.with_value(|history| {
            let Some(points) = history.points(&symbol) else {
                return (String::new(), "flat");
            };
            let recent: Vec<i64> = points
                .iter()
                .skip(points.len().saturating_sub(POINTS))
                .map(|p| p.price)
                .collect();
            let (Some(first), Some(last)) = (recent.first(), recent.last()) else {
                return (String::new(), "flat");
            };
            let direction = match last.cmp(first) {
                std::cmp::Ordering::Greater => "up",
                std::cmp::Ordering::Less => "down",
                std::cmp::Ordering::Equal => "flat",
            };
            let low = recent.iter().copied().min().unwrap_or(0);
            let high = recent.iter().copied().max().unwrap_or(0);
            let span = (high - low).max(1) as f64;
            let step = WIDTH / (POINTS.max(2) - 1) as f64;
            let offset = (POINTS - recent.len()) as f64 * step;
            let line = recent
                .iter()
                .enumerate()
                .map(|(i, price)| {
                    let x = offset + i as f64 * step;
                    let y = HEIGHT - 2.0 - (price - low) as f64 / span * (HEIGHT - 4.0);
                    format!("{x:.1},{y:.1}")
                })
                .collect::<Vec<_>>()
                .join(" ");
            (line, direction)
        })
    });
    view! {
        <svg
            class="sparkline"
            data-direction=move || shape.with(|s| s.1)
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            width=WIDTH
            height=HEIGHT
            preserveAspectRatio="none"
            aria-hidden="true"
            focusable="false"
        >
            <polyline points=move || shape.with(|s| s.0.clone())/>
        </svg>
    }
}
