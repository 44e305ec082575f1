//! Market failover (`--role auto`, the default with `--bus redis://…`): every instance can
//! run the market, and at most one does — the one holding the market
//! [lease](super::lease) (the owner key).
//!
//! An instance that does not hold it follows the stream like a `--role web` one, and asks
//! for the lease a few times a second. When it gets it (the holder shut down and released
//! it, or died or stalled and it expired after [`OWNER_TTL`](super::lease::OWNER_TTL)), it
//! takes the market over:
//!
//! 1. stops following, and reads the stream up to its newest event;
//! 2. reads the checkpoint the holder wrote together with that event ([`CHECKPOINT_KEY`]):
//!    the market's whole state after it, random streams included;
//! 3. restores the market from it, continues the hub's history after that event — same
//!    epoch, next sequence number — and runs its driver, writer and inbox: a **term**.
//!
//! So a client of any instance sees no reset and no gap, and a seeded market produces the
//! prices it would have produced without the failure. With nothing to continue (an empty
//! stream: the first instance of a new deployment) it opens a new market; with a stream
//! but no checkpoint that matches it (a market that wrote none), a new market in a new
//! epoch, which clients receive as `reset` and a snapshot — never a silent splice.
//!
//! A term ends at shutdown, or as soon as the holder cannot prove it still holds the lease
//! (see [`writer::hold`]): it was paused past its renewal, cut off from Redis, or finds
//! another instance's name in the key. The instance then **steps down**: it stops its
//! driver, throws away what it had not written (its clients never saw it, see
//! [`Hub::stage`]) and follows again from the last event it did write — so its clients go
//! on with the one market, resumed where the ids line up, else with `reset` + snapshot.
//!
//! Invariant: an instance's clients see only events that are in the stream, written while
//! it held the lease; Redis fences every write (the key must name the writer).

use super::codec::CHECKPOINT_KEY;
use super::follower;
use super::lease;
use super::writer::{self, Stepdown};
use super::{inbox, RedisBus};
use crate::market::{Checkpoint, Market, MarketConfig};
use crate::server::bus::Published;
use crate::server::clock::now_millis;
use crate::server::config::ClockMode;
use crate::server::driver::{Driver, DriverHandle};
use crate::server::hub::Hub;
use crate::wire::EventId;
use redis::aio::MultiplexedConnection;
use redis::RedisResult;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often a follower asks for the lease.
const ASK_EVERY: Duration = Duration::from_millis(250);
/// The fewest events a holder's hub may stage for the writer (more with a longer
/// `--history`): a burst of this many unwritten events is absorbed, a longer one ends the
/// term.
const STAGING_ROOM: usize = 8_192;

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

/// Follows the market until this instance holds the lease, runs it for as long as the
/// lease can be trusted, follows again — until `shutdown`.
pub async fn run(
    bus: Arc<RedisBus>,
    hub: Arc<Hub>,
    mut candidate: Candidate,
    shutdown: CancellationToken,
) {
    // Nothing this instance publishes is shown before it holds the lease and writes it.
    hub.refuse();
    loop {
        let following = shutdown.child_token();
        let follower = tokio::spawn(follower::run(bus.clone(), hub.clone(), following.clone()));
        let leased = wait_for_lease(&bus, &shutdown).await;
        following.cancel();
        let _ = follower.await;
        let Some(mut conn) = leased else {
            return; // shutdown
        };
        let Some(term) = begin_term(&bus, &hub, &mut candidate, &mut conn).await else {
            continue; // nothing runs yet: the lease lapses for whoever asks next
        };
        let ended = hold_term(&bus, &hub, &mut candidate, term, conn, &shutdown).await;
        candidate.driver.idle();
        let thrown = hub.refuse();
        if matches!(ended, Stepdown::Shutdown) || shutdown.is_cancelled() {
            return;
        }
        tracing::warn!(
            reason = %ended,
            unwritten = thrown,
            after = ?hub.latest().map(|id| id.to_string()),
            "stepped down: following the market again from the last event written"
        );
    }
}

