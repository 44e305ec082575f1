//! Start-up: from settings to a running server, in named steps. This is the top of the
//! server: it uses every other part and nothing uses it but `main` and the tests.
//!
//! [`assemble`] builds the market, the bus and the hub and opens the market (publishing its
//! first event and the warm-up), and [`Server::start`] binds the listener and starts the
//! tasks that feed the hub — the market's driver, or on a web instance the Redis follower —
//! beside the accept loop. Every failure here is a [`StartError`] that names its cause;
//! nothing is half-started.

use super::bus::memory::MemoryBus;
use super::bus::Bus;
use super::clock;
use super::config::{BusUrl, Config, Role, TlsSource};
use super::driver::Driver;
use super::faults::Faults;
use super::hub::Hub;
use super::limits::{AnswerSlots, StreamLimits};
use super::listen;
use super::meter::WireMeters;
use super::metrics::Metrics;
use super::redis::{self, RedisBus};
use super::routes;
use super::shutdown::StreamEnds;
use super::state::AppState;
use super::tls;
use super::translate;
use super::view::{MarketView, SymbolInfo, ViewLimits};
use crate::market::{Market, MarketConfig, Universe};
use crate::wire::Epoch;
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Headlines carried in a snapshot.
const SNAPSHOT_NEWS: usize = 50;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `--leptos-config` could not be read.
    #[error("cannot read the Leptos settings {path}: {message}")]
    Leptos {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// `--universe` could not be read.
    #[error("cannot read the universe file {path}: {source}")]
    UniverseFile {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `--universe` is not a valid universe.
    #[error("the universe file {path} is not valid: {message}")]
    Universe {
        /// The file.
        path: String,
        /// Which line and field, and why.
        message: String,
    },
    /// The market settings contradict each other.
    #[error("the market settings are not valid: {0}")]
    Market(String),
    /// `--bus` and `--role` do not go together, or the bus cannot be opened.
    #[error("{0}")]
    Bus(String),
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] super::tls::TlsError),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Reads the Leptos run-time settings named by `--leptos-config`.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, StartError> {
    let path = config.leptos_config.display().to_string();
    leptos::config::get_config_from_file(&config.leptos_config)
        .map(|conf| {
            let mut options = conf.leptos_options;
            super::assets::locate_hash_file(&mut options);
            options
        })
        .map_err(|err| StartError::Leptos {
            path,
            message: err.to_string(),
        })
}

/// A server built and ready to start: the shared state, and what will feed its hub.
pub struct Assembled {
    /// What every handler will reach.
    pub state: AppState,
    feeder: Feeder,
}

/// What publishes into this instance's hub.
enum Feeder {
    /// This instance runs the market (`--role both`); with Redis, a writer also copies its
    /// events to the stream.
    Market {
        driver: Box<Driver>,
        writer: Option<Arc<RedisBus>>,
    },
    /// A web instance: the follower feeds the hub from the market's Redis stream.
    Follower(Arc<RedisBus>),
    /// `--role auto` on Redis: follows, and runs the market once it holds the lease.
    Candidate {
        redis: Arc<RedisBus>,
        candidate: Box<redis::failover::Candidate>,
    },
}

