//! `/`: the market page. The server renders it from the current snapshot, so the first
//! paint already has real prices; in the browser the same snapshot is read back from the
//! page (not fetched again) and the live feed continues from its event id.

use super::feed::LiveFeed;
use super::status_bar::StatusBar;
use super::store::MarketStore;
use super::watchlist::Watchlist;
use crate::wire::Snapshot;
use leptos::prelude::*;

#[component]
pub fn MarketPage() -> impl IntoView {
    // On the server: the snapshot the router provided, serialized into the page. In the
    // browser during hydration: that serialized value, so both render the same thing.
    let snapshot = SharedValue::new(use_context::<Snapshot>).into_inner();
    let store = MarketStore::new(snapshot);
    provide_context(store);
    if let Some(feed) = use_context::<LiveFeed>() {
        // Effects run only in the browser, after hydration.
        Effect::new(move || feed.start(store));
    }
    view! {
        <div class="page">
            <header class="masthead">
                <h1 class="brand">"tickstream"</h1>
                <p class="tagline">"A simulated market, live over Server-Sent Events"</p>
            </header>
            <StatusBar/>
            <main class="market">
                <Watchlist/>
            </main>
        </div>
    }
}
