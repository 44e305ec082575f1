//! The trading session (open, halted, closed) and the scenarios an instructor can start.
//!
//! A session is a small state machine:
//!
//! ```text
//!            halt             close
//!   Open ──────────► Halted ─────────► Closed
//!    ▲  ◄──────────    │                 │
//!    │     resume      └──── close ──────┤
//!    └────────────────── open ───────────┘   (open starts a new trading day)
//! ```
//!
//! Only an `Open` market trades: halted and closed steps still count, but produce no
//! ticks and no generated news. A transition that does not change the state (halting
//! a halted market) is a no-op and reports nothing, so an admin button pressed twice
//! yields one event.
//!
//! A scenario is a scripted course laid over the normal model for a fixed number of
//! *trading* steps (a halt pauses it): an extra drift, a volatility and spread
//! multiplier, a news rate multiplier and a sentiment bias, phase by phase. It ends by
//! itself with a `Session` event whose `scenario` is `None`. Invariant: the course is a
//! pure function of (kind, trading steps elapsed); nothing random lives here.

use std::fmt;
use std::str::FromStr;

/// Whether the market trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SessionState {
    /// Trading: ticks, news and price moves.
    Open,
    /// Trading suspended mid-day (an instructor's halt); the day resumes where it was.
    Halted,
    /// Day over; `open` starts a new day (new open/high/low, volume from zero).
    Closed,
}

impl SessionState {
    /// Lower-case name (`open`, `halted`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Open => "open",
            SessionState::Halted => "halted",
            SessionState::Closed => "closed",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scripted stories an instructor can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScenarioKind {
    /// A plunge across the market, a nervous bottom, a partial relief rally.
    Crash,
    /// A broad, steady climb on good news.
    Rally,
    /// A burst of headlines: many more news items, wider spreads, jumpier prices.
    NewsStorm,
}

impl ScenarioKind {
    /// Every kind, in a stable order (for menus and tests).
    pub const ALL: [ScenarioKind; 3] = [
        ScenarioKind::Crash,
        ScenarioKind::Rally,
        ScenarioKind::NewsStorm,
    ];

    /// Snake-case name (`crash`, `rally`, `news_storm`), also what `FromStr` accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioKind::Crash => "crash",
            ScenarioKind::Rally => "rally",
            ScenarioKind::NewsStorm => "news_storm",
        }
    }

    /// How many trading steps the scenario lasts (240 steps = one minute at the
    /// default 250 ms step).
    pub fn duration_steps(self) -> u64 {
        match self {
            ScenarioKind::Crash => 240,
            ScenarioKind::Rally => 240,
            ScenarioKind::NewsStorm => 160,
        }
    }
}

