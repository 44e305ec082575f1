//! The browser side of the transports (feature `hydrate`): the only module that touches
//! `EventSource`, `WebSocket` and `fetch`. Each adapter turns what arrives into
//! [`FeedEvent`]s for the UI, remembers the last event id, and after a loss reconnects
//! with exponential backoff and jitter, resuming from that id.
//!
//! | transport | resumes by | reconnects |
//! |---|---|---|
//! | SSE ([`sse`]) | `Last-Event-ID` (browser), `?lastEventId=` (new `EventSource`) | the browser itself, or us when it gives up |
//! | WebSocket ([`ws`]) | `?lastEventId=` on the new socket | us |
//! | long/short poll ([`poll`]) | `?after=` on every request | every request is a new one |

pub mod admin;
mod backoff;
pub mod poll;
pub mod sse;
pub mod ws;

use crate::ui::feed::{FeedEvent, FeedHandle, LiveFeed, TransportKind};
use crate::wire::EventId;
use std::rc::Rc;

/// The transports as the UI gets them.
pub fn live_feed() -> LiveFeed {
    LiveFeed(start)
}

fn start(kind: TransportKind, last_id: Option<EventId>, on: Rc<dyn Fn(FeedEvent)>) -> FeedHandle {
    match kind {
        TransportKind::Sse => FeedHandle::new(sse::SseFeed::start(last_id, on)),
        TransportKind::Ws => FeedHandle::new(ws::WsFeed::start(last_id, on)),
        TransportKind::LongPoll => {
            FeedHandle::new(poll::PollFeed::start(poll::Mode::Long, last_id, on))
        }
        TransportKind::ShortPoll => {
            FeedHandle::new(poll::PollFeed::start(poll::Mode::Short, last_id, on))
        }
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
    let url = format!("/api/connections/{name}");
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
