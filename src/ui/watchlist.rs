//! The watchlist: one row per symbol with last price, change and percent change from the
//! open. A row re-renders only when its own quote changes.

use super::format;
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
                        <th scope="col" class="name">"Name"</th>
                        <th scope="col" class="num">"Last"</th>
                        <th scope="col" class="num">"Change"</th>
                        <th scope="col" class="num">"%"</th>
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
    let quote = row.quote;
    let change = move || quote.with(|q| q.last - q.open);
    let direction = move || format::direction(change());
    view! {
        <tr data-testid=format!("watchlist-row-{}", row.symbol) data-direction=direction>
            <th scope="row" class="symbol">{row.symbol.clone()}</th>
            <td class="name">{row.name.clone()}</td>
            <td class="num last" data-testid="last">{move || format::price(quote.with(|q| q.last))}</td>
            <td class="num change" data-testid="change">
                <span aria-hidden="true">{move || format::arrow(change())}" "</span>
                {move || format::change(change())}
            </td>
            <td class="num pct" data-testid="change-pct">
                {move || quote.with(|q| format::change_pct(q.last, q.open))}
            </td>
        </tr>
    }
}
