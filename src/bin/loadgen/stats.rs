//! What the clients of one run count together: deliveries, losses, reconnects, and a
//! latency histogram, all lock-free so that thousands of client tasks can record at once.
//!
//! Invariant: recording never allocates and never blocks. The histogram has fixed buckets
//! (exact below 128 µs, then 64 per power of two: at most 1.6 % error), so its memory does
//! not grow with the number of samples, whatever the run's length.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Values below this are their own bucket.
const LINEAR: u64 = 128;
/// Sub-buckets per power of two above [`LINEAR`] (2^SUB_BITS).
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for any `u64`.
const BUCKETS: usize = (LINEAR + (64 - 7) * SUB) as usize;

/// A concurrent histogram of microseconds.
pub struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    max: AtomicU64,
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    pub fn record(&self, micros: u64) {
        self.buckets[index(micros)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.max.fetch_max(micros, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    pub fn max(&self) -> u64 {
        self.max.load(Relaxed)
    }

    /// The value at quantile `q` (0..=1): the upper end of the bucket holding it, so a
    /// percentile is never reported better than it was. `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (at, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Relaxed);
            if seen >= rank {
                return Some(upper(at).min(self.max()));
            }
        }
        Some(self.max())
    }
}

fn index(value: u64) -> usize {
    if value < LINEAR {
        return value as usize;
    }
    let exp = 63 - u64::from(value.leading_zeros()); // >= 7
    let mantissa = (value >> (exp - u64::from(SUB_BITS))) - SUB; // 0..SUB
    (LINEAR + (exp - 7) * SUB + mantissa) as usize
}

/// The largest value that falls in bucket `at`.
fn upper(at: usize) -> u64 {
    let at = at as u64;
    if at < LINEAR {
        return at;
    }
    let rel = at - LINEAR;
    let exp = rel / SUB + 7;
    let mantissa = rel % SUB + SUB;
    let shift = exp - u64::from(SUB_BITS);
    let end = u128::from(mantissa + 1) << shift;
    u64::try_from(end - 1).unwrap_or(u64::MAX)
}

/// Counters shared by every client and the publisher of one run.
pub struct Stats {
    /// Clients connected right now.
    pub connected: AtomicU64,
    /// Connection attempts that failed (refused, reset, bad status, timeout).
    pub connect_failures: AtomicU64,
    /// Connections that ended and were opened again during the run.
    pub reconnects: AtomicU64,
    /// Measured messages received (the publisher's, sequence ≥ 1).
    pub deliveries: AtomicU64,
    /// Measured messages received twice or out of order.
    pub duplicates: AtomicU64,
    /// Messages a client skipped: a jump in the publisher's sequence.
    pub gaps: AtomicU64,
    /// `reset` events (tickstream tells a lagging client to start over).
    pub resets: AtomicU64,
    /// Every event or message received, measured or not (hello, snapshot, …).
    pub frames: AtomicU64,
    /// Payload bytes of the measured messages (SSE `data`, WebSocket text).
    pub message_bytes: AtomicU64,
    /// HTTP requests the clients made (long-polling makes one per answer).
    pub requests: AtomicU64,
    /// Clients that received the calibration message (sequence 0).
    pub calibrated: AtomicU64,
    /// Length of the first calibration message seen, to size the padding.
    pub calibration_len: AtomicU64,
    /// Publish → receive latency of measured messages.
    pub latency: Histogram,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            connected: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            message_bytes: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            calibrated: AtomicU64::new(0),
            calibration_len: AtomicU64::new(0),
            latency: Histogram::new(),
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_their_values() {
        for value in [
            0,
            1,
            127,
            128,
            129,
            255,
            256,
            1_000,
            65_535,
            1 << 40,
            u64::MAX,
        ] {
            let at = index(value);
            assert!(at < BUCKETS, "{value}");
            assert!(upper(at) >= value, "{value}: {}", upper(at));
            if at > 0 {
                assert!(upper(at - 1) < value, "{value}");
            }
        }
    }

    #[test]
    fn quantiles_are_close() {
        let histogram = Histogram::new();
        for value in 1..=10_000 {
            histogram.record(value);
        }
        let p50 = histogram.quantile(0.5).unwrap_or(0);
        let p99 = histogram.quantile(0.99).unwrap_or(0);
        assert!((5_000..=5_100).contains(&p50), "{p50}");
        assert!((9_900..=10_000).contains(&p99), "{p99}");
        assert_eq!(histogram.quantile(1.0), Some(10_000));
    }
}
