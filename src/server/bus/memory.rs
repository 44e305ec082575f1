//! The in-memory bus: a bounded ring of recent events plus a tokio broadcast channel.
//!
//! One mutex orders everything: `publish` appends to the ring and broadcasts while holding
//! it, and `subscribe` copies the replay and opens its receiver while holding it. So a
//! subscriber's receiver starts exactly after the last event of its replay.
//!
//! Memory is bounded twice: the ring keeps `history` events, and the broadcast channel keeps
//! `backlog` events for the slowest subscriber, who then gets [`Live::Lagged`](super::Live).
//!
//! The ring is gapless and of one epoch. An event that does not follow the last one (only
//! possible when events come from elsewhere: a follower of the Redis stream that found a
//! hole, or a new market epoch) starts the history over: the ring is emptied and takes the
//! event's epoch, and every live subscriber is told it lagged before it could see the event.

use super::{Bus, LiveReceiver, Published, Start, Subscription};
use crate::wire::{Epoch, EventId, ResetReason};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, watch};

/// The in-process bus: a bounded history ring and a broadcast channel.
pub struct MemoryBus {
    ring: Mutex<Ring>,
    sender: broadcast::Sender<Arc<Published>>,
    /// How many times the history started over.
    restarts: watch::Sender<u64>,
}

struct Ring {
    /// The history the ring holds (ids of other epochs are unknown to it).
    epoch: Epoch,
    events: VecDeque<Arc<Published>>,
    capacity: usize,
}

impl MemoryBus {
    /// A bus for the history `epoch`, remembering `history` events and letting a subscriber
    /// fall `backlog` events behind before it is told it lagged.
    pub fn new(epoch: Epoch, history: usize, backlog: usize) -> MemoryBus {
        let (sender, _) = broadcast::channel(backlog.max(1));
        MemoryBus {
            ring: Mutex::new(Ring {
                epoch,
                events: VecDeque::with_capacity(history.max(1)),
                capacity: history.max(1),
            }),
            sender,
            restarts: watch::Sender::new(0),
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
        let follows = match ring.events.back() {
            Some(last) => last.id.next() == event.id,
            None => ring.epoch == event.id.epoch,
        };
        if !follows {
            // The history before this event is lost to this process: start over, and tell
            // live subscribers (before they can receive this event) that they lagged.
            tracing::warn!(
                after = ?ring.events.back().map(|last| last.id.to_string()),
                next = %event.id,
                "the event history starts over"
            );
            ring.events.clear();
            ring.epoch = event.id.epoch;
            self.restarts.send_modify(|count| *count += 1);
        }
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // No receivers is fine: nobody is watching right now.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self, after: Option<EventId>) -> Subscription {
        let ring = self.ring();
        let live = LiveReceiver::new(self.sender.subscribe(), self.restarts.subscribe());
        let start = match after {
            None => Start::Fresh,
            Some(id) => replay_after(ring.epoch, &ring.events, id),
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
        Arc::new(Published::new(
            EventId::new(EPOCH, seq),
            EventType::Tick,
            seq,
            vec![],
            Bytes::new(),
            Bytes::new(),
        ))
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

    fn event_of(epoch: Epoch, seq: u64) -> Arc<Published> {
        Arc::new(Published::new(
            EventId::new(epoch, seq),
            EventType::Tick,
            seq,
            vec![],
            Bytes::new(),
            Bytes::new(),
        ))
    }

    #[tokio::test]
    async fn a_hole_or_a_new_epoch_starts_the_history_over() {
        let bus = MemoryBus::new(EPOCH, 8, 16);
        for seq in 1..=3 {
            bus.publish(event(seq));
        }
        let mut sub = bus.subscribe(None);
        bus.publish(event(4));
        assert!(matches!(sub.live.recv().await, Live::Event(e) if e.id.seq == 4));
        bus.publish(event(5));
        bus.publish(event(9)); // 6..=8 never arrived
        bus.publish(event(10));
        // Told before it can see 9, and what was still queued is dropped (the snapshot a
        // lagged subscriber takes next covers it).
        assert!(matches!(sub.live.recv().await, Live::Lagged(_)));
        bus.publish(event(11));
        assert!(matches!(sub.live.recv().await, Live::Event(e) if e.id.seq == 11));
        assert!(matches!(
            bus.subscribe(Some(EventId::new(EPOCH, 4))).start,
            Start::Reset(ResetReason::TooOld)
        ));
        assert_eq!(
            replayed(bus.subscribe(Some(EventId::new(EPOCH, 9))).start),
            vec![10, 11]
        );

        // A new epoch: ids of the old one are now from another history.
        let next = Epoch(8);
        bus.publish(event_of(next, 1));
        assert!(matches!(sub.live.recv().await, Live::Lagged(_)));
        assert!(matches!(
            bus.subscribe(Some(EventId::new(EPOCH, 11))).start,
            Start::Reset(ResetReason::OtherEpoch)
        ));
        assert_eq!(
            replayed(bus.subscribe(Some(EventId::new(next, 0))).start),
            vec![1]
        );
    }
}
