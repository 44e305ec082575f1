//! A price alert and the rule that fires it.
//!
//! Invariant: an alert fires only on a *crossing* the page saw — the trade before was
//! strictly short of the level, this one is at or past it — and once fired it stays fired,
//! so it fires exactly once. An alert set while the price is already past its level waits
//! for the price to come back and cross again (what TradingView's "crossing" alerts do):
//! nothing fires the moment it is set.

use crate::ui::format;
use crate::wire::Cents;
use serde::{Deserialize, Serialize};

/// Which way the price has to cross the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Fires when the price rises to the level or through it.
    Above,
    /// Fires when the price falls to the level or through it.
    Below,
}

impl Direction {
    /// Both, in the order the form offers them.
    pub const ALL: [Direction; 2] = [Direction::Above, Direction::Below];

    /// `above` / `below`: the form's option values, the storage word and the test hook.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }

    /// The inverse of [`Direction::as_str`].
    pub fn from_name(name: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// Whether a move from `previous` to `last` crosses `level` this way.
    ///
    /// "Above" needs `previous < level <= last`; "below" needs `previous > level >= last`.
    /// Reaching the level exactly counts (a trader who asks for "above 101.50" wants to
    /// hear about a trade at 101.50), starting on it does not (that price was already
    /// there when the move began).
    pub fn crossed(self, level: Cents, previous: Cents, last: Cents) -> bool {
        match self {
            Direction::Above => previous < level && last >= level,
            Direction::Below => previous > level && last <= level,
        }
    }

    /// Whether `price` is already at or past `level` this way: an alert set now waits for
    /// the price to come back and cross.
    pub fn reached(self, level: Cents, price: Cents) -> bool {
        match self {
            Direction::Above => price >= level,
            Direction::Below => price <= level,
        }
    }
}

/// When and at what price an alert fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fired {
    /// The last price of the trade that crossed.
    pub price: Cents,
    /// That trade's time, milliseconds since the Unix epoch.
    pub ts: u64,
}

/// One alert: a symbol, a direction and a level; armed until it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique among this browser's alerts; also the notification's tag, so that two tabs
    /// firing the same alert show one notification.
    pub id: u64,
    /// The ticker it watches.
    pub symbol: String,
    /// Which way the price has to cross.
    pub direction: Direction,
    /// The level, in cents.
    pub price: Cents,
    /// `None` while armed.
    pub fired: Option<Fired>,
}

impl Alert {
    /// Whether it still waits for a crossing.
    pub fn armed(&self) -> bool {
        self.fired.is_none()
    }

    /// `armed` / `fired`, for styling and tests.
    pub fn state(&self) -> &'static str {
        if self.armed() {
            "armed"
        } else {
            "fired"
        }
    }

    /// Whether a trade of its symbol from `previous` to `last` fires it (never when fired).
    pub fn fires(&self, previous: Cents, last: Cents) -> bool {
        self.armed() && self.direction.crossed(self.price, previous, last)
    }

    /// `NOVA above 101.50`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.symbol,
            self.direction.as_str(),
            format::price(self.price)
        )
    }

    /// What a crossing says: `NOVA rose above 101.50`.
    pub fn headline(&self) -> String {
        let verb = match self.direction {
            Direction::Above => "rose above",
            Direction::Below => "fell below",
        };
        format!("{} {verb} {}", self.symbol, format::price(self.price))
    }

    /// The toast's text: `NOVA rose above 101.50 (last 101.53)`.
    pub fn message(&self, last: Cents) -> String {
        format!("{} (last {})", self.headline(), format::price(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(direction: Direction, price: Cents) -> Alert {
        Alert {
            id: 1,
            symbol: "NOVA".to_owned(),
            direction,
            price,
            fired: None,
        }
    }

    #[test]
    fn above_fires_on_a_rise_to_or_through_the_level() {
        let above = alert(Direction::Above, 10_150);
        assert!(above.fires(10_149, 10_150), "reaching the level counts");
        assert!(above.fires(10_100, 10_200), "jumping through it counts");
        assert!(!above.fires(10_100, 10_149), "short of it");
        assert!(!above.fires(10_150, 10_160), "it started on the level");
        assert!(!above.fires(10_200, 10_300), "already above: no crossing");
        assert!(!above.fires(10_200, 10_100), "a fall never fires an above");
    }

    #[test]
    fn below_fires_on_a_fall_to_or_through_the_level() {
        let below = alert(Direction::Below, 9_900);
        assert!(below.fires(9_901, 9_900));
        assert!(below.fires(10_000, 9_800));
        assert!(!below.fires(10_000, 9_901));
        assert!(!below.fires(9_900, 9_800), "it started on the level");
        assert!(!below.fires(9_800, 9_700), "already below: no crossing");
        assert!(!below.fires(9_800, 10_000));
    }

    #[test]
    fn a_fired_alert_never_fires_again() {
        let mut above = alert(Direction::Above, 10_150);
        above.fired = Some(Fired {
            price: 10_153,
            ts: 0,
        });
        assert!(!above.armed());
        assert_eq!(above.state(), "fired");
        assert!(!above.fires(10_100, 10_200));
    }

    #[test]
    fn an_alert_set_past_its_level_waits_for_the_way_back() {
        // Set "above 101.50" at 102.00: the price has to dip under and come back.
        let above = alert(Direction::Above, 10_150);
        assert!(Direction::Above.reached(10_150, 10_200));
        let path = [10_200, 10_180, 10_140, 10_160];
        let fired: Vec<bool> = path
            .windows(2)
            .map(|pair| above.fires(pair[0], pair[1]))
            .collect();
        assert_eq!(fired, [false, false, true]);
    }

    #[test]
    fn texts_name_the_symbol_the_level_and_the_last_price() {
        let above = alert(Direction::Above, 10_150);
        assert_eq!(above.describe(), "NOVA above 101.50");
        assert_eq!(
            above.message(10_153),
            "NOVA rose above 101.50 (last 101.53)"
        );
        let below = alert(Direction::Below, 9_900);
        assert_eq!(below.message(9_897), "NOVA fell below 99.00 (last 98.97)");
    }

    #[test]
    fn direction_names_round_trip() {
        for direction in Direction::ALL {
            assert_eq!(Direction::from_name(direction.as_str()), Some(direction));
        }
        assert_eq!(Direction::from_name("sideways"), None);
    }
}
