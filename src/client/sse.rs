//! SSE in the browser: an `EventSource` on `/api/sse`.
//!
//! A brand-new `EventSource` sends no `Last-Event-ID`, so each one we create carries the
//! last id as `?lastEventId=`. While the browser reconnects by itself it sends the header
//! with the newest id it has seen, which the server prefers.
//!
//! The link falls back to long-polling — the modern form of the seed article's polyfill
//! advice: SSE needs no fallback protocol on the server, only a client that notices — when
//! the stream does not open within [`OPEN_TIMEOUT`] (a buffering proxy that holds the
//! response back, headers and all), when it opens but says nothing for
//! [`SILENCE_IS_FAILURE`], or when it fails three times in a row without delivering an
//! event. A stream the server refuses for now (`refused`, then the end) is none of these:
//! it is shown `reconnecting`, and the browser comes back after the server's `retry:`. A
//! stream is shown open at its first event, not when its response begins.

use super::backoff::Timer;
use super::link::{Adapter, Callback, Link};
use super::poll::{Mode, PollAdapter};
use crate::ui::feed::{FeedEvent, TransportKind};
use crate::wire::custom::ANNOUNCEMENT;
use crate::wire::http::{query, SSE_PATH};
use crate::wire::sse::{Frame, REFUSED_EVENT};
use crate::wire::{self, EventType};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, MessageEvent};

/// Failures in a row (with no event in between) before falling back to long-polling.
const FAILURES_BEFORE_FALLBACK: u32 = 3;
/// A stream that has not opened this long after it was asked for is held back somewhere:
/// fall back at once. (The server answers a stream's headers at once.)
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// An open stream that delivers nothing this long is failing (the server sends its
/// `hello` and `snapshot` at once).
const SILENCE_IS_FAILURE: Duration = Duration::from_secs(10);

/// The `EventSource` adapter.
#[derive(Default)]
pub struct SseAdapter {
    source: RefCell<Option<Connection>>,
    failures: Cell<u32>,
    /// The stream opened since it was last asked for.
    opened: Cell<bool>,
    /// An event arrived since the stream last opened: only then is it shown open (a
    /// refused stream opens too, says `refused` and ends).
    heard: Cell<bool>,
    /// The server turned the last attempt away for now (a `refused` event): its end is a
    /// wait, not a failure of the transport.
    refused: Cell<bool>,
    /// Fires when the stream has not opened, or not spoken, in time.
    watchdog: Timer,
}

/// An `EventSource` with its callbacks; dropping it closes the stream.
struct Connection {
    source: EventSource,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_error: Closure<dyn FnMut(Event)>,
    _on_event: Closure<dyn FnMut(MessageEvent)>,
    _on_refused: Closure<dyn FnMut(MessageEvent)>,
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
        let resume: Vec<_> = link
            .last_id()
            .map(|id| (query::LAST_EVENT_ID, id.to_string()))
            .into_iter()
            .collect();
        let url = link.stream_url(SSE_PATH, &resume);
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
        // An EventSource hears only the event names it listens for: the built-in types and
        // the published events this page shows. (Other published events reach the
        // WebSocket, polling and fetch transports, which take every envelope.)
        let names = EventType::ALL.iter().map(|kind| kind.as_str());
        for name in names.chain([ANNOUNCEMENT]) {
            // Fails only for an invalid listener; ours is a function.
            let _ =
                source.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
        }
        // Turned away for want of room: the browser comes back after the `retry:` it said.
        let callback = Callback::new(&self, link);
        let on_refused = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
            callback.run(|this, _| this.refused.set(true));
        });
        let _ = source
            .add_event_listener_with_callback(REFUSED_EVENT, on_refused.as_ref().unchecked_ref());
        *self.source.borrow_mut() = Some(Connection {
            source,
            _on_open: on_open,
            _on_error: on_error,
            _on_event: on_event,
            _on_refused: on_refused,
        });
        self.expect_open(link);
    }

    fn close(&self) {
        self.watchdog.cancel();
        self.source.borrow_mut().take();
    }
}

impl SseAdapter {
    /// A stream was asked for: it must open within [`OPEN_TIMEOUT`].
    fn expect_open(self: &Rc<Self>, link: &Link) {
        self.opened.set(false);
        let callback = Callback::new(self, link);
        self.watchdog.set(OPEN_TIMEOUT, move || {
            callback.run(|this, link| {
                if !this.opened.get() {
                    leptos::logging::warn!("the event stream did not open: falling back");
                    fall_back(link);
                }
            });
        });
    }

    /// The response began. Not yet shown as open: that waits for its first event.
    fn opened(self: &Rc<Self>, link: &Link) {
        self.opened.set(true);
        self.heard.set(false);
        self.refused.set(false);
        // A stream that opens but says nothing is as broken as one that fails.
        let callback = Callback::new(self, link);
        self.watchdog.set(SILENCE_IS_FAILURE, move || {
            callback.run(|this, link| {
                if !this.heard.get() {
                    this.failed(link, true);
                }
            });
        });
    }

    fn errored(self: &Rc<Self>, link: &Link) {
        if self.refused.replace(false) {
            // Not a broken transport: a full server (or a `refuse` fault) said when to come
            // back (`retry:`, which a page cannot read), and the browser will. No open
            // watchdog meanwhile: it could not tell that wait from a stream that hangs.
            self.watchdog.cancel();
            return link.retrying();
        }
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
        } else {
            self.expect_open(link);
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
        let mut frame = Frame::new();
        if let Some(id) = envelope.id {
            frame = frame.id(id);
        }
        let raw = frame.event_of(&envelope.payload).data(&data).finish();
        if !self.heard.replace(true) {
            link.opened(); // the first event: this stream was admitted
        }
        self.failures.set(0);
        link.report(FeedEvent::Bytes(raw.len()));
        link.received(envelope, raw);
    }
}

fn fall_back(link: &Link) {
    link.fall_back(Rc::new(PollAdapter::new(Mode::Long)));
}
