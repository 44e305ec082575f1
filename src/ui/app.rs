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

/// The `<meta>` that tells the browser client how long a hidden tab keeps its stream.
pub const HIDDEN_GRACE_META: &str = "tickstream-hidden-grace-ms";

/// How the server wants its browser clients to behave, rendered into every page's head (the
/// server provides it as context while it renders a page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    /// How long a hidden tab keeps its stream before it closes it (`--hidden-grace-secs`).
    pub hidden_grace_ms: u64,
}

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let policy = use_context::<ClientPolicy>().map(|policy| {
        view! { <meta name=HIDDEN_GRACE_META content=policy.hidden_grace_ms.to_string()/> }
    });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                {policy}
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
