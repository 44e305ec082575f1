//! The market side of Redis: writes the market's events to the stream, keeps the owner key
//! (the market [lease](super::lease)), stores the market's snapshot for followers to start
//! from, and — given the driver's checkpoints — writes the market's whole state in the same
//! script as the events it follows.
//!
//! It writes for one of two kinds of market:
//!
//! - **`--role both`** ([`run`]): the market runs whatever Redis says; its clients saw each
//!   event at once, and the writer copies them to the stream, reconnecting as often as it
//!   takes and standing by while another instance holds the key;
//! - **the lease holder** (`--role auto`, [`hold`]): its clients see an event only once the
//!   writer has written it ([`Hub::commit_through`]). It writes on the connection the lease
//!   was won on, for as long as it can trust the lease, and ends its term — the instance
//!   steps down and follows — at the first doubt: the lease not renewed in time, the key
//!   naming another instance, the stream already past its events, a connection error, a
//!   queue it cannot keep up with. What it had not written is then thrown away unseen.
//!
//! Invariants: every write is fenced — one Lua script checks that the owner key still names
//! this instance and appends the events and the checkpoint, or writes nothing — so an
//! instance that lost the lease, however long it was paused, cannot write; the stream holds
//! each event once, in id order (the first `XADD` of a batch is refused unless its id is
//! above the stream's last, and then nothing is written); the stored snapshot never includes
//! an event the stream does not hold, and only the key's holder stores one; with
//! checkpoints, an event reaches the stream only together with the checkpoint taken after it
//! (or after a later one), so the stream never ends past its checkpoint: an instance taking
//! the market over continues from exactly the stream's last event.

use super::codec::{
    parse_stream_id, read_tail, stream_id, CHECKPOINT_KEY, OWNER_KEY, SNAPSHOT_KEY, STREAM_KEY,
};
use super::connection::{keep_connected, Session};
use super::lease::{self, Lease, RENEW_EVERY, TRUST_FOR};
use super::RedisBus;
use crate::server::bus::Published;
use crate::server::driver::Checkpoints;
use crate::server::hub::Hub;
use crate::wire::health::LinkState;
use crate::wire::EventId;
use redis::aio::MultiplexedConnection;
use redis::{RedisError, RedisResult, Script};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The most events one write carries.
const BATCH: usize = 512;
/// How long the last flush at shutdown may take.
const GOODBYE: Duration = Duration::from_secs(1);
/// How often a `--role both` market whose key another instance holds looks again.
const STAND_BY: Duration = Duration::from_secs(1);

/// Appends events (and the checkpoint after the last of them) if the owner key still names
/// the writer. `KEYS`: owner, stream, checkpoint. `ARGV`: owner, stream length to trim to,
/// checkpoint id (`''`: none), checkpoint, then `id json symbols` per event. Returns 1
/// when written, 0 when the key names someone else (nothing written), -1 when the stream
/// is already past the first event (nothing written).
const APPEND: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
for i = 5, #ARGV, 3 do
  local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], ARGV[i],
    'json', ARGV[i + 1], 'symbols', ARGV[i + 2])
  if type(added) == 'table' and added.err then
    if i == 5 then
      return -1
    end
    return redis.error_reply('the stream refused ' .. ARGV[i] .. ': ' .. added.err)
  end
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], 'id', ARGV[3], 'market', ARGV[4])
end
return 1";

/// [`APPEND`], hashed once.
static APPEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND));

/// Stores the market's snapshot if the owner key still names the writer (a late write from
/// an instance that lost the lease must not replace its successor's). `KEYS`: owner,
/// snapshot. `ARGV`: owner, the snapshot. Returns 1 when stored.
const STORE_SNAPSHOT: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
return 1";

/// [`STORE_SNAPSHOT`], hashed once.
static STORE_SNAPSHOT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(STORE_SNAPSHOT));

