//! Prices: a factor-correlated geometric Brownian motion with GARCH(1,1) volatility
//! clustering and news jumps, turned into whole-cent quotes with a spread and volume.
//!
//! Per trading step, for symbol `i` in sector `s`:
//!
//! ```text
//! ε_i  = √w_m·Z_market + √w_s·Z_sector(s) + √(1−w_m−w_s)·Z_i       (unit variance)
//! σ_i  = vol_i · √dt · scenario.vol_mult                          (dt in years)
//! r_i  = (μ_i·dt − ½σ_i²·h_i) + scenario drift + σ_i·√h_i·ε_i + news jumps due now
//! h_i' = (1−α−β) + α·h_i·ε_i² + β·h_i  (+ a kick after a news jump)
//! ```
//!
//! `h` is a variance *multiplier* whose long-run mean is 1, so the configured annual
//! volatility is also the long-run volatility; GARCH only clusters it in time. Two
//! symbols of one sector share `w_m + w_s` of their variance, two of different sectors
//! only `w_m`: that is the correlation structure.
//!
//! The model keeps the log of the price in cents in `f64`. Invariant: what leaves it is a
//! [`Quote`] in whole cents with `0 < bid ≤ last < ask` and `low ≤ last ≤ high`, and the
//! log price never goes below a cent. Random draws per trading step are a fixed number
//! (one market, one per sector, three per symbol) whatever happens, so a headline that
//! moves one symbol leaves the paths of the others untouched.

use super::rng::Noise;
use super::session::Effect;
use super::universe::Universe;
use super::{Cents, Quote};

/// Parameters of the price process, taken from `MarketConfig` (already sanitised).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PriceParams {
    /// Length of one step in years of the compressed calendar.
    pub dt: f64,
    /// Share of each symbol's variance that comes from the market factor.
    pub market_weight: f64,
    /// Share that comes from the sector factor.
    pub sector_weight: f64,
    /// GARCH reaction to the last shock.
    pub garch_alpha: f64,
    /// GARCH persistence.
    pub garch_beta: f64,
    /// Quoted spread in basis points of the price, before news widening.
    pub spread_bps: f64,
    /// Probability that a symbol trades in a calm trading step.
    pub tick_prob: f64,
}

/// A tick the market will publish: symbol index, quote after it, volume of the tick.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    /// Index in the universe.
    pub index: usize,
    /// The symbol's quote after this tick.
    pub quote: Quote,
    /// Shares traded in this tick.
    pub volume: u64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct SymbolState {
    /// ln(price in cents), ≥ 0.
    log_price: f64,
    /// Annual drift and volatility from the universe.
    drift: f64,
    vol: f64,
    sector: usize,
    /// GARCH variance multiplier (mean 1).
    h: f64,
    /// Extra spread after news, as a multiple of the base spread; decays each step.
    spread_boost: f64,
    /// Extra trading activity after news; decays each step.
    activity: f64,
    /// Typical lots (of 100 shares) per tick: cheaper stocks trade more shares.
    base_lots: f64,
    /// The last published quote.
    quote: Quote,
}

/// The price state of every symbol.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PriceModel {
    params: PriceParams,
    n_sectors: usize,
    states: Vec<SymbolState>,
}

/// Per-step decay of the news spread widening (half-life ≈ 8 steps).
const SPREAD_DECAY: f64 = 0.92;
/// Per-step decay of the news activity boost (half-life ≈ 14 steps).
const ACTIVITY_DECAY: f64 = 0.95;
/// Bounds on the GARCH multiplier: keeps a run of extreme shocks from exploding.
const H_BOUNDS: (f64, f64) = (0.05, 25.0);
/// Highest log price (ln of 10^12 cents): a runaway drift cannot overflow.
const MAX_LOG_PRICE: f64 = 27.6;

impl PriceModel {
    /// Every symbol at its start price, calm, with a fresh day.
    pub fn new(universe: &Universe, params: PriceParams) -> PriceModel {
        let states = universe
            .symbols
            .iter()
            .map(|spec| {
                let cents = spec.start_price.max(1);
                let sector = universe
                    .sectors
                    .iter()
                    .position(|s| *s == spec.sector)
                    .unwrap_or(0);
                let dollars = cents as f64 / 100.0;
                let last = cents;
                let half = half_spread(cents, params.spread_bps, 1.0);
                SymbolState {
                    log_price: libm::log(cents as f64),
                    drift: spec.drift,
                    vol: spec.volatility,
                    sector,
                    h: 1.0,
                    spread_boost: 0.0,
                    activity: 0.0,
                    base_lots: (2_000.0 / dollars).clamp(1.0, 50.0),
                    quote: Quote {
                        symbol: spec.symbol.clone(),
                        last,
                        bid: (last - half).max(1),
                        ask: last + half,
                        open: last,
                        high: last,
                        low: last,
                        day_volume: 0,
                    },
                }
            })
            .collect();
        PriceModel {
            n_sectors: universe.sectors.len().max(1),
            params,
            states,
        }
    }

