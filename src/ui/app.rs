//! The HTML shell and the root component with its routes.

use super::connections::ConnectionsPage;
use super::lab::LabPage;
use super::lessons::LessonsPage;
use super::market_page::MarketPage;
use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::StaticSegment;

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // Before anything paints: the theme the user chose last time. The nonce is
                // the one the page's Content-Security-Policy names (src/server/headers.rs).
                <script nonce=use_nonce() inner_html=super::theme::APPLY_STORED_THEME></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/tickstream.css"/>
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="description" content="A live simulated stock market, streamed over Server-Sent Events"/>
        <Title text="tickstream — live market"/>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=StaticSegment("") view=MarketPage/>
                <Route path=StaticSegment("lab") view=LabPage/>
                <Route path=StaticSegment("lessons") view=LessonsPage/>
                <Route path=StaticSegment("connections") view=ConnectionsPage/>
            </Routes>
        </Router>
    }
}
