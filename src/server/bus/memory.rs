//! The in-memory bus: a bounded ring of recent events plus a tokio broadcast channel.
//!
//! One mutex orders everything: `publish` appends to the ring and broadcasts while holding
//! it, and `subscribe` copies the replay and opens its receiver while holding it. So a
//! subscriber's receiver starts exactly after the last event of its replay.
//!
//! Memory is bounded twice: the ring keeps `history` events, and the broadcast channel keeps
//! `backlog` events for the slowest subscriber, who then gets [`Live::Lagged`](super::Live).

use super::{Bus, LiveReceiver, Published, ResetReason, Start, Subscription};
use crate::wire::{Epoch, EventId};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

pub struct MemoryBus {
    epoch: Epoch,
    ring: Mutex<Ring>,
    sender: broadcast::Sender<Arc<Published>>,
}

struct Ring {
    events: VecDeque<Arc<Published>>,
    capacity: usize,
}

impl MemoryBus {
    /// A bus for the history `epoch`, remembering `history` events and letting a subscriber
    /// fall `backlog` events behind before it is told it lagged.
    pub fn new(epoch: Epoch, history: usize, backlog: usize) -> MemoryBus {
        let (sender, _) = broadcast::channel(backlog.max(1));
        MemoryBus {
            epoch,
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(history.max(1)),
                capacity: history.max(1),
            }),
            sender,
        }
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding this lock cannot leave the ring half-updated (push and pop
        // are each complete), so a poisoned lock is still a consistent ring.
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Bus for MemoryBus {
    fn publish(&self, event: Arc<Published>) {
        let mut ring = self.ring();
        debug_assert!(
            ring.events
                .back()
                .is_none_or(|last| last.id.next() == event.id),
            "events are published in id order"
        );
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // No receivers is fine: nobody is watching right now.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self, after: Option<EventId>) -> Subscription {
        let ring = self.ring();
        let live = LiveReceiver(self.sender.subscribe());
        let start = match after {
            None => Start::Fresh,
            Some(id) => replay_after(self.epoch, &ring.events, id),
        };
        Subscription { start, live }
    }

    fn latest(&self) -> Option<EventId> {
        self.ring().events.back().map(|event| event.id)
    }
}

/// The events after `id`, if the ring still has all of them.
fn replay_after(epoch: Epoch, events: &VecDeque<Arc<Published>>, id: EventId) -> Start {
    if id.epoch != epoch {
        return Start::Reset(ResetReason::OtherEpoch);
    }
    let (Some(first), Some(last)) = (events.front(), events.back()) else {
        // Nothing published yet, so no id of this epoch can be known.
        return Start::Reset(ResetReason::UnknownId);
    };
    if id.seq > last.id.seq {
        return Start::Reset(ResetReason::UnknownId);
    }
    // The ring is gapless, so the event after `id` sits at a computable index; `id` itself
    // may have left the ring as long as its successor has not.
    if id.seq + 1 < first.id.seq {
        return Start::Reset(ResetReason::TooOld);
    }
    let skip = (id.seq + 1 - first.id.seq) as usize;
    Start::Replay(events.iter().skip(skip).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::bus::Live;
    use crate::wire::EventType;
    use bytes::Bytes;

    const EPOCH: Epoch = Epoch(7);

    fn event(seq: u64) -> Arc<Published> {
        Arc::new(Published {
            id: EventId::new(EPOCH, seq),
            kind: EventType::Tick,
            ts: seq,
            symbols: vec![],
            json: Bytes::new(),
            sse: Bytes::new(),
        })
    }

    fn replayed(start: Start) -> Vec<u64> {
        match start {
            Start::Replay(events) => events.iter().map(|e| e.id.seq).collect(),
            other => panic!("expected a replay, got {other:?}"),
        }
    }

    #[test]
    fn replays_exactly_what_came_after() {
        let bus = MemoryBus::new(EPOCH, 4, 16);
        for seq in 1..=6 {
            bus.publish(event(seq)); // the ring now holds 3..=6
        }
        assert_eq!(
            replayed(bus.subscribe(Some(EventId::new(EPOCH, 6))).start),
            Vec::<u64>::new()
        );
        assert_eq!(
            replayed(bus.subscribe(Some(EventId::new(EPOCH, 4))).start),
            vec![5, 6]
        );
        assert_eq!(
            replayed(bus.subscribe(Some(EventId::new(EPOCH, 2))).start),
            vec![3, 4, 5, 6]
        );
        let cases = [
            (EventId::new(EPOCH, 1), ResetReason::TooOld),
            (EventId::new(EPOCH, 7), ResetReason::UnknownId),
            (EventId::new(Epoch(8), 5), ResetReason::OtherEpoch),
        ];
        for (id, reason) in cases {
            assert!(
                matches!(bus.subscribe(Some(id)).start, Start::Reset(r) if r == reason),
                "{id}"
            );
        }
        assert!(matches!(bus.subscribe(None).start, Start::Fresh));
        assert_eq!(bus.latest(), Some(EventId::new(EPOCH, 6)));
    }

    #[tokio::test]
    async fn live_continues_the_replay_and_reports_lag() {
        let bus = MemoryBus::new(EPOCH, 8, 2);
        bus.publish(event(1));
        let mut sub = bus.subscribe(Some(EventId::new(EPOCH, 0)));
        assert_eq!(replayed(sub.start), vec![1]);
        bus.publish(event(2));
        assert!(matches!(sub.live.recv().await, Live::Event(e) if e.id.seq == 2));
        for seq in 3..=6 {
            bus.publish(event(seq));
        }
        // Backlog 2: events 3 and 4 were overwritten before this reader looked.
        assert!(matches!(sub.live.recv().await, Live::Lagged(2)));
        assert!(matches!(sub.live.recv().await, Live::Event(e) if e.id.seq == 5));
    }
}
