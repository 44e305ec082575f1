//! tickstream: a simulated stock market streamed to the browser over Server-Sent Events,
//! with WebSocket and polling carrying the same stream for comparison.
//!
//! Crate map (one crate, built twice — by `xtask build` for release, by cargo-leptos for
//! `make dev` — `ssr` for the server binary, `hydrate` for the browser's WebAssembly):
//!
//! | module | built for | what it is | invariant |
//! |---|---|---|---|
//! | [`wire`] | both | the envelope, event ids, payloads, SSE framing, admin and error bodies, paths and query names | the only place that spells a field name, an event name or a word of a closed set |
//! | `market` | server | the pure market simulator | no wall clock, no I/O, no global RNG: same seed, same events |
//! | `server` | server | driver, hub, bus, transports, routes, start-up, shutdown | only `server::clock` reads the wall clock; only `server::translate` turns market values into wire values; streams end on shutdown |
//! | [`ui`] | both | Leptos components, the reactive market store | never knows which transport is live |
//! | `client` | browser | the transports as the browser speaks them, around one reconnect core | the only module that touches EventSource and friends |

// Leptos views are deeply nested types; the browser build's release profile needs room.
#![recursion_limit = "256"]

pub mod ui;
#[warn(missing_docs)]
pub mod wire;

#[cfg(feature = "hydrate")]
pub mod client;
#[cfg(feature = "ssr")]
#[warn(missing_docs)]
pub mod market;
#[cfg(feature = "ssr")]
#[warn(missing_docs)]
pub mod server;

/// The browser's entry point: attaches the server-rendered page to the reactive app, starts
/// the live feed, then marks `<body data-hydrated>` so tests know clicks will land.
///
/// Hydration is asynchronous: a page served at a lazy route (src/ui/app.rs) waits for its
/// route's module before it can attach, so the mark comes when hydration has finished.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("a served page has a body");
        let owner = leptos::mount::hydrate_from_async(body, app).await;
        // The app lives as long as the page.
        owner.forget();
        client::mark_hydrated();
    });
}

/// The app with the browser's services provided: the live feed, the admin, explain, lesson
/// and connection-lab APIs, and the price alerts' storage and notifications.
#[cfg(feature = "hydrate")]
fn app() -> impl leptos::prelude::IntoView {
    leptos::prelude::provide_context(client::live_feed());
    leptos::prelude::provide_context(client::admin::admin_api());
    leptos::prelude::provide_context(client::explain::explain_api());
    leptos::prelude::provide_context(client::lesson::listener_lesson());
    leptos::prelude::provide_context(client::connections::connection_lab());
    leptos::prelude::provide_context(client::alerts::alerts_api());
    leptos::prelude::view! { <ui::App/> }
}
