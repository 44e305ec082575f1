//! [`RedisBus`]: the bus of an instance that shares its market through Redis. Inside the
//! process it is a [`MemoryBus`] (resume history and fan-out, exactly as with one process);
//! on a `--role both` market it also queues every event for the
//! [`writer`](super::writer), without ever waiting for Redis. (A lease holder's events take
//! the other way round — to the writer first, then here — staged by its
//! [`Hub`](crate::server::hub::Hub).)
//!
//! Invariant: publishing never blocks and never grows without bound. The queue holds at most
//! `--history` events; an event that does not fit is dropped from the stream only (the
//! market's own clients still get it) and counted.

use crate::server::bus::memory::MemoryBus;
use crate::server::bus::{Bus, Published, Subscription};
use crate::server::link::BusLink;
use crate::wire::{Epoch, EventId};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisResult};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a follower's `XREAD` waits for news before asking again.
pub const BLOCK: Duration = Duration::from_secs(2);

/// One instance's bus on a shared Redis.
pub struct RedisBus {
    /// This process's fan-out and resume history.
    local: MemoryBus,
    client: redis::Client,
    history: usize,
    /// Events on their way to the stream (a `--role both` market only).
    outbox: Option<mpsc::Sender<Arc<Published>>>,
    outbox_rx: Mutex<Option<mpsc::Receiver<Arc<Published>>>>,
    link: Arc<BusLink>,
    /// Events that never reached the stream because the queue was full.
    dropped: AtomicU64,
    /// This instance's value in the owner key.
    owner: String,
}

impl RedisBus {
    /// A bus on the Redis at `url`; `market` says whether this instance copies what it
    /// publishes to the stream (`--role both`). Connects lazily: start-up never waits for
    /// Redis.
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
            link: Arc::new(BusLink::new()),
            dropped: AtomicU64::new(0),
            owner: format!("{instance}-{}", INSTANCES.fetch_add(1, Ordering::Relaxed)),
        })
    }

    /// Where this instance's link to Redis stands, shared with `/readyz`.
    pub fn link(&self) -> Arc<BusLink> {
        self.link.clone()
    }

    pub(super) fn link_ref(&self) -> &BusLink {
        &self.link
    }

    /// Events kept for resuming clients (and roughly the stream's length).
    pub fn history(&self) -> usize {
        self.history
    }

    /// Events dropped on their way to the stream since start-up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// This instance's value in the owner key.
    pub(super) fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes the queue of events bound for the stream: once per process, by the writer.
    pub(super) fn take_outbox(&self) -> Option<mpsc::Receiver<Arc<Published>>> {
        self.outbox_rx
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
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
            return; // it came from the stream, or was written before it came here
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
