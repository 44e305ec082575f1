//! The SSE transport in the browser: one `EventSource` on `/api/sse`.
//!
//! It first connects with `?lastEventId=` set to the id of the snapshot the page was
//! rendered from, because a brand-new `EventSource` sends no `Last-Event-ID` header; the
//! server then replays exactly what happened since the page was rendered. After that the
//! browser reconnects by itself, sending the header with the newest id it has seen, which
//! the server prefers over the query parameter.

use crate::ui::feed::ConnectionState;
use crate::ui::store::MarketStore;
use crate::wire::{self, DecodeError, EventType};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, EventSource, MessageEvent};

/// An open `EventSource` and the callbacks it calls. Dropping it closes the stream.
pub struct SseConnection {
    source: EventSource,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
    _on_event: Closure<dyn FnMut(MessageEvent)>,
}

impl SseConnection {
    pub fn open(store: MarketStore) -> Result<SseConnection, JsValue> {
        let url = match store.last_id.get_untracked() {
            Some(id) => format!("/api/sse?lastEventId={id}"),
            None => "/api/sse".to_owned(),
        };
        let source = EventSource::new(&url)?;
        store.connection.set(ConnectionState::Connecting);

        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            store.connection.set(ConnectionState::Open);
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));

        let watched = source.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            // CONNECTING after an error means the browser is retrying by itself.
            let state = if watched.ready_state() == EventSource::CLOSED {
                ConnectionState::Closed
            } else {
                ConnectionState::Reconnecting
            };
            store.connection.set(state);
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        let on_event = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match wire::decode(&text) {
                Ok(envelope) => store.apply(envelope),
                // A newer server may send types this page does not know yet.
                Err(DecodeError::UnknownType(_)) => {}
                Err(err) => leptos::logging::warn!("ignoring an event: {err}"),
            }
        });
        for kind in EventType::ALL {
            source.add_event_listener_with_callback(
                kind.as_str(),
                on_event.as_ref().unchecked_ref(),
            )?;
        }

        Ok(SseConnection {
            source,
            _on_open: on_open,
            _on_error: on_error,
            _on_event: on_event,
        })
    }
}

impl Drop for SseConnection {
    fn drop(&mut self) {
        self.source.close();
    }
}
