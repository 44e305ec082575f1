//! The driver: where the market meets real time.
//!
//! The market model only knows logical steps. The driver decides when a step happens — on
//! a timer (`--clock realtime`, `--step-ms`, `--speed`) or only when told to
//! (`--clock manual`, for tests and workshops) — stamps each resulting event with the wall
//! clock ([`clock`](super::clock)), turns it into its wire payload
//! ([`translate`](super::translate)) and publishes it through the [`Hub`]. Everything that
//! changes the market (steps, news, halts and scenarios) arrives here as a [`Command`], so
//! the market has exactly one owner and events one order.
//!
//! Shared through Redis with `--role auto`, the driver also hands on a [`MarketCheckpoint`]
//! after every step and command — the market's whole state with the id of the last event
//! it published — so that another instance can take the market over exactly where it
//! stood. An instance that does not hold the market yet keeps its driver idle, and its
//! [`DriverHandle`] refuses commands at once.

use super::clock::now_millis;
use super::config::ClockMode;
use super::hub::Hub;
use super::translate;
use crate::market::{Market, NewsDraft, NewsError, SessionState};
use crate::wire::admin::{MarketAction, MarketVerb};
use crate::wire::{self, CustomEvent, EventId, MarketStatus, Payload};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// The most steps one `step` command may ask for.
pub const MAX_STEPS_PER_COMMAND: u64 = 100_000;

/// How many events a lease holder's driver lets wait for the Redis writer before its next
/// step (a `step` command, a warm-up).
const STAGED_AT_MOST: usize = 1_024;

/// What the driver can be asked to do.
#[derive(Debug)]
pub enum Command {
    /// Advance the market `n` steps now, replying with the newest event id once every event
    /// of those steps is published.
    Step {
        /// How many steps.
        n: u64,
        /// Answered with the newest id once the steps are published.
        done: oneshot::Sender<Option<EventId>>,
    },
    /// Change the session (halt, resume, close, open) or start a scenario.
    Market {
        /// What to do.
        action: MarketAction,
        /// Answered with the session after the change, or why it was refused.
        done: oneshot::Sender<Result<MarketStatus, MarketRefused>>,
    },
    /// Change the real-time clock's speed factor; replies with the factor now in force.
    Speed {
        /// The new factor.
        factor: f64,
        /// Answered with the factor in force.
        done: oneshot::Sender<f64>,
    },
    /// Publish an event under a name of its own (not the market's: it changes nothing),
    /// replying with its event id.
    Publish {
        /// The event.
        event: CustomEvent,
        /// Answered with its id once published.
        done: oneshot::Sender<EventId>,
    },
    /// Start a new epoch, as if the server had restarted (the `epoch` fault), and publish
    /// the market's status as its first event; replies with that event's id.
    NewEpoch {
        /// Answered with the new epoch's first id.
        done: oneshot::Sender<EventId>,
    },
    /// Publish a headline written by a person, through the simulator's news path (so its
    /// price effect follows a few steps later), replying with its event id.
    News {
        /// The headline as the instructor wrote it.
        draft: NewsDraft,
        /// Answered with the `news` event's id, or why the draft was refused.
        done: oneshot::Sender<Result<EventId, NewsError>>,
    },
}

/// The session could not make that change from the state it is in.
#[derive(Debug, thiserror::Error)]
#[error("cannot {} a market that is {state}", phrase(*.action))]
pub struct MarketRefused {
    /// What was asked.
    pub action: MarketVerb,
    /// The state the market was in.
    pub state: wire::SessionState,
}

/// The verb as the refusal says it.
fn phrase(verb: MarketVerb) -> &'static str {
    match verb {
        MarketVerb::Scenario => "start a scenario in",
        other => other.as_str(),
    }
}

/// The driver does not run the market (any more): the server is shutting down, or the
/// instance does not hold the market lease (it never did, or it stepped down).
#[derive(Debug, thiserror::Error)]
#[error("the market driver has stopped")]
pub struct DriverStopped;

/// The market's whole state after the event `id`: what another instance continues from.
#[derive(Debug)]
pub struct MarketCheckpoint {
    /// The last event the market had published.
    pub id: EventId,
    /// [`crate::market::Checkpoint`] as JSON.
    pub json: String,
}

/// The newest checkpoint, as the driver hands them on.
pub type Checkpoints = watch::Receiver<Option<Arc<MarketCheckpoint>>>;

/// A cheap, cloneable way to send the driver commands. Each command's answer comes once
/// what it published can be seen by clients (on a Redis lease holder: once it is written).
#[derive(Clone)]
pub struct DriverHandle {
    commands: mpsc::Sender<Command>,
    /// Whether this instance runs the market: an idle driver (`--role auto`, following
    /// another instance) is refused at once rather than queued for.
    active: Arc<AtomicBool>,
    /// Where the driver publishes, to wait until its events can be seen.
    hub: Arc<Hub>,
}

impl std::fmt::Debug for DriverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverHandle")
            .field("active", &self.is_active())
            .finish_non_exhaustive()
    }
}

