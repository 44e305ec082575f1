//! The state of this instance's link to a shared bus (`--bus redis://…`), as a plain value:
//! the Redis tasks set it, `/readyz` reads it, and nothing else needs to know Redis exists.

use crate::wire::health::LinkState;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the link stands now; starts `connecting`.
#[derive(Debug, Default)]
pub struct BusLink(AtomicUsize);

impl BusLink {
    /// A link that has not connected yet.
    pub fn new() -> BusLink {
        BusLink::default()
    }

    /// Where the link stands.
    pub fn get(&self) -> LinkState {
        let index = self.0.load(Ordering::Relaxed);
        LinkState::ALL
            .get(index)
            .copied()
            .unwrap_or(LinkState::Connecting)
    }

    /// Records a new state (and logs a change).
    pub fn set(&self, state: LinkState) {
        let index = LinkState::ALL
            .iter()
            .position(|s| *s == state)
            .unwrap_or_default();
        let before = self.0.swap(index, Ordering::Relaxed);
        if before != index {
            let before = LinkState::ALL.get(before).copied();
            tracing::info!(from = ?before.map(LinkState::as_str), to = state.as_str(), "bus link");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_connecting_and_keeps_what_it_is_told() {
        let link = BusLink::new();
        assert_eq!(link.get(), LinkState::Connecting);
        for state in LinkState::ALL {
            link.set(*state);
            assert_eq!(link.get(), *state);
        }
    }
}
