//! The Redis bus (`--bus redis://HOST:PORT`): one market, several web instances.
//!
//! This is the pub/sub pattern of the Flask + Redis seed article, done so that nothing is
//! lost when a client moves between instances. One **Redis Stream** is both the event log
//! and the live feed:
//!
//! - the instance that runs the market (`--role both`) publishes every event into its own
//!   in-process [`MemoryBus`] (its clients see it at once) and queues it for the writer task
//!   ([`run_writer`]), which `XADD`s it with the event's own id as the stream entry id
//!   (`EPOCH-SEQ`, epoch in decimal) and trims the stream to about `--history` entries;
//! - every `--role web` instance runs a follower ([`crate::server::follow`]) that reads the
//!   stream (`XREAD BLOCK`) into its hub, which folds each event into its own view and then
//!   fans it out through its own `MemoryBus` — the same order as the market's hub.
//!
//! Because stream ids *are* event ids, every instance serves the same ids with the same
//! bytes, a client can resume on any instance, and Redis itself fences the log: `XADD`
//! refuses an id that is not above the stream's last, so no event is ever written twice or
//! out of order. Besides the stream, the market keeps its current snapshot in a key (at
//! most once a second, and only when the stream holds everything the snapshot includes), so
//! a follower that starts, or that finds a hole in the stream, can start over from it.
//!
//! **Why roles, not a lease.** The market is a deterministic state machine whose state (the
//! random generator's position, volatility, pending news effects, the session) lives in one
//! process's memory. A lease could move the right to publish to another instance, but not
//! that state: the new owner would either splice a different market into the same epoch (a
//! silent discontinuity, which is what epochs exist to prevent) or have to serialize the
//! whole model into Redis on every step. So one process is the market, chosen by the
//! operator (`--role both`); the others are `--role web`. An owner key in Redis
//! (`SET … PX`, renewed every second, released on shutdown) refuses a second market on the
//! same stream: it stays up but never writes, and its `/readyz` says `conflict`.
//!
//! **Outages.** Nothing panics and nothing grows without bound. The writer's queue holds at
//! most `--history` events; while Redis is away it fills, then further events are dropped
//! (the market's own clients still get them). The writer reconnects with backoff, skips what
//! the stream already has, and writes the rest; a hole left by dropped events is found by the
//! followers, whose clients then get `reset` + snapshot. Every task reports its state in
//! [`Health`], and `/readyz` answers 503 until it is `ready`.

use super::memory::MemoryBus;
use super::{Bus, Published, Subscription};
use crate::server::hub::Hub;
use crate::wire::{self, Epoch, EventId, Payload};
use redis::aio::MultiplexedConnection;
use redis::streams::StreamRangeReply;
use redis::{AsyncConnectionConfig, RedisResult, Script};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The stream: one entry per event, entry id = event id.
pub const STREAM_KEY: &str = "tickstream:events";
/// The market's current `snapshot` envelope (JSON).
pub const SNAPSHOT_KEY: &str = "tickstream:snapshot";
/// Who runs the market on this stream (an instance name), with a time to live.
pub const OWNER_KEY: &str = "tickstream:market-owner";

/// How long the owner key outlives its last renewal: how soon a new market may start after
/// the old one died without releasing it.
const OWNER_TTL: Duration = Duration::from_secs(5);
/// How often the writer renews the owner key and considers writing a snapshot.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// The most events one `XADD` pipeline or one `XREAD` carries.
pub const BATCH: usize = 512;
/// How long a follower's `XREAD` waits for news before asking again.
pub const BLOCK: Duration = Duration::from_secs(2);

/// Takes the owner key if it is free or already ours, and renews it.
const CLAIM: &str = r"
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0";

/// Deletes the owner key if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Where an instance's link to Redis stands; `/readyz` is 200 only when `Ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not connected (yet, or any more): reconnecting with backoff.
    Connecting,
    /// Connected, waiting for the market: an empty stream, or no snapshot to start from.
    Syncing,
    /// Another instance runs the market on this stream: this one does not write.
    Conflict,
    /// Connected and in step with the stream.
    Ready,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Connecting => "connecting",
            Health::Syncing => "syncing",
            Health::Conflict => "conflict",
            Health::Ready => "ready",
        }
    }

    fn from_u8(value: u8) -> Health {
        match value {
            1 => Health::Syncing,
            2 => Health::Conflict,
            3 => Health::Ready,
            _ => Health::Connecting,
        }
    }
}

