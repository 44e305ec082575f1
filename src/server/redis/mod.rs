//! Redis (`--bus redis://HOST:PORT`): one market, several web instances.
//!
//! This is the pub/sub pattern of the Flask + Redis seed article, done so that nothing is
//! lost when a client moves between instances. One **Redis Stream** is both the event log
//! and the live feed:
//!
//! - the instance that runs the market hands every event to the [`writer`], which
//!   `XADD`s it with the event's own id as the stream entry id (`EPOCH-SEQ`, epoch in
//!   decimal) and trims the stream to about `--history` entries; its own clients see the
//!   event once it is written (the lease holder) or at once (`--role both`);
//! - every other instance runs a [`follower`] that reads the stream (`XREAD BLOCK`)
//!   into its hub, which folds each event into its own view and then fans it out through
//!   its own in-process bus — the same order as the market's hub.
//!
//! Because stream ids *are* event ids, every instance serves the same ids with the same
//! bytes, a client can resume on any instance, and Redis itself fences the log: `XADD`
//! refuses an id that is not above the stream's last, so no event is ever written twice or
//! out of order. Besides the stream, the market keeps its current snapshot in a key (at
//! most once a second, and only when the stream holds everything the snapshot includes), so
//! a follower that starts, or that finds a hole in the stream, can start over from it.
//!
//! **Roles and the lease.** The market is a deterministic state machine whose state (the
//! random generators' positions, volatility, pending news effects, the session) lives in
//! one process's memory. To let another instance continue it, the market's driver hands
//! on a checkpoint of that whole state after every step and command, and the writer puts
//! it in Redis in the same script as the events it follows. With `--role auto` (the
//! default) every instance is a candidate: the one holding the owner key (the [`lease`]:
//! `SET … PX`, renewed every second, released on shutdown) runs the market, the others
//! follow and take over from the checkpoint when the key lapses ([`failover`]) — same
//! epoch, next id, same prices. A holder that cannot prove it still holds the lease (paused,
//! cut off) steps down before the key could lapse, and every write is fenced by the key, so
//! two instances never write — or show — different events under one id. `--role both`
//! always runs the market (a second one stays up but never writes, and its `/readyz` says
//! `conflict`); `--role web` never does.
//!
//! **Outages.** Nothing panics and nothing grows without bound. A lease holder that loses
//! Redis for longer than it trusts the lease steps down and follows (reconnecting); another
//! instance, or itself, takes the market over when Redis is back. A `--role both` writer's
//! queue holds at most `--history` events; while Redis is away it fills, then further
//! events are dropped (the market's own clients still get them). Tasks reconnect with the
//! same backoff ([`connection`]); the `--role both` writer skips what the stream already
//! has and writes the rest; a hole left by dropped events is found by the followers, whose
//! clients then get `reset` + snapshot. Every task reports its state in the instance's
//! [`BusLink`](crate::server::link::BusLink), and `/readyz` answers 503 until it is `ready`.
//!
//! | file | what |
//! |---|---|
//! | [`bus`] | [`RedisBus`]: the in-process fan-out plus the queue to the stream |
//! | [`codec`] | the keys, and events as stream entries and back |
//! | [`connection`] | one connection kept open, reconnecting with backoff |
//! | [`lease`] | the owner key: who runs the market, and how long its holder trusts it |
//! | [`writer`] | the market side: events → stream (fenced), owner key, stored snapshot |
//! | [`follower`] | the web side: stream → hub, resynchronising after holes |
//! | [`inbox`] | the market side: events anyone publishes with `XADD tickstream:publish` |
//! | [`failover`] | `--role auto`: follow until holding the lease, then continue the market from its checkpoint |

pub mod bus;
pub mod codec;
pub mod connection;
pub mod failover;
pub mod follower;
pub mod inbox;
pub mod lease;
pub mod writer;

pub use bus::RedisBus;
