//! One client's view of the stream, whatever the transport: where it starts (snapshot,
//! replay, or reset + snapshot), what it filters, what it conflates, and what it does when
//! it falls behind. Transports only frame what [`Feed::next`] hands them.
//!
//! Invariants: the sequence numbers a feed hands out strictly increase, and nothing between
//! its start and the live stream is skipped — the subscription is opened before the
//! snapshot is taken, and live events the snapshot already includes are dropped. A feed
//! that lags behind the bus backlog hands out `reset` + `snapshot` instead of buffering.
//! [`Feed::next`] is cancel-safe, so transports can `select!` on it beside their own timers.

use super::filter::Filter;
use super::query::StreamOptions;
use super::Resume;
use crate::server::bus::{Live, LiveReceiver, Published, Start};
use crate::server::clock::now_millis;
use crate::server::hub::{reset_event, Encoded, Hub};
use crate::server::metrics::{Metrics, TransportLabels};
use crate::wire::{EventId, EventNaming, EventType, ResetReason, Transport};
use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, Interval};

/// One event as every transport can send it: the shared SSE message and JSON envelope.
#[derive(Clone, Debug)]
pub struct Out {
    /// The complete SSE message.
    pub sse: Bytes,
    /// The envelope as one line of JSON.
    pub json: Bytes,
    /// The event's id (`None` for `reset` and `hello`, which are outside the history).
    pub id: Option<EventId>,
    /// Publish time of a live event, for the latency histogram.
    pub live_ts: Option<u64>,
    /// Whether it is an event of the market's history (live or replayed), not one about
    /// the connection (`hello`, `reset`) or its starting point (`snapshot`).
    pub in_history: bool,
}

impl Out {
    fn of(event: &Published, live: bool, naming: EventNaming) -> Out {
        Out {
            sse: event.sse_as(naming),
            json: event.json.clone(),
            id: Some(event.id),
            live_ts: live.then_some(event.ts),
            in_history: true,
        }
    }
}

/// One client's view of the stream.
pub struct Feed {
    hub: Arc<Hub>,
    transport: Transport,
    metrics: Arc<Metrics>,
    deliveries: Counter,
    queue: VecDeque<Out>,
    live: LiveReceiver,
    /// The newest sequence number this feed has handed out, skipped, or included in a
    /// snapshot it handed out.
    floor: u64,
    /// What this client lets through (a WebSocket may change it while it runs).
    pub filter: Filter,
    conflation: Option<Conflation>,
    /// Whether SSE frames carry their `event:` line.
    naming: EventNaming,
}

impl Feed {
    /// Subscribes and queues the start: a snapshot, a replay, or a reset and a snapshot;
    /// `options` say what to let through, how often, and how to name SSE events.
    pub fn open(
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
        transport: Transport,
        resume: &Resume,
        options: StreamOptions,
    ) -> Feed {
        let subscription = hub.subscribe(resume.after());
        let deliveries = metrics
            .deliveries
            .get_or_create(&TransportLabels::of(transport))
            .clone();
        let mut feed = Feed {
            hub,
            transport,
            metrics,
            deliveries,
            queue: VecDeque::new(),
            live: subscription.live,
            floor: 0,
            filter: options.filter,
            conflation: options.conflate.map(Conflation::new),
            naming: options.naming,
        };
        feed.start(subscription.start, resume);
        feed
    }

    /// Starts over from `resume` on the same connection (a WebSocket `resume` message):
    /// what was queued is dropped, and the new start follows the same rules as a new feed.
    pub fn restart(&mut self, resume: &Resume) {
        let subscription = self.hub.subscribe(resume.after());
        self.queue.clear();
        if let Some(conflation) = &mut self.conflation {
            conflation.held.clear();
        }
        self.live = subscription.live;
        self.floor = 0;
        self.start(subscription.start, resume);
    }

    fn start(&mut self, start: Start, resume: &Resume) {
        let start = match resume.malformed() {
            Some(reason) => Start::Reset(reason),
            None => start,
        };
        match start {
            Start::Fresh => self.push_snapshot(),
            Start::Replay(events) => {
                self.metrics
                    .resumes
                    .get_or_create(&TransportLabels::of(self.transport))
                    .inc();
                self.floor = resume.after().map_or(0, |id| id.seq);
                for event in events {
                    self.floor = event.id.seq;
                    if self.filter.admits(&event) {
                        self.queue.push_back(Out::of(&event, false, self.naming));
                    }
                }
            }
            Start::Reset(reason) => self.push_reset(reason, resume.asked().as_deref()),
        }
    }

