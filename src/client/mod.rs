//! The browser side of the transports (feature `hydrate`): the only module that touches
//! `EventSource`, `WebSocket` and `fetch`.
//!
//! Every transport is a [`link::Link`] — the reconnect core: connection state, last event
//! id, the connection's name, backoff with jitter, kill and fallback — driving one
//! [`link::Adapter`] that knows how to open a connection of its kind and turn what arrives
//! into [`FeedEvent`]s for the UI.
//!
//! | transport | resumes by | reconnects |
//! |---|---|---|
//! | SSE ([`sse`]) | `Last-Event-ID` (browser), `?lastEventId=` (new `EventSource`) | the browser itself, or the link when it gives up |
//! | fetch-SSE ([`fetch`]) | `Last-Event-ID` as a real header | the link |
//! | WebSocket ([`ws`]) | `?lastEventId=` on the new socket | the link |
//! | long/short poll ([`poll`]) | `?after=` on every request | every request is a new one |
//!
//! With `?share=1` ([`share`]) the tabs of one origin share one link: the tab holding a Web
//! Lock carries it and hands its events to the others over a `BroadcastChannel`.
//!
//! SSE and polling are in the WebAssembly every page downloads first; fetch-SSE, WebSocket
//! and sharing come in a module of their own the first time a page asks for one
//! ([`deferred`]).

pub mod admin;
pub mod alerts;
mod backoff;
pub mod clock;
pub mod connections;
mod deferred;
pub mod event_stream;
pub mod explain;
pub mod fetch;
pub mod lesson;
pub mod lifecycle;
pub mod link;
pub mod poll;
pub mod share;
pub mod sse;
pub mod ws;

use crate::ui::feed::{FeedEvent, FeedHandle, FeedRequest, LiveFeed, TransportKind};
use crate::wire::http::CONNECTIONS_PATH;
use link::{Adapter, Link};
use std::rc::Rc;

/// The transports as the UI gets them.
pub fn live_feed() -> LiveFeed {
    LiveFeed(start)
}

fn start(request: FeedRequest, on: Rc<dyn Fn(FeedEvent)>) -> FeedHandle {
    match first_load_adapter(request.kind) {
        Some(adapter) if !request.shared => FeedHandle::new(Link::start(adapter, request, on)),
        _ => deferred::start(request, on),
    }
}

/// A fresh adapter of `kind`, if its code is in the first download ([`deferred`]).
fn first_load_adapter(kind: TransportKind) -> Option<Rc<dyn Adapter>> {
    match kind {
        TransportKind::Sse => Some(Rc::new(sse::SseAdapter::default())),
        TransportKind::LongPoll => Some(Rc::new(poll::PollAdapter::new(poll::Mode::Long))),
        TransportKind::ShortPoll => Some(Rc::new(poll::PollAdapter::new(poll::Mode::Short))),
        TransportKind::Fetch | TransportKind::Ws => None,
    }
}

/// A fresh adapter of `kind`. Only code in the [`deferred`] module calls it, so the
/// transports it names travel with that module.
fn make_adapter(kind: TransportKind) -> Rc<dyn Adapter> {
    match kind {
        TransportKind::Sse => Rc::new(sse::SseAdapter::default()),
        TransportKind::Fetch => Rc::new(fetch::FetchAdapter::default()),
        TransportKind::Ws => Rc::new(ws::WsAdapter::default()),
        TransportKind::LongPoll => Rc::new(poll::PollAdapter::new(poll::Mode::Long)),
        TransportKind::ShortPoll => Rc::new(poll::PollAdapter::new(poll::Mode::Short)),
    }
}

/// Marks `<body data-hydrated="true">`: from now on, clicks reach the app.
pub fn mark_hydrated() {
    let body = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.body());
    if let Some(body) = body {
        // Only fails for an invalid attribute name, and this one is valid.
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

/// Milliseconds since the Unix epoch, as the browser's clock says.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Asks the server to drop the connection it named `name` (the lab's "server drop").
pub fn ask_server_to_drop(name: &str) {
    let url = format!("{CONNECTIONS_PATH}/{name}");
    leptos::task::spawn_local(async move {
        let request = gloo_net::http::Request::delete(&url).send().await;
        if let Err(err) = request {
            leptos::logging::warn!("could not ask the server to drop {url}: {err}");
        }
    });
}

/// The page's origin for WebSocket URLs: `ws://host` or `wss://host`.
fn websocket_origin() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}", location.host().ok()?))
}