pub struct RedisBus {
    /// This process's fan-out and resume history.
    local: MemoryBus,
    client: redis::Client,
    history: usize,
    /// Events on their way to the stream (market instances only).
    outbox: Option<mpsc::Sender<Arc<Published>>>,
    outbox_rx: Mutex<Option<mpsc::Receiver<Arc<Published>>>>,
    health: AtomicU8,
    /// Events that never reached the stream because the queue was full.
    dropped: AtomicU64,
    /// This instance's value in the owner key.
    owner: String,
}

impl RedisBus {
    /// A bus on the Redis at `url`; `market` says whether this instance publishes to it.
    /// Connects lazily: start-up never waits for Redis.
    pub fn new(
        url: &str,
        market: bool,
        epoch: Epoch,
        history: usize,
        backlog: usize,
        instance: &str,
    ) -> RedisResult<RedisBus> {
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        let client = redis::Client::open(url)?;
        let (outbox, outbox_rx) = if market {
            let (tx, rx) = mpsc::channel(history.max(1));
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        Ok(RedisBus {
            local: MemoryBus::new(epoch, history, backlog),
            client,
            history: history.max(1),
            outbox,
            outbox_rx: Mutex::new(outbox_rx),
            health: AtomicU8::new(Health::Connecting as u8),
            dropped: AtomicU64::new(0),
            owner: format!("{instance}-{}", INSTANCES.fetch_add(1, Ordering::Relaxed)),
        })
    }

    pub fn health(&self) -> Health {
        Health::from_u8(self.health.load(Ordering::Relaxed))
    }

    pub(crate) fn set_health(&self, health: Health) {
        let before = Health::from_u8(self.health.swap(health as u8, Ordering::Relaxed));
        if before != health {
            tracing::info!(from = before.as_str(), to = health.as_str(), "redis link");
        }
    }

    /// Events kept for resuming clients (and roughly the stream's length).
    pub fn history(&self) -> usize {
        self.history
    }

    /// Events dropped on their way to the stream since start-up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A new connection, with time limits so that a dead server is noticed.
    pub async fn connect(&self) -> RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            // Longer than a follower's blocking read.
            .set_response_timeout(Some(BLOCK + Duration::from_secs(3)));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }
}

impl Bus for RedisBus {
    fn publish(&self, event: Arc<Published>) {
        self.local.publish(event.clone());
        let Some(outbox) = &self.outbox else {
            return; // a follower: the event came from the stream
        };
        if let Err(mpsc::error::TrySendError::Full(event)) = outbox.try_send(event) {
            if self
                .dropped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1_000)
            {
                tracing::warn!(
                    id = %event.id,
                    "the Redis queue is full: events are dropped (followers will reset)"
                );
            }
        }
    }

    fn subscribe(&self, after: Option<EventId>) -> Subscription {
        self.local.subscribe(after)
    }

    fn latest(&self) -> Option<EventId> {
        self.local.latest()
    }
}

/// An event id as a stream entry id: `EPOCH-SEQ` with the epoch in decimal.
pub fn stream_id(id: EventId) -> String {
    format!("{}-{}", id.epoch.0, id.seq)
}

/// The event id a stream entry id names.
pub fn parse_stream_id(text: &str) -> Option<EventId> {
    let (epoch, seq) = text.split_once('-')?;
    Some(EventId::new(Epoch(epoch.parse().ok()?), seq.parse().ok()?))
}

/// Whether `a` comes after `b` in stream order.
fn after(a: EventId, b: EventId) -> bool {
    (a.epoch.0, a.seq) > (b.epoch.0, b.seq)
}

/// One event read back from the stream.
#[derive(Debug)]
pub struct StreamEvent {
    pub id: EventId,
    pub ts: u64,
    pub payload: Payload,
    pub symbols: Vec<String>,
    /// The envelope exactly as the market encoded it.
    pub json: String,
}

