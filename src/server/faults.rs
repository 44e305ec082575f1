//! Faults on purpose (`--faults`): the active faults, and what each connection watches to
//! obey them. `/api/admin/faults` adds and clears them; every streaming connection holds a
//! [`FaultWatch`] for its own name and transport.
//!
//! Invariants: a fault ends by itself at its deadline, with nobody to clean up after it (a
//! watch only ever waits until a deadline it was shown, or until the faults change); a
//! frozen connection still ends at once when it is told to (shutdown, a drop), because the
//! wait for a thaw is raced against its end like everything else it waits for.

use super::metrics::{FaultLabels, Metrics};
use crate::wire::faults::{ActiveFault, FaultKind, FaultTarget};
use crate::wire::Transport;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// One fault while it lasts.
#[derive(Clone, Debug)]
struct Fault {
    id: u64,
    kind: FaultKind,
    target: FaultTarget,
    until: Instant,
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
        ActiveFault {
            id: self.id,
            kind: self.kind,
            connection,
            transport,
            remaining_ms: u64::try_from(self.until.saturating_duration_since(now).as_millis())
                .unwrap_or(u64::MAX),
        }
    }
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

    /// Starts a fault; it lasts `duration`.
    pub fn inject(&self, kind: FaultKind, target: FaultTarget, duration: Duration) -> ActiveFault {
        let now = Instant::now();
        let fault = Fault {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            kind,
            target,
            until: now + duration,
        };
        let view = fault.view(now);
        self.active.send_modify(|active| {
            let mut kept: Vec<Fault> = live(active, now).collect();
            kept.push(fault);
            *active = Arc::new(kept);
        });
        self.metrics
            .faults
            .get_or_create(&FaultLabels {
                kind: kind.as_str(),
            })
            .inc();
        tracing::warn!(kind = kind.as_str(), "fault injected on purpose");
        view
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

    /// What the connection `name` of `transport` watches.
    pub fn watch(&self, name: &str, transport: Transport) -> FaultWatch {
        FaultWatch {
            active: self.active.subscribe(),
            name: name.to_owned(),
            transport,
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
    active: watch::Receiver<Arc<Vec<Fault>>>,
    name: String,
    transport: Transport,
}

impl FaultWatch {
    /// Until when this connection is frozen, if it is.
    fn frozen_until(&mut self) -> Option<Instant> {
        let now = Instant::now();
        self.active
            .borrow_and_update()
            .iter()
            .filter(|fault| fault.kind == FaultKind::Freeze && fault.until > now)
            .filter(|fault| fault.touches(&self.name, self.transport))
            .map(|fault| fault.until)
            .max()
    }

    /// Resolves when the faults change (one begins, ends early, or is cleared): a
    /// connection waiting for something to write races this, so that a freeze stops it
    /// before its next write rather than after.
    pub async fn changed(&mut self) {
        if self.active.changed().await.is_err() {
            // The server is going away; its end reaches the connection another way.
            std::future::pending::<()>().await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults::new(true, Arc::new(Metrics::new()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_freeze_holds_its_target_until_its_deadline() {
        let faults = faults();
        let mut frozen = faults.watch("abc", Transport::Sse);
        let mut other = faults.watch("def", Transport::Sse);
        faults.inject(
            FaultKind::Freeze,
            FaultTarget::Connection("abc".into()),
            Duration::from_secs(5),
        );
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
        faults.inject(
            FaultKind::Freeze,
            FaultTarget::Transport(Transport::Ws),
            Duration::from_secs(60),
        );
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
            kind: FaultKind::Freeze,
            target,
            until: Instant::now(),
        };
        assert!(fault(FaultTarget::All).touches("x", Transport::Poll));
        assert!(fault(FaultTarget::Transport(Transport::Sse)).touches("x", Transport::Sse));
        assert!(!fault(FaultTarget::Transport(Transport::Sse)).touches("x", Transport::Ws));
        assert!(!fault(FaultTarget::Connection("y".into())).touches("x", Transport::Sse));
    }
}
