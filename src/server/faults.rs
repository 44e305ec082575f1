//! Faults on purpose (`--faults`): the active faults, and what each connection watches to
//! obey them. `/api/admin/faults` adds and clears them; every streaming connection holds a
//! [`FaultWatch`] for its own name and transport, and asks it whether it is frozen, how late
//! to deliver, whether to skip the next event; a new request asks [`Faults::refusing`]. (An
//! `epoch` fault is the market's to carry out; it is only counted here.)
//!
//! A `drop` touches the connections open when it is injected, each for its own `count`
//! events: a client that resumes on a new connection is not dropped again. Polls, each a new
//! request, share one `count` per fault instead.
//!
//! Invariants: a fault ends by itself at its deadline, with nobody to clean up after it (a
//! watch only ever waits until a deadline it was shown, or until the faults change); a
//! frozen connection still ends at once when it is told to (shutdown, a drop), because the
//! wait for a thaw is raced against its end like everything else it waits for.

use super::metrics::{FaultLabels, Metrics};
use crate::wire::faults::{ActiveFault, FaultEffect, FaultSpec, FaultTarget};
use crate::wire::Transport;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// One fault while it lasts.
#[derive(Clone, Debug)]
struct Fault {
    id: u64,
    effect: FaultEffect,
    target: FaultTarget,
    started: Instant,
    until: Instant,
    /// `drop`: what is left to skip for polls, which have no connection to count for (each
    /// poll is a new request): shared by all of them.
    poll_drops: Arc<AtomicU64>,
}

impl Fault {
    fn touches(&self, name: &str, transport: Transport) -> bool {
        match &self.target {
            FaultTarget::Connection(target) => target == name,
            FaultTarget::Transport(target) => *target == transport,
            FaultTarget::All => true,
        }
    }

