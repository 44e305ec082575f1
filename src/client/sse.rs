//! SSE in the browser: an `EventSource` on `/api/sse`.
//!
//! A brand-new `EventSource` sends no `Last-Event-ID`, so the first one (and any we create
//! after the browser gives up) carries the last id as `?lastEventId=`. While the browser
//! reconnects by itself it sends the header with the newest id it has seen, which the
//! server prefers. If the stream fails three times in a row without delivering an event
//! (e.g. a buffering proxy that never passes anything on), it falls back to long-polling:
//! the modern form of the seed article's polyfill advice.

use super::backoff::{Backoff, Timer};
use super::{ask_server_to_drop, now_ms, poll};
use crate::ui::feed::{ConnectionState, FeedControl, FeedEvent, FeedHandle, TransportKind};
use crate::wire::{self, sse::Frame, EventId, EventType};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, MessageEvent};

/// Failures in a row (with no event in between) before falling back to long-polling.
const FAILURES_BEFORE_FALLBACK: u32 = 3;
/// An open stream that delivers nothing this long is failing (the server sends its
/// `hello` and `snapshot` at once).
const SILENCE_IS_FAILURE: Duration = Duration::from_secs(10);

pub struct SseFeed(Rc<Inner>);

struct Inner {
    on: Rc<dyn Fn(FeedEvent)>,
    last_id: Cell<Option<EventId>>,
    name: RefCell<Option<String>>,
    source: RefCell<Option<Connection>>,
    backoff: RefCell<Backoff>,
    failures: Cell<u32>,
    /// An event arrived since the stream last opened.
    heard: Cell<bool>,
    /// The connection was lost at least once since it last opened.
    lost: Cell<bool>,
    stopped: Cell<bool>,
    timer: Timer,
    fallback: RefCell<Option<FeedHandle>>,
}

/// An `EventSource` with its callbacks; dropping it closes the stream.
struct Connection {
    source: EventSource,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
    _on_event: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.close();
    }
}

impl SseFeed {
    pub fn start(last_id: Option<EventId>, on: Rc<dyn Fn(FeedEvent)>) -> SseFeed {
        let inner = Rc::new(Inner {
            on,
            last_id: Cell::new(last_id),
            name: RefCell::new(None),
            source: RefCell::new(None),
            backoff: RefCell::new(Backoff::default()),
            failures: Cell::new(0),
            heard: Cell::new(false),
            lost: Cell::new(false),
            stopped: Cell::new(false),
            timer: Timer::default(),
            fallback: RefCell::new(None),
        });
        (inner.on)(FeedEvent::State(ConnectionState::Connecting));
        Inner::connect(&inner);
        SseFeed(inner)
    }
}

impl FeedControl for SseFeed {
    fn close(&self) {
        self.0.stopped.set(true);
        self.0.timer.cancel();
        self.0.source.borrow_mut().take();
        self.0.fallback.borrow_mut().take();
        (self.0.on)(FeedEvent::State(ConnectionState::Closed));
    }

    fn kill(&self) {
        if let Some(fallback) = self.0.fallback.borrow().as_ref() {
            return fallback.kill();
        }
        // Closing the EventSource ends it for good, so we reconnect as the browser would.
        self.0.source.borrow_mut().take();
        Inner::lost(&self.0, false);
    }

