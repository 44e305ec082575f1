//! The market simulator: a small stock market that lives in logical steps and replays
//! exactly from a seed.
//!
//! [`Market::step`] advances the market by one logical step and returns what happened
//! in it as [`MarketEvent`]s: ticks (a trade and the quote after it), news headlines and
//! session changes, in a fixed order (news published in the step, then ticks in
//! universe order, then a scenario's end). Everything around it — the wall clock, the event bus, the wire
//! format, the admin API — lives elsewhere and drives this module from outside.
//!
//! Invariant: this module is pure. It never reads the time, does no I/O, spawns nothing
//! and uses no global random generator; all randomness comes from `rng::Noise` seeded
//! from the market's seed. Same seed + same config + same sequence of calls ⇒ the same
//! events, bit for bit, on every machine (see `rng.rs` for how floating point is kept
//! portable). Prices leave the model as whole cents, always > 0.
//!
//! # Time scale
//!
//! A step stands for `step_secs` logical seconds (the driver's tick interval; 0.25 by
//! default). To make a demo visibly move, the calendar is compressed: a whole trading
//! *year* of drift and volatility plays out in `year_secs` logical seconds (default
//! 21,600 = six hours). One step is then `dt = step_secs / year_secs` years
//! (≈ 1.16·10⁻⁵), and a symbol with 30 % annual volatility moves about
//! `0.30·√dt ≈ 0.10 %` per step; the default universe spans roughly 0.05–0.16 % per
//! step, scenarios and news bursts more. An hour of demo is two months of market.
//!
//! # Parts (one concept per file)
//!
//! - `universe.rs`: the symbols, their parameters, the TOML file format.
//! - `rng.rs`: seeded noise and the samplers (Box–Muller, Poisson, weighted choice).
//! - `price.rs`: correlated GBM + GARCH + jumps → quotes in cents.
//! - `news.rs`: the news catalogue, templates, instructor drafts, price effects.
//! - `session.rs`: open / halted / closed and scenarios.
//! - `checkpoint.rs`: the whole state as data, to continue the market in another process.

mod checkpoint;
mod news;
mod price;
mod rng;
mod session;
mod universe;

#[cfg(test)]
mod tests;

pub use checkpoint::Checkpoint;
pub use news::{
    NewsDraft, NewsError, NewsItem, NewsKind, NewsScope, Sentiment, MAX_DRAFT_SYMBOLS,
    MAX_HEADLINE_CHARS, MAX_SUMMARY_CHARS,
};
pub use session::{ScenarioKind, SessionChange, SessionState, UnknownScenario};
pub use universe::{SymbolSpec, Universe, UniverseError};

use price::{PriceModel, PriceParams};
use rng::{Noise, Stream};
use session::{Effect, Scenario};

/// Money as whole cents (minor units). Every price the model publishes is one, > 0.
pub type Cents = i64;

/// Everything that shapes the market besides the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketConfig {
    /// The symbols and their parameters.
    pub universe: Universe,
    /// Logical seconds one step represents (the driver's tick interval). Default 0.25.
    pub step_secs: f64,
    /// Mean number of generated news items per logical minute (Poisson). Default 2.
    pub news_per_min: f64,
    /// Logical seconds in which one trading year of drift and volatility plays out
    /// (the compressed calendar, see the module header). Default 21,600 (six hours).
    pub year_secs: f64,
    /// Share of each symbol's variance driven by the market factor. Default 0.25.
    pub market_weight: f64,
    /// Share driven by its sector's factor. Default 0.35, so two symbols of one sector
    /// correlate at about 0.6 and of different sectors at about 0.25.
    pub sector_weight: f64,
    /// GARCH(1,1) reaction to the last shock. Default 0.06.
    pub garch_alpha: f64,
    /// GARCH(1,1) persistence. Default 0.92 (bursts fade over tens of steps).
    pub garch_beta: f64,
    /// Steps between a headline and its price effect. Default 4 (one second).
    pub news_delay_steps: u64,
    /// Multiplier on news jump sizes; 0 turns the price effect of news off.
    pub jump_scale: f64,
    /// Quoted spread in basis points before news widening. Default 6.
    pub spread_bps: f64,
    /// Probability that a symbol trades in a calm step. Default 0.55: sparse enough to
    /// look real, each symbol still ticks about twice a second at the default step.
    pub tick_prob: f64,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            universe: Universe::default_universe(),
            step_secs: 0.25,
            news_per_min: 2.0,
            year_secs: 21_600.0,
            market_weight: 0.25,
            sector_weight: 0.35,
            garch_alpha: 0.06,
            garch_beta: 0.92,
            news_delay_steps: 4,
            jump_scale: 1.0,
            spread_bps: 6.0,
            tick_prob: 0.55,
        }
    }
}