    fn view(&self, now: Instant) -> ActiveFault {
        let (connection, transport) = match &self.target {
            FaultTarget::Connection(name) => (Some(name.clone()), None),
            FaultTarget::Transport(transport) => (None, Some(*transport)),
            FaultTarget::All => (None, None),
        };
        let (delay_ms, count) = match self.effect {
            FaultEffect::Delay(delay) => (Some(millis(delay)), None),
            FaultEffect::Drop(count) => (None, Some(count)),
            _ => (None, None),
        };
        ActiveFault {
            id: self.id,
            kind: self.effect.kind(),
            connection,
            transport,
            remaining_ms: millis(self.until.saturating_duration_since(now)),
            delay_ms,
            count,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The server's active faults.
pub struct Faults {
    /// Whether the server obeys `/api/admin/faults` at all.
    pub enabled: bool,
    active: watch::Sender<Arc<Vec<Fault>>>,
    next_id: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Faults {
    /// No faults yet; `enabled` is `--faults`.
    pub fn new(enabled: bool, metrics: Arc<Metrics>) -> Faults {
        Faults {
            enabled,
            active: watch::Sender::new(Arc::new(Vec::new())),
            next_id: AtomicU64::new(1),
            metrics,
        }
    }

    /// Starts a fault, which lasts its duration (an `epoch`, already carried out by the
    /// market, is only counted and reported).
    pub fn inject(&self, spec: FaultSpec) -> ActiveFault {
        let now = Instant::now();
        let kind = spec.effect.kind();
        let fault = Fault {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            effect: spec.effect,
            target: spec.target,
            started: now,
            until: now + spec.duration,
            poll_drops: Arc::new(AtomicU64::new(match spec.effect {
                FaultEffect::Drop(count) => count,
                _ => 0,
            })),
        };
        let view = fault.view(now);
        if spec.effect != FaultEffect::Epoch {
            self.active.send_modify(|active| {
                let mut kept: Vec<Fault> = live(active, now).collect();
                kept.push(fault);
                *active = Arc::new(kept);
            });
        }
        self.metrics
            .faults
            .get_or_create(&FaultLabels {
                kind: kind.as_str(),
            })
            .inc();
        tracing::warn!(kind = kind.as_str(), "fault injected on purpose");
        view
    }

    /// Whether new requests of `transport` are being refused on purpose; if so, for how
    /// much longer.
    pub fn refusing(&self, transport: Transport) -> Option<Duration> {
        let now = Instant::now();
        live(&self.active.borrow(), now)
            .filter(|fault| fault.effect == FaultEffect::Refuse)
            .filter(|fault| match fault.target {
                FaultTarget::Transport(target) => target == transport,
                FaultTarget::All => true,
                FaultTarget::Connection(_) => false,
            })
            .map(|fault| fault.until - now)
            .max()
    }

    /// The faults still in force, oldest first.
    pub fn list(&self) -> Vec<ActiveFault> {
        let now = Instant::now();
        live(&self.active.borrow(), now)
            .map(|fault| fault.view(now))
            .collect()
    }

    /// Ends every fault now; returns those it ended.
    pub fn clear(&self) -> Vec<ActiveFault> {
        let ended = self.list();
        self.active.send_replace(Arc::new(Vec::new()));
        ended
    }

    /// What the connection `name` of `transport`, opening now, watches.
    pub fn watch(&self, name: &str, transport: Transport) -> FaultWatch {
        FaultWatch {
            enabled: self.enabled,
            active: self.active.subscribe(),
            name: name.to_owned(),
            transport,
            opened: Instant::now(),
            dropped: HashMap::new(),
        }
    }
}

/// The faults not yet past their deadline.
fn live(active: &[Fault], now: Instant) -> impl Iterator<Item = Fault> + '_ {
    active
        .iter()
        .filter(move |fault| fault.until > now)
        .cloned()
}

/// One connection's view of the faults.
pub struct FaultWatch {
    /// `--faults`: without it nothing is ever looked up (every event asks).
    enabled: bool,
    active: watch::Receiver<Arc<Vec<Fault>>>,
    name: String,
    transport: Transport,
    /// When the connection opened: a `drop` injected before that does not touch it.
    opened: Instant,
    /// Events skipped so far, per `drop` fault.
    dropped: HashMap<u64, u64>,
}

impl FaultWatch {
    /// The live faults that touch this connection (marking the faults seen).
    fn touching(&mut self) -> Vec<Fault> {
        if !self.enabled {
            return Vec::new();
        }
        let active = self.active.borrow_and_update().clone();
        if active.is_empty() {
            return Vec::new();
        }
        let now = Instant::now();
        live(&active, now)
            .filter(|fault| fault.touches(&self.name, self.transport))
            .collect()
    }

    /// Until when this connection is frozen, if it is.
    fn frozen_until(&mut self) -> Option<Instant> {
        self.touching()
            .iter()
            .filter(|fault| fault.effect == FaultEffect::Freeze)
            .map(|fault| fault.until)
            .max()
    }

    /// How late each delivery to this connection is now (zero without a `delay`).
    pub fn delay(&mut self) -> Duration {
        self.touching()
            .iter()
            .filter_map(|fault| match fault.effect {
                FaultEffect::Delay(delay) => Some(delay),
                _ => None,
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Whether the next event of the history is to be skipped (a `drop` that touches this
    /// connection, injected after it opened, with events left to skip); counts it if so.
    /// Polls share one count per fault: the next `count` events any poll would answer.
    pub fn drops_next(&mut self) -> bool {
        let opened = self.opened;
        for fault in self.touching() {
            let FaultEffect::Drop(count) = fault.effect else {
                continue;
            };
            if self.transport == Transport::Poll {
                let left =
                    fault
                        .poll_drops
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                            left.checked_sub(1)
                        });
                if left.is_ok() {
                    return true;
                }
                continue;
            }
            if fault.started < opened {
                continue;
            }
            let skipped = self.dropped.entry(fault.id).or_insert(0);
            if *skipped < count {
                *skipped += 1;
                return true;
            }
        }
        false
    }

    /// A separate view of when the faults change, to race against what the connection
    /// waits for while this watch is busy looking things up.
    pub fn changes(&self) -> FaultChanges {
        FaultChanges {
            active: self.active.clone(),
        }
    }

    /// Returns at once unless this connection is frozen; then when the freeze ends (its
    /// deadline passes, or the faults are cleared). Race it against the connection's end.
    pub async fn thawed(&mut self) {
        while let Some(until) = self.frozen_until() {
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                changed = self.active.changed() => {
                    if changed.is_err() {
                        // The server is going away: wait out the deadline it set.
                        tokio::time::sleep_until(until).await;
                    }
                }
            }
        }
    }
}

/// When the faults change: one begins, ends early, or they are cleared.
pub struct FaultChanges {
    active: watch::Receiver<Arc<Vec<Fault>>>,
}

impl FaultChanges {
    /// Resolves at the next change: a connection waiting for something to write races
    /// this, so that a freeze stops it before its next write rather than after.
    pub async fn changed(&mut self) {
        if self.active.changed().await.is_err() {
            // The server is going away; its end reaches the connection another way.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults::new(true, Arc::new(Metrics::new()))
    }

    fn spec(effect: FaultEffect, target: FaultTarget, duration: Duration) -> FaultSpec {
        FaultSpec {
            effect,
            target,
            duration,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_drop_skips_count_events_of_the_connections_open_when_it_began() {
        let faults = faults();
        let mut open = faults.watch("abc", Transport::Sse);
        tokio::time::advance(Duration::from_millis(1)).await;
        faults.inject(spec(
            FaultEffect::Drop(2),
            FaultTarget::All,
            Duration::from_secs(60),
        ));
        tokio::time::advance(Duration::from_millis(1)).await;
        let mut later = faults.watch("def", Transport::Sse);
        assert_eq!(
            [open.drops_next(), open.drops_next(), open.drops_next()],
            [true, true, false]
        );
        assert!(
            !later.drops_next(),
            "a connection opened after it is not touched"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn delays_and_refusals_last_their_duration() {
        let faults = faults();
        let mut watch = faults.watch("abc", Transport::Ws);
        faults.inject(spec(
            FaultEffect::Delay(Duration::from_millis(300)),
            FaultTarget::Transport(Transport::Ws),
            Duration::from_secs(2),
        ));
        faults.inject(spec(
            FaultEffect::Refuse,
            FaultTarget::Transport(Transport::Poll),
            Duration::from_secs(3),
        ));
        assert_eq!(watch.delay(), Duration::from_millis(300));
        assert_eq!(
            faults.refusing(Transport::Poll),
            Some(Duration::from_secs(3))
        );
        assert_eq!(faults.refusing(Transport::Sse), None);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(watch.delay(), Duration::ZERO);
        assert_eq!(
            faults.refusing(Transport::Poll),
            Some(Duration::from_secs(1))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(faults.refusing(Transport::Poll), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_freeze_holds_its_target_until_its_deadline() {
        let faults = faults();
        let mut frozen = faults.watch("abc", Transport::Sse);
        let mut other = faults.watch("def", Transport::Sse);
        faults.inject(spec(
            FaultEffect::Freeze,
            FaultTarget::Connection("abc".into()),
            Duration::from_secs(5),
        ));
        let started = Instant::now();
        other.thawed().await;
        assert_eq!(Instant::now(), started, "another connection is not held");
        frozen.thawed().await;
        assert_eq!(Instant::now() - started, Duration::from_secs(5));
        assert!(faults.list().is_empty(), "it ended by itself");
    }

    #[tokio::test(start_paused = true)]
    async fn clearing_thaws_at_once() {
        let faults = Arc::new(faults());
        let mut frozen = faults.watch("abc", Transport::Ws);
        faults.inject(spec(
            FaultEffect::Freeze,
            FaultTarget::Transport(Transport::Ws),
            Duration::from_secs(60),
        ));
        let clearing = faults.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert_eq!(clearing.clear().len(), 1);
        });
        let started = Instant::now();
        frozen.thawed().await;
        assert_eq!(Instant::now() - started, Duration::from_secs(1));
    }

    #[test]
    fn targets_choose_whom_they_touch() {
        let fault = |target| Fault {
            id: 1,
            effect: FaultEffect::Freeze,
            target,
            started: Instant::now(),
            until: Instant::now(),
            poll_drops: Arc::new(AtomicU64::new(0)),
        };
        assert!(fault(FaultTarget::All).touches("x", Transport::Poll));
        assert!(fault(FaultTarget::Transport(Transport::Sse)).touches("x", Transport::Sse));
        assert!(!fault(FaultTarget::Transport(Transport::Sse)).touches("x", Transport::Ws));
        assert!(!fault(FaultTarget::Connection("y".into())).touches("x", Transport::Sse));
    }
}