    fn drop_by_server(&self) {
        if let Some(fallback) = self.0.fallback.borrow().as_ref() {
            return fallback.drop_by_server();
        }
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
        let url = match this.last_id.get() {
            Some(id) => format!("/api/sse?lastEventId={id}"),
            None => "/api/sse".to_owned(),
        };
        (this.on)(FeedEvent::Request);
        let source = match EventSource::new(&url) {
            Ok(source) => source,
            Err(err) => {
                leptos::logging::warn!("cannot open {url}: {err:?}");
                return Inner::lost(this, true);
            }
        };
        let weak = Rc::downgrade(this);
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(this) = weak.upgrade() {
                this.opened();
            }
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let weak = Rc::downgrade(this);
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(this) = weak.upgrade() {
                Inner::errored(&this);
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let weak = Rc::downgrade(this);
        let on_event = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(this) = weak.upgrade() {
                this.received(&event);
            }
        });
        for kind in EventType::ALL {
            // Fails only for an invalid listener; ours is a function.
            let _ = source
                .add_event_listener_with_callback(kind.as_str(), on_event.as_ref().unchecked_ref());
        }
        *this.source.borrow_mut() = Some(Connection {
            source,
            _on_open: on_open,
            _on_error: on_error,
            _on_event: on_event,
        });
    }

    fn opened(self: &Rc<Self>) {
        self.heard.set(false);
        (self.on)(FeedEvent::State(ConnectionState::Open));
        if self.lost.replace(false) {
            (self.on)(FeedEvent::Reconnected);
        }
        // A stream that opens but says nothing is as broken as one that fails.
        let weak = Rc::downgrade(self);
        self.timer.set(SILENCE_IS_FAILURE, move || {
            if let Some(this) = weak.upgrade() {
                if !this.heard.get() {
                    this.source.borrow_mut().take();
                    Inner::lost(&this, true);
                }
            }
        });
    }

    fn errored(this: &Rc<Inner>) {
        let failed_attempt = !this.heard.get();
        let gave_up = this
            .source
            .borrow()
            .as_ref()
            .is_none_or(|c| c.source.ready_state() == EventSource::CLOSED);
        if gave_up {
            this.source.borrow_mut().take();
            return Inner::lost(this, failed_attempt);
        }
        // The browser retries by itself, after the server's `retry:`.
        this.lost.set(true);
        this.heard.set(false);
        if failed_attempt {
            this.failures.set(this.failures.get() + 1);
        }
        (this.on)(FeedEvent::Request);
        (this.on)(FeedEvent::State(ConnectionState::Reconnecting));
        if this.failures.get() >= FAILURES_BEFORE_FALLBACK {
            this.source.borrow_mut().take();
            Inner::fall_back(this);
        }
    }

    /// The stream is gone and the browser will not retry: we do, after a backoff.
    fn lost(this: &Rc<Inner>, failed_attempt: bool) {
        if this.stopped.get() {
            return;
        }
        this.lost.set(true);
        if failed_attempt {
            this.failures.set(this.failures.get() + 1);
        }
        if this.failures.get() >= FAILURES_BEFORE_FALLBACK {
            return Inner::fall_back(this);
        }
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

    fn fall_back(this: &Rc<Inner>) {
        this.timer.cancel();
        (this.on)(FeedEvent::FellBack(TransportKind::LongPoll));
        let handle = FeedHandle::new(poll::PollFeed::start(
            poll::Mode::Long,
            this.last_id.get(),
            this.on.clone(),
        ));
        *this.fallback.borrow_mut() = Some(handle);
    }

    fn received(&self, event: &MessageEvent) {
        let Some(data) = event.data().as_string() else {
            return;
        };
        let kind = event.type_();
        let envelope = match wire::decode(&data) {
            Ok(envelope) => envelope,
            // A newer server may send types this page does not know yet.
            Err(wire::DecodeError::UnknownType(_)) => return,
            Err(err) => return leptos::logging::warn!("ignoring an event: {err}"),
        };
        // EventSource hands over fields, not bytes: rebuild the frame the server wrote.
        let mut frame = Frame::new();
        if let Some(id) = envelope.id {
            frame = frame.id(id);
        }
        let raw = match EventType::from_name(&kind) {
            Some(kind) => frame.event(kind).data(&data).finish(),
            None => return,
        };
        self.heard.set(true);
        self.failures.set(0);
        self.backoff.borrow_mut().reset();
        if let Some(id) = envelope.id {
            self.last_id.set(Some(id));
        }
        if let wire::Payload::Hello(hello) = &envelope.payload {
            *self.name.borrow_mut() = Some(hello.connection.clone());
            (self.on)(FeedEvent::Named(hello.connection.clone()));
        }
        (self.on)(FeedEvent::Bytes(raw.len()));
        (self.on)(FeedEvent::Message {
            envelope,
            raw,
            received_at: now_ms(),
        });
    }
}