impl MarketConfig {
    /// A copy with every out-of-range number replaced by something usable: a market
    /// must be constructible from any config, so [`Market::new`] applies this rather
    /// than fail. Use [`MarketConfig::validate`] to tell a user about a bad value.
    fn sanitized(&self) -> MarketConfig {
        let d = MarketConfig::default();
        let pick = |v: f64, lo: f64, hi: f64, default: f64| {
            if v.is_finite() && v >= lo && v <= hi {
                v
            } else {
                default
            }
        };
        let mut c = self.clone();
        c.step_secs = pick(c.step_secs, 1e-3, 3_600.0, d.step_secs);
        c.news_per_min = pick(c.news_per_min, 0.0, 600.0, d.news_per_min);
        c.year_secs = pick(c.year_secs, 1.0, 1e9, d.year_secs);
        c.market_weight = pick(c.market_weight, 0.0, 1.0, d.market_weight);
        c.sector_weight = pick(c.sector_weight, 0.0, 1.0, d.sector_weight);
        if c.market_weight + c.sector_weight > 0.99 {
            c.market_weight = d.market_weight;
            c.sector_weight = d.sector_weight;
        }
        c.garch_alpha = pick(c.garch_alpha, 0.0, 1.0, d.garch_alpha);
        c.garch_beta = pick(c.garch_beta, 0.0, 1.0, d.garch_beta);
        if c.garch_alpha + c.garch_beta >= 0.999 {
            c.garch_alpha = d.garch_alpha;
            c.garch_beta = d.garch_beta;
        }
        c.news_delay_steps = c.news_delay_steps.min(10_000);
        c.jump_scale = pick(c.jump_scale, 0.0, 10.0, d.jump_scale);
        c.spread_bps = pick(c.spread_bps, 0.0, 1_000.0, d.spread_bps);
        c.tick_prob = pick(c.tick_prob, 0.0, 1.0, d.tick_prob);
        if c.universe.validate().is_err() {
            c.universe = d.universe;
        }
        c
    }

    /// Says which field is out of range, if any (the ranges [`Market::new`] enforces).
    pub fn validate(&self) -> Result<(), String> {
        self.universe.validate().map_err(|e| e.to_string())?;
        let s = self.sanitized();
        let fields: [(&str, f64, f64); 9] = [
            ("step_secs", self.step_secs, s.step_secs),
            ("news_per_min", self.news_per_min, s.news_per_min),
            ("year_secs", self.year_secs, s.year_secs),
            ("market_weight", self.market_weight, s.market_weight),
            ("sector_weight", self.sector_weight, s.sector_weight),
            ("garch_alpha", self.garch_alpha, s.garch_alpha),
            ("garch_beta", self.garch_beta, s.garch_beta),
            ("jump_scale", self.jump_scale, s.jump_scale),
            ("spread_bps", self.spread_bps, s.spread_bps),
        ];
        for (name, given, used) in fields {
            if given.to_bits() != used.to_bits() {
                return Err(format!("market config: {name} = {given} is out of range"));
            }
        }
        if self.tick_prob.to_bits() != s.tick_prob.to_bits() {
            return Err(format!(
                "market config: tick_prob = {} is out of range",
                self.tick_prob
            ));
        }
        Ok(())
    }

    /// Length of one step in years of the compressed calendar.
    pub fn dt_years(&self) -> f64 {
        self.step_secs / self.year_secs
    }
}

/// One thing that happened in a step.
#[derive(Clone, Debug, PartialEq)]
pub enum MarketEvent {
    /// A symbol traded.
    Tick(Tick),
    /// A headline was published.
    News(NewsItem),
    /// The session state or the running scenario changed.
    Session(SessionChange),
}

impl MarketEvent {
    /// The step the event belongs to.
    pub fn step(&self) -> u64 {
        match self {
            MarketEvent::Tick(t) => t.step,
            MarketEvent::News(n) => n.step,
            MarketEvent::Session(s) => s.step,
        }
    }
}

/// A symbol's quote: last trade, best bid and ask, and the day so far.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quote {
    /// Ticker.
    pub symbol: String,
    /// Last traded price.
    pub last: Cents,
    /// Best bid (`0 < bid ≤ last`).
    pub bid: Cents,
    /// Best ask (`ask > last`).
    pub ask: Cents,
    /// First price of the trading day.
    pub open: Cents,
    /// Highest trade of the day.
    pub high: Cents,
    /// Lowest trade of the day.
    pub low: Cents,
    /// Shares traded today.
    pub day_volume: u64,
}

