//! The seam between the UI and the transports: a [`LiveFeed`] is handed the store and keeps
//! it current; [`ConnectionState`] is what the status bar shows of it.

use super::store::MarketStore;
use std::sync::Arc;

/// Where a live connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConnectionState {
    /// Rendered on the server, or not yet connected.
    #[default]
    Connecting,
    Open,
    /// Lost; the transport is trying again.
    Reconnecting,
    /// Given up or stopped.
    Closed,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Closed => "closed",
        }
    }
}

/// Starts a live connection that feeds the store. Provided as context by the browser build.
#[derive(Clone)]
pub struct LiveFeed(Arc<dyn Fn(MarketStore) + Send + Sync>);

impl LiveFeed {
    pub fn new(start: impl Fn(MarketStore) + Send + Sync + 'static) -> LiveFeed {
        LiveFeed(Arc::new(start))
    }

    pub fn start(&self, store: MarketStore) {
        (self.0)(store)
    }
}
