//! The driver: the one place real time enters tickstream.
//!
//! The market model only knows logical steps. The driver decides when a step happens — on
//! a timer (`--clock realtime`, `--tick-ms`, `--speed`) or only when told to
//! (`--clock manual`, for tests and workshops) — stamps each resulting event with the wall
//! clock, turns it into its wire payload and publishes it through the [`Hub`]. Everything
//! that changes the market (steps now; news, halts and scenarios later) arrives here as a
//! [`Command`], so the market has exactly one owner and events one order.

use super::config::ClockMode;
use super::hub::Hub;
use crate::market::{self, Market, MarketEvent, NewsDraft, NewsError, ScenarioKind, SessionState};
use crate::wire::{self, EventId, MarketStatus, Payload};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// The most steps one `step` command may ask for.
pub const MAX_STEPS_PER_COMMAND: u64 = 100_000;

/// The wall clock as milliseconds since the Unix epoch: the `ts` of every event.
pub fn now_millis() -> u64 {
    now_system_time()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The wall clock itself.
pub fn now_system_time() -> SystemTime {
    SystemTime::now()
}

/// What the driver can be asked to do.
#[derive(Debug)]
pub enum Command {
    /// Advance the market `n` steps now, replying with the newest event id once every event
    /// of those steps is published.
    Step {
        n: u64,
        done: oneshot::Sender<Option<EventId>>,
    },
    /// Change the session (halt, resume, close, open) or start a scenario.
    Market {
        action: MarketAction,
        done: oneshot::Sender<Result<MarketStatus, MarketRefused>>,
    },
    /// Change the real-time clock's speed factor; replies with the factor now in force.
    Speed {
        factor: f64,
        done: oneshot::Sender<f64>,
    },
    /// Publish a headline written by a person, through the simulator's news path (so its
    /// price effect follows a few steps later), replying with its event id.
    News {
        draft: NewsDraft,
        done: oneshot::Sender<Result<EventId, NewsError>>,
    },
}

/// What an instructor can do to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketAction {
    Halt,
    Resume,
    Close,
    Open,
    Scenario(ScenarioKind),
}

/// The session could not make that change from the state it is in.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} a market that is {state}")]
pub struct MarketRefused {
    pub action: &'static str,
    pub state: &'static str,
}

/// The driver has stopped (the server is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the market driver has stopped")]
pub struct DriverStopped;

/// A cheap, cloneable way to send the driver commands.
#[derive(Clone, Debug)]
pub struct DriverHandle {
    commands: mpsc::Sender<Command>,
}

impl DriverHandle {
    /// Advances the market `n` steps (at most [`MAX_STEPS_PER_COMMAND`]) and waits until
    /// their events are published; returns the newest event id.
    pub async fn step(&self, n: u64) -> Result<Option<EventId>, DriverStopped> {
        let (done, reply) = oneshot::channel();
        let n = n.min(MAX_STEPS_PER_COMMAND);
        self.send(Command::Step { n, done }).await?;
        reply.await.map_err(|_| DriverStopped)
    }

    /// Changes the session; the inner error says why the market refused.
    pub async fn market(
        &self,
        action: MarketAction,
    ) -> Result<Result<MarketStatus, MarketRefused>, DriverStopped> {
        let (done, reply) = oneshot::channel();
        self.send(Command::Market { action, done }).await?;
        reply.await.map_err(|_| DriverStopped)
    }

    /// Sets the clock's speed factor; returns the factor in force.
    pub async fn speed(&self, factor: f64) -> Result<f64, DriverStopped> {
        let (done, reply) = oneshot::channel();
        self.send(Command::Speed { factor, done }).await?;
        reply.await.map_err(|_| DriverStopped)
    }

    async fn send(&self, command: Command) -> Result<(), DriverStopped> {
        self.commands.send(command).await.map_err(|_| DriverStopped)
    }

    /// Publishes a headline; the inner error says why the market refused the draft.
    pub async fn publish_news(
        &self,
        draft: NewsDraft,
    ) -> Result<Result<EventId, NewsError>, DriverStopped> {
        let (done, reply) = oneshot::channel();
        self.send(Command::News { draft, done }).await?;
        reply.await.map_err(|_| DriverStopped)
    }
}

pub struct Driver {
    market: Market,
    hub: Arc<Hub>,
    commands: mpsc::Receiver<Command>,
    /// Real time per step at speed 1, and the speed factor.
    tick: Duration,
    speed: f64,
}

impl Driver {
    /// A driver for `market`, publishing into `hub`, with the handle that commands it.
    pub fn new(market: Market, hub: Arc<Hub>) -> (Driver, DriverHandle) {
        let (tx, rx) = mpsc::channel(64);
        let driver = Driver {
            market,
            hub,
            commands: rx,
            tick: Duration::from_millis(250),
            speed: 1.0,
        };
        (driver, DriverHandle { commands: tx })
    }

    /// Opens the market: publishes the session state (so even a market that has not
    /// stepped has an event id to resume from), then runs `warmup_steps` steps before
    /// anyone is watching, so the first page already has a recent history to draw. Those
    /// events are stamped as if they had happened at the normal pace, `step_ms` apart,
    /// ending now.
    pub fn open(&mut self, warmup_steps: u64, step_ms: u64) {
        let now = now_millis();
        let ago = |steps: u64| now.saturating_sub(steps.saturating_mul(step_ms));
        let status = self.status();
        self.hub
            .publish(Payload::Market(status), ago(warmup_steps), Vec::new());
        for done in 0..warmup_steps {
            self.step_at(ago(warmup_steps - done - 1));
        }
    }

