//! The user interface: Leptos components rendered on the server and hydrated in the browser.
//!
//! Components read the reactive [`store::MarketStore`] and nothing else. They never know
//! which transport is live: the browser build provides a [`feed::LiveFeed`] that keeps the
//! store up to date, and the server build provides none (it renders the snapshot as is).

pub mod alerts;
pub mod announcement;
pub mod app;
pub mod chart;
pub mod connections;
pub mod deferred;
pub mod explain;
pub mod feed;
pub mod format;
pub mod history;
pub mod instructor;
pub mod lab;
pub mod lessons;
pub mod market_page;
pub mod masthead;
pub mod news_feed;
pub mod session_banner;
pub mod sparkline;
pub mod status_bar;
pub mod store;
pub mod theme;
pub mod watchlist;

pub use app::{shell, App};
