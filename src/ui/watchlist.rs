//! The watchlist: one row per symbol with last price, change and percent change from the
//! open (with ▲/▼, never colour alone), the day's range and a sparkline. A row flashes
//! when its price moves (not for people who ask for reduced motion: see the stylesheet)
//! and selects its symbol for the chart when clicked or activated from the keyboard. Its
//! bell sets a price alert (see [`super::alerts`]).

use super::alerts::form::{AlertButton, AlertFormRow};
use super::format;
use super::sparkline::Sparkline;
use super::store::{MarketStore, SymbolRow};
use leptos::prelude::*;

#[component]
pub fn Watchlist() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    view! {
        <section class="watchlist" aria-label="Watchlist">
            <table data-testid="watchlist">
                <thead>
                    <tr>
                        <th scope="col">"Symbol"</th>
                        <th scope="col" class="num">"Last"</th>
                        <th scope="col" class="num">"Change"</th>
                        <th scope="col" class="num">"%"</th>
                        <th scope="col" class="num range">"Day range"</th>
                        <th scope="col" class="spark">"Trend"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || store.symbols.get()
                        key=|row| row.symbol.clone()
                        children=move |row| view! { <WatchlistRow row/> }
                    />
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn WatchlistRow(row: SymbolRow) -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let quote = row.quote;
    let change = move || quote.with(|q| q.last - q.open);
    let direction = move || format::direction(change());
    // The flash alternates between two names so the animation restarts on every move.
    let flash = RwSignal::new(None::<String>);
    Effect::new(move |previous: Option<(i64, bool)>| {
        let last = quote.with(|q| q.last);
        match previous {
            Some((before, parity)) if before != last => {
                let way = if last > before { "up" } else { "down" };
                flash.set(Some(format!("{way}-{}", if parity { "a" } else { "b" })));
                (last, !parity)
            }
            Some(unchanged) => unchanged,
            None => (last, false),
        }
    });
    let symbol = row.symbol.clone();
    let bell = NodeRef::new();
    let selected = {
        let symbol = symbol.clone();
        move || {
            store
                .selected
                .with(|s| s.as_deref() == Some(symbol.as_str()))
        }
    };
    let select = {
        let symbol = symbol.clone();
        move || store.selected.set(Some(symbol.clone()))
    };
    let on_key = {
        let select = select.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" || ev.key() == " " {
                ev.prevent_default();
                select();
            }
        }
    };
    view! {
        <tr
            data-testid=format!("watchlist-row-{}", row.symbol)
            data-direction=direction
            data-flash=move || flash.get()
            aria-selected=move || selected().to_string()
            tabindex="0"
            on:click=move |_| select()
            on:keydown=on_key
        >
            <th scope="row" class="symbol">
                {row.symbol.clone()}
                <AlertButton symbol=symbol.clone() button=bell/>
                <span class="name">{row.name.clone()}</span>
            </th>
            <td class="num last" data-testid="last">{move || format::price(quote.with(|q| q.last))}</td>
            <td class="num change" data-testid="change">
                <span aria-hidden="true">{move || format::arrow(change())}" "</span>
                {move || format::change(change())}
            </td>
            <td class="num pct" data-testid="change-pct">
                {move || quote.with(|q| format::change_pct(q.last, q.open))}
            </td>
            <td class="num range" data-testid="day-range">
                {move || quote.with(|q| format!("{}–{}", format::price(q.low), format::price(q.high)))}
            </td>
            <td class="spark"><Sparkline symbol=symbol.clone()/></td>
        </tr>
        <AlertFormRow symbol quote button=bell/>
    }
}