    /// Where this feed stands: the id a client should resume from after what it was given.
    pub fn position(&self) -> EventId {
        EventId::new(self.hub.epoch(), self.floor)
    }

    /// Whether something is ready without waiting.
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Queues an event outside the history (the connection's `hello`) before all else.
    pub fn push_front(&mut self, event: &Encoded) {
        self.queue.push_front(Out {
            sse: event.sse_as(self.naming),
            json: event.json.clone(),
            id: None,
            live_ts: None,
            in_history: false,
        });
    }

    fn push_snapshot(&mut self) {
        let snapshot = self.hub.snapshot_event();
        self.floor = snapshot.id.map_or(0, |id| id.seq);
        self.queue.push_back(Out {
            sse: snapshot.sse_as(self.naming),
            json: snapshot.json.clone(),
            id: snapshot.id,
            live_ts: None,
            in_history: false,
        });
    }

    fn push_reset(&mut self, reason: ResetReason, asked: Option<&str>) {
        self.metrics.count_reset(self.transport, reason);
        if let Some(conflation) = &mut self.conflation {
            conflation.held.clear(); // the snapshot supersedes them
        }
        let reset = reset_event(reason, asked, now_millis());
        self.queue.push_back(Out {
            sse: reset.sse_as(self.naming),
            json: reset.json,
            id: None,
            live_ts: None,
            in_history: false,
        });
        self.push_snapshot();
    }

    /// Takes a live event: drops it if already covered, filters it, holds it if conflated.
    fn take_live(&mut self, event: Arc<Published>) {
        if event.id.seq <= self.floor {
            return;
        }
        self.floor = event.id.seq;
        if !self.filter.admits(&event) {
            return;
        }
        if let Some(conflation) = &mut self.conflation {
            if event.kind == EventType::Tick {
                conflation.hold(event);
                return;
            }
            // Anything else goes out now, after the ticks held before it, in id order.
            self.flush_held();
        }
        self.queue.push_back(Out::of(&event, true, self.naming));
    }

    fn flush_held(&mut self) {
        let Some(conflation) = &mut self.conflation else {
            return;
        };
        let mut held = std::mem::take(&mut conflation.held);
        held.sort_by_key(|event| event.id.seq);
        let naming = self.naming;
        self.queue
            .extend(held.iter().map(|event| Out::of(event, true, naming)));
    }

    /// The next event for this client, waiting for one if need be; `None` when the bus is
    /// gone. Counts the delivery and its latency as it hands the event over.
    pub async fn next(&mut self) -> Option<Out> {
        loop {
            if let Some(out) = self.queue.pop_front() {
                self.deliveries.inc();
                if let Some(ts) = out.live_ts {
                    let millis = now_millis().saturating_sub(ts);
                    self.metrics.latency.observe(millis as f64 / 1000.0);
                }
                return Some(out);
            }
            let holding = self.conflation.as_ref().is_some_and(|c| !c.held.is_empty());
            tokio::select! {
                live = self.live.recv() => match live {
                    Live::Event(event) => self.take_live(event),
                    Live::Lagged(_) => {
                        self.metrics
                            .lagged
                            .get_or_create(&TransportLabels::of(self.transport))
                            .inc();
                        self.push_reset(ResetReason::Lagged, None);
                    }
                    Live::Closed => return None,
                },
                () = flush_due(self.conflation.as_mut().map(|c| &mut c.timer)), if holding => {
                    self.flush_held();
                }
            }
        }
    }
}

/// Conflation: the latest tick per symbol, handed out once per interval.
struct Conflation {
    timer: Interval,
    /// At most one tick per symbol.
    held: Vec<Arc<Published>>,
}

impl Conflation {
    fn new(every: Duration) -> Conflation {
        // The first flush is one interval away, not immediate.
        let mut timer = tokio::time::interval_at(Instant::now() + every, every);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Conflation {
            timer,
            held: Vec::new(),
        }
    }

    fn hold(&mut self, tick: Arc<Published>) {
        match self
            .held
            .iter_mut()
            .find(|held| held.symbols == tick.symbols)
        {
            Some(slot) => *slot = tick,
            None => self.held.push(tick),
        }
    }
}

/// Resolves when the conflation interval has passed (never without conflation).
async fn flush_due(timer: Option<&mut Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}
