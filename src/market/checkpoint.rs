//! A market's whole state as data: what another process needs to continue it exactly
//! (market failover, `--role auto`).
//!
//! Everything that changes as the market runs is here — the step, the session and a running
//! scenario, every symbol's price state (log price, GARCH variance, news boosts, the day's
//! quote), pending news effects, and each random stream's exact position — and nothing that
//! the configuration gives (the universe, the model's parameters come with the prices). So a
//! market restored from a checkpoint with the same configuration produces, from then on,
//! the very events the original would have: same seed, same steps, same prices.
//!
//! Invariant: [`Market::restore`] accepts a checkpoint only for the universe it was taken
//! from (the same symbols, in the same order).

use super::price::PriceModel;
use super::rng::{Noise, NoisePosition};
use super::session::{Scenario, SessionState};
use super::{Market, MarketConfig, PendingJump};
use serde::{Deserialize, Serialize};

/// A market's state at the end of a step or command.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The universe's symbols, in order: a checkpoint fits only the market it came from.
    symbols: Vec<String>,
    step: u64,
    session: SessionState,
    scenario: Option<Scenario>,
    prices: PriceModel,
    news_seq: u64,
    pending: Vec<PendingJump>,
    jumps_applied: u64,
    price_noise: NoisePosition,
    news_noise: NoisePosition,
    desk_noise: NoisePosition,
}

impl Checkpoint {
    /// The checkpoint as JSON (floats round-trip exactly).
    pub fn encode(&self) -> String {
        // Plain data with string keys and finite numbers: serde_json cannot fail on it.
        serde_json::to_string(self).expect("a checkpoint always serializes")
    }

    /// Reads a checkpoint, or says why it is not one.
    pub fn decode(text: &str) -> Result<Checkpoint, String> {
        serde_json::from_str(text).map_err(|err| format!("not a market checkpoint: {err}"))
    }

    /// The step it was taken after.
    pub fn step(&self) -> u64 {
        self.step
    }
}

impl Market {
    /// Everything needed to continue this market elsewhere.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            symbols: self.symbol_names(),
            step: self.step,
            session: self.session,
            scenario: self.scenario,
            prices: self.prices.clone(),
            news_seq: self.news_seq,
            pending: self.pending.clone(),
            jumps_applied: self.jumps_applied,
            price_noise: self.price_noise.position(),
            news_noise: self.news_noise.position(),
            desk_noise: self.desk_noise.position(),
        }
    }

    /// The market `checkpoint` was taken of, configured by `config` (which must name the
    /// same symbols); it continues exactly where that one stood.
    pub fn restore(config: MarketConfig, checkpoint: &Checkpoint) -> Result<Market, String> {
        let config = config.sanitized();
        let names: Vec<String> = config
            .universe
            .symbols
            .iter()
            .map(|spec| spec.symbol.clone())
            .collect();
        if names != checkpoint.symbols {
            return Err(format!(
                "the checkpoint is of a market of {}, this one trades {}",
                checkpoint.symbols.join(","),
                names.join(",")
            ));
        }
        let noise = |position: &NoisePosition| {
            Noise::resume(position)
                .ok_or_else(|| "a random stream's position is not a number".to_owned())
        };
        Ok(Market {
            config,
            step: checkpoint.step,
            session: checkpoint.session,
            scenario: checkpoint.scenario,
            prices: checkpoint.prices.clone(),
            news_seq: checkpoint.news_seq,
            pending: checkpoint.pending.clone(),
            jumps_applied: checkpoint.jumps_applied,
            price_noise: noise(&checkpoint.price_noise)?,
            news_noise: noise(&checkpoint.news_noise)?,
            desk_noise: noise(&checkpoint.desk_noise)?,
        })
    }

    fn symbol_names(&self) -> Vec<String> {
        self.config
            .universe
            .symbols
            .iter()
            .map(|spec| spec.symbol.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::NewsDraft;

    #[test]
    fn a_restored_market_continues_exactly() {
        let mut original = Market::new(42, MarketConfig::default());
        for _ in 0..300 {
            original.step();
        }
        let _ = original.inject_news(NewsDraft {
            headline: "Regulator opens an inquiry".into(),
            ..NewsDraft::default()
        });
        original.start_scenario(crate::market::ScenarioKind::Crash);
        for _ in 0..7 {
            original.step();
        }
        let text = original.checkpoint().encode();
        let mut restored = Market::restore(
            MarketConfig::default(),
            &Checkpoint::decode(&text).expect("decodes"),
        )
        .expect("the same universe");
        for _ in 0..500 {
            assert_eq!(restored.step(), original.step());
        }
        assert_eq!(restored.quotes(), original.quotes());
    }
}
