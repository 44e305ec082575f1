//! Market failover (`--role auto`, the default with `--bus redis://…`): every instance can
//! run the market, and exactly one does — the one holding the market lease (the owner key,
//! `SET … PX`, renewed every second by its [`writer`](super::writer)).
//!
//! An instance that does not hold it follows the stream like a `--role web` one, and asks
//! for the lease a few times a second. When it gets it (the holder shut down and released
//! it, or died and it expired after [`OWNER_TTL`](writer::OWNER_TTL)), it takes the market over:
//!
//! 1. stops following, and reads the stream up to its newest event;
//! 2. reads the checkpoint the holder wrote in the same transaction as that event
//!    ([`CHECKPOINT_KEY`]): the market's whole state after it, random streams included;
//! 3. restores the market from it, continues the hub's history after that event — same
//!    epoch, next sequence number — and starts its driver, writer and inbox.
//!
//! So a client of any instance sees no reset and no gap, and a seeded market produces the
//! prices it would have produced without the failure. With nothing to continue (an empty
//! stream: the first instance of a new deployment) it opens a new market; with a stream
//! but no checkpoint that matches it (a market that wrote none), a new market in a new
//! epoch, which clients receive as `reset` and a snapshot — never a silent splice.
//!
//! Invariant: an instance publishes only while it holds the lease; Redis fences the rest
//! (`XADD` refuses an id that is not above the stream's last).

use super::codec::CHECKPOINT_KEY;
use super::follower;
use super::writer;
use super::{inbox, RedisBus};
use crate::market::{Checkpoint, Market, MarketConfig};
use crate::server::clock::now_millis;
use crate::server::config::ClockMode;
use crate::server::driver::{Driver, DriverHandle};
use crate::server::hub::Hub;
use crate::wire::EventId;
use redis::aio::MultiplexedConnection;
use redis::RedisResult;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a follower asks for the lease.
const ASK_EVERY: Duration = Duration::from_millis(250);

/// What an instance needs to run the market once it holds the lease.
pub struct Candidate {
    /// The idle driver, with the market this instance would open if there were none.
    pub driver: Driver,
    /// Builds a market like this instance's, to restore a checkpoint into.
    pub market_config: MarketConfig,
    /// A handle on that driver, for the inbox.
    pub handle: DriverHandle,
    /// `--clock`, `--step-ms`, `--speed`, `--warmup-steps`.
    pub clock: ClockMode,
    /// Real time per step.
    pub step: Duration,
    /// The speed factor.
    pub speed: f64,
    /// Steps run before anyone watches, for a new market.
    pub warmup_steps: u64,
}

/// Follows the market until this instance holds the lease, then runs it, until `shutdown`.
pub async fn run(
    bus: Arc<RedisBus>,
    hub: Arc<Hub>,
    candidate: Candidate,
    shutdown: CancellationToken,
) {
    let Candidate {
        mut driver,
        market_config,
        handle,
        clock,
        step,
        speed,
        warmup_steps,
    } = candidate;
    let checkpoints = loop {
        let following = shutdown.child_token();
        let follower = tokio::spawn(follower::run(bus.clone(), hub.clone(), following.clone()));
        let leased = wait_for_lease(&bus, &shutdown).await;
        following.cancel();
        let _ = follower.await;
        let Some(mut conn) = leased else {
            return; // shutdown
        };
        let asked = std::time::Instant::now();
        match take_over(&bus, &hub, &mut conn, market_config.clone()).await {
            Ok(Some((market, last))) => {
                hub.continue_after(last);
                // From here on what the hub publishes is this instance's to write.
                bus.set_writing(true);
                driver.take_over(market);
                tracing::warn!(
                    after = %last,
                    took_ms = asked.elapsed().as_millis() as u64,
                    "took the market over from its checkpoint"
                );
                break driver.checkpoints();
            }
            Ok(None) => {
                if hub.latest().is_some() {
                    // A history this instance cannot continue: a new one, told as such.
                    hub.start_epoch(now_millis());
                    tracing::warn!("no checkpoint matches the stream: a new market, a new epoch");
                }
                bus.set_writing(true);
                let checkpoints = driver.checkpoints();
                driver.activate();
                driver.open(warmup_steps, u64::try_from(step.as_millis()).unwrap_or(250));
                break checkpoints;
            }
            Err(err) => {
                // Nothing runs yet: follow again; the lease lapses meanwhile, for whichever
                // instance (this one included) gets it next.
                tracing::error!("redis: taking the market over failed ({err}); following again");
            }
        }
    };
    tokio::spawn(inbox::run(bus.clone(), handle, shutdown.clone()));
    tokio::spawn(writer::run(
        bus.clone(),
        hub.clone(),
        Some(checkpoints),
        shutdown.clone(),
    ));
    driver.run(clock, step, speed, shutdown).await;
}

/// Asks for the lease until this instance has it (with the connection it asked on), or
/// `None` at shutdown.
async fn wait_for_lease(
    bus: &RedisBus,
    shutdown: &CancellationToken,
) -> Option<MultiplexedConnection> {
    let mut conn: Option<MultiplexedConnection> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(ASK_EVERY) => {}
        }
        if conn.is_none() {
            conn = bus.connect().await.ok();
        }
        let Some(open) = conn.as_mut() else { continue };
        match writer::claim(bus, open).await {
            Ok(true) => return conn,
            Ok(false) => {}
            Err(_) => conn = None, // reconnect next time
        }
    }
}

/// Brings the hub up to the stream's end and reads the checkpoint there: the market to
/// continue and the event it continues after, or `None` when there is nothing to continue.
async fn take_over(
    bus: &RedisBus,
    hub: &Hub,
    conn: &mut MultiplexedConnection,
    market_config: MarketConfig,
) -> RedisResult<Option<(Market, EventId)>> {
    follower::catch_up(bus, hub, conn).await?;
    let Some(last) = hub.latest() else {
        return Ok(None);
    };
    let (id, market): (Option<String>, Option<String>) = redis::cmd("HMGET")
        .arg(CHECKPOINT_KEY)
        .arg("id")
        .arg("market")
        .query_async(conn)
        .await?;
    let (Some(id), Some(market)) = (id, market) else {
        return Ok(None);
    };
    if super::codec::parse_stream_id(&id) != Some(last) {
        tracing::warn!(checkpoint = %id, stream = %last, "the checkpoint is not the stream's end");
        return Ok(None);
    }
    match Checkpoint::decode(&market)
        .and_then(|checkpoint| Market::restore(market_config, &checkpoint))
    {
        Ok(market) => Ok(Some((market, last))),
        Err(err) => {
            tracing::warn!("the checkpoint cannot be restored: {err}");
            Ok(None)
        }
    }
}
