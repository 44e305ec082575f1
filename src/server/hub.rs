//! The hub: where an event gets its id, is encoded once, and is published.
//!
//! Everything that enters the stream passes through [`Hub::publish`], which under one lock
//! assigns the next id of the epoch (so ids are strictly increasing and gapless), encodes the
//! envelope once as JSON and once as an SSE message, folds the event into the
//! [`MarketView`], and only then hands it to the bus. Transports never encode events: they
//! copy the shared bytes. The one per-connection encoding left is `reset`, which is rare.

use super::bus::{Bus, Published, ResetReason, Subscription};
use super::metrics::Metrics;
use super::view::MarketView;
use crate::wire::{self, sse::Frame, Epoch, EventId, Payload, Reset, Snapshot};
use bytes::Bytes;
use std::sync::{Arc, Mutex, MutexGuard};

pub struct Hub {
    epoch: Epoch,
    bus: Arc<dyn Bus>,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
}

struct State {
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
    pub id: Option<EventId>,
    pub json: Bytes,
    pub sse: Bytes,
}

impl Hub {
    pub fn new(epoch: Epoch, bus: Arc<dyn Bus>, view: MarketView, metrics: Arc<Metrics>) -> Hub {
        Hub {
            epoch,
            bus,
            metrics,
            state: Mutex::new(State {
                next_seq: 1,
                view,
                last_ts: 0,
                snapshot: None,
            }),
        }
    }

    pub fn epoch(&self) -> Epoch {
        self.epoch
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
        let id = EventId::new(self.epoch, state.next_seq);
        state.next_seq += 1;
        let encoded = encode(Some(id), ts, &payload);
        state.view.apply(id, ts, &payload);
        state.last_ts = ts;
        state.snapshot = None;
        // Still under the lock, so the bus sees events in id order.
        self.bus.publish(Arc::new(Published {
            id,
            kind: payload.event_type(),
            ts,
            symbols,
            json: encoded.json,
            sse: encoded.sse,
        }));
        self.metrics.events_published.inc();
        id
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
        reason: reason.as_str().to_owned(),
        // Echo the client's id only if it is a plausible id, never arbitrary text.
        last_event_id: asked
            .filter(|text| text.len() <= wire::id::MAX_ID_LEN)
            .map(str::to_owned),
    });
    encode(None, ts, &payload)
}

fn encode(id: Option<EventId>, ts: u64, payload: &Payload) -> Encoded {
    let json = wire::encode(id, ts, payload);
    let mut frame = Frame::new();
    if let Some(id) = id {
        frame = frame.id(id);
    }
    let sse = frame.event(payload.event_type()).data(&json).finish();
    Encoded {
        id,
        json: Bytes::from(json),
        sse: Bytes::from(sse),
    }
}
