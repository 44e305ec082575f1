//! The market side of Redis: writes the queued events to the stream, keeps the owner key
//! (the market lease) that refuses a second market, stores the market's snapshot for
//! followers to start from, and — given the driver's checkpoints — writes the market's whole
//! state in the same transaction as the events it follows.
//!
//! Invariants: the stream holds each event once, in id order (`XADD` with the event id
//! refuses anything not above the stream's last, and after a reconnect the writer first
//! drops from its queue what the stream already has); the stored snapshot never includes an
//! event the stream does not hold, so a follower that starts from it finds the rest there;
//! with checkpoints, an event reaches the stream only in the same `MULTI` as the checkpoint
//! taken after it (or after a later one), so the stream never ends past its checkpoint: an
//! instance taking the market over continues from exactly the stream's last event.

use super::codec::{
    after, parse_stream_id, read_tail, stream_id, CHECKPOINT_KEY, OWNER_KEY, SNAPSHOT_KEY,
    STREAM_KEY,
};
use super::connection::{keep_connected, Session};
use super::RedisBus;
use crate::server::bus::Published;
use crate::server::driver::Checkpoints;
use crate::server::hub::Hub;
use crate::wire::health::LinkState;
use crate::wire::EventId;
use redis::aio::MultiplexedConnection;
use redis::{RedisResult, Script};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the owner key outlives its last renewal: how soon another instance may take
/// the market over after its holder died without releasing it.
pub const OWNER_TTL: Duration = Duration::from_secs(3);
/// How often the writer renews the owner key and considers writing a snapshot.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// The most events one `XADD` pipeline carries.
const BATCH: usize = 512;
/// How long the last flush at shutdown may take.
const GOODBYE: Duration = Duration::from_secs(1);

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

/// Writes queued events to the stream, keeps the owner key and the snapshot, until
/// `shutdown`; then writes what is still queued and releases the key (briefly, best
/// effort). Runs once per process: it takes the queue.
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
        writer: Writer {
            bus: &bus,
            hub: &hub,
            pending: VecDeque::new(),
            written: None,
            snapshot: None,
            checkpoints,
        },
        outbox,
        shutdown: &shutdown,
    };
    let last = keep_connected(&bus, Some(bus.link_ref()), &shutdown, &mut task).await;
    if let Some(mut conn) = last {
        let goodbye = task.writer.goodbye(&mut conn, &mut task.outbox);
        let _ = tokio::time::timeout(GOODBYE, goodbye).await;
    }
}

/// The writer with what it serves from: its queue, and the shutdown it watches.
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
}

/// Why [`Writer::serve`] returned without an error.
enum Served {
    Shutdown,
    /// Another instance holds the owner key.
    Conflict,
}

impl Writer<'_> {
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
                        () = tokio::time::sleep(HOUSEKEEPING) => {}
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
        if !self.claim(conn).await? {
            tracing::error!(
                "another instance runs the market on this Redis ({OWNER_KEY}); this one will not \
                 write to it: start it with --role web, or stop the other"
            );
            return Ok(Served::Conflict);
        }
        self.catch_up(conn).await?;
        self.bus.link_ref().set(LinkState::Ready);
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
                // A checkpoint releases the events it follows.
                Ok(()) = checkpoint_changed(&mut self.checkpoints) => {}
                _ = housekeeping.tick() => {
                    if !self.claim(conn).await? {
                        return Ok(Served::Conflict);
                    }
                    self.store_snapshot(conn, outbox.is_empty()).await?;
                }
            }
        }
    }

    /// After (re)connecting: a pipeline cut short may have written part of `pending`, and
    /// Redis may have lost everything, so the stream has the say on what is written.
    async fn catch_up(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
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
        Ok(())
    }

    /// Takes or renews the owner key; `false` if another instance holds it.
    async fn claim(&self, conn: &mut MultiplexedConnection) -> RedisResult<bool> {
        claim(self.bus, conn).await
    }

    /// Appends `pending` to the stream in one pipeline — with checkpoints, the events up to
    /// the newest checkpoint and that checkpoint, in one transaction.
    async fn flush(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        let checkpoint = self
            .checkpoints
            .as_ref()
            .and_then(|checkpoints| checkpoints.borrow().clone());
        let ready = match (&self.checkpoints, &checkpoint) {
            (None, _) => self.pending.len(),
            (Some(_), None) => 0,
            (Some(_), Some(checkpoint)) => self
                .pending
                .iter()
                .take_while(|event| !after(event.id, checkpoint.id))
                .count(),
        };
        if ready == 0 {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for event in self.pending.iter().take(ready) {
            pipe.cmd("XADD")
                .arg(STREAM_KEY)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.bus.history())
                .arg(stream_id(event.id))
                .arg("json")
                .arg(event.json.as_ref())
                .arg("symbols")
                .arg(event.symbols.join(","))
                .ignore();
        }
        let last = self.pending.get(ready - 1).map(|event| event.id);
        if let Some(checkpoint) = checkpoint.filter(|checkpoint| Some(checkpoint.id) == last) {
            pipe.cmd("HSET")
                .arg(CHECKPOINT_KEY)
                .arg("id")
                .arg(stream_id(checkpoint.id))
                .arg("market")
                .arg(&checkpoint.json)
                .ignore();
        }
        pipe.query_async::<()>(conn).await?;
        self.written = last;
        self.pending.drain(..ready);
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

    /// At shutdown: what is still queued, then let another market start at once.
    async fn goodbye(
        &mut self,
        conn: &mut MultiplexedConnection,
        outbox: &mut mpsc::Receiver<Arc<Published>>,
    ) -> RedisResult<()> {
        while let Ok(event) = outbox.try_recv() {
            self.pending.push_back(event);
        }
        self.flush(conn).await?;
        Script::new(RELEASE)
            .key(OWNER_KEY)
            .arg(self.bus.owner())
            .invoke_async::<i64>(conn)
            .await?;
        Ok(())
    }
}

/// Takes or renews the owner key (the market lease) for `bus`'s instance; `false` if
/// another instance holds it.
pub(super) async fn claim(bus: &RedisBus, conn: &mut MultiplexedConnection) -> RedisResult<bool> {
    let claimed: i64 = Script::new(CLAIM)
        .key(OWNER_KEY)
        .arg(bus.owner())
        .arg(u64::try_from(OWNER_TTL.as_millis()).unwrap_or(u64::MAX))
        .invoke_async(conn)
        .await?;
    Ok(claimed == 1)
}

/// Resolves when a new checkpoint arrives; never without checkpoints, or once the driver
/// is gone.
async fn checkpoint_changed(checkpoints: &mut Option<Checkpoints>) -> Result<(), ()> {
    match checkpoints {
        Some(checkpoints) => checkpoints.changed().await.map_err(|_| ()),
        None => std::future::pending().await,
    }
}
