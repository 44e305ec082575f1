//! The browser side of the transports (feature `hydrate`). The only module that touches
//! `EventSource` and friends; it turns what arrives into [`wire`](crate::wire) envelopes and
//! hands them to the UI's store through the [`LiveFeed`] seam.
//!
//! The browser is single-threaded, so the one live connection is kept in a thread-local:
//! starting a new one drops (and so closes) the old.

pub mod sse;

use crate::ui::feed::{ConnectionState, LiveFeed};
use leptos::prelude::Set;
use std::cell::RefCell;

thread_local! {
    static CURRENT: RefCell<Option<sse::SseConnection>> = const { RefCell::new(None) };
}

/// The feed the page starts once it is hydrated: SSE, resuming from the page's snapshot.
pub fn live_feed() -> LiveFeed {
    LiveFeed::new(|store| match sse::SseConnection::open(store) {
        Ok(connection) => CURRENT.with(|current| {
            current.replace(Some(connection));
        }),
        Err(err) => {
            leptos::logging::error!("cannot open the event stream: {err:?}");
            store.connection.set(ConnectionState::Closed);
        }
    })
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
