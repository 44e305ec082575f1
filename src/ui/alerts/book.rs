//! The page's alerts, live: the list, the price the page last saw for each symbol, the
//! toasts on screen and whether notifications are allowed.
//!
//! The store hands the book every trade it applies ([`AlertBook::on_trade`]) — per event,
//! not per animation frame, so a spike that crosses a level and comes back within one
//! frame still fires — and every snapshot ([`AlertBook::on_snapshot`]), which only sets
//! the prices to compare with: a page that opens, or resets, past a level saw no crossing.
//! Invariant: each trade is compared with the one before it on this page, and an alert
//! fires at most once (then it is kept, disarmed, until removed).
//!
//! The book touches no browser API itself: the browser build provides an [`AlertsApi`]
//! (storage, notifications) as context, the same seam as the live feed; the server renders
//! the book without one, empty, and the browser loads the stored alerts only after
//! hydration, so both render the same page first.

use super::model::{Alert, Direction, Fired};
use super::storage::{self, MAX_ALERTS};
use crate::wire::Cents;
use leptos::prelude::*;
use std::collections::HashMap;
use std::rc::Rc;

/// Toasts on screen at most; an older one gives way (its alert still shows as fired).
pub const TOASTS_SHOWN: usize = 4;

/// Whether the page may show notifications (`Notification.permission`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// The browser has no Notification API (toasts only).
    Unsupported,
    /// Not asked yet: the page may ask.
    Default,
    /// Allowed.
    Granted,
    /// Refused; only the browser's settings can change it.
    Denied,
}

/// One notification: what it says, and the tag that makes a second one for the same alert
/// (from another tab) replace the first instead of stacking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    pub tag: String,
}

/// The browser build's storage and notifications, provided as context (absent on the
/// server). Plain fns: the book holds no browser object.
#[derive(Clone, Copy, Debug)]
pub struct AlertsApi {
    /// The stored document ([`storage`]), if any.
    pub load: fn() -> Option<String>,
    /// Replaces the stored document.
    pub save: fn(&str),
    /// Shows a notification if, and only if, the permission is granted.
    pub notify: fn(&Notice),
    /// The permission now.
    pub permission: fn() -> Permission,
    /// Asks the user (only does something while [`Permission::Default`]); calls back with
    /// the permission after the answer.
    pub request_permission: fn(Rc<dyn Fn(Permission)>),
}

/// A crossing on screen until dismissed or timed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toast {
    /// Unique on this page (not the alert's id: an alert can be removed and made again).
    pub id: u64,
    /// `NOVA rose above 101.50 (last 101.53)`.
    pub text: String,
    /// Which way the crossing went, for its colour (the text says it too).
    pub direction: Direction,
}

/// The form refused a new alert: this browser keeps [`MAX_ALERTS`] at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("You have {MAX_ALERTS} alerts: remove one first.")]
pub struct BookFull;

/// The page's alerts. `Copy`: a bundle of signal handles.
#[derive(Clone, Copy, Debug)]
pub struct AlertBook {
    api: Option<AlertsApi>,
    /// In the order they were set.
    pub alerts: RwSignal<Vec<Alert>>,
    /// Oldest first.
    pub toasts: RwSignal<Vec<Toast>>,
    /// `None` until the browser has said (and always on the server).
    pub permission: RwSignal<Option<Permission>>,
    /// Whether the stored alerts have been read (never on the server).
    pub loaded: RwSignal<bool>,
    /// The symbol whose alert form is open: one form at a time.
    pub editing: RwSignal<Option<String>>,
    /// The last price of each symbol as of the latest event applied (not the latest frame).
    prices: StoredValue<HashMap<String, Cents>>,
    next_toast: StoredValue<u64>,
}

impl AlertBook {
    /// The page's book, with the browser's [`AlertsApi`] if there is one. Call it inside
    /// the page's reactive owner (the market page's store does).
    pub fn from_context() -> AlertBook {
        let book = AlertBook::with_api(use_context::<AlertsApi>());
        if book.api.is_some() {
            // Effects run in the browser only, after hydration: the stored alerts appear
            // then, so the hydrating page matches the server's, which has none.
            Effect::new(move || book.load());
        }
        book
    }

    fn with_api(api: Option<AlertsApi>) -> AlertBook {
        AlertBook {
            api,
            alerts: RwSignal::new(Vec::new()),
            toasts: RwSignal::new(Vec::new()),
            permission: RwSignal::new(None),
            loaded: RwSignal::new(false),
            editing: RwSignal::new(None),
            prices: StoredValue::new(HashMap::new()),
            next_toast: StoredValue::new(0),
        }
    }

    /// Reads the stored alerts and the permission. A document this page cannot read is
    /// left in storage untouched until the user changes the list (then it is replaced).
    fn load(&self) {
        let Some(api) = self.api else { return };
        let stored = (api.load)().map(|text| storage::decode(&text));
        match stored {
            Some(Ok(alerts)) => self.alerts.set(alerts),
            Some(Err(err)) => leptos::logging::warn!("{err}; starting with no alerts"),
            None => {}
        }
        self.permission.set(Some((api.permission)()));
        self.loaded.set(true);
    }