    /// The last published quote of every symbol, in universe order.
    pub fn quotes(&self) -> Vec<Quote> {
        self.states.iter().map(|s| s.quote.clone()).collect()
    }

    /// The model's current price in (fractional) cents, between ticks too.
    pub fn price_cents(&self, index: usize) -> f64 {
        self.states
            .get(index)
            .map_or(0.0, |s| libm::exp(s.log_price))
    }

    /// News was just published about `index`: spreads widen and trading picks up now,
    /// before the price effect arrives.
    pub fn news_published(&mut self, index: usize, importance: u8) {
        if let Some(s) = self.states.get_mut(index) {
            s.spread_boost += 1.5 * f64::from(importance);
            s.activity += 0.5 * f64::from(importance);
        }
    }

    /// A new trading day: open, high and low restart at the last price, volume at zero.
    pub fn new_day(&mut self) {
        for s in &mut self.states {
            let q = &mut s.quote;
            q.open = q.last;
            q.high = q.last;
            q.low = q.last;
            q.day_volume = 0;
        }
    }

    /// One trading step. `jumps` are the news log-jumps due now, per symbol index.
    /// Returns the ticks of the symbols that traded, in universe order.
    pub fn step(&mut self, noise: &mut Noise, effect: &Effect, jumps: &[f64]) -> Vec<Fill> {
        let p = &self.params;
        let (wm, ws) = (p.market_weight, p.sector_weight);
        let (a_m, a_s, a_i) = (libm::sqrt(wm), libm::sqrt(ws), libm::sqrt(1.0 - wm - ws));
        let omega = 1.0 - p.garch_alpha - p.garch_beta;
        let sqrt_dt = libm::sqrt(p.dt);

        let z_market = noise.normal();
        let z_sector: Vec<f64> = (0..self.n_sectors).map(|_| noise.normal()).collect();

        let mut fills = Vec::with_capacity(self.states.len());
        for (index, s) in self.states.iter_mut().enumerate() {
            // Fixed draws per symbol, in a fixed order (see the module header).
            let z_own = noise.normal();
            let u_tick = noise.uniform();
            let z_volume = noise.normal();

            let eps =
                a_m * z_market + a_s * z_sector[s.sector.min(self.n_sectors - 1)] + a_i * z_own;
            let sigma = s.vol * sqrt_dt * effect.vol_mult;
            let jump = jumps.get(index).copied().unwrap_or(0.0);
            // Scenario drift is written for a 30 %-volatility stock; scale by temperament.
            let scenario_drift = effect.drift_per_step * (s.vol / 0.30);
            let ret = s.drift * p.dt - 0.5 * sigma * sigma * s.h
                + scenario_drift
                + sigma * libm::sqrt(s.h) * eps
                + jump;
            s.log_price = (s.log_price + ret).clamp(0.0, MAX_LOG_PRICE);

            // GARCH(1,1) on the standardised shock; a news jump adds a kick in
            // proportion to its size in units of normal moves, so news brings turbulence.
            let jump_z = if sigma > 0.0 { jump / sigma } else { 0.0 };
            let kick = if jump == 0.0 {
                0.0
            } else {
                0.15 * (jump_z * jump_z).min(25.0)
            };
            s.h = (omega + p.garch_alpha * s.h * eps * eps + p.garch_beta * s.h + kick)
                .clamp(H_BOUNDS.0, H_BOUNDS.1);

            // Does it trade this step? Always right after a jump (the effect must show),
            // otherwise more often when active or moving.
            let prob = (p.tick_prob * (1.0 + s.activity + 0.2 * eps.abs())).min(1.0);
            let trades = jump != 0.0 || u_tick < prob;
            if trades {
                let last = (libm::round(libm::exp(s.log_price)) as Cents).max(1);
                let widen = (1.0 + s.spread_boost) * effect.spread_mult;
                let half = half_spread(last, p.spread_bps, widen);
                // Lognormal size with mean ≈ 1, bigger on big moves and after news.
                let size = libm::exp(0.5 * z_volume - 0.125)
                    * (1.0 + 0.5 * eps.abs())
                    * (1.0 + s.activity);
                let volume = 100 * (libm::round(s.base_lots * size) as u64).max(1);
                let q = &mut s.quote;
                q.last = last;
                q.bid = (last - half).max(1);
                q.ask = last + half;
                q.high = q.high.max(last);
                q.low = q.low.min(last);
                q.day_volume = q.day_volume.saturating_add(volume);
                fills.push(Fill {
                    index,
                    quote: q.clone(),
                    volume,
                });
            }
            s.spread_boost *= SPREAD_DECAY;
            s.activity *= ACTIVITY_DECAY;
        }
        fills
    }
}

/// Half the quoted spread in whole cents: at least one cent, so `bid < ask` always.
fn half_spread(price: Cents, spread_bps: f64, widen: f64) -> Cents {
    let half = price as f64 * spread_bps / 10_000.0 / 2.0 * widen;
    (libm::round(half) as Cents).max(1)
}
