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
//!
//! **Written before seen.** The instance holding the market lease on Redis (`--role auto`)
//! must never show its clients an event the stream does not hold: if it lost the lease
//! meanwhile (paused, cut off), the next holder writes *other* events under those ids. So
//! its hub [stages](Hub::stage) what the market publishes: the event gets its id and its
//! bytes at once, but reaches the view and the bus only when the writer has written it
//! ([`Hub::commit_through`]); when the instance steps down, what is still staged is thrown
//! away ([`Hub::refuse`]) and nobody ever saw it. Invariant: the view and the bus hold only
//! events that are, or were, in the one history — every id means one event everywhere.

use super::bus::{Bus, Published, Subscription};
use super::metrics::Metrics;
use super::view::MarketView;
use crate::wire::{
    self, sse::Frame, Epoch, EventId, EventNaming, Payload, Reset, ResetReason, Snapshot,
};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, watch};

/// Where every event is numbered, encoded once and published.
pub struct Hub {
    bus: Arc<dyn Bus>,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
    /// What clients can see, for those who wait until an event is ([`Hub::until_visible`]).
    visible: watch::Sender<Visible>,
}

/// The newest event clients can see, and how often staged events were thrown away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Visible {
    /// The view's newest event.
    pub last: Option<EventId>,
    /// How many times published events were thrown away unseen: a step-down
    /// ([`Hub::refuse`]), or staging given up on (a writer that could not keep up).
    pub discards: u64,
}

impl Visible {
    /// Whether clients can see event `id` (or a later one).
    fn reaches(&self, id: EventId) -> bool {
        self.last.is_some_and(|last| !id.is_after(last))
    }
}

/// An event [`Hub::until_visible`] waited for was thrown away: nobody will ever see it.
#[derive(Debug, thiserror::Error)]
#[error("the event was not written before this instance stopped running the market")]
pub struct Discarded;

