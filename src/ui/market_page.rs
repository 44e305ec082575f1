//! `/`: the market page. The server renders it from the current snapshot, so the first
//! paint already has real prices; in the browser the same snapshot is read back from the
//! page (not fetched again) and the live feed continues from its event id, over the
//! transport named in the URL (`?transport=ws`, SSE by default), on a stream of its own or,
//! with `?share=1`, on one stream shared by the browser's tabs.

use super::alerts::panel::AlertsPanel;
use super::alerts::toasts::AlertToasts;
use super::announcement::AnnouncementBanner;
use super::chart::Chart;
use super::feed::{FeedHandle, FeedRequest, LiveFeed, TransportKind};
use super::instructor::InstructorPanel;
use super::masthead::Masthead;
use super::news_feed::NewsFeed;
use super::session_banner::SessionBanner;
use super::status_bar::StatusBar;
use super::store::MarketStore;
use super::watchlist::Watchlist;
use crate::wire::http::query;
use crate::wire::Snapshot;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::rc::Rc;

#[component]
pub fn MarketPage() -> impl IntoView {
    // On the server: the snapshot the router provided, serialized into the page. In the
    // browser during hydration: that serialized value, so both render the same thing.
    let snapshot = SharedValue::new(use_context::<Snapshot>).into_inner();
    let store = MarketStore::new(snapshot);
    provide_context(store);
    // The alerts' own components reach the book alone, never the rest of the store.
    provide_context(store.alerts);
    let query = use_query_map();
    let chosen = move || {
        query
            .read()
            .get(query::TRANSPORT)
            .and_then(|name| TransportKind::from_name(&name))
            .unwrap_or_default()
    };
    let shared = move || query.read().get(query::SHARE).as_deref() == Some("1");
    store.transport.set(chosen());
    store.active.set(chosen());
    store.share.set(shared());
    if let Some(feed) = use_context::<LiveFeed>() {
        // Effects run only in the browser, after hydration. A new choice in the URL closes
        // the old connection (dropping its handle) and opens the new one where it left off.
        let running = StoredValue::new_local(None::<FeedHandle>);
        Effect::new(move || {
            let (kind, shared) = (chosen(), shared());
            running.set_value(None);
            store.transport.set(kind);
            store.active.set(kind);
            store.share.set(shared);
            store.share_role.set(None);
            let on = Rc::new(move |event| store.on_feed(event));
            let request = FeedRequest {
                kind,
                last_id: store.last_id.get_untracked(),
                metered: false,
                shared,
            };
            let handle = feed.start(request, on);
            running.set_value(Some(handle));
        });
    }
    view! {
        <div class="page">
            <Masthead
                path="/"
                title="tickstream"
                tagline="A simulated market, live over Server-Sent Events"
            />
            <StatusBar/>
            <SessionBanner/>
            <AnnouncementBanner/>
            <main class="market">
                <Watchlist/>
                <AlertsPanel/>
                <Chart/>
                <NewsFeed/>
            </main>
            <InstructorPanel/>
            <AlertToasts/>
        </div>
    }
}
