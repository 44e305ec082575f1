//! WebSocket in the browser: one socket on `/api/ws`, reopened after a loss with
//! `?lastEventId=` so the server replays what was missed. Unlike `EventSource`, a WebSocket
//! never reconnects by itself: the [`Link`] does, with backoff and jitter.

use super::link::{Adapter, Callback, Link};
use super::websocket_origin;
use crate::ui::feed::{FeedEvent, TransportKind};
use crate::wire::http::{query, WS_PATH};
use crate::wire::{self, control::ServerMessage};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// The `WebSocket` adapter.
#[derive(Default)]
pub struct WsAdapter {
    socket: RefCell<Option<Connection>>,
}

/// A socket with its callbacks; dropping it closes the socket.
struct Connection {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Stop hearing about this socket before closing it, so its close event cannot
        // schedule a reconnect.
        self.socket.set_onclose(None);
        self.socket.set_onmessage(None);
        let _ = self.socket.close();
    }
}

impl Adapter for WsAdapter {
    fn kind(&self) -> TransportKind {
        TransportKind::Ws
    }

    fn open(self: Rc<Self>, link: &Link) {
        let Some(origin) = websocket_origin() else {
            return;
        };
        let resume: Vec<_> = link
            .last_id()
            .map(|id| (query::LAST_EVENT_ID, id.to_string()))
            .into_iter()
            .collect();
        let url = format!("{origin}{}", link.stream_url(WS_PATH, &resume));
        link.report(FeedEvent::Request); // the upgrade handshake
        let socket = match WebSocket::new(&url) {
            Ok(socket) => socket,
            Err(err) => {
                leptos::logging::warn!("cannot open {url}: {err:?}");
                return link.lost();
            }
        };
        let callback = Callback::new(&self, link);
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            callback.run(|_, link| {
                link.heard();
                link.opened();
            });
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let callback = Callback::new(&self, link);
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            callback.run(|_, link| link.lost());
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let callback = Callback::new(&self, link);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                callback.run(|_, link| received(link, text));
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        *self.socket.borrow_mut() = Some(Connection {
            socket,
            _on_open: on_open,
            _on_close: on_close,
            _on_message: on_message,
        });
    }

    fn close(&self) {
        self.socket.borrow_mut().take();
    }
}

/// One text message: an event envelope, or a control reply (`pong`, `subscribed`, `error`).
fn received(link: &Link, text: String) {
    link.report(FeedEvent::Bytes(text.len()));
    match wire::decode(&text) {
        Ok(envelope) => {
            link.received(envelope, text);
        }
        Err(_) if ServerMessage::decode(&text).is_some() => {
            link.report(FeedEvent::Control { raw: text });
        }
        Err(err) => leptos::logging::warn!("ignoring a message: {err}"),
    }
}