/// What [`Hub::publish`] does with an event it numbered.
enum Publishing {
    /// Shows it at once: one process, or a market that runs whatever Redis says.
    Direct,
    /// Queues it for the Redis writer, and shows it once written (the lease holder).
    Staged {
        writer: mpsc::Sender<Arc<Published>>,
        staged: VecDeque<(Arc<Published>, Payload)>,
    },
    /// Drops it: this instance does not run the market now (a follower).
    Refused,
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
    /// The newest id given out, seen or not yet.
    assigned: Option<EventId>,
    publishing: Publishing,
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
        let last = view.last_id();
        Hub {
            bus,
            metrics,
            state: Mutex::new(State {
                epoch,
                next_seq: 1,
                view,
                last_ts: 0,
                snapshot: None,
                assigned: last,
                publishing: Publishing::Direct,
            }),
            visible: watch::Sender::new(Visible { last, discards: 0 }),
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

    /// Publishes one event at `ts` (milliseconds since the Unix epoch) and returns its id:
    /// shown at once, or staged until written (see [`Hub::stage`]), or dropped while this
    /// instance follows another.
    pub fn publish(&self, payload: Payload, ts: u64, symbols: Vec<String>) -> EventId {
        let mut state = self.state();
        let id = EventId::new(state.epoch, state.next_seq);
        state.next_seq += 1;
        state.assigned = Some(id);
        let encoded = encode(Some(id), ts, &payload);
        let published = Arc::new(Published::new(
            id,
            payload.event_type(),
            ts,
            symbols,
            encoded.json,
            encoded.sse,
        ));
        if matches!(state.publishing, Publishing::Direct) {
            self.show(&mut state, published, &payload);
        } else if let Publishing::Staged { writer, staged } = &mut state.publishing {
            if writer.try_send(published.clone()).is_ok() {
                staged.push_back((published, payload));
            } else {
                // The writer is gone or this far behind: the lease cannot be kept honestly,
                // so nothing more is staged, and the writer steps down.
                tracing::error!(%id, "the Redis writer's queue is full: no longer staging");
                self.discard(&mut state);
            }
        }
        id
    }

    /// Folds one event into the view and hands it to the bus, under the lock (so the bus
    /// sees events in id order).
    fn show(&self, state: &mut State, published: Arc<Published>, payload: &Payload) {
        let id = published.id;
        state.view.apply(id, published.ts, payload);
        state.last_ts = published.ts;
        state.snapshot = None;
        self.bus.publish(published);
        self.metrics.events_published.inc();
        self.visible.send_modify(|visible| visible.last = Some(id));
    }

    /// From now on, queues what is published for the Redis writer instead of showing it:
    /// the writer takes the events from the returned queue (at most `capacity` waiting) and
    /// shows each one with [`Hub::commit_through`] once the stream holds it.
    pub fn stage(&self, capacity: usize) -> mpsc::Receiver<Arc<Published>> {
        let (writer, queue) = mpsc::channel(capacity.max(1));
        let mut state = self.state();
        self.discard(&mut state);
        state.publishing = Publishing::Staged {
            writer,
            staged: VecDeque::new(),
        };
        queue
    }

    /// Shows the staged events up to `id`, which the stream now holds; returns how many.
    pub fn commit_through(&self, id: EventId) -> usize {
        let mut state = self.state();
        let mut shown = 0;
        loop {
            let Publishing::Staged { staged, .. } = &mut state.publishing else {
                return shown;
            };
            if staged
                .front()
                .is_none_or(|(event, _)| event.id.is_after(id))
            {
                return shown;
            }
            let Some((event, payload)) = staged.pop_front() else {
                return shown;
            };
            self.show(&mut state, event, &payload);
            shown += 1;
        }
    }

    /// From now on, drops what is published (this instance no longer runs the market), and
    /// throws away what is staged: nobody saw it, and nobody will. Returns how many. Every
    /// call counts as a discard (see [`Visible::discards`]): whatever a command published
    /// since staging stopped was dropped too.
    pub fn refuse(&self) -> usize {
        let mut state = self.state();
        let staging = matches!(state.publishing, Publishing::Staged { .. });
        let thrown = self.discard(&mut state);
        if !staging {
            self.visible.send_modify(|visible| visible.discards += 1);
        }
        state.publishing = Publishing::Refused;
        thrown
    }

    /// Throws away what is staged and stops staging (publishing is refused from now on);
    /// how many were thrown away (none, and no discard counted, if it was not staging).
    fn discard(&self, state: &mut State) -> usize {
        let Publishing::Staged { staged, .. } = &mut state.publishing else {
            return 0;
        };
        let thrown = staged.len();
        state.publishing = Publishing::Refused;
        self.visible.send_modify(|visible| visible.discards += 1);
        thrown
    }

    /// Waits while `most` or more events are staged for the writer (at once when nothing is).
    pub async fn until_staged_below(&self, most: usize) {
        let mut visible = self.visible.subscribe();
        while self.staged() >= most {
            if visible.changed().await.is_err() {
                return;
            }
        }
    }

    /// How many events wait for the writer.
    pub fn staged(&self) -> usize {
        match &self.state().publishing {
            Publishing::Staged { staged, .. } => staged.len(),
            Publishing::Direct | Publishing::Refused => 0,
        }
    }

    /// Waits until clients can see event `id` or a later one, for at most `patience`;
    /// whether they can.
    pub async fn until_seen(&self, id: EventId, patience: std::time::Duration) -> bool {
        let mut visible = self.visible.subscribe();
        tokio::time::timeout(patience, visible.wait_for(|now| now.reaches(id)))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }

    /// What clients can see now (take it before asking for an event to wait for).
    pub fn visible(&self) -> Visible {
        *self.visible.borrow()
    }

    /// Resolves once events have been thrown away since `before` was taken.
    pub async fn until_discarded(&self, before: Visible) {
        let mut visible = self.visible.subscribe();
        let _ = visible
            .wait_for(|now| now.discards != before.discards)
            .await;
    }

    /// Waits until clients can see event `id`; [`Discarded`] if events were thrown away since
    /// `before` was taken, for `id` may be one of them (a step-down, a lost lease).
    pub async fn until_visible(&self, id: EventId, before: Visible) -> Result<(), Discarded> {
        let mut visible = self.visible.subscribe();
        let reached = visible
            .wait_for(|now| now.discards != before.discards || now.reaches(id))
            .await;
        match reached {
            Ok(now) if now.discards == before.discards => Ok(()),
            _ => Err(Discarded),
        }
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
        state.assigned = Some(last);
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
            state.assigned = Some(id);
        }
        self.bus.publish(Arc::new(Published::new(
            id,
            kind,
            ts,
            symbols,
            shrunk(json),
            shrunk(sse),
        )));
        self.metrics.events_published.inc();
        self.visible
            .send_modify(|visible| visible.last = state.view.last_id());
    }

    /// Replaces the view with a snapshot the market took (a follower starting, or starting
    /// over after a hole in the stream); `ts` is the snapshot's publish time.
    pub fn restore(&self, snapshot: &Snapshot, ts: u64) {
        let mut state = self.state();
        state.view.restore(snapshot);
        if let Some(id) = snapshot.id {
            state.epoch = id.epoch;
            state.assigned = Some(id);
        }
        state.last_ts = ts;
        state.snapshot = None;
        self.visible
            .send_modify(|visible| visible.last = state.view.last_id());
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

    /// The id of the newest event clients can see.
    pub fn latest(&self) -> Option<EventId> {
        self.state().view.last_id()
    }

    /// The id of the newest event published, seen or still staged: the one the market's
    /// state follows (its checkpoints).
    pub fn assigned(&self) -> Option<EventId> {
        self.state().assigned
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
        json: shrunk(json),
        sse: shrunk(sse),
    }
}

/// Shared bytes of `text`, without the spare capacity its building left: the history keeps
/// thousands of events for as long as it holds them, so a third more per event adds up.
fn shrunk(text: String) -> Bytes {
    Bytes::from(text.into_bytes().into_boxed_slice())
}

/// The SSE message carrying one encoded envelope.
fn frame(id: Option<EventId>, payload: &Payload, json: &str) -> String {
    let mut frame = Frame::new();
    if let Some(id) = id {
        frame = frame.id(id);
    }
    frame.event_of(payload).data(json).finish()
}
