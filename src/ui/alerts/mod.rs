//! Price alerts: from a watchlist row, "tell me when NOVA rises above 101.50". When a trade
//! crosses the level the page shows a toast and, if the user allowed it, a browser
//! notification; the alert then disarms. Alerts are kept per browser (`localStorage`).
//!
//! | module | what | invariant |
//! |---|---|---|
//! | [`model`] | an alert and the crossing rule | fires on a crossing only, and once |
//! | [`entry`] | the typed price, read as cents | positive, at most 2 decimals, no floats |
//! | [`storage`] | the stored JSON, versioned | reads back what it wrote; junk reads as an error |
//! | [`book`] | the live alerts, checked on every trade the store applies; the [`book::AlertsApi`] seam | each trade compared with the one before it on this page |
//! | [`form`] | the bell in a row and its inline form | never selects the row |
//! | [`panel`] | the list and the notifications switch | changes the list only through the book |
//! | [`toasts`] | the toasts' live region | always present, so it is heard |

pub mod book;
pub mod entry;
pub mod form;
pub mod model;
pub mod panel;
pub mod storage;
pub mod toasts;

pub use book::{AlertBook, AlertsApi, Notice, Permission};
