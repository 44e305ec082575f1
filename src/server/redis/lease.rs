//! The market lease: the owner key (`SET … PX`) that says which instance runs the market on
//! a Redis, and how long its holder may count on it.
//!
//! Redis counts the key's time to live on its own clock, from when it ran the `SET`; the
//! holder cannot see that clock, and a holder that was paused (`SIGSTOP`, a long stall) or
//! cut off cannot know how much of it is left. So it counts on
//! its own monotonic clock, from *before* it asked, and trusts the lease for less than the
//! key lives ([`TRUST_FOR`] < [`OWNER_TTL`]): whatever happened in between, the key cannot
//! have lapsed — and another instance cannot have taken the market — while the holder
//! still trusts it. (A clock that stops while the process is stopped — a paused virtual
//! machine — would break that count; every write is fenced besides, see
//! [`writer`](super::writer): Redis refuses it unless the key still names the writer.)
//!
//! Invariant: an instance trusts the lease only until `asked + TRUST_FOR`, where `asked`
//! is taken before the renewal that succeeded was sent.

use super::codec::OWNER_KEY;
use super::RedisBus;
use redis::aio::MultiplexedConnection;
use redis::{RedisResult, Script};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::time::Instant;

/// How long the owner key outlives its last renewal: how soon another instance may take
/// the market over after its holder died without releasing it.
pub const OWNER_TTL: Duration = Duration::from_secs(3);
/// How often the holder renews the key.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How long after asking the holder trusts a renewal: a second less than the key lives, so
/// a holder stops before anyone else may start.
pub const TRUST_FOR: Duration = Duration::from_secs(2);

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

/// [`CLAIM`], hashed once.
static CLAIM_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CLAIM));
/// [`RELEASE`], hashed once.
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE));

/// The lease as its holder counts it.
#[derive(Clone, Copy, Debug)]
pub struct Lease {
    /// Until when the holder trusts it, on its monotonic clock.
    until: Instant,
}

impl Lease {
    /// Until when the holder may act on it.
    pub fn until(self) -> Instant {
        self.until
    }

    /// Whether it can no longer be trusted.
    pub fn expired(self) -> bool {
        Instant::now() >= self.until
    }
}

/// Takes or renews the owner key for `bus`'s instance: the lease, counted from just before
/// asking, or `None` if another instance holds it.
pub async fn claim(bus: &RedisBus, conn: &mut MultiplexedConnection) -> RedisResult<Option<Lease>> {
    let asked = Instant::now();
    let claimed: i64 = CLAIM_SCRIPT
        .key(OWNER_KEY)
        .arg(bus.owner())
        .arg(u64::try_from(OWNER_TTL.as_millis()).unwrap_or(u64::MAX))
        .invoke_async(conn)
        .await?;
    Ok((claimed == 1).then_some(Lease {
        until: asked + TRUST_FOR,
    }))
}

/// Lets another instance take the market at once (at shutdown), if the key is still ours.
pub async fn release(bus: &RedisBus, conn: &mut MultiplexedConnection) -> RedisResult<()> {
    RELEASE_SCRIPT
        .key(OWNER_KEY)
        .arg(bus.owner())
        .invoke_async::<i64>(conn)
        .await?;
    Ok(())
}
