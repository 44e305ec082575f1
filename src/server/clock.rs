//! The wall clock: the one place tickstream reads real time.
//!
//! The market knows only logical steps; the [`driver`](super::driver) decides when a step
//! happens, and everything that stamps or measures time — an event's `ts`, a stream's
//! latency histogram, the diagnostic stream's `time` events, a new process's epoch — reads
//! it here. One seam, so that a test or a future fault injector has one place to look.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the `ts` of every event.
pub fn now_millis() -> u64 {
    now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The wall clock itself.
pub fn now() -> SystemTime {
    SystemTime::now()
}
