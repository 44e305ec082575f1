//! SSE in the browser: an `EventSource` on `/api/sse`.
//!
//! A brand-new `EventSource` sends no `Last-Event-ID`, so each one we create carries the
//! last id as `?lastEventId=`. While the browser reconnects by itself it sends the header
//! with the newest id it has seen, which the server prefers. If the stream fails three
//! times in a row without delivering an event (e.g. a buffering proxy that never passes
//! anything on), the link falls back to long-polling: the modern form of the seed article's
//! polyfill advice.

use super::backoff::Timer;
use super::link::{Adapter, Callback, Link};
use super::poll::{Mode, PollAdapter};
use crate::ui::feed::{FeedEvent, TransportKind};
use crate::wire::http::{query, SSE_PATH};
use crate::wire::{self, sse::Frame, EventType};
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

/// The `EventSource` adapter.
#[derive(Default)]
pub struct SseAdapter {
    source: RefCell<Option<Connection>>,
    failures: Cell<u32>,
    /// An event arrived since the stream last opened.
    heard: Cell<bool>,
    silence: Timer,
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

impl Adapter for SseAdapter {
    fn kind(&self) -> TransportKind {
        TransportKind::Sse
    }

    fn open(self: Rc<Self>, link: &Link) {
        let url = match link.last_id() {
            Some(id) => format!("{SSE_PATH}?{}={id}", query::LAST_EVENT_ID),
            None => SSE_PATH.to_owned(),
        };
        link.report(FeedEvent::Request);
        let source = match EventSource::new(&url) {
            Ok(source) => source,
            Err(err) => {
                leptos::logging::warn!("cannot open {url}: {err:?}");
                return self.failed(link, true);
            }
        };
        let callback = Callback::new(&self, link);
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            callback.run(|this, link| this.opened(link));
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let callback = Callback::new(&self, link);
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            callback.run(|this, link| this.errored(link));
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let callback = Callback::new(&self, link);
        let on_event = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            callback.run(|this, link| this.received(link, &event));
        });
        for kind in EventType::ALL {
            // Fails only for an invalid listener; ours is a function.
            let _ = source
                .add_event_listener_with_callback(kind.as_str(), on_event.as_ref().unchecked_ref());
        }
        *self.source.borrow_mut() = Some(Connection {
            source,
            _on_open: on_open,
            _on_error: on_error,
            _on_event: on_event,
        });
    }

    fn close(&self) {
        self.silence.cancel();
        self.source.borrow_mut().take();
    }
}

impl SseAdapter {
    fn opened(self: &Rc<Self>, link: &Link) {
        self.heard.set(false);
        link.opened();
        // A stream that opens but says nothing is as broken as one that fails.
        let callback = Callback::new(self, link);
        self.silence.set(SILENCE_IS_FAILURE, move || {
            callback.run(|this, link| {
                if !this.heard.get() {
                    this.failed(link, true);
                }
            });
        });
    }

    fn errored(&self, link: &Link) {
        let failed_attempt = !self.heard.get();
        let gave_up = self
            .source
            .borrow()
            .as_ref()
            .is_none_or(|c| c.source.ready_state() == EventSource::CLOSED);
        if gave_up {
            return self.failed(link, failed_attempt);
        }
        // The browser retries by itself, after the server's `retry:`.
        self.heard.set(false);
        if failed_attempt {
            self.failures.set(self.failures.get() + 1);
        }
        link.retrying();
        if self.failures.get() >= FAILURES_BEFORE_FALLBACK {
            fall_back(link);
        }
    }

    /// The stream is gone and the browser will not retry: the link does, after a backoff,
    /// or falls back after too many failed attempts.
    fn failed(&self, link: &Link, failed_attempt: bool) {
        if failed_attempt {
            self.failures.set(self.failures.get() + 1);
        }
        if self.failures.get() >= FAILURES_BEFORE_FALLBACK {
            fall_back(link);
        } else {
            link.lost();
        }
    }

    fn received(&self, link: &Link, event: &MessageEvent) {
        let Some(data) = event.data().as_string() else {
            return;
        };
        let envelope = match wire::decode(&data) {
            Ok(envelope) => envelope,
            // A newer server may send types this page does not know yet.
            Err(wire::DecodeError::UnknownType(_)) => return,
            Err(err) => return leptos::logging::warn!("ignoring an event: {err}"),
        };
        // EventSource hands over fields, not bytes: rebuild the frame the server wrote.
        let Some(kind) = EventType::from_name(&event.type_()) else {
            return;
        };
        let mut frame = Frame::new();
        if let Some(id) = envelope.id {
            frame = frame.id(id);
        }
        let raw = frame.event(kind).data(&data).finish();
        self.heard.set(true);
        self.failures.set(0);
        link.report(FeedEvent::Bytes(raw.len()));
        link.received(envelope, raw);
    }
}

fn fall_back(link: &Link) {
    link.fall_back(Rc::new(PollAdapter::new(Mode::Long)));
}
