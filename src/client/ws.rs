//! WebSocket in the browser: one socket on `/api/ws`, reopened after a loss with
//! `?lastEventId=` so the server replays what was missed. Unlike `EventSource`, a WebSocket
//! never reconnects by itself: this adapter does, with backoff and jitter.

use super::backoff::{Backoff, Timer};
use super::{ask_server_to_drop, now_ms, websocket_origin};
use crate::ui::feed::{ConnectionState, FeedControl, FeedEvent};
use crate::wire::{self, control::ServerMessage, EventId};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

pub struct WsFeed(Rc<Inner>);

struct Inner {
    on: Rc<dyn Fn(FeedEvent)>,
    last_id: Cell<Option<EventId>>,
    name: RefCell<Option<String>>,
    socket: RefCell<Option<Connection>>,
    backoff: RefCell<Backoff>,
    lost: Cell<bool>,
    stopped: Cell<bool>,
    timer: Timer,
}

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

impl WsFeed {
    pub fn start(last_id: Option<EventId>, on: Rc<dyn Fn(FeedEvent)>) -> WsFeed {
        let inner = Rc::new(Inner {
            on,
            last_id: Cell::new(last_id),
            name: RefCell::new(None),
            socket: RefCell::new(None),
            backoff: RefCell::new(Backoff::default()),
            lost: Cell::new(false),
            stopped: Cell::new(false),
            timer: Timer::default(),
        });
        (inner.on)(FeedEvent::State(ConnectionState::Connecting));
        Inner::connect(&inner);
        WsFeed(inner)
    }
}

impl FeedControl for WsFeed {
    fn close(&self) {
        self.0.stopped.set(true);
        self.0.timer.cancel();
        self.0.socket.borrow_mut().take();
        (self.0.on)(FeedEvent::State(ConnectionState::Closed));
    }

    fn kill(&self) {
        self.0.socket.borrow_mut().take();
        Inner::lost(&self.0);
    }

    fn drop_by_server(&self) {
        if let Some(name) = self.0.name.borrow().as_deref() {
            ask_server_to_drop(name);
        }
    }
}

impl Inner {
    fn connect(this: &Rc<Inner>) {
        if this.stopped.get() {
            return;
        }
        let Some(origin) = websocket_origin() else {
            return;
        };
        let url = match this.last_id.get() {
            Some(id) => format!("{origin}/api/ws?lastEventId={id}"),
            None => format!("{origin}/api/ws"),
        };
        (this.on)(FeedEvent::Request); // the upgrade handshake
        let socket = match WebSocket::new(&url) {
            Ok(socket) => socket,
            Err(err) => {
                leptos::logging::warn!("cannot open {url}: {err:?}");
                return Inner::lost(this);
            }
        };
        let weak = Rc::downgrade(this);
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(this) = weak.upgrade() {
                this.backoff.borrow_mut().reset();
                (this.on)(FeedEvent::State(ConnectionState::Open));
                if this.lost.replace(false) {
                    (this.on)(FeedEvent::Reconnected);
                }
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let weak = Rc::downgrade(this);
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            if let Some(this) = weak.upgrade() {
                this.socket.borrow_mut().take();
                Inner::lost(&this);
            }
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let weak = Rc::downgrade(this);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let (Some(this), Some(text)) = (weak.upgrade(), event.data().as_string()) {
                this.received(text);
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        *this.socket.borrow_mut() = Some(Connection {
            socket,
            _on_open: on_open,
            _on_close: on_close,
            _on_message: on_message,
        });
    }

    fn lost(this: &Rc<Inner>) {
        if this.stopped.get() {
            return;
        }
        this.lost.set(true);
        (this.on)(FeedEvent::State(ConnectionState::Reconnecting));
        let delay = this.backoff.borrow_mut().next_delay();
        let weak = Rc::downgrade(this);
        this.timer
            .set(Duration::from_millis(u64::from(delay)), move || {
                if let Some(this) = weak.upgrade() {
                    Inner::connect(&this);
                }
            });
    }

    fn received(&self, text: String) {
        (self.on)(FeedEvent::Bytes(text.len()));
        match wire::decode(&text) {
            Ok(envelope) => {
                if let Some(id) = envelope.id {
                    self.last_id.set(Some(id));
                }
                if let wire::Payload::Hello(hello) = &envelope.payload {
                    *self.name.borrow_mut() = Some(hello.connection.clone());
                    (self.on)(FeedEvent::Named(hello.connection.clone()));
                }
                (self.on)(FeedEvent::Message {
                    envelope,
                    raw: text,
                    received_at: now_ms(),
                });
            }
            Err(_) if ServerMessage::decode(&text).is_some() => {
                (self.on)(FeedEvent::Control { raw: text });
            }
            Err(err) => leptos::logging::warn!("ignoring a message: {err}"),
        }
    }
}
