//! The HTML shell and the root component with its routes.
//!
//! Only the market (`/`) is in the WebAssembly every visitor downloads first. The lab, the
//! lessons and the connections page are lazy routes: the release build's split cuts each
//! into a module of its own, fetched when the route is first visited (and, on a page served
//! at that route, before it hydrates). The server renders all four the same way.

use super::connections::ConnectionsPage;
use super::lab::LabPage;
use super::lessons::LessonsPage;
use super::market_page::MarketPage;
use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, Meta, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, Lazy, LazyRoute, StaticSegment};

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
                // The stylesheet under its content-hashed name (src/server/assets.rs).
                <HashedStylesheet options=options.clone() id="leptos"/>
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
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="description" content="A live simulated stock market, streamed over Server-Sent Events"/>
        <Title text="tickstream — live market"/>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=StaticSegment("") view=MarketPage/>
                <Route path=StaticSegment("lab") view={Lazy::<LabRoute>::new()}/>
                <Route path=StaticSegment("lessons") view={Lazy::<LessonsRoute>::new()}/>
                <Route path=StaticSegment("connections") view={Lazy::<ConnectionsRoute>::new()}/>
            </Routes>
        </Router>
    }
}

/// `/lab`, loaded on first visit.
struct LabRoute;

#[lazy_route]
impl LazyRoute for LabRoute {
    fn data() -> Self {
        LabRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <LabPage/> }.into_any()
    }
}

/// `/lessons`, loaded on first visit.
struct LessonsRoute;

#[lazy_route]
impl LazyRoute for LessonsRoute {
    fn data() -> Self {
        LessonsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <LessonsPage/> }.into_any()
    }
}

/// `/connections`, loaded on first visit.
struct ConnectionsRoute;

#[lazy_route]
impl LazyRoute for ConnectionsRoute {
    fn data() -> Self {
        ConnectionsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <ConnectionsPage/> }.into_any()
    }
}