/// Decodes one stream entry, checking that it is what the writer wrote.
pub fn decode_entry(entry: &redis::streams::StreamId) -> Result<StreamEvent, String> {
    let id = parse_stream_id(&entry.id).ok_or("the entry id is not an event id")?;
    let json: String = entry.get("json").ok_or("the entry has no `json` field")?;
    let envelope = wire::decode(&json).map_err(|err| err.to_string())?;
    if envelope.id != Some(id) {
        return Err("the envelope's id differs from the entry's".into());
    }
    let symbols: String = entry.get("symbols").unwrap_or_default();
    Ok(StreamEvent {
        id,
        ts: envelope.ts,
        payload: envelope.payload,
        symbols: symbols
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        json,
    })
}

/// The newest `count` entries, oldest first.
pub async fn read_tail(
    conn: &mut MultiplexedConnection,
    count: usize,
) -> RedisResult<StreamRangeReply> {
    let mut reply: StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(STREAM_KEY)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(count.max(1))
        .query_async(conn)
        .await?;
    reply.ids.reverse();
    Ok(reply)
}

/// Reconnection delays: 100 ms doubling to 5 s, back to the start after a success.
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    pub fn new() -> Backoff {
        Backoff {
            next: Backoff::FIRST,
        }
    }

    pub fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }

    /// Sleeps for the next delay; `false` if shutdown came first.
    pub async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}

/// The market side: writes queued events to the stream, keeps the owner key and the
/// snapshot, until `shutdown`. Runs once per process (it takes the queue).
pub async fn run_writer(bus: Arc<RedisBus>, hub: Arc<Hub>, shutdown: CancellationToken) {
    let taken = bus
        .outbox_rx
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    let Some(mut outbox) = taken else {
        return;
    };
    let mut writer = Writer {
        bus: &bus,
        hub: &hub,
        pending: VecDeque::new(),
        written: None,
        snapshot: None,
    };
    let mut backoff = Backoff::new();
    let mut conn = None;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let Some(connection) = conn.as_mut() else {
            bus.set_health(Health::Connecting);
            let connected = tokio::select! {
                () = shutdown.cancelled() => break,
                connected = bus.connect() => connected,
            };
            match connected {
                Ok(connection) => {
                    conn = Some(connection);
                    backoff.reset();
                }
                Err(err) => {
                    tracing::debug!(%err, "redis: cannot connect");
                    if !backoff.wait(&shutdown).await {
                        break;
                    }
                }
            }
            continue;
        };
        match writer.serve(connection, &mut outbox, &shutdown).await {
            Ok(Served::Shutdown) => break,
            Ok(Served::Conflict) => {
                bus.set_health(Health::Conflict);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(HOUSEKEEPING) => {}
                }
            }
            Err(err) => {
                tracing::warn!(%err, "redis: the writer lost its connection");
                conn = None;
                bus.set_health(Health::Connecting);
                if !backoff.wait(&shutdown).await {
                    break;
                }
            }
        }
    }
    // Best effort, briefly: what is still queued, then let another market start at once.
    if let Some(connection) = conn.as_mut() {
        let finish = async {
            while let Ok(event) = outbox.try_recv() {
                writer.pending.push_back(event);
            }
            writer.flush(connection).await?;
            Script::new(RELEASE)
                .key(OWNER_KEY)
                .arg(&bus.owner)
                .invoke_async::<i64>(connection)
                .await
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), finish).await;
    }
}

enum Served {
    Shutdown,
    Conflict,
}

struct Writer<'a> {
    bus: &'a RedisBus,
    hub: &'a Hub,
    /// Taken from the queue, not yet known to be in the stream.
    pending: VecDeque<Arc<Published>>,
    /// The newest event known to be in the stream.
    written: Option<EventId>,
    /// The snapshot id last stored, and when.
    snapshot: Option<(EventId, Instant)>,
}