/// Copies a `--role both` market's events to the stream, keeps the owner key and the
/// snapshot, until `shutdown`; then writes what is still queued and releases the key
/// (briefly, best effort). Runs once per process: it takes the bus's queue.
pub async fn run(
    bus: Arc<RedisBus>,
    hub: Arc<Hub>,
    checkpoints: Option<Checkpoints>,
    shutdown: CancellationToken,
) {
    let Some(outbox) = bus.take_outbox() else {
        return;
    };
    let mut task = WriterTask {
        writer: Writer::new(&bus, &hub, checkpoints, false),
        outbox,
        shutdown: &shutdown,
    };
    let last = keep_connected(&bus, Some(bus.link_ref()), &shutdown, &mut task).await;
    if let Some(mut conn) = last {
        let goodbye = task.writer.goodbye(&mut conn, &mut task.outbox);
        let _ = tokio::time::timeout(GOODBYE, goodbye).await;
    }
}

/// Why a lease holder's term ended ([`hold`]).
#[derive(Debug)]
pub enum Stepdown {
    /// The server is shutting down (what was queued was written, the key released).
    Shutdown,
    /// The lease was not renewed in time to be trusted any longer.
    Expired,
    /// The owner key names another instance.
    Lost,
    /// The stream is already past this instance's events: another instance wrote them.
    Overtaken,
    /// The market published faster than Redis took its events.
    Overwhelmed,
    /// The connection failed.
    Failed(RedisError),
}

impl std::fmt::Display for Stepdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stepdown::Shutdown => f.write_str("the server is shutting down"),
            Stepdown::Expired => f.write_str("the lease was not renewed in time"),
            Stepdown::Lost => f.write_str("another instance holds the lease"),
            Stepdown::Overtaken => f.write_str("the stream is past this instance's events"),
            Stepdown::Overwhelmed => f.write_str("Redis did not keep up with the market"),
            Stepdown::Failed(err) => write!(f, "Redis failed: {err}"),
        }
    }
}

/// Writes a lease holder's events — staged by its hub, taken from `queue` — to the stream
/// on `conn` (the connection the lease was won on), and shows each one once written, for as
/// long as the lease can be trusted; returns why it stopped. At shutdown it writes what it
/// can and releases the key.
pub async fn hold(
    bus: &RedisBus,
    hub: &Hub,
    mut queue: mpsc::Receiver<Arc<Published>>,
    checkpoints: Checkpoints,
    conn: &mut MultiplexedConnection,
    shutdown: &CancellationToken,
) -> Stepdown {
    let mut writer = Writer::new(bus, hub, Some(checkpoints), true);
    writer.written = hub.latest();
    // Taking the market over took a while since the lease was won: renew it first (the
    // key is still ours, or the claim says so), so the term starts with a whole lease.
    let mut lease = match tokio::time::timeout(TRUST_FOR, lease::claim(bus, conn)).await {
        Ok(Ok(Some(renewed))) => renewed,
        Ok(Ok(None)) => return Stepdown::Lost,
        Ok(Err(err)) => return Stepdown::Failed(err),
        Err(_) => return Stepdown::Expired,
    };
    bus.link_ref().set(LinkState::Ready);
    let mut renew = tokio::time::interval_at(Instant::now() + RENEW_EVERY, RENEW_EVERY);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(BATCH);
    let ended = loop {
        match within(lease, writer.flush(conn, &mut queue)).await {
            Ok(Appended::Written) => {}
            Ok(Appended::Fenced) => break Stepdown::Lost,
            Ok(Appended::Overtaken) => break Stepdown::Overtaken,
            Err(ended) => break ended,
        }
        if let Err(ended) = within(lease, writer.store_snapshot(conn, queue.is_empty())).await {
            break ended;
        }
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break Stepdown::Shutdown,
            received = queue.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    break Stepdown::Overwhelmed; // the hub stopped staging
                }
                writer.pending.extend(batch.drain(..));
            }
            // A checkpoint releases the events it follows.
            Ok(()) = checkpoint_changed(&mut writer.checkpoints) => {}
            _ = renew.tick() => match within(lease, lease::claim(bus, conn)).await {
                Ok(Some(renewed)) => lease = renewed,
                Ok(None) => break Stepdown::Lost,
                Err(ended) => break ended,
            },
            () = tokio::time::sleep_until(lease.until()) => break Stepdown::Expired,
        }
    };
    if matches!(ended, Stepdown::Shutdown) && !lease.expired() {
        let goodbye = writer.goodbye(conn, &mut queue);
        let _ = tokio::time::timeout(GOODBYE, goodbye).await;
    }
    ended
}