/// Builds the market, the bus and the hub; a market instance publishes its opening event
/// and warm-up here, so the first page already has history.
pub fn assemble(
    config: Config,
    leptos: LeptosOptions,
    shutdown: CancellationToken,
) -> Result<Assembled, StartError> {
    let started = clock::now_millis();
    let (market, market_config) = build_market(&config, started)?;
    // A new process has no history: its events form a new epoch.
    let epoch = Epoch(started);
    let instance: Arc<str> = Arc::from(format!("tickstream-{epoch}-{}", std::process::id()));
    let (bus, redis) = open_bus(&config, epoch, &instance)?;
    let metrics = Arc::new(Metrics::new());
    let view = opening_view(&config, &market);
    let hub = Arc::new(Hub::new(epoch, bus, view, metrics.clone()));
    let symbols: Arc<[String]> = market
        .universe()
        .symbols
        .iter()
        .map(|spec| spec.symbol.clone())
        .collect();
    let (mut driver, handle) = Driver::new(market, hub.clone());
    let link = redis.as_ref().map(|redis| redis.link());
    let feeder = match (config.role, redis) {
        (Role::Both, writer) | (Role::Auto, writer @ None) => {
            driver.open(config.warmup_steps, config.step_ms);
            Feeder::Market {
                driver: Box::new(driver),
                writer,
            }
        }
        // Idle until it holds the lease: commands are refused at once meanwhile.
        (Role::Auto, Some(redis)) => {
            driver.idle();
            Feeder::Candidate {
                redis,
                candidate: Box::new(redis::failover::Candidate {
                    driver,
                    market_config,
                    handle: handle.clone(),
                    clock: config.clock,
                    step: Duration::from_millis(config.step_ms),
                    speed: config.speed,
                    warmup_steps: config.warmup_steps,
                }),
            }
        }
        // No market here: the driver is dropped, so admin commands say it has stopped.
        (Role::Web, Some(redis)) => Feeder::Follower(redis),
        (Role::Web, None) => return Err(web_needs_redis()),
    };
    let limits = Arc::new(StreamLimits::new(
        config.max_streams,
        config.max_streams_per_ip,
        metrics.clone(),
    ));
    let faults = Arc::new(Faults::new(config.faults, metrics.clone()));
    let state = AppState {
        limits,
        config: Arc::new(config),
        leptos,
        hub,
        driver: handle,
        metrics,
        symbols,
        streams: Arc::new(StreamEnds::new(shutdown.clone())),
        shutdown,
        instance,
        link,
        meters: Arc::new(WireMeters::new()),
        answers: Arc::new(AnswerSlots::new()),
        faults,
    };
    Ok(Assembled { state, feeder })
}

/// The market: its universe (built in, or `--universe`), its settings and its seed
/// (`--seed`, or the start time).
fn build_market(config: &Config, started: u64) -> Result<(Market, MarketConfig), StartError> {
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
        step_secs: config.step_ms as f64 / 1000.0,
        news_per_min: config.news_per_min,
        ..MarketConfig::default()
    };
    market_config.validate().map_err(StartError::Market)?;
    let seed = config.seed.unwrap_or(started);
    tracing::info!(seed, "market ready");
    Ok((Market::new(seed, market_config.clone()), market_config))
}

fn web_needs_redis() -> StartError {
    StartError::Bus(
        "--role web serves a market that another instance runs: it needs \
         --bus redis://HOST:PORT"
            .into(),
    )
}

/// The bus the hub publishes to, and with Redis the handle its tasks need.
type OpenedBus = (Arc<dyn Bus>, Option<Arc<RedisBus>>);

/// The bus `--bus` names.
fn open_bus(config: &Config, epoch: Epoch, instance: &str) -> Result<OpenedBus, StartError> {
    let history = usize::try_from(config.history).unwrap_or(usize::MAX);
    let backlog = usize::try_from(config.client_backlog).unwrap_or(usize::MAX);
    match &config.bus {
        BusUrl::Memory if config.role == Role::Web => Err(web_needs_redis()),
        BusUrl::Memory => Ok((Arc::new(MemoryBus::new(epoch, history, backlog)), None)),
        BusUrl::Redis(url) => {
            let market = config.role == Role::Both;
            let bus = RedisBus::new(url, market, epoch, history, backlog, instance)
                .map_err(|err| StartError::Bus(format!("--bus {err}")))?;
            let bus = Arc::new(bus);
            Ok((bus.clone(), Some(bus)))
        }
    }
}

/// What a viewer sees before the first event: the universe at its opening quotes.
fn opening_view(config: &Config, market: &Market) -> MarketView {
    let limits = ViewLimits {
        points: usize::try_from(config.snapshot_points).unwrap_or(usize::MAX),
        news: SNAPSHOT_NEWS,
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
            (info, translate::quote(&quote))
        });
    MarketView::new(limits, translate::status(market), symbols)
}

