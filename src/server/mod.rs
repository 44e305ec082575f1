//! The server (feature `ssr`): the market driver, the bus, the transports and the pages.
//!
//! How an event travels: [`driver`] steps the [`market`](crate::market) and hands each
//! event to the [`hub`], which gives it its id, encodes it once and folds it into the
//! [`view`] before the [`bus`] fans it out; each [`transport`] copies the shared bytes to its
//! clients. [`routes`] maps paths to handlers, [`shutdown`] ends it all.
//!
//! With `--bus redis://…` several instances serve one market: the one with `--role both`
//! runs it and writes its events to a Redis stream, and each `--role web` instance runs a
//! [`follow`]er instead of a driver, feeding its own hub from that stream.
//!
//! Invariants: only `driver` reads the wall clock; only `hub` encodes market events; every
//! long-lived response ends itself when [`AppState::shutdown`] is cancelled.

pub mod admin;
pub mod bus;
pub mod config;
pub mod driver;
pub mod error;
pub mod follow;
pub mod headers;
pub mod hub;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod routes;
pub mod shutdown;
pub mod transport;
pub mod view;

use crate::market::{Market, MarketConfig, Universe};
use crate::wire::{Epoch, MarketStatus};
use axum::extract::FromRef;
use bus::memory::MemoryBus;
use bus::redis::RedisBus;
use bus::Bus;
use config::{BusUrl, Config, Role};
use driver::{Driver, DriverHandle};
use hub::Hub;
use leptos::config::LeptosOptions;
use metrics::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use view::{MarketView, SymbolInfo, ViewLimits};

