//! Polling in the browser: `fetch('/api/poll?after=…')` again and again. Long-polling asks
//! the server to hold the request until something happens (`wait=25`) and asks again at
//! once; short-polling asks every second and takes what is there. Each request is a
//! complete HTTP exchange — the cost the lab's request counter makes visible.
//!
//! To the [`Link`], every successful poll is an opened connection and every failed one a
//! lost connection; a poll answered after it was closed (killed, or superseded) is ignored.
//!
//! A long poll heals like a stream: one still unanswered [`LONG_GRACE`] after the wait it
//! asked for (a proxy or NAT that lost it without a word, a server that froze it) is
//! abandoned and asked again at once from the last id — nothing is lost, since the next
//! poll starts where the abandoned one would have.

use super::backoff::Timer;
use super::link::{Adapter, Callback, Link};
use crate::ui::feed::{FeedEvent, TransportKind};
use crate::wire::batch::decode_batch;
use crate::wire::http::{query, POLL_PATH};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use web_sys::AbortController;

/// How long a long-poll asks the server to wait (the server caps it at 30 s).
const LONG_WAIT_SECS: u32 = 25;
/// How often a short-poller asks.
const SHORT_INTERVAL: Duration = Duration::from_secs(1);
/// How long past its wait a long poll may stay unanswered before it is given up on: the
/// server answers at the wait at the latest, so this covers only the way there and back.
const LONG_GRACE: Duration = Duration::from_secs(5);

/// Which kind of polling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The server holds each request until there is news.
    Long,
    /// A request every second, answered at once.
    Short,
}

/// The polling adapter.
pub struct PollAdapter {
    mode: Mode,
    /// Counts requests; an answer to any but the newest is stale.
    generation: Cell<u64>,
    /// Aborts the request in flight.
    abort: RefCell<Option<AbortController>>,
    /// A short-poller's wait before its next request.
    interval: Timer,
    /// A long poll's watchdog: gives up on a poll that outlived its wait.
    watchdog: Timer,
}

impl PollAdapter {
    /// An adapter that polls in `mode`.
    pub fn new(mode: Mode) -> PollAdapter {
        PollAdapter {
            mode,
            generation: Cell::new(0),
            abort: RefCell::new(None),
            interval: Timer::default(),
            watchdog: Timer::default(),
        }
    }
}

impl Adapter for PollAdapter {
    fn kind(&self) -> TransportKind {
        match self.mode {
            Mode::Long => TransportKind::LongPoll,
            Mode::Short => TransportKind::ShortPoll,
        }
    }

    fn open(self: Rc<Self>, link: &Link) {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let callback = Callback::new(&self, link);
        let url = self.url(link);
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        *self.abort.borrow_mut() = controller;
        link.report(FeedEvent::Request);
        if self.mode == Mode::Long {
            let watchdog = callback.clone();
            let limit = Duration::from_secs(u64::from(LONG_WAIT_SECS)) + LONG_GRACE;
            self.watchdog.set(limit, move || {
                watchdog.run(|this, link| {
                    if this.generation.get() == generation {
                        leptos::logging::warn!(
                            "a long poll outlived its wait: asking again from the last id"
                        );
                        link.reconnect_now();
                    }
                });
            });
        }
        leptos::task::spawn_local(async move {
            let outcome = fetch(&url, signal.as_ref()).await;
            callback.run(|this, link| {
                if this.generation.get() == generation {
                    this.answered(link, outcome);
                }
            });
        });
    }

    fn close(&self) {
        // Whatever is in flight or scheduled now belongs to a connection that is gone.
        self.generation.set(self.generation.get() + 1);
        self.interval.cancel();
        self.watchdog.cancel();
        if let Some(abort) = self.abort.borrow_mut().take() {
            abort.abort();
        }
    }

    /// A poller has no connection for the server to drop: the nearest thing is to lose the
    /// request in flight, as a kill does.
    fn drop_by_server(&self, link: &Link) {
        link.lost();
    }
}

impl PollAdapter {
    fn url(&self, link: &Link) -> String {
        let wait = match self.mode {
            Mode::Long => LONG_WAIT_SECS,
            Mode::Short => 0,
        };
        let mut params = Vec::new();
        if let Some(id) = link.last_id() {
            params.push((query::AFTER, id.to_string()));
        }
        params.push((query::WAIT, wait.to_string()));
        link.url(POLL_PATH, &params)
    }

    /// One poll came back: deliver its events and ask again, or report the loss.
    fn answered(self: &Rc<Self>, link: &Link, outcome: Result<String, String>) {
        self.abort.borrow_mut().take();
        self.watchdog.cancel();
        let body = match outcome {
            Ok(body) => body,
            Err(err) => {
                leptos::logging::warn!("poll failed: {err}");
                return link.lost();
            }
        };
        link.report(FeedEvent::Bytes(body.len()));
        let batch = match decode_batch(&body) {
            Ok(batch) => batch,
            Err(err) => {
                leptos::logging::warn!("not a poll answer: {err}");
                return link.lost();
            }
        };
        link.heard();
        link.opened();
        for (envelope, raw) in batch.events {
            if let Ok(envelope) = envelope {
                if !link.received(envelope, raw) {
                    return; // a hole: the link has asked again from before it
                }
            }
        }
        if let Some(next) = batch.next {
            link.advance_to(next);
        }
        match self.mode {
            Mode::Long => self.clone().open(link),
            Mode::Short => {
                let callback = Callback::new(self, link);
                self.interval.set(SHORT_INTERVAL, move || {
                    callback.run(|this, link| this.clone().open(link));
                });
            }
        }
    }
}

/// One `GET`, its body as text; an HTTP error status is an error.
async fn fetch(url: &str, signal: Option<&web_sys::AbortSignal>) -> Result<String, String> {
    let response = gloo_net::http::Request::get(url)
        .abort_signal(signal)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    response.text().await.map_err(|e| e.to_string())
}
