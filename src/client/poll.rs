//! Polling in the browser: `fetch('/api/poll?after=…')` in a loop. Long-polling asks the
//! server to hold the request until something happens (`wait=25`) and asks again at once;
//! short-polling asks every second and takes what is there. Each request is a complete
//! HTTP exchange — the cost the lab's request counter makes visible.

use super::backoff::{sleep, Backoff};
use super::now_ms;
use crate::ui::feed::{ConnectionState, FeedControl, FeedEvent};
use crate::wire::{batch::decode_batch, EventId};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use web_sys::AbortController;

/// How long a long-poll asks the server to wait (the server caps it at 30 s).
const LONG_WAIT_SECS: u32 = 25;
/// How often a short-poller asks.
const SHORT_INTERVAL_MS: u32 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Long,
    Short,
}

pub struct PollFeed(Rc<Inner>);

struct Inner {
    mode: Mode,
    on: Rc<dyn Fn(FeedEvent)>,
    last_id: Cell<Option<EventId>>,
    stopped: Cell<bool>,
    /// Aborts the request in flight.
    abort: RefCell<Option<AbortController>>,
    /// Set by `kill`: the loop treats the request in flight (or, between polls, the next
    /// attempt) as lost, and goes through its reconnect path.
    killed: Cell<bool>,
}

impl PollFeed {
    pub fn start(mode: Mode, last_id: Option<EventId>, on: Rc<dyn Fn(FeedEvent)>) -> PollFeed {
        let inner = Rc::new(Inner {
            mode,
            on,
            last_id: Cell::new(last_id),
            stopped: Cell::new(false),
            abort: RefCell::new(None),
            killed: Cell::new(false),
        });
        (inner.on)(FeedEvent::State(ConnectionState::Connecting));
        leptos::task::spawn_local(run(Rc::downgrade(&inner)));
        PollFeed(inner)
    }
}

impl FeedControl for PollFeed {
    fn close(&self) {
        self.0.stopped.set(true);
        if let Some(abort) = self.0.abort.borrow_mut().take() {
            abort.abort();
        }
        (self.0.on)(FeedEvent::State(ConnectionState::Closed));
    }

    fn kill(&self) {
        self.0.killed.set(true);
        if let Some(abort) = self.0.abort.borrow_mut().take() {
            abort.abort();
        }
    }

    /// A poller has no connection for the server to drop: the nearest thing is to lose
    /// the request in flight, which `kill` does.
    fn drop_by_server(&self) {
        self.kill();
    }
}

async fn run(weak: std::rc::Weak<Inner>) {
    let mut backoff = Backoff::default();
    let mut lost = false;
    loop {
        let Some(this) = weak.upgrade() else { return };
        if this.stopped.get() {
            return;
        }
        let outcome = if this.killed.replace(false) {
            Err("killed".to_owned())
        } else {
            this.poll_once().await
        };
        if this.stopped.get() {
            return;
        }
        let outcome = if this.killed.replace(false) {
            Err("killed".to_owned())
        } else {
            outcome
        };
        match outcome {
            Ok(()) => {
                backoff.reset();
                (this.on)(FeedEvent::State(ConnectionState::Open));
                if std::mem::take(&mut lost) {
                    (this.on)(FeedEvent::Reconnected);
                }
                let mode = this.mode;
                drop(this);
                if mode == Mode::Short {
                    sleep(SHORT_INTERVAL_MS).await;
                }
            }
            Err(_) => {
                lost = true;
                (this.on)(FeedEvent::State(ConnectionState::Reconnecting));
                drop(this);
                sleep(backoff.next_delay()).await;
            }
        }
    }
}

impl Inner {
    async fn poll_once(&self) -> Result<(), String> {
        let mut url = String::from("/api/poll");
        let wait = match self.mode {
            Mode::Long => LONG_WAIT_SECS,
            Mode::Short => 0,
        };
        match self.last_id.get() {
            Some(id) => url.push_str(&format!("?after={id}&wait={wait}")),
            None => url.push_str(&format!("?wait={wait}")),
        }
        let controller = AbortController::new().map_err(|e| format!("{e:?}"))?;
        let signal = controller.signal();
        *self.abort.borrow_mut() = Some(controller);
        (self.on)(FeedEvent::Request);
        let response = gloo_net::http::Request::get(&url)
            .abort_signal(Some(&signal))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.ok() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let body = response.text().await.map_err(|e| e.to_string())?;
        self.abort.borrow_mut().take();
        (self.on)(FeedEvent::Bytes(body.len()));
        let batch = decode_batch(&body).map_err(|e| e.to_string())?;
        let received_at = now_ms();
        for (envelope, raw) in batch.events {
            let Ok(envelope) = envelope else { continue };
            (self.on)(FeedEvent::Message {
                envelope,
                raw,
                received_at,
            });
        }
        if batch.next.is_some() {
            self.last_id.set(batch.next);
        }
        Ok(())
    }
}