/// A term about to begin: the writer's queue, and whether the market is a new one (to be
/// opened, with its warm-up, once the writer runs).
struct Term {
    queue: mpsc::Receiver<Arc<Published>>,
    opens: bool,
}

/// Takes the market over on `conn` (from the checkpoint at the stream's end, or a new
/// market) and starts staging what it publishes; `None` if Redis failed meanwhile (nothing
/// runs then).
async fn begin_term(
    bus: &RedisBus,
    hub: &Hub,
    candidate: &mut Candidate,
    conn: &mut MultiplexedConnection,
) -> Option<Term> {
    let asked = std::time::Instant::now();
    let taken = take_over(bus, hub, conn, candidate.market_config.clone()).await;
    let driver = &mut candidate.driver;
    match taken {
        Ok(Some((market, last))) => {
            hub.continue_after(last);
            let queue = hub.stage(bus.history().max(STAGING_ROOM));
            driver.take_over(market);
            tracing::warn!(
                after = %last,
                took_ms = u64::try_from(asked.elapsed().as_millis()).unwrap_or(u64::MAX),
                "took the market over from its checkpoint"
            );
            Some(Term {
                queue,
                opens: false,
            })
        }
        Ok(None) => {
            if hub.latest().is_some() {
                // A history this instance cannot continue: a new one, told as such.
                hub.start_epoch(now_millis());
                tracing::warn!("no checkpoint matches the stream: a new market, a new epoch");
            }
            let queue = hub.stage(bus.history().max(STAGING_ROOM));
            driver.activate();
            Some(Term { queue, opens: true })
        }
        Err(err) => {
            tracing::error!("redis: taking the market over failed ({err}); following again");
            None
        }
    }
}

/// One term: the driver runs the market, the writer writes (and shows) what it publishes,
/// the inbox relays what others publish — until the writer says why the term is over.
async fn hold_term(
    bus: &Arc<RedisBus>,
    hub: &Hub,
    candidate: &mut Candidate,
    term: Term,
    mut conn: MultiplexedConnection,
    shutdown: &CancellationToken,
) -> Stepdown {
    // The term's own end, not the server's: at shutdown the writer still writes what is
    // staged and releases the key, and the driver must run until it has.
    let ends = CancellationToken::new();
    let checkpoints = candidate.driver.checkpoints();
    tokio::spawn(inbox::run(
        bus.clone(),
        candidate.handle.clone(),
        ends.clone(),
    ));
    let (clock, step, speed) = (candidate.clock, candidate.step, candidate.speed);
    let warmup = term.opens.then_some(candidate.warmup_steps);
    let handle = candidate.handle.clone();
    let driver = &mut candidate.driver;
    let driving = async {
        if let Some(warmup_steps) = warmup {
            let step_ms = u64::try_from(step.as_millis()).unwrap_or(250);
            driver.open_paced(warmup_steps, step_ms).await;
        }
        driver.run(clock, step, speed, ends.clone()).await;
    };
    let writing = writer::hold(bus, hub, term.queue, checkpoints, &mut conn, shutdown);
    tokio::pin!(driving, writing);
    let ended = tokio::select! {
        biased;
        ended = &mut writing => ended,
        // Its commands never close while the server runs, and its token is this term's.
        () = &mut driving => Stepdown::Shutdown,
    };
    // Idle before the driver is dropped: an admin command it drops then hears "not the
    // market", not "stopping".
    handle.stand_down();
    ends.cancel();
    ended
}

/// Asks for the lease until this instance has it: the connection it asked on (the term's
/// writer renews the lease there before anything else), or `None` at shutdown.
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
        match lease::claim(bus, open).await {
            Ok(Some(_)) => return conn,
            Ok(None) => {}
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