impl Quote {
    /// Change from the day's open, in cents.
    pub fn change(&self) -> Cents {
        self.last - self.open
    }

    /// Change from the day's open, in percent.
    pub fn change_pct(&self) -> f64 {
        if self.open > 0 {
            self.change() as f64 * 100.0 / self.open as f64
        } else {
            0.0
        }
    }
}

/// A trade: the quote after it and its size.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// Step of the trade.
    pub step: u64,
    /// The symbol's quote after the trade.
    pub quote: Quote,
    /// Shares traded in this tick (a multiple of 100).
    pub volume: u64,
}

/// A price effect waiting for its step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct PendingJump {
    due: u64,
    index: usize,
    log_jump: f64,
}

/// The simulated market. Cloning it forks the future: both copies then replay the same.
#[derive(Clone, Debug)]
pub struct Market {
    config: MarketConfig,
    step: u64,
    session: SessionState,
    scenario: Option<Scenario>,
    prices: PriceModel,
    /// News sequence number of the last published item.
    news_seq: u64,
    /// Price effects of published news, in publication order.
    pending: Vec<PendingJump>,
    /// How many news price jumps have been applied (a statistic).
    jumps_applied: u64,
    price_noise: Noise,
    news_noise: Noise,
    desk_noise: Noise,
}

impl Market {
    /// A market at step 0, open, at the universe's start prices. Out-of-range config
    /// values are replaced by defaults (see [`MarketConfig::validate`]).
    pub fn new(seed: u64, config: MarketConfig) -> Market {
        let config = config.sanitized();
        let params = PriceParams {
            dt: config.dt_years(),
            market_weight: config.market_weight,
            sector_weight: config.sector_weight,
            garch_alpha: config.garch_alpha,
            garch_beta: config.garch_beta,
            spread_bps: config.spread_bps,
            tick_prob: config.tick_prob,
        };
        Market {
            prices: PriceModel::new(&config.universe, params),
            config,
            step: 0,
            session: SessionState::Open,
            scenario: None,
            news_seq: 0,
            pending: Vec::new(),
            jumps_applied: 0,
            price_noise: Noise::new(seed, Stream::Prices),
            news_noise: Noise::new(seed, Stream::News),
            desk_noise: Noise::new(seed, Stream::Desk),
        }
    }

    /// Advances one logical step and returns its events in order: news published in
    /// this step, then ticks in universe order, then a scenario's end. Steps count in
    /// every session state; only an open market trades.
    pub fn step(&mut self) -> Vec<MarketEvent> {
        self.step += 1;
        let mut events = Vec::new();
        if self.session != SessionState::Open {
            return events;
        }
        let effect = self.scenario.map_or(Effect::NONE, |s| s.effect());

        // 1. News published now: a scenario's opening headline, then Poisson arrivals.
        if let Some(s) = self.scenario {
            if s.elapsed == 0 {
                self.news_seq += 1;
                let item = news::scenario_headline(
                    s.kind,
                    &self.config.universe,
                    self.step,
                    self.news_seq,
                );
                for i in 0..self.config.universe.symbols.len() {
                    self.prices.news_published(i, item.importance);
                }
                events.push(MarketEvent::News(item));
            }
        }
        let lambda = self.config.news_per_min * self.config.step_secs / 60.0 * effect.news_mult;
        let arrivals = self.news_noise.poisson(lambda);
        for _ in 0..arrivals {
            self.news_seq += 1;
            let prices = &self.prices;
            let published = news::generate(
                &mut self.news_noise,
                &self.config.universe,
                self.step,
                self.news_seq,
                effect.sentiment_bias,
                self.config.jump_scale,
                &|i| prices.price_cents(i) / 100.0,
            );
            events.push(self.publish(published));
        }

        // 2. Price effects that are due (published at least `news_delay_steps` ago).
        let mut jumps = vec![0.0; self.config.universe.symbols.len()];
        let step = self.step;
        let mut applied = 0;
        self.pending.retain(|p| {
            if p.due <= step {
                if let Some(j) = jumps.get_mut(p.index) {
                    *j += p.log_jump;
                }
                applied += 1;
                false
            } else {
                true
            }
        });
        self.jumps_applied += applied;

        // 3. Prices move; the symbols that traded tick.
        for fill in self.prices.step(&mut self.price_noise, &effect, &jumps) {
            events.push(MarketEvent::Tick(Tick {
                step: self.step,
                quote: fill.quote,
                volume: fill.volume,
            }));
        }

        // 4. The scenario moves on, and ends by itself.
        if let Some(s) = &mut self.scenario {
            s.elapsed += 1;
            if s.finished() {
                self.scenario = None;
                events.push(self.session_event());
            }
        }
        events
    }