impl Writer<'_> {
    /// Writes until shutdown, a conflict, or an error on the connection.
    async fn serve(
        &mut self,
        conn: &mut MultiplexedConnection,
        outbox: &mut mpsc::Receiver<Arc<Published>>,
        shutdown: &CancellationToken,
    ) -> RedisResult<Served> {
        if !self.claim(conn).await? {
            tracing::error!(
                "another instance runs the market on this Redis ({OWNER_KEY}); this one will not \
                 write to it: start it with --role web, or stop the other"
            );
            return Ok(Served::Conflict);
        }
        // A pipeline cut short may have written part of `pending`: the stream has the say.
        let top = read_tail(conn, 1)
            .await?
            .ids
            .first()
            .and_then(|entry| parse_stream_id(&entry.id));
        if let Some(top) = top {
            self.pending.retain(|event| after(event.id, top));
            let ours = top.epoch == self.hub.epoch();
            if ours && self.written.is_none_or(|written| after(top, written)) {
                self.written = Some(top);
            }
        }
        self.snapshot = None; // the key may be gone with the data
        self.bus.set_health(Health::Ready);
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            self.flush(conn).await?;
            self.store_snapshot(conn, outbox.is_empty()).await?;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(Served::Shutdown),
                received = outbox.recv_many(&mut batch, BATCH) => {
                    if received == 0 {
                        return Ok(Served::Shutdown); // the bus is gone
                    }
                    self.pending.extend(batch.drain(..));
                }
                _ = housekeeping.tick() => {
                    if !self.claim(conn).await? {
                        return Ok(Served::Conflict);
                    }
                    self.store_snapshot(conn, outbox.is_empty()).await?;
                }
            }
        }
    }

    /// Takes or renews the owner key; `false` if another instance holds it.
    async fn claim(&self, conn: &mut MultiplexedConnection) -> RedisResult<bool> {
        let claimed: i64 = Script::new(CLAIM)
            .key(OWNER_KEY)
            .arg(&self.bus.owner)
            .arg(u64::try_from(OWNER_TTL.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(conn)
            .await?;
        Ok(claimed == 1)
    }

    /// Appends `pending` to the stream in one pipeline.
    async fn flush(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for event in &self.pending {
            pipe.cmd("XADD")
                .arg(STREAM_KEY)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.bus.history)
                .arg(stream_id(event.id))
                .arg("json")
                .arg(event.json.as_ref())
                .arg("symbols")
                .arg(event.symbols.join(","))
                .ignore();
        }
        pipe.query_async::<()>(conn).await?;
        self.written = self.pending.back().map(|event| event.id);
        self.pending.clear();
        Ok(())
    }

    /// Stores the market's snapshot, at most once per [`HOUSEKEEPING`], and only when the
    /// stream holds every event the snapshot includes (so a follower starting from it finds
    /// the events after it in the stream).
    async fn store_snapshot(
        &mut self,
        conn: &mut MultiplexedConnection,
        caught_up: bool,
    ) -> RedisResult<()> {
        let Some(written) = self.written else {
            return Ok(());
        };
        if !caught_up || self.snapshot.is_some_and(|(id, _)| id == written) {
            return Ok(());
        }
        if self
            .snapshot
            .is_some_and(|(_, at)| at.elapsed() < HOUSEKEEPING)
        {
            return Ok(());
        }
        let encoded = self.hub.snapshot_event();
        if encoded.id != Some(written) {
            return Ok(()); // the market moved on meanwhile: next time
        }
        redis::cmd("SET")
            .arg(SNAPSHOT_KEY)
            .arg(encoded.json.as_ref())
            .query_async::<()>(conn)
            .await?;
        self.snapshot = Some((written, Instant::now()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_are_event_ids() {
        let id = EventId::new(Epoch(1_764_000_000_000), 42);
        assert_eq!(stream_id(id), "1764000000000-42");
        assert_eq!(parse_stream_id("1764000000000-42"), Some(id));
        for bad in ["", "1", "a-1", "1-", "1-2-3", "-1"] {
            assert_eq!(parse_stream_id(bad), None, "{bad:?}");
        }
        assert!(after(
            EventId::new(Epoch(2), 1),
            EventId::new(Epoch(1), 900)
        ));
        assert!(!after(EventId::new(Epoch(2), 1), EventId::new(Epoch(2), 1)));
    }
}
