//! One connection to Redis kept open for a task, however often Redis goes away: connect
//! with time limits, run the task's session on it, and after any error reconnect with
//! backoff (100 ms doubling to 5 s, back to the start after a success). The writer and the
//! follower are both a [`Session`] run by [`keep_connected`]; neither has a reconnect loop
//! of its own.

use super::RedisBus;
use crate::server::link::BusLink;
use crate::wire::health::LinkState;
use redis::aio::MultiplexedConnection;
use redis::RedisResult;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A task's work on one connection to Redis.
pub trait Session {
    /// Works on `conn` until the task is done (`Ok`: it watches for shutdown itself, so it
    /// can finish what it was writing) or the connection fails (`Err`).
    fn serve(
        &mut self,
        conn: &mut MultiplexedConnection,
    ) -> impl Future<Output = RedisResult<()>> + Send;
}

/// Runs `session` on a connection until it is done, making a new connection after a
/// backoff whenever one fails; while it is not connected, `link` (the instance's health,
/// for a task that speaks for it) says so. Returns the connection the session ended on, for
/// a last word before the process stops (none if shutdown came while disconnected).
pub async fn keep_connected(
    bus: &RedisBus,
    link: Option<&BusLink>,
    shutdown: &CancellationToken,
    session: &mut impl Session,
) -> Option<MultiplexedConnection> {
    let connecting = || {
        if let Some(link) = link {
            link.set(LinkState::Connecting);
        }
    };
    let mut backoff = Backoff::new();
    while !shutdown.is_cancelled() {
        connecting();
        let connected = tokio::select! {
            () = shutdown.cancelled() => return None,
            connected = bus.connect() => connected,
        };
        let mut conn = match connected {
            Ok(conn) => conn,
            Err(err) => {
                tracing::debug!(%err, "redis: cannot connect");
                if !backoff.wait(shutdown).await {
                    return None;
                }
                continue;
            }
        };
        backoff.reset();
        match session.serve(&mut conn).await {
            Ok(()) => return Some(conn),
            Err(err) => {
                tracing::warn!(%err, "redis: lost the connection");
                connecting();
                if !backoff.wait(shutdown).await {
                    return None;
                }
            }
        }
    }
    None
}

/// Reconnection delays: 100 ms doubling to 5 s, back to the start after a success.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn new() -> Backoff {
        Backoff {
            next: Backoff::FIRST,
        }
    }

    fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }

    /// Sleeps for the next delay; `false` if shutdown came first.
    async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}