    /// Steps taken so far (the step number of the last `step()`).
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The symbols being simulated.
    pub fn universe(&self) -> &Universe {
        &self.config.universe
    }

    /// The configuration in force (after sanitising).
    pub fn config(&self) -> &MarketConfig {
        &self.config
    }

    /// The last published quote of every symbol, in universe order.
    pub fn quotes(&self) -> Vec<Quote> {
        self.prices.quotes()
    }

    /// Whether the market trades.
    pub fn session(&self) -> SessionState {
        self.session
    }

    /// The running scenario, if any.
    pub fn scenario(&self) -> Option<ScenarioKind> {
        self.scenario.map(|s| s.kind)
    }

    /// Sequence number of the last published news item (0 before the first).
    pub fn news_count(&self) -> u64 {
        self.news_seq
    }

    /// How many per-symbol news price jumps have been applied so far.
    pub fn jumps_applied(&self) -> u64 {
        self.jumps_applied
    }

    /// Suspends trading (Open → Halted). `None` if the market was not open.
    pub fn halt(&mut self) -> Option<MarketEvent> {
        self.transition(SessionState::Open, SessionState::Halted)
    }

    /// Resumes trading after a halt (Halted → Open). `None` if it was not halted.
    pub fn resume(&mut self) -> Option<MarketEvent> {
        self.transition(SessionState::Halted, SessionState::Open)
    }

    /// Ends the trading day (Open or Halted → Closed); a running scenario is cancelled.
    /// `None` if it was already closed.
    pub fn close(&mut self) -> Option<MarketEvent> {
        if self.session == SessionState::Closed {
            return None;
        }
        self.session = SessionState::Closed;
        self.scenario = None;
        Some(self.session_event())
    }

    /// Starts a new trading day (Closed → Open): open, high and low restart at the last
    /// price and day volume at zero. `None` if it was not closed (use `resume` after a halt).
    pub fn open(&mut self) -> Option<MarketEvent> {
        let event = self.transition(SessionState::Closed, SessionState::Open)?;
        self.prices.new_day();
        Some(event)
    }

    /// Starts a scenario, replacing any running one. It plays over the next trading
    /// steps (a halted or closed market pauses it until trading resumes; closing
    /// cancels it) and ends by itself with a `Session` event.
    pub fn start_scenario(&mut self, kind: ScenarioKind) -> MarketEvent {
        self.scenario = Some(Scenario::new(kind));
        self.session_event()
    }

    /// Publishes an instructor's headline now, as part of the current step. Like any
    /// news, its price effect follows `news_delay_steps` later (at the first trading
    /// step from then, if the market is not open). Its randomness comes from a stream
    /// of its own, so the rest of the market's future is unchanged by it.
    pub fn inject_news(&mut self, draft: NewsDraft) -> Result<MarketEvent, NewsError> {
        let published = news::from_draft(
            &mut self.desk_noise,
            &self.config.universe,
            draft,
            self.step,
            self.news_seq + 1,
            self.config.jump_scale,
        )?;
        self.news_seq += 1;
        Ok(self.publish(published))
    }

    /// The model's current price of symbol `index` in fractional cents (tests only:
    /// the app sees prices through ticks and quotes).
    #[cfg(test)]
    fn model_price(&self, index: usize) -> f64 {
        self.prices.price_cents(index)
    }

    /// Schedules a news item's price effect, widens spreads now, returns the event.
    fn publish(&mut self, published: news::Published) -> MarketEvent {
        let due = self.step + self.config.news_delay_steps;
        for &(index, log_jump) in &published.jumps {
            self.prices.news_published(index, published.item.importance);
            if log_jump != 0.0 {
                self.pending.push(PendingJump {
                    due,
                    index,
                    log_jump,
                });
            }
        }
        MarketEvent::News(published.item)
    }

    fn transition(&mut self, from: SessionState, to: SessionState) -> Option<MarketEvent> {
        if self.session != from {
            return None;
        }
        self.session = to;
        Some(self.session_event())
    }

    fn session_event(&self) -> MarketEvent {
        MarketEvent::Session(SessionChange {
            step: self.step,
            state: self.session,
            scenario: self.scenario.map(|s| s.kind),
        })
    }
}