impl fmt::Display for ScenarioKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scenario name that is not one of `crash`, `rally`, `news_storm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScenario(pub String);

impl fmt::Display for UnknownScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown scenario \"{}\" (expected one of: crash, rally, news_storm)",
            self.0
        )
    }
}

impl std::error::Error for UnknownScenario {}

impl FromStr for ScenarioKind {
    type Err = UnknownScenario;

    /// Accepts the snake-case name, case-insensitively, with `-` for `_` too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        ScenarioKind::ALL
            .into_iter()
            .find(|k| k.as_str() == norm || (norm == "newsstorm" && *k == ScenarioKind::NewsStorm))
            .ok_or_else(|| UnknownScenario(s.to_string()))
    }
}

/// A change of session state or scenario, as published in the event stream.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionChange {
    /// The step at which the change took effect.
    pub step: u64,
    /// The state after the change.
    pub state: SessionState,
    /// The scenario running after the change (`None` when one just ended).
    pub scenario: Option<ScenarioKind>,
}

/// What a scenario does to the model during one trading step. Neutral is
/// [`Effect::NONE`]; the price and news models read these numbers, nothing else.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Effect {
    /// Extra log-drift per step for a symbol of 30 % annual volatility; symbols scale it
    /// by their own volatility, so a jumpy stock falls further in a crash.
    pub drift_per_step: f64,
    /// Multiplier on every symbol's volatility.
    pub vol_mult: f64,
    /// Multiplier on the rate of generated news.
    pub news_mult: f64,
    /// Multiplier on quoted spreads.
    pub spread_mult: f64,
    /// Probability that a generated item is forced positive (> 0) or negative (< 0);
    /// 0 leaves the catalogue's own sentiment mix alone.
    pub sentiment_bias: f64,
}

impl Effect {
    /// No scenario.
    pub const NONE: Effect = Effect {
        drift_per_step: 0.0,
        vol_mult: 1.0,
        news_mult: 1.0,
        spread_mult: 1.0,
        sentiment_bias: 0.0,
    };
}

/// A running scenario: its kind and how far along it is.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scenario {
    /// Which story.
    pub kind: ScenarioKind,
    /// Trading steps already played.
    pub elapsed: u64,
}

impl Scenario {
    /// A scenario at its first step.
    pub fn new(kind: ScenarioKind) -> Scenario {
        Scenario { kind, elapsed: 0 }
    }

    /// True once every step of the course has been played.
    pub fn finished(&self) -> bool {
        self.elapsed >= self.kind.duration_steps()
    }

    /// The effect for the current step: the course, phase by phase.
    pub fn effect(&self) -> Effect {
        let t = self.elapsed;
        match self.kind {
            // -16 % in 60 steps, a nervous flat bottom, then +5 % back over 80 steps.
            ScenarioKind::Crash => match t {
                0..60 => Effect {
                    drift_per_step: libm::log(0.84) / 60.0,
                    vol_mult: 3.0,
                    news_mult: 4.0,
                    spread_mult: 3.0,
                    sentiment_bias: -0.8,
                },
                60..160 => Effect {
                    drift_per_step: 0.0,
                    vol_mult: 2.2,
                    news_mult: 2.0,
                    spread_mult: 2.0,
                    sentiment_bias: -0.4,
                },
                _ => Effect {
                    drift_per_step: libm::log(1.05) / 80.0,
                    vol_mult: 1.5,
                    news_mult: 1.5,
                    spread_mult: 1.5,
                    sentiment_bias: 0.3,
                },
            },
            // +10 % over 200 steps on good news, then it levels off.
            ScenarioKind::Rally => match t {
                0..200 => Effect {
                    drift_per_step: libm::log(1.10) / 200.0,
                    vol_mult: 1.3,
                    news_mult: 2.0,
                    spread_mult: 1.0,
                    sentiment_bias: 0.7,
                },
                _ => Effect {
                    drift_per_step: 0.0,
                    vol_mult: 1.1,
                    news_mult: 1.0,
                    spread_mult: 1.0,
                    sentiment_bias: 0.2,
                },
            },
            // Headlines every couple of seconds, wide spreads, no direction.
            ScenarioKind::NewsStorm => Effect {
                drift_per_step: 0.0,
                vol_mult: 1.5,
                news_mult: 15.0,
                spread_mult: 2.0,
                sentiment_bias: 0.0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for k in ScenarioKind::ALL {
            assert_eq!(k.as_str().parse::<ScenarioKind>(), Ok(k));
        }
        assert_eq!(
            "News-Storm".parse::<ScenarioKind>(),
            Ok(ScenarioKind::NewsStorm)
        );
        let err = "meltdown".parse::<ScenarioKind>().expect_err("refused");
        assert!(err.to_string().contains("meltdown"));
    }

    #[test]
    fn crash_course_loses_then_recovers_part() {
        let mut s = Scenario::new(ScenarioKind::Crash);
        let mut total = 0.0;
        let mut low = 0.0_f64;
        while !s.finished() {
            total += s.effect().drift_per_step;
            low = low.min(total);
            s.elapsed += 1;
        }
        assert!((libm::exp(low) - 0.84).abs() < 1e-9);
        assert!((libm::exp(total) - 0.84 * 1.05).abs() < 1e-9);
    }
}
