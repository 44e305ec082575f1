//! SSE without `EventSource`: `fetch('/api/sse')` read as a stream by the project's own
//! parser ([`EventStream`]) — the modern form of the seed article's "polyfill" advice.
//!
//! It resumes with `Last-Event-ID` sent as a real header (an `EventSource` can only put it
//! in the URL on a fresh start), and could send any other (`Authorization`, say) the same
//! way. It reconnects through the [`Link`] like the WebSocket does: an `EventSource`
//! reconnects by itself, a fetch never does.

use super::event_stream::{EventStream, StreamRequest};
use super::link::{Adapter, Callback, Link};
use crate::ui::feed::{FeedEvent, TransportKind};
use crate::wire::http::{LAST_EVENT_ID_HEADER, SSE_PATH};
use crate::wire::sse::{Frame, Item};
use crate::wire::{self};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use web_sys::AbortController;

/// The fetch adapter.
#[derive(Default)]
pub struct FetchAdapter {
    /// Counts connections; what an older one reports is ignored.
    generation: Cell<u64>,
    /// Aborts the connection in flight.
    abort: RefCell<Option<AbortController>>,
}

impl Adapter for FetchAdapter {
    fn kind(&self) -> TransportKind {
        TransportKind::Fetch
    }

    fn open(self: Rc<Self>, link: &Link) {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        *self.abort.borrow_mut() = controller;
        let url = link.stream_url(SSE_PATH, &[]);
        let resume: Vec<(&str, String)> = link
            .last_id()
            .map(|id| (LAST_EVENT_ID_HEADER, id.to_string()))
            .into_iter()
            .collect();
        link.report(FeedEvent::Request);
        let callback = Callback::new(&self, link);
        leptos::task::spawn_local(async move {
            let opened = EventStream::open(StreamRequest {
                method: "GET",
                url: &url,
                headers: &resume,
                json: None,
                signal: signal.as_ref(),
            })
            .await;
            let current = |this: &FetchAdapter| this.generation.get() == generation;
            let mut stream = match opened {
                Ok(stream) => stream,
                Err(err) => {
                    leptos::logging::warn!("cannot open {url}: {err}");
                    return callback.run(|this, link| {
                        if current(this) {
                            link.lost();
                        }
                    });
                }
            };
            callback.run(|this, link| {
                if current(this) {
                    link.opened();
                }
            });
            loop {
                let chunk = stream.next().await;
                let mut alive = true;
                callback.run(|this, link| {
                    alive = current(this);
                    if !alive {
                        return;
                    }
                    match &chunk {
                        Ok(Some((items, bytes))) => {
                            link.report(FeedEvent::Bytes(*bytes));
                            for item in items {
                                // An event may have made the link start over (a hole in
                                // the ids): the rest of this chunk is the old connection's.
                                if !current(this) {
                                    break;
                                }
                                received(link, item);
                            }
                        }
                        // The server ended the stream, or the network did: come back.
                        Ok(None) | Err(_) => {
                            alive = false;
                            link.lost();
                        }
                    }
                });
                if !alive {
                    return;
                }
            }
        });
    }

    fn close(&self) {
        self.generation.set(self.generation.get() + 1);
        if let Some(abort) = self.abort.borrow_mut().take() {
            abort.abort();
        }
    }
}

/// One parsed item: an event becomes an envelope (and the frame it came in, for the lab's
/// inspector); comments and `retry:` need nothing here.
fn received(link: &Link, item: &Item) {
    let Item::Event { data, .. } = item else {
        return;
    };
    let envelope = match wire::decode(data) {
        Ok(envelope) => envelope,
        Err(err) => return leptos::logging::warn!("ignoring an event: {err}"),
    };
    let mut frame = Frame::new();
    if let Some(id) = envelope.id {
        frame = frame.id(id);
    }
    let raw = frame.event_of(&envelope.payload).data(data).finish();
    link.received(envelope, raw);
}
