//! The event bus: how published events reach every connection, and how a connection that
//! comes back finds what it missed.
//!
//! A [`Bus`] keeps a bounded history of [`Published`] events and fans each one out to every
//! live subscriber. Subscribing is atomic with respect to publishing: the events a
//! subscription replays and the events it then receives live follow each other with no gap
//! and no duplicate. A subscriber that falls too far behind is told so ([`Live::Lagged`]);
//! nothing is dropped silently and no subscriber can make the bus buffer without bound.
//!
//! [`memory::MemoryBus`] is the default: one process, a tokio broadcast channel and a ring.
//! [`RedisBus`](crate::server::redis::RedisBus) (`--bus redis://HOST:PORT`) shares one
//! market between several processes through a Redis Stream; inside each process it fans
//! out through a `MemoryBus`.
//!
//! History can be lost under a running process (a follower finds a hole in the Redis stream,
//! or the market it follows restarted). The bus then starts its history over, and every live
//! subscriber is told it lagged, so it gets `reset` + snapshot instead of a silent gap.

pub mod memory;

use crate::wire::{sse, EventId, EventNaming, EventType, ResetReason};
use bytes::Bytes;
use std::sync::{Arc, OnceLock};
use tokio::sync::{broadcast, watch};

/// One event, encoded once for every transport and shared by every connection.
#[derive(Debug)]
pub struct Published {
    /// Its place in the history.
    pub id: EventId,
    /// Its type (for filters).
    pub kind: EventType,
    /// Publish time, milliseconds since the Unix epoch (also inside the JSON).
    pub ts: u64,
    /// The symbols the event is about; empty for market-wide events.
    pub symbols: Vec<String>,
    /// The envelope as one line of JSON (WebSocket text frame, polling batch item).
    pub json: Bytes,
    /// The complete SSE message, blank line included.
    pub sse: Bytes,
    /// The SSE message without its `event:` line, made on first use and then shared.
    unnamed: OnceLock<Bytes>,
}

impl Published {
    /// An event as the hub encoded it.
    pub fn new(
        id: EventId,
        kind: EventType,
        ts: u64,
        symbols: Vec<String>,
        json: Bytes,
        sse: Bytes,
    ) -> Published {
        Published {
            id,
            kind,
            ts,
            symbols,
            json,
            sse,
            unnamed: OnceLock::new(),
        }
    }

    /// The SSE message as a stream that names its events, or not, sends it.
    pub fn sse_as(&self, naming: EventNaming) -> Bytes {
        match naming {
            EventNaming::Named => self.sse.clone(),
            EventNaming::Unnamed => self
                .unnamed
                .get_or_init(|| Bytes::from(sse::unnamed(&self.sse)))
                .clone(),
        }
    }
}

/// Where a new subscription starts.
#[derive(Debug)]
pub enum Start {
    /// No id was given: the subscriber needs a snapshot.
    Fresh,
    /// The id was found: these are the events after it, oldest first (maybe none).
    Replay(Vec<Arc<Published>>),
    /// The id cannot be continued: the subscriber needs a `reset` and a snapshot.
    Reset(ResetReason),
}

/// A subscription: where it starts, then the live events after that start.
pub struct Subscription {
    /// What comes first: a snapshot, a replay, or a reset.
    pub start: Start,
    /// The events published after that start.
    pub live: LiveReceiver,
}

/// The live half of a subscription.
pub struct LiveReceiver {
    events: broadcast::Receiver<Arc<Published>>,
    /// Bumped whenever the bus starts its history over; a change means "you lagged".
    restarts: watch::Receiver<u64>,
}

/// What waiting on a live subscription gives.
#[derive(Debug)]
pub enum Live {
    /// The next event.
    Event(Arc<Published>),
    /// This many events were skipped because the subscriber was too slow.
    Lagged(u64),
    /// The bus is gone (the process is shutting down).
    Closed,
}

impl LiveReceiver {
    pub(crate) fn new(
        events: broadcast::Receiver<Arc<Published>>,
        restarts: watch::Receiver<u64>,
    ) -> LiveReceiver {
        LiveReceiver { events, restarts }
    }

    /// Waits for the next event; cancel-safe.
    pub async fn recv(&mut self) -> Live {
        let received = tokio::select! {
            // A restart first: events queued before it belong to a history that is gone.
            biased;
            changed = self.restarts.changed() => match changed {
                Ok(()) => return self.restarted(),
                // The bus is gone: the event channel will say so too.
                Err(_) => self.events.recv().await,
            },
            received = self.events.recv() => received,
        };
        // The bus bumps `restarts` before it sends the first event of a new history, so an
        // event from after a restart is never passed on as if it continued the old one.
        if self.restarts.has_changed().unwrap_or(false) {
            return self.restarted();
        }
        match received {
            Ok(event) => Live::Event(event),
            Err(broadcast::error::RecvError::Lagged(skipped)) => Live::Lagged(skipped),
            Err(broadcast::error::RecvError::Closed) => Live::Closed,
        }
    }

    /// The history restarted: drop what was queued (the snapshot the subscriber takes next
    /// covers it) and report a lag.
    fn restarted(&mut self) -> Live {
        self.restarts.borrow_and_update();
        self.events = self.events.resubscribe();
        Live::Lagged(0)
    }
}

/// The publish/subscribe seam between the market driver and the transports.
pub trait Bus: Send + Sync + 'static {
    /// Stores the event in the history and sends it to every live subscriber. Events are
    /// published in id order by a single publisher.
    fn publish(&self, event: Arc<Published>);

    /// Subscribes, replaying from just after `after` when it is in the history.
    fn subscribe(&self, after: Option<EventId>) -> Subscription;

    /// The id of the newest event published, if any.
    fn latest(&self) -> Option<EventId>;
}