/// Headlines carried in a snapshot.
const SNAPSHOT_NEWS: usize = 50;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub leptos: LeptosOptions,
    pub hub: Arc<Hub>,
    pub driver: DriverHandle,
    pub metrics: Arc<Metrics>,
    /// The market's symbols, in universe order (to validate filters).
    pub symbols: Arc<[String]>,
    /// Cancelled once, when the server begins to shut down.
    pub shutdown: CancellationToken,
    /// What streams watch to know when to end (shutdown, or an instructor's disconnect).
    pub streams: Arc<shutdown::StreamEnds>,
    /// This process's name in diagnostics (`/.sse`), unique per start.
    pub instance: Arc<str>,
    /// The link to Redis with `--bus redis://…`: its tasks run beside the server, and
    /// `/readyz` reports its health.
    pub redis: Option<Arc<RedisBus>>,
    /// Admits streams within `--max-streams` and `--max-streams-per-ip`.
    pub limits: Arc<limits::StreamLimits>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos.clone()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot read the Leptos settings {path}: {message}")]
    Leptos { path: String, message: String },
    #[error("cannot read the universe file {path}: {source}")]
    UniverseFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the universe file {path} is not valid: {message}")]
    Universe { path: String, message: String },
    #[error("the market settings are not valid: {0}")]
    Market(String),
    #[error("{0}")]
    Bus(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Reads the Leptos run-time settings named by `--leptos-config`.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, StartError> {
    let path = config.leptos_config.display().to_string();
    leptos::config::get_config_from_file(&config.leptos_config)
        .map(|conf| conf.leptos_options)
        .map_err(|err| StartError::Leptos {
            path,
            message: err.to_string(),
        })
}

/// Builds the market, the bus and the hub, and publishes the opening event.
pub fn assemble(
    config: Config,
    leptos: LeptosOptions,
    shutdown: CancellationToken,
) -> Result<(AppState, Driver), StartError> {
    let universe = match &config.universe {
        None => Universe::default_universe(),
        Some(path) => {
            let shown = path.display().to_string();
            let text =
                std::fs::read_to_string(path).map_err(|source| StartError::UniverseFile {
                    path: shown.clone(),
                    source,
                })?;
            Universe::from_toml_str(&text).map_err(|err| StartError::Universe {
                path: shown,
                message: err.to_string(),
            })?
        }
    };
    let market_config = MarketConfig {
        universe,
        step_secs: config.tick_ms as f64 / 1000.0,
        news_per_min: config.news_per_min,
        ..MarketConfig::default()
    };
    market_config.validate().map_err(StartError::Market)?;
    let started = driver::now_millis();
    let seed = config.seed.unwrap_or(started);
    let market = Market::new(seed, market_config);
    tracing::info!(seed, "market ready");

    // A new process has no history: its events form a new epoch.
    let epoch = Epoch(started);
    let history = usize::try_from(config.history).unwrap_or(usize::MAX);
    let backlog = usize::try_from(config.client_backlog).unwrap_or(usize::MAX);
    let instance: Arc<str> = Arc::from(format!("tickstream-{epoch}-{}", std::process::id()));
    let (bus, redis): (Arc<dyn Bus>, _) = match &config.bus {
        BusUrl::Memory if config.role == Role::Web => {
            return Err(StartError::Bus(
                "--role web serves a market that another instance runs: it needs \
                 --bus redis://HOST:PORT"
                    .into(),
            ));
        }
        BusUrl::Memory => (Arc::new(MemoryBus::new(epoch, history, backlog)), None),
        BusUrl::Redis(url) => {
            let market = config.role == Role::Both;
            let bus = RedisBus::new(url, market, epoch, history, backlog, &instance)
                .map_err(|err| StartError::Bus(format!("--bus {err}")))?;
            let bus = Arc::new(bus);
            (bus.clone(), Some(bus))
        }
    };
    let limits = ViewLimits {
        points: usize::try_from(config.snapshot_points).unwrap_or(usize::MAX),
        news: SNAPSHOT_NEWS,
    };
    let status = MarketStatus {
        state: market.session().as_str().to_owned(),
        scenario: market.scenario().map(|s| s.as_str().to_owned()),
        step: market.step_count(),
    };
    let symbols = market
        .universe()
        .symbols
        .iter()
        .zip(market.quotes())
        .map(|(spec, quote)| {
            let info = SymbolInfo {
                symbol: spec.symbol.clone(),
                name: spec.name.clone(),
                sector: spec.sector.clone(),
            };
            (info, driver::to_quote(&quote))
        });
    let view = MarketView::new(limits, status, symbols);
    let metrics = Arc::new(Metrics::new());
    let hub = Arc::new(Hub::new(epoch, bus, view, metrics.clone()));
    let symbols: Arc<[String]> = market
        .universe()
        .symbols
        .iter()
        .map(|spec| spec.symbol.clone())
        .collect();
    let (mut driver, handle) = Driver::new(market, hub.clone());
    if config.role == Role::Both {
        driver.open(config.warmup_steps, config.tick_ms);
    }

    let limits = Arc::new(limits::StreamLimits::new(
        config.max_streams,
        config.max_streams_per_ip,
        metrics.clone(),
    ));
    let state = AppState {
        limits,
        config: Arc::new(config),
        leptos,
        hub,
        driver: handle,
        metrics,
        symbols,
        streams: Arc::new(shutdown::StreamEnds::new(shutdown.clone())),
        shutdown,
        instance,
        redis,
    };
    Ok((state, driver))
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Listens on `addr` (port 0 picks a free one) and serves until `state.shutdown` is
    /// cancelled; the market driver (`--role both`) or the follower (`--role web`) runs
    /// beside it, and with `--bus redis://…` the market's writer too.
    pub async fn start(
        state: AppState,
        driver: Driver,
        addr: SocketAddr,
    ) -> Result<Server, StartError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let config = &state.config;
        let tick = Duration::from_millis(config.tick_ms);
        let shutdown = state.shutdown.clone();
        match (config.role, &state.redis) {
            (Role::Both, redis) => {
                tokio::spawn(driver.run(config.clock, tick, config.speed, shutdown.clone()));
                if let Some(redis) = redis {
                    let writer = bus::redis::run_writer(redis.clone(), state.hub.clone(), shutdown);
                    tokio::spawn(writer);
                }
            }
            // No market here: the driver is dropped, so admin commands say it has stopped.
            (Role::Web, Some(redis)) => {
                tokio::spawn(follow::run(redis.clone(), state.hub.clone(), shutdown));
            }
            (Role::Web, None) => {} // refused by `assemble`
        }
        let shutdown = state.shutdown.clone();
        let app = routes::app(state.clone());
        let timeouts = listen::Timeouts {
            header: Duration::from_secs(state.config.header_timeout_secs),
            write: Duration::from_secs(state.config.write_timeout_secs),
        };
        let metrics = state.metrics.clone();
        let task = tokio::spawn(listen::serve(listener, app, timeouts, metrics, shutdown));
        Ok(Server { addr, state, task })
    }
}