impl DriverHandle {
    /// Advances the market `n` steps (at most [`MAX_STEPS_PER_COMMAND`]) and waits until
    /// their events are published; returns the newest event id.
    pub async fn step(&self, n: u64) -> Result<Option<EventId>, DriverStopped> {
        let n = n.min(MAX_STEPS_PER_COMMAND);
        self.ask(|done| Command::Step { n, done }).await
    }

    /// Changes the session; the inner error says why the market refused.
    pub async fn market(
        &self,
        action: MarketAction,
    ) -> Result<Result<MarketStatus, MarketRefused>, DriverStopped> {
        self.ask(|done| Command::Market { action, done }).await
    }

    /// Sets the clock's speed factor; returns the factor in force.
    pub async fn speed(&self, factor: f64) -> Result<f64, DriverStopped> {
        self.ask(|done| Command::Speed { factor, done }).await
    }

    async fn send(&self, command: Command) -> Result<(), DriverStopped> {
        if !self.is_active() {
            return Err(DriverStopped);
        }
        self.commands.send(command).await.map_err(|_| DriverStopped)
    }

    /// Sends the command `make` builds around a reply channel, and answers once everything
    /// published by then can be seen — or [`DriverStopped`] if it was thrown away instead
    /// (this instance stopped running the market before Redis had it).
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, DriverStopped> {
        let before = self.hub.visible();
        let (done, reply) = oneshot::channel();
        self.send(make(done)).await?;
        // A command queued as the instance stepped down may never be carried out: a step-down
        // answers it.
        let answer = tokio::select! {
            answer = reply => answer.map_err(|_| DriverStopped)?,
            () = self.hub.until_discarded(before) => return Err(DriverStopped),
        };
        if let Some(newest) = self.hub.assigned() {
            self.hub
                .until_visible(newest, before)
                .await
                .map_err(|_| DriverStopped)?;
        }
        Ok(answer)
    }

    /// Marks the driver idle from outside, at once: the instance is stepping down, and
    /// whoever hears that a command was dropped must also hear that it no longer runs the
    /// market. (The driver itself then [idles](Driver::idle).)
    pub fn stand_down(&self) {
        self.active.store(false, Ordering::Release);
    }

    /// Whether this instance runs the market now.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Publishes an event under its own name, in order with the market's; returns its id.
    pub async fn publish(&self, event: CustomEvent) -> Result<EventId, DriverStopped> {
        self.ask(|done| Command::Publish { event, done }).await
    }

    /// Starts a new epoch (the `epoch` fault); returns the id of its first event.
    pub async fn new_epoch(&self) -> Result<EventId, DriverStopped> {
        self.ask(|done| Command::NewEpoch { done }).await
    }

    /// Publishes a headline; the inner error says why the market refused the draft.
    pub async fn publish_news(
        &self,
        draft: NewsDraft,
    ) -> Result<Result<EventId, NewsError>, DriverStopped> {
        self.ask(|done| Command::News { draft, done }).await
    }
}

/// The market's one owner: steps it, obeys commands, publishes what happens.
pub struct Driver {
    market: Market,
    hub: Arc<Hub>,
    commands: mpsc::Receiver<Command>,
    /// Real time per step at speed 1, and the speed factor.
    step_every: Duration,
    speed: f64,
    /// Where checkpoints go, when another instance may need them.
    checkpoints: Option<watch::Sender<Option<Arc<MarketCheckpoint>>>>,
    /// Shared with the handles.
    active: Arc<AtomicBool>,
}

impl Driver {
    /// A driver for `market`, publishing into `hub`, with the handle that commands it.
    pub fn new(market: Market, hub: Arc<Hub>) -> (Driver, DriverHandle) {
        let (tx, rx) = mpsc::channel(64);
        let active = Arc::new(AtomicBool::new(true));
        let driver_hub = hub.clone();
        let driver = Driver {
            market,
            hub,
            commands: rx,
            step_every: Duration::from_millis(250),
            speed: 1.0,
            checkpoints: None,
            active: active.clone(),
        };
        (
            driver,
            DriverHandle {
                commands: tx,
                active,
                hub: driver_hub,
            },
        )
    }

    /// Idles the driver: its handles refuse commands until [`Driver::take_over`], and
    /// commands already queued are dropped (their askers hear that the driver stopped),
    /// so that none is carried out in a later term.
    pub fn idle(&mut self) {
        self.active.store(false, Ordering::Release);
        while self.commands.try_recv().is_ok() {}
    }

    /// Continues `market` (restored from a checkpoint) from now on, and accepts commands.
    pub fn take_over(&mut self, market: Market) {
        self.market = market;
        self.active.store(true, Ordering::Release);
    }

    /// Accepts commands again, with the market it has (a new market, not a continued one).
    pub fn activate(&mut self) {
        self.active.store(true, Ordering::Release);
    }

    /// From now on, hands on a checkpoint after every step and command.
    pub fn checkpoints(&mut self) -> Checkpoints {
        let (tx, rx) = watch::channel(None);
        self.checkpoints = Some(tx);
        self.checkpoint();
        rx
    }

