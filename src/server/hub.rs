//! The hub: where an event gets its id, is encoded once, and is published.
//!
//! Everything that enters the stream passes through [`Hub::publish`], which under one lock
//! assigns the next id of the epoch (so ids are strictly increasing and gapless), encodes the
//! envelope once as JSON and once as an SSE message, folds the event into the
//! [`MarketView`], and only then hands it to the bus. Transports never encode events: they
//! copy the shared bytes. The one per-connection encoding left is `reset`, which is rare.
//!
//! A `--role web` instance runs no market: its events come from the Redis stream through
//! [`Hub::ingest`], which keeps the same order (view first, then bus) and frames the very
//! JSON the market encoded, so every instance sends the same bytes for the same id.

use super::bus::{Bus, Published, Subscription};
use super::metrics::Metrics;
use super::view::MarketView;
use crate::wire::{
    self, sse::Frame, Epoch, EventId, EventNaming, Payload, Reset, ResetReason, Snapshot,
};
use bytes::Bytes;
use std::sync::{Arc, Mutex, MutexGuard};

/// Where every event is numbered, encoded once and published.
pub struct Hub {
    bus: Arc<dyn Bus>,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
}

struct State {
    /// The history the view belongs to: this market's, or the one a follower follows.
    epoch: Epoch,
    next_seq: u64,
    view: MarketView,
    /// Publish time of the newest event, which is the time a snapshot describes.
    last_ts: u64,
    /// The encoded snapshot of the current view, built at most once per event.
    snapshot: Option<Arc<Encoded>>,
}

/// An event encoded for every transport.
#[derive(Debug)]
pub struct Encoded {
    /// Its id (`None` outside the history: `reset`, `hello`).
    pub id: Option<EventId>,
    /// The envelope as one line of JSON.
    pub json: Bytes,
    /// The complete SSE message.
    pub sse: Bytes,
}

impl Encoded {
    /// The SSE message as a stream that names its events, or not, sends it (an unnamed copy
    /// is made per call: only the lesson's `?events=unnamed` streams ask for it).
    pub fn sse_as(&self, naming: EventNaming) -> Bytes {
        match naming {
            EventNaming::Named => self.sse.clone(),
            EventNaming::Unnamed => Bytes::from(wire::sse::unnamed(&self.sse)),
        }
    }
}

impl Hub {
    /// A hub for `epoch`, publishing to `bus`, starting from `view`.
    pub fn new(epoch: Epoch, bus: Arc<dyn Bus>, view: MarketView, metrics: Arc<Metrics>) -> Hub {
        Hub {
            bus,
            metrics,
            state: Mutex::new(State {
                epoch,
                next_seq: 1,
                view,
                last_ts: 0,
                snapshot: None,
            }),
        }
    }