    fn save(&self) {
        if let Some(api) = self.api {
            self.alerts
                .with_untracked(|alerts| (api.save)(&storage::encode(alerts)));
        }
    }

    /// A snapshot's prices become the ones to compare with; nothing fires.
    pub fn on_snapshot<'a>(&self, prices: impl IntoIterator<Item = (&'a str, Cents)>) {
        let prices: HashMap<String, Cents> = prices
            .into_iter()
            .map(|(symbol, last)| (symbol.to_owned(), last))
            .collect();
        self.prices.set_value(prices);
    }

    /// One trade of `symbol` at `last`, published at `ts`: fires the armed alerts it
    /// crosses, compared with the symbol's previous trade on this page.
    pub fn on_trade(&self, symbol: &str, last: Cents, ts: u64) {
        let previous = self
            .prices
            .try_update_value(|prices| prices.insert(symbol.to_owned(), last))
            .flatten();
        let Some(previous) = previous else {
            return; // the first price seen for it: nothing to have crossed from
        };
        if previous == last {
            return;
        }
        let crossing = |alert: &Alert| alert.symbol == symbol && alert.fires(previous, last);
        // Most trades fire nothing: look before writing, so the list does not re-render.
        if !self
            .alerts
            .with_untracked(|alerts| alerts.iter().any(crossing))
        {
            return;
        }
        let mut fired = Vec::new();
        self.alerts.update(|alerts| {
            for alert in alerts.iter_mut().filter(|alert| crossing(alert)) {
                alert.fired = Some(Fired { price: last, ts });
                fired.push(alert.clone());
            }
        });
        self.save();
        for alert in fired {
            self.announce(&alert, last);
        }
    }

    /// A toast, and a notification if allowed.
    fn announce(&self, alert: &Alert, last: Cents) {
        let id = self.next_toast.get_value();
        self.next_toast.set_value(id + 1);
        self.toasts.update(|toasts| {
            toasts.push(Toast {
                id,
                text: alert.message(last),
                direction: alert.direction,
            });
            let excess = toasts.len().saturating_sub(TOASTS_SHOWN);
            toasts.drain(..excess);
        });
        if let Some(api) = self.api {
            (api.notify)(&Notice {
                title: alert.headline(),
                body: format!("Last {} · tickstream", crate::ui::format::price(last)),
                tag: format!("tickstream-alert-{}", alert.id),
            });
        }
    }

    /// Sets an alert; it waits for the next crossing (see [`super::model`]).
    pub fn add(&self, symbol: &str, direction: Direction, price: Cents) -> Result<(), BookFull> {
        let added = self.alerts.try_update(|alerts| {
            if alerts.len() >= MAX_ALERTS {
                return false;
            }
            let id = alerts.iter().map(|a| a.id).max().unwrap_or(0) + 1;
            alerts.push(Alert {
                id,
                symbol: symbol.to_owned(),
                direction,
                price,
                fired: None,
            });
            true
        });
        if added != Some(true) {
            return Err(BookFull);
        }
        self.save();
        Ok(())
    }

    /// Removes an alert, armed or fired.
    pub fn remove(&self, id: u64) {
        self.alerts.update(|alerts| alerts.retain(|a| a.id != id));
        self.save();
    }

    /// Takes a toast off the screen.
    pub fn dismiss(&self, toast: u64) {
        // From a timer too, which may outlive the page.
        self.toasts
            .try_update(|toasts| toasts.retain(|t| t.id != toast));
    }

    /// Asks the browser for permission to notify (from a click: browsers ignore the
    /// question otherwise).
    pub fn request_permission(&self) {
        let Some(api) = self.api else { return };
        let permission = self.permission;
        (api.request_permission)(Rc::new(move |answer| permission.set(Some(answer))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static STORED: RefCell<Option<String>> = const { RefCell::new(None) };
        static NOTICES: RefCell<Vec<Notice>> = const { RefCell::new(Vec::new()) };
    }

    fn test_api() -> AlertsApi {
        AlertsApi {
            load: || STORED.with_borrow(Clone::clone),
            save: |text| STORED.set(Some(text.to_owned())),
            notify: |notice| NOTICES.with_borrow_mut(|n| n.push(notice.clone())),
            permission: || Permission::Granted,
            request_permission: |done| done(Permission::Granted),
        }
    }

    /// Signals live in a reactive owner's arena, as they do on a page.
    fn reactive(test: impl FnOnce()) {
        Owner::new_root(None).with(test);
    }

    fn book() -> AlertBook {
        STORED.set(None);
        NOTICES.set(Vec::new());
        let book = AlertBook::with_api(Some(test_api()));
        book.on_snapshot([("NOVA", 10_000), ("VITA", 15_000)]);
        book
    }

    fn states(book: &AlertBook) -> Vec<&'static str> {
        book.alerts
            .with_untracked(|alerts| alerts.iter().map(Alert::state).collect())
    }

    #[test]
    fn a_crossing_fires_once_with_a_toast_a_notice_and_a_save() {
        reactive(|| {
            let book = book();
            book.add("NOVA", Direction::Above, 10_050).expect("room");
            book.on_trade("VITA", 20_000, 1); // another symbol
            book.on_trade("NOVA", 10_049, 2);
            assert_eq!(states(&book), ["armed"]);
            book.on_trade("NOVA", 10_053, 3);
            assert_eq!(states(&book), ["fired"]);
            // Down and up through the level again: it stays fired, and quiet.
            book.on_trade("NOVA", 10_000, 4);
            book.on_trade("NOVA", 10_060, 5);
            let toasts = book.toasts.get_untracked();
            assert_eq!(toasts.len(), 1);
            assert_eq!(toasts[0].text, "NOVA rose above 100.50 (last 100.53)");
            let notices = NOTICES.with_borrow(Clone::clone);
            assert_eq!(notices.len(), 1);
            assert_eq!(notices[0].title, "NOVA rose above 100.50");
            assert_eq!(notices[0].tag, "tickstream-alert-1");
            let fired = book.alerts.with_untracked(|a| a[0].fired);
            assert_eq!(
                fired,
                Some(Fired {
                    price: 10_053,
                    ts: 3
                })
            );
            let stored = STORED.with_borrow(Clone::clone).expect("saved");
            assert_eq!(storage::decode(&stored), Ok(book.alerts.get_untracked()));
        });
    }

    #[test]
    fn an_alert_below_the_price_waits_for_the_fall() {
        reactive(|| {
            let book = book();
            book.add("NOVA", Direction::Below, 9_900).expect("room");
            for last in [10_010, 9_950, 9_901] {
                book.on_trade("NOVA", last, 0);
            }
            assert_eq!(states(&book), ["armed"]);
            book.on_trade("NOVA", 9_890, 0);
            assert_eq!(states(&book), ["fired"]);
        });
    }

    #[test]
    fn a_snapshot_past_the_level_is_not_a_crossing() {
        reactive(|| {
            let book = book();
            book.add("NOVA", Direction::Above, 10_050).expect("room");
            // A reset: the new market opens above the level. No trade crossed it here.
            book.on_snapshot([("NOVA", 10_100)]);
            book.on_trade("NOVA", 10_120, 0);
            assert_eq!(states(&book), ["armed"]);
            // An unknown symbol's first trade only sets its price.
            book.add("ZETA", Direction::Above, 100).expect("room");
            book.on_trade("ZETA", 200, 0);
            assert_eq!(states(&book), ["armed", "armed"]);
        });
    }

    #[test]
    fn one_trade_fires_every_alert_it_crosses() {
        reactive(|| {
            let book = book();
            book.add("NOVA", Direction::Above, 10_010).expect("room");
            book.add("NOVA", Direction::Above, 10_020).expect("room");
            book.add("NOVA", Direction::Below, 9_000).expect("room");
            book.on_trade("NOVA", 10_030, 0);
            assert_eq!(states(&book), ["fired", "fired", "armed"]);
            assert_eq!(book.toasts.with_untracked(Vec::len), 2);
        });
    }

    #[test]
    fn stored_alerts_load_and_changes_are_saved() {
        reactive(|| {
            let book = book();
            book.add("NOVA", Direction::Above, 10_050).expect("room");
            book.add("VITA", Direction::Below, 14_000).expect("room");
            book.remove(1);
            let reloaded = AlertBook::with_api(Some(test_api()));
            reloaded.load();
            let alerts = reloaded.alerts.get_untracked();
            assert_eq!(alerts.len(), 1);
            assert_eq!(alerts[0].describe(), "VITA below 140.00");
            assert_eq!(
                reloaded.permission.get_untracked(),
                Some(Permission::Granted)
            );
            assert!(reloaded.loaded.get_untracked());
            // A new alert never reuses a kept one's id.
            reloaded.add("NOVA", Direction::Above, 1).expect("room");
            assert_eq!(reloaded.alerts.with_untracked(|a| a[1].id), 3);
        });
    }

    #[test]
    fn the_book_and_the_toasts_are_bounded() {
        reactive(|| {
            let book = book();
            for i in 0..MAX_ALERTS as i64 {
                book.add("NOVA", Direction::Above, 10_001 + i)
                    .expect("room");
            }
            assert_eq!(book.add("NOVA", Direction::Above, 1), Err(BookFull));
            book.on_trade("NOVA", 20_000, 0);
            let toasts = book.toasts.get_untracked();
            assert_eq!(toasts.len(), TOASTS_SHOWN);
            book.dismiss(toasts[0].id);
            assert_eq!(book.toasts.with_untracked(Vec::len), TOASTS_SHOWN - 1);
        });
    }
}
