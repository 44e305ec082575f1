//! The follower: how a `--role web` instance keeps in step with a market that runs in
//! another process, through the Redis stream (see [the Redis module](super)).
//!
//! It is the web instance's counterpart of the [`driver`](crate::server::driver): the driver feeds
//! the hub from the market, the follower feeds it from the stream, through
//! [`Hub::ingest`] (view first, then the local bus — the order every transport relies on).
//!
//! The follower tracks its *position*, the last event it passed to the local bus, and
//! (re)synchronises whenever it connects or sees something other than the next event:
//!
//! - if the stream's newest run of events continues the position (same epoch, no hole),
//!   it ingests what is new: clients see nothing but the events, late;
//! - otherwise history was lost to this instance (it just started, the market restarted
//!   with a new epoch, or events never reached the stream): it restores its view from the
//!   market's stored snapshot and ingests the run, whose first event starts the local
//!   history over — every live client gets `reset` + snapshot, and ids from before it are
//!   answered with `reset` as well;
//! - an empty stream (Redis restarted without its data) changes nothing: the position stays,
//!   and the next event the market writes decides.
//!
//! Then it reads live with `XREAD BLOCK` from its position. Any Redis error drops the
//! connection; it reconnects with backoff ([`keep_connected`]), and `/readyz` says not ready
//! until it is in step again. It ends when the server shuts down.

use super::codec::{decode_entry, read_tail, stream_id, StreamEvent, SNAPSHOT_KEY, STREAM_KEY};
use super::connection::{keep_connected, Session};
use super::{bus::BLOCK, RedisBus};
use crate::server::hub::Hub;
use crate::wire::health::LinkState;
use crate::wire::{self, EventId, Payload};
use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use redis::RedisResult;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a follower that waits for the market looks again.
const WAIT: Duration = Duration::from_millis(200);
/// The most events one `XREAD` carries.
const BATCH: usize = 512;

/// Follows the stream into `hub` until `shutdown`.
pub async fn run(bus: Arc<RedisBus>, hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut task = FollowerTask {
        follower: Follower {
            bus: &bus,
            hub: &hub,
            position: hub.latest(),
        },
        shutdown: &shutdown,
    };
    keep_connected(&bus, Some(bus.link_ref()), &shutdown, &mut task).await;
}

/// Brings `hub` up to the stream's newest event once (an instance about to take the market
/// over, whose follower has stopped); `false` if the stream gave nothing to start from.
pub(super) async fn catch_up(
    bus: &RedisBus,
    hub: &Hub,
    conn: &mut MultiplexedConnection,
) -> RedisResult<bool> {
    let mut follower = Follower {
        bus,
        hub,
        position: hub.latest(),
    };
    follower.sync(conn).await
}

/// The follower with the shutdown that ends it.
struct FollowerTask<'a> {
    follower: Follower<'a>,
    shutdown: &'a CancellationToken,
}

impl Session for FollowerTask<'_> {
    async fn serve(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        tokio::select! {
            () = self.shutdown.cancelled() => Ok(()),
            outcome = self.follower.follow(conn) => outcome,
        }
    }
}

struct Follower<'a> {
    bus: &'a RedisBus,
    hub: &'a Hub,
    /// The last event handed to the local bus.
    position: Option<EventId>,
}

impl Follower<'_> {
    /// Synchronises, then reads live; returns only on a connection error.
    async fn follow(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        loop {
            while !self.sync(conn).await? {
                self.bus.link_ref().set(LinkState::Syncing);
                tokio::time::sleep(WAIT).await;
            }
            self.bus.link_ref().set(LinkState::Ready);
            self.read_live(conn).await?;
        }
    }

    /// Brings the position up to the stream's newest event; `false` while there is
    /// nothing to start from yet.
    async fn sync(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<bool> {
        let tail = read_tail(conn, self.bus.history()).await?;
        let events: Vec<StreamEvent> = tail
            .ids
            .iter()
            .filter_map(|entry| match decode_entry(entry) {
                Ok(event) => Some(event),
                Err(err) => {
                    tracing::warn!(entry = %entry.id, %err, "redis: skipping a bad entry");
                    None
                }
            })
            .collect();
        let run = newest_run(events);
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            // Nothing in the stream: keep what we have, if anything.
            return Ok(self.position.is_some());
        };
        let (first, last) = (first.id, last.id);
        let continues = self
            .position
            .is_some_and(|at| at.epoch == last.epoch && first.seq <= at.seq + 1);
        if !continues {
            let Some((snapshot, ts)) = self.stored_snapshot(conn).await? else {
                return Ok(false);
            };
            // The snapshot must reach the run, or the events in between are nowhere.
            let usable = snapshot
                .id
                .is_some_and(|id| id.epoch == last.epoch && id.seq + 1 >= first.seq);
            if !usable {
                return Ok(false);
            }
            tracing::info!(
                from = ?self.position.map(|id| id.to_string()),
                to = %last,
                "following the market from its snapshot"
            );
            self.hub.restore(&snapshot, ts);
            self.position = None;
        }
        for event in run {
            self.take(event);
        }
        Ok(true)
    }

    /// The market's stored snapshot and its publish time.
    async fn stored_snapshot(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> RedisResult<Option<(wire::Snapshot, u64)>> {
        let json: Option<String> = redis::cmd("GET")
            .arg(SNAPSHOT_KEY)
            .query_async(conn)
            .await?;
        let Some(json) = json else {
            return Ok(None);
        };
        match wire::decode(&json) {
            Ok(wire::Envelope {
                ts,
                payload: Payload::Snapshot(snapshot),
                ..
            }) => Ok(Some((snapshot, ts))),
            Ok(_) | Err(_) => {
                tracing::warn!("redis: the stored snapshot is not a snapshot envelope");
                Ok(None)
            }
        }
    }

    /// Reads live events until one does not follow the position (then the caller
    /// synchronises again) or the connection fails.
    async fn read_live(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        loop {
            let Some(position) = self.position else {
                return Ok(());
            };
            let reply: Option<StreamReadReply> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(BATCH)
                .arg("BLOCK")
                .arg(u64::try_from(BLOCK.as_millis()).unwrap_or(u64::MAX))
                .arg("STREAMS")
                .arg(STREAM_KEY)
                .arg(stream_id(position))
                .query_async(conn)
                .await?;
            let entries = reply
                .into_iter()
                .flat_map(|reply| reply.keys)
                .flat_map(|key| key.ids);
            for entry in entries {
                let Ok(event) = decode_entry(&entry) else {
                    return Ok(()); // a hole, as far as we can tell: resynchronise
                };
                let at = self.position.unwrap_or(position);
                if event.id == at.next() {
                    self.take(event);
                } else if !(event.id.epoch == at.epoch && event.id.seq <= at.seq) {
                    return Ok(()); // a hole or a new epoch
                }
            }
        }
    }

    /// Hands one event to the hub, unless the position already covers it.
    fn take(&mut self, event: StreamEvent) {
        if self
            .position
            .is_some_and(|at| at.epoch == event.id.epoch && at.seq >= event.id.seq)
        {
            return;
        }
        self.position = Some(event.id);
        self.hub.ingest(
            event.id,
            event.ts,
            &event.payload,
            event.symbols,
            event.json,
        );
    }
}

/// The newest gapless run of one epoch at the end of `events` (oldest first).
fn newest_run(mut events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    let mut start = events.len();
    while start > 0 {
        let continues = events
            .get(start)
            .is_none_or(|next| events[start - 1].id.next() == next.id);
        if !continues {
            break;
        }
        start -= 1;
    }
    events.split_off(start)
}