/// Runs one Redis call of a lease holder, no longer than the lease can be trusted.
async fn within<T>(
    lease: Lease,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, Stepdown> {
    if lease.expired() {
        return Err(Stepdown::Expired);
    }
    match tokio::time::timeout_at(lease.until(), call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(Stepdown::Failed(err)),
        Err(_) => Err(Stepdown::Expired),
    }
}

/// The `--role both` writer with what it serves from: its queue, and the shutdown it watches.
struct WriterTask<'a> {
    writer: Writer<'a>,
    outbox: mpsc::Receiver<Arc<Published>>,
    shutdown: &'a CancellationToken,
}

impl Session for WriterTask<'_> {
    async fn serve(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        self.writer
            .serve_until_shutdown(conn, &mut self.outbox, self.shutdown)
            .await
    }
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
    /// The driver's checkpoints (`None`: events are written as they come).
    checkpoints: Option<Checkpoints>,
    /// Whether the hub shows an event only once it is written (a lease holder's).
    commits: bool,
}

/// What a write did.
enum Appended {
    /// Wrote the events that were ready (perhaps none).
    Written,
    /// Wrote nothing: the owner key names another instance.
    Fenced,
    /// Wrote nothing: the stream is already past the first event.
    Overtaken,
}

/// Why [`Writer::serve`] returned without an error.
enum Served {
    Shutdown,
    /// Another instance holds the owner key.
    Conflict,
}