    /// Advances the market one step and publishes what happened.
    pub fn step(&mut self) -> Option<EventId> {
        self.step_at(now_millis())
    }

    fn step_at(&mut self, ts: u64) -> Option<EventId> {
        let mut newest = None;
        for event in self.market.step() {
            let (payload, symbols) = to_payload(&event, ts);
            newest = Some(self.hub.publish(payload, ts, symbols));
        }
        newest
    }

    /// Runs until `shutdown`: steps every `tick / speed` in real-time mode, and obeys
    /// commands in both modes.
    pub async fn run(
        mut self,
        clock: ClockMode,
        tick: Duration,
        speed: f64,
        shutdown: CancellationToken,
    ) {
        self.tick = tick;
        self.speed = speed;
        let mut timer = self.timer();
        let realtime = clock == ClockMode::Realtime;
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                command = self.commands.recv() => match command {
                    Some(Command::Speed { factor, done }) => {
                        self.speed = factor;
                        timer = self.timer();
                        let _ = done.send(self.speed);
                    }
                    Some(command) => self.obey(command),
                    None => break,
                },
                _ = timer.tick(), if realtime => {
                    self.step();
                }
            }
        }
    }

    fn timer(&self) -> tokio::time::Interval {
        let every = self.tick.div_f64(self.speed.max(f64::MIN_POSITIVE));
        let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        // After a stall, carry on at the normal pace rather than bursting to catch up.
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer
    }

    fn obey(&mut self, command: Command) {
        match command {
            Command::Step { n, done } => {
                let mut newest = self.hub.latest();
                for _ in 0..n {
                    newest = self.step().or(newest);
                }
                // The asker may have gone away; the steps happened regardless.
                let _ = done.send(newest);
            }
            Command::Market { action, done } => {
                let _ = done.send(self.change_session(action));
            }
            Command::Speed { factor, done } => {
                // Only meaningful while running; `run` handles it there.
                self.speed = factor;
                let _ = done.send(factor);
            }
            Command::News { draft, done } => {
                let published = self.market.inject_news(draft).map(|event| {
                    let ts = now_millis();
                    let (payload, symbols) = to_payload(&event, ts);
                    self.hub.publish(payload, ts, symbols)
                });
                let _ = done.send(published);
            }
        }
    }
}

impl Driver {
    fn change_session(&mut self, action: MarketAction) -> Result<MarketStatus, MarketRefused> {
        let before = self.market.session();
        let event = match action {
            MarketAction::Halt => self.market.halt(),
            MarketAction::Resume => self.market.resume(),
            MarketAction::Close => self.market.close(),
            MarketAction::Open => self.market.open(),
            MarketAction::Scenario(kind) => {
                if before == SessionState::Closed {
                    None // a closed market cannot run a scenario
                } else {
                    Some(self.market.start_scenario(kind))
                }
            }
        };
        let Some(event) = event else {
            return Err(MarketRefused {
                action: action.verb(),
                state: before.as_str(),
            });
        };
        let ts = now_millis();
        let (payload, symbols) = to_payload(&event, ts);
        let status = match &payload {
            Payload::Market(status) => status.clone(),
            _ => self.status(),
        };
        self.hub.publish(payload, ts, symbols);
        Ok(status)
    }

    fn status(&self) -> MarketStatus {
        MarketStatus {
            state: self.market.session().as_str().to_owned(),
            scenario: self.market.scenario().map(|s| s.as_str().to_owned()),
            step: self.market.step_count(),
        }
    }
}

impl MarketAction {
    fn verb(self) -> &'static str {
        match self {
            MarketAction::Halt => "halt",
            MarketAction::Resume => "resume",
            MarketAction::Close => "close",
            MarketAction::Open => "open",
            MarketAction::Scenario(_) => "start a scenario in",
        }
    }
}

/// The wire form of a market event, and the symbols it concerns.
pub fn to_payload(event: &MarketEvent, ts: u64) -> (Payload, Vec<String>) {
    match event {
        MarketEvent::Tick(tick) => (
            Payload::Tick(wire::Tick {
                symbol: tick.quote.symbol.clone(),
                step: tick.step,
                volume: tick.volume,
                quote: to_quote(&tick.quote),
            }),
            vec![tick.quote.symbol.clone()],
        ),
        MarketEvent::News(item) => (
            Payload::News(wire::News {
                seq: item.seq,
                step: item.step,
                ts,
                kind: item.kind.as_str().to_owned(),
                headline: item.headline.clone(),
                summary: item.summary.clone(),
                sentiment: item.sentiment.as_str().to_owned(),
                importance: item.importance,
                scope: match &item.scope {
                    market::NewsScope::Symbol(symbol) => wire::NewsScope::Symbol(symbol.clone()),
                    market::NewsScope::Sector(sector) => wire::NewsScope::Sector(sector.clone()),
                    market::NewsScope::Market => wire::NewsScope::Market,
                },
                symbols: item.symbols.clone(),
            }),
            item.symbols.clone(),
        ),
        MarketEvent::Session(change) => (
            Payload::Market(MarketStatus {
                state: change.state.as_str().to_owned(),
                scenario: change.scenario.map(|s| s.as_str().to_owned()),
                step: change.step,
            }),
            Vec::new(),
        ),
    }
}

/// The wire form of a quote.
pub fn to_quote(quote: &market::Quote) -> wire::Quote {
    wire::Quote {
        last: quote.last,
        bid: quote.bid,
        ask: quote.ask,
        open: quote.open,
        high: quote.high,
        low: quote.low,
        day_volume: quote.day_volume,
    }
}