    /// The current history: fixed for a market, the followed market's for a follower.
    pub fn epoch(&self) -> Epoch {
        self.state().epoch
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update below completes before the lock is released, so a poisoned lock
        // still guards a consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes one event at `ts` (milliseconds since the Unix epoch) and returns its id.
    pub fn publish(&self, payload: Payload, ts: u64, symbols: Vec<String>) -> EventId {
        let mut state = self.state();
        let id = EventId::new(state.epoch, state.next_seq);
        state.next_seq += 1;
        let encoded = encode(Some(id), ts, &payload);
        state.view.apply(id, ts, &payload);
        state.last_ts = ts;
        state.snapshot = None;
        // Still under the lock, so the bus sees events in id order.
        self.bus.publish(Arc::new(Published::new(
            id,
            payload.event_type(),
            ts,
            symbols,
            encoded.json,
            encoded.sse,
        )));
        self.metrics.events_published.inc();
        id
    }

    /// Starts a new history, as a restarted server would (the `epoch` fault): the next
    /// event is the first of an epoch later than the current one (`now` if it is later).
    /// The bus takes an event of another epoch as a hole, so every subscriber gets `reset`
    /// and a snapshot.
    pub fn start_epoch(&self, now: u64) -> Epoch {
        let mut state = self.state();
        let epoch = Epoch(now.max(state.epoch.0.saturating_add(1)));
        state.epoch = epoch;
        state.next_seq = 1;
        state.snapshot = None;
        epoch
    }

    /// Continues the history whose last event is `last` (an instance taking over the
    /// market another one ran): the next event this hub publishes is `last`'s successor.
    pub fn continue_after(&self, last: EventId) {
        let mut state = self.state();
        state.epoch = last.epoch;
        state.next_seq = last.seq + 1;
    }

    /// Takes an event the market published in another process (a follower of the Redis
    /// stream): frames the market's own JSON for SSE, folds the event into the view unless
    /// the view already includes it (after [`Hub::restore`]), and only then hands it to the
    /// bus — the same order as [`Hub::publish`].
    pub fn ingest(
        &self,
        id: EventId,
        ts: u64,
        payload: &Payload,
        symbols: Vec<String>,
        json: String,
    ) {
        let mut state = self.state();
        let kind = payload.event_type();
        let sse = frame(Some(id), payload, &json);
        let included = state
            .view
            .last_id()
            .is_some_and(|last| last.epoch == id.epoch && last.seq >= id.seq);
        if !included {
            state.view.apply(id, ts, payload);
            state.epoch = id.epoch;
            state.last_ts = ts;
            state.snapshot = None;
        }
        self.bus.publish(Arc::new(Published::new(
            id,
            kind,
            ts,
            symbols,
            Bytes::from(json),
            Bytes::from(sse),
        )));
        self.metrics.events_published.inc();
    }

    /// Replaces the view with a snapshot the market took (a follower starting, or starting
    /// over after a hole in the stream); `ts` is the snapshot's publish time.
    pub fn restore(&self, snapshot: &Snapshot, ts: u64) {
        let mut state = self.state();
        state.view.restore(snapshot);
        if let Some(id) = snapshot.id {
            state.epoch = id.epoch;
        }
        state.last_ts = ts;
        state.snapshot = None;
    }

    /// Subscribes to the bus, replaying from after `after` when possible. Take the snapshot
    /// *after* subscribing, then skip live events it already includes.
    pub fn subscribe(&self, after: Option<EventId>) -> Subscription {
        self.bus.subscribe(after)
    }

    /// The current state, as a value (server-side rendering, `/api/snapshot`).
    pub fn snapshot(&self) -> Snapshot {
        self.state().view.snapshot()
    }

    /// The current state as a `snapshot` event, encoded once per change however many
    /// clients connect.
    pub fn snapshot_event(&self) -> Arc<Encoded> {
        let mut state = self.state();
        if let Some(cached) = &state.snapshot {
            return cached.clone();
        }
        let snapshot = state.view.snapshot();
        let encoded = Arc::new(encode(
            snapshot.id,
            state.last_ts,
            &Payload::Snapshot(snapshot),
        ));
        state.snapshot = Some(encoded.clone());
        encoded
    }

    /// The id of the newest event.
    pub fn latest(&self) -> Option<EventId> {
        self.state().view.last_id()
    }
}

/// A `reset` event for one client, telling it why its history cannot continue.
pub fn reset_event(reason: ResetReason, asked: Option<&str>, ts: u64) -> Encoded {
    let payload = Payload::Reset(Reset {
        reason,
        // Echo the client's id only if it is a plausible id, never arbitrary text.
        last_event_id: asked
            .filter(|text| text.len() <= wire::id::MAX_ID_LEN)
            .map(str::to_owned),
    });
    encode(None, ts, &payload)
}

/// Encodes one event for every transport: JSON envelope and SSE message.
pub fn encode(id: Option<EventId>, ts: u64, payload: &Payload) -> Encoded {
    let json = wire::encode(id, ts, payload);
    let sse = frame(id, payload, &json);
    Encoded {
        id,
        json: Bytes::from(json),
        sse: Bytes::from(sse),
    }
}

/// The SSE message carrying one encoded envelope.
fn frame(id: Option<EventId>, payload: &Payload, json: &str) -> String {
    let mut frame = Frame::new();
    if let Some(id) = id {
        frame = frame.id(id);
    }
    frame.event_of(payload).data(json).finish()
}