/// A running server.
pub struct Server {
    /// Where it listens (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// What its handlers reach.
    pub state: AppState,
    /// The accept loop; it ends once `state.shutdown` is cancelled, every connection is
    /// done, and the tasks that fed the hub have finished (or [`FEEDERS_GOODBYE`] passed).
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Listens on `addr` (port 0 picks a free one) and serves until `state.shutdown` is
    /// cancelled; the tasks that feed the hub run beside it.
    pub async fn start(assembled: Assembled, addr: SocketAddr) -> Result<Server, StartError> {
        let Assembled { state, feeder } = assembled;
        let listener = listen::bind(addr).map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let tls = tls_of(&state.config)?;
        let feeders = start_feeder(feeder, &state);
        let timeouts = listen::Timeouts {
            header: Duration::from_secs(state.config.header_timeout_secs),
            write: Duration::from_secs(state.config.write_timeout_secs),
        };
        let app = routes::app(state.clone());
        let serving = listen::serve(
            listener,
            app,
            timeouts,
            state.metrics.clone(),
            tls,
            state.shutdown.clone(),
        );
        let task = tokio::spawn(async move {
            let served = serving.await;
            // Then what fed the hub finishes what it was doing, briefly: a market's writer
            // writes what its clients were shown and lets another instance take over at once.
            let finishing = futures_util::future::join_all(feeders);
            let _ = tokio::time::timeout(FEEDERS_GOODBYE, finishing).await;
            served
        });
        Ok(Server { addr, state, task })
    }
}

/// How long, at shutdown, the tasks that feed the hub may take to finish after the last
/// connection closed (a market's writer takes at most a second).
pub const FEEDERS_GOODBYE: Duration = Duration::from_secs(3);

/// The TLS acceptor `--tls…` asks for, if any (its fingerprint logged).
fn tls_of(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, StartError> {
    let tls = match (&config.tls, &config.tls_cert, &config.tls_key) {
        (Some(TlsSource::SelfSigned), ..) => tls::self_signed()?,
        (None, Some(cert), Some(key)) => tls::from_files(cert, key)?,
        _ => return Ok(None),
    };
    tracing::info!(
        fingerprint = %tls.fingerprint,
        "serving HTTPS (HTTP/2 and HTTP/1.1); the certificate's SHA-256 fingerprint"
    );
    Ok(Some(tls.acceptor))
}

/// Spawns what publishes into the hub, until shutdown; the tasks, for the server to let
/// them finish (a market's writer writes what is queued and releases the lease).
fn start_feeder(feeder: Feeder, state: &AppState) -> Vec<JoinHandle<()>> {
    let config = &state.config;
    let shutdown = state.shutdown.clone();
    match feeder {
        Feeder::Market { mut driver, writer } => {
            let step = Duration::from_millis(config.step_ms);
            let checkpoints = writer.as_ref().map(|_| driver.checkpoints());
            let (clock, speed, stop) = (config.clock, config.speed, shutdown.clone());
            let mut tasks = vec![tokio::spawn(async move {
                driver.run(clock, step, speed, stop).await;
            })];
            if let Some(redis) = writer {
                let inbox =
                    redis::inbox::run(redis.clone(), state.driver.clone(), shutdown.clone());
                tasks.push(tokio::spawn(inbox));
                tasks.push(tokio::spawn(redis::writer::run(
                    redis,
                    state.hub.clone(),
                    checkpoints,
                    shutdown,
                )));
            }
            tasks
        }
        Feeder::Candidate { redis, candidate } => {
            let run = redis::failover::run(redis, state.hub.clone(), *candidate, shutdown);
            vec![tokio::spawn(run)]
        }
        Feeder::Follower(redis) => {
            vec![tokio::spawn(redis::follower::run(
                redis,
                state.hub.clone(),
                shutdown,
            ))]
        }
    }
}