    /// Hands on the market's state, if anyone listens and something was published since.
    fn checkpoint(&self) {
        let (Some(tx), Some(id)) = (&self.checkpoints, self.hub.assigned()) else {
            return;
        };
        if tx.borrow().as_ref().is_some_and(|last| last.id == id) {
            return;
        }
        let json = self.market.checkpoint().encode();
        tx.send_replace(Some(Arc::new(MarketCheckpoint { id, json })));
    }

    /// Opens the market: publishes the session state (so even a market that has not
    /// stepped has an event id to resume from), then runs `warmup_steps` steps before
    /// anyone is watching, so the first page already has a recent history to draw. Those
    /// events are stamped as if they had happened at the normal pace, `step_ms` apart,
    /// ending now.
    pub fn open(&mut self, warmup_steps: u64, step_ms: u64) {
        let at = self.publish_opening(warmup_steps, step_ms);
        for done in 1..=warmup_steps {
            self.step_at(at(done));
        }
        self.checkpoint();
    }

    /// [`Driver::open`] for a lease holder, whose writer runs meanwhile: a long warm-up waits
    /// for the writer rather than outruns it.
    pub async fn open_paced(&mut self, warmup_steps: u64, step_ms: u64) {
        let at = self.publish_opening(warmup_steps, step_ms);
        for done in 1..=warmup_steps {
            self.make_room().await;
            self.step_at(at(done));
        }
        self.checkpoint();
    }

    /// Publishes the session state as the opening's first event; returns when the warm-up's
    /// step `done` (1 to `warmup_steps`) happened: `step_ms` apart, the last one now.
    fn publish_opening(&mut self, warmup_steps: u64, step_ms: u64) -> impl Fn(u64) -> u64 {
        let now = now_millis();
        let at = move |done: u64| now.saturating_sub((warmup_steps - done).saturating_mul(step_ms));
        let status = self.status();
        self.hub.publish(Payload::Market(status), at(0), Vec::new());
        at
    }

    /// A lease holder shows its events once Redis has them: with many waiting for the
    /// writer, hands on a checkpoint (the writer writes only up to one) and waits for it.
    async fn make_room(&mut self) {
        if self.hub.staged() >= STAGED_AT_MOST {
            self.checkpoint();
            self.hub.until_staged_below(STAGED_AT_MOST).await;
        }
    }

    /// Advances the market one step and publishes what happened.
    pub fn step(&mut self) -> Option<EventId> {
        self.step_at(now_millis())
    }

    fn step_at(&mut self, ts: u64) -> Option<EventId> {
        let mut newest = None;
        for event in self.market.step() {
            let (payload, symbols) = translate::payload(&event, ts);
            newest = Some(self.hub.publish(payload, ts, symbols));
        }
        newest
    }

    /// Runs until `shutdown`: steps every `step_every / speed` in real-time mode, and obeys
    /// commands in both modes.
    pub async fn run(
        &mut self,
        clock: ClockMode,
        step_every: Duration,
        speed: f64,
        shutdown: CancellationToken,
    ) {
        self.step_every = step_every;
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
                    Some(command) => self.obey(command).await,
                    None => break,
                },
                _ = timer.tick(), if realtime => {
                    self.step();
                }
            }
            self.checkpoint();
        }
    }

    fn timer(&self) -> tokio::time::Interval {
        let every = self.step_every.div_f64(self.speed.max(f64::MIN_POSITIVE));
        let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        // After a stall, carry on at the normal pace rather than bursting to catch up.
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer
    }

    async fn obey(&mut self, command: Command) {
        match command {
            Command::Step { n, done } => {
                let mut newest = self.hub.assigned();
                for _ in 0..n {
                    self.make_room().await;
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
            Command::Publish { event, done } => {
                let id = self
                    .hub
                    .publish(Payload::Custom(event), now_millis(), Vec::new());
                let _ = done.send(id);
            }
            Command::NewEpoch { done } => {
                self.hub.start_epoch(now_millis());
                let id = self
                    .hub
                    .publish(Payload::Market(self.status()), now_millis(), Vec::new());
                let _ = done.send(id);
            }
            Command::News { draft, done } => {
                let published = self.market.inject_news(draft).map(|event| {
                    let ts = now_millis();
                    let (payload, symbols) = translate::payload(&event, ts);
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
            MarketAction::Scenario(scenario) => {
                if before == SessionState::Closed {
                    None // a closed market cannot run a scenario
                } else {
                    Some(
                        self.market
                            .start_scenario(translate::scenario_kind(scenario)),
                    )
                }
            }
        };
        let Some(event) = event else {
            return Err(MarketRefused {
                action: action.verb(),
                state: translate::session_state(before),
            });
        };
        let ts = now_millis();
        let (payload, symbols) = translate::payload(&event, ts);
        let status = match &payload {
            Payload::Market(status) => status.clone(),
            _ => self.status(),
        };
        self.hub.publish(payload, ts, symbols);
        Ok(status)
    }

    fn status(&self) -> MarketStatus {
        translate::status(&self.market)
    }
}