impl<'a> Writer<'a> {
    fn new(
        bus: &'a RedisBus,
        hub: &'a Hub,
        checkpoints: Option<Checkpoints>,
        commits: bool,
    ) -> Writer<'a> {
        Writer {
            bus,
            hub,
            pending: VecDeque::new(),
            written: None,
            snapshot: None,
            checkpoints,
            commits,
        }
    }

    /// Serves on one connection until shutdown (`Ok`) or a connection error (`Err`),
    /// standing by while another market holds the owner key.
    async fn serve_until_shutdown(
        &mut self,
        conn: &mut MultiplexedConnection,
        outbox: &mut mpsc::Receiver<Arc<Published>>,
        shutdown: &CancellationToken,
    ) -> RedisResult<()> {
        loop {
            match self.serve(conn, outbox, shutdown).await? {
                Served::Shutdown => return Ok(()),
                Served::Conflict => {
                    self.bus.link_ref().set(LinkState::Conflict);
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(STAND_BY) => {}
                    }
                }
            }
        }
    }

    /// Writes until shutdown, a conflict, or an error on the connection.
    async fn serve(
        &mut self,
        conn: &mut MultiplexedConnection,
        outbox: &mut mpsc::Receiver<Arc<Published>>,
        shutdown: &CancellationToken,
    ) -> RedisResult<Served> {
        if lease::claim(self.bus, conn).await?.is_none() {
            tracing::error!(
                "another instance runs the market on this Redis ({OWNER_KEY}); this one will not \
                 write to it: start it with --role web, or stop the other"
            );
            return Ok(Served::Conflict);
        }
        self.catch_up(conn).await?;
        self.bus.link_ref().set(LinkState::Ready);
        let mut housekeeping = tokio::time::interval(RENEW_EVERY);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            match self.flush(conn, outbox).await? {
                Appended::Written => {}
                Appended::Fenced => return Ok(Served::Conflict),
                // Another writer got there first: the stream has the say.
                Appended::Overtaken => self.catch_up(conn).await?,
            }
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
                // A checkpoint releases the events it follows.
                Ok(()) = checkpoint_changed(&mut self.checkpoints) => {}
                _ = housekeeping.tick() => {
                    if lease::claim(self.bus, conn).await?.is_none() {
                        return Ok(Served::Conflict);
                    }
                }
            }
        }
    }

    /// After (re)connecting: a write cut short may have written `pending`, and Redis may
    /// have lost everything, so the stream has the say on what is written.
    async fn catch_up(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        let top = read_tail(conn, 1)
            .await?
            .ids
            .first()
            .and_then(|entry| parse_stream_id(&entry.id));
        if let Some(top) = top {
            self.pending.retain(|event| event.id.is_after(top));
            let ours = top.epoch == self.hub.epoch();
            if ours && self.written.is_none_or(|written| top.is_after(written)) {
                self.written = Some(top);
            }
        }
        self.snapshot = None; // the key may be gone with the data
        Ok(())
    }

    /// Appends what is queued to the stream in one fenced script — with checkpoints, the
    /// events up to the newest checkpoint and that checkpoint — and, for a lease holder,
    /// shows them.
    async fn flush(
        &mut self,
        conn: &mut MultiplexedConnection,
        queue: &mut mpsc::Receiver<Arc<Published>>,
    ) -> RedisResult<Appended> {
        let checkpoint = self
            .checkpoints
            .as_ref()
            .and_then(|checkpoints| checkpoints.borrow().clone());
        // Everything queued, taken *after* the checkpoint was read: the events it follows
        // were queued before it was handed on, so they are all here and the write can end
        // exactly at it (the checkpoint goes with its event, never behind the stream's end).
        while let Ok(event) = queue.try_recv() {
            self.pending.push_back(event);
        }
        let ready = match (&self.checkpoints, &checkpoint) {
            (None, _) => self.pending.len(),
            (Some(_), None) => 0,
            (Some(_), Some(checkpoint)) => self
                .pending
                .iter()
                .take_while(|event| !event.id.is_after(checkpoint.id))
                .count(),
        };
        let Some(last) = ready.checked_sub(1).and_then(|at| self.pending.get(at)) else {
            return Ok(Appended::Written);
        };
        let last = last.id;
        let checkpoint = checkpoint.filter(|checkpoint| checkpoint.id == last);
        let mut script = APPEND_SCRIPT.prepare_invoke();
        script
            .key(OWNER_KEY)
            .key(STREAM_KEY)
            .key(CHECKPOINT_KEY)
            .arg(self.bus.owner())
            .arg(self.bus.history());
        match &checkpoint {
            Some(checkpoint) => script.arg(stream_id(checkpoint.id)).arg(&checkpoint.json),
            None => script.arg("").arg(""),
        };
        for event in self.pending.iter().take(ready) {
            script
                .arg(stream_id(event.id))
                .arg(event.json.as_ref())
                .arg(event.symbols.join(","));
        }
        let appended: i64 = script.invoke_async(conn).await?;
        match appended {
            1 => {}
            0 => return Ok(Appended::Fenced),
            _ => return Ok(Appended::Overtaken),
        }
        self.written = Some(last);
        self.pending.drain(..ready);
        if self.commits {
            self.hub.commit_through(last);
        }
        Ok(Appended::Written)
    }

    /// Stores the market's snapshot, at most once per [`RENEW_EVERY`], and only when the
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
            .is_some_and(|(_, at)| at.elapsed() < RENEW_EVERY)
        {
            return Ok(());
        }
        let encoded = self.hub.snapshot_event();
        if encoded.id != Some(written) {
            return Ok(()); // the market moved on meanwhile: next time
        }
        STORE_SNAPSHOT_SCRIPT
            .key(OWNER_KEY)
            .key(SNAPSHOT_KEY)
            .arg(self.bus.owner())
            .arg(encoded.json.as_ref())
            .invoke_async::<i64>(conn)
            .await?;
        self.snapshot = Some((written, Instant::now()));
        Ok(())
    }

    /// At shutdown: what is still queued, then let another market start at once.
    async fn goodbye(
        &mut self,
        conn: &mut MultiplexedConnection,
        outbox: &mut mpsc::Receiver<Arc<Published>>,
    ) -> RedisResult<()> {
        self.flush(conn, outbox).await?;
        lease::release(self.bus, conn).await
    }
}

/// Resolves when a new checkpoint arrives; never without checkpoints, or once the driver
/// is gone.
async fn checkpoint_changed(checkpoints: &mut Option<Checkpoints>) -> Result<(), ()> {
    match checkpoints {
        Some(checkpoints) => checkpoints.changed().await.map_err(|_| ()),
        None => std::future::pending().await,
    }
}
