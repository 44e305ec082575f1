//! The server (feature `ssr`): the market driver, the bus, the transports and the pages.
//!
//! How an event travels: [`driver`] steps the [`market`](crate::market) and hands each
//! event, in wire form ([`translate`]), to the [`hub`], which gives it its id, encodes it
//! once and folds it into the [`view`] before the [`bus`] fans it out; each [`transport`]
//! copies the shared bytes to its clients. [`routes`] maps paths to handlers, [`startup`]
//! builds it all, [`shutdown`] ends it all.
//!
//! With `--bus redis://…` several instances serve one market: the one with `--role both`
//! runs it and its [`redis::writer`] copies its events to a Redis stream, and each
//! `--role web` instance runs a [`redis::follower`] instead of a driver, feeding its own hub
//! from that stream.
//!
//! Layers, bottom to top (a file imports only from below it):
//!
//! 1. settings and leaf services: [`config`], [`clock`], [`error`], [`body`], [`metrics`],
//!    [`headers`], [`shutdown`], [`link`], [`view`], [`translate`], [`analyst`], [`meter`],
//!    [`tls`], [`parse_errors`], [`listen`], [`faults`], [`origin`], [`assets`];
//! 2. the stream: [`bus`], [`hub`], [`limits`], [`driver`], [`redis`];
//! 3. the shared state of a running server: [`state`];
//! 4. the handlers: [`transport`], [`admin`], [`explain`], then [`routes`];
//! 5. start-up: [`startup`].
//!
//! Invariants: only [`clock`] reads the wall clock; only [`hub`] encodes market events;
//! only [`translate`] turns market values into wire values; every long-lived response ends
//! itself when [`AppState::shutdown`](state::AppState::shutdown) is cancelled.

pub mod admin;
pub mod analyst;
pub mod assets;
pub mod body;
pub mod bus;
pub mod clock;
pub mod config;
pub mod driver;
pub mod error;
pub mod explain;
pub mod faults;
pub mod headers;
pub mod hub;
pub mod limits;
pub mod link;
pub mod listen;
pub mod meter;
pub mod metrics;
pub mod origin;
pub mod parse_errors;
pub mod redis;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod tls;
pub mod translate;
pub mod transport;
pub mod view;
