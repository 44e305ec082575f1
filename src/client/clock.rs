//! The page's estimate of how far its clock is from the server's, so that a latency is
//! "received − published" on one clock, whatever the laptop's clock says.
//!
//! NTP's idea, over HTTP: ask `GET /api/time`, note the browser's clock when the question
//! left and when the answer came back, and take the server's time as having been read
//! halfway: `offset = server − (sent + round trip / 2)`. The answer can be wrong by at most
//! half the round trip, so the exchange with the shortest round trip wins. A few exchanges
//! at start-up, then one every [`REFRESH`], keeping the best of the last [`KEPT`]: a clock
//! that drifts, or is changed, is followed within minutes.
//!
//! Round trips are timed with `performance.now()` (monotonic), instants with `Date.now()`.
//! One estimator per page, shared by every transport.

use super::backoff::sleep;
use crate::ui::feed::ClockOffset;
use crate::wire::http::TIME_PATH;
use crate::wire::usage::ServerTime;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

/// Exchanges at start-up, and the pause between them.
const FIRST_EXCHANGES: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(200);
/// Time between later exchanges.
const REFRESH: Duration = Duration::from_secs(30);
/// Exchanges considered for the best.
const KEPT: usize = 8;
/// Whole milliseconds on both sides: the server's `now` and an event's `ts` are truncated,
/// and so are the browser's `Date.now()` readings, at the exchange and at receipt.
const RESOLUTION_MS: f64 = 3.0;

/// One exchange with the server's clock.
#[derive(Clone, Copy, Debug)]
struct Exchange {
    offset_ms: f64,
    round_trip_ms: f64,
}

#[derive(Default)]
struct Estimator {
    recent: VecDeque<Exchange>,
}

impl Estimator {
    fn add(&mut self, exchange: Exchange) {
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(exchange);
    }

    fn best(&self) -> Option<ClockOffset> {
        self.recent
            .iter()
            .min_by(|a, b| a.round_trip_ms.total_cmp(&b.round_trip_ms))
            .map(|best| ClockOffset {
                offset_ms: best.offset_ms,
                uncertainty_ms: best.round_trip_ms / 2.0 + RESOLUTION_MS,
            })
    }
}

thread_local! {
    static ESTIMATOR: RefCell<Option<Rc<RefCell<Estimator>>>> = const { RefCell::new(None) };
}

/// The best estimate so far; the first call starts estimating (`None` until the first
/// exchange is back).
pub fn offset() -> Option<ClockOffset> {
    ESTIMATOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        match slot.as_ref() {
            Some(estimator) => estimator.borrow().best(),
            None => {
                let estimator = Rc::new(RefCell::new(Estimator::default()));
                leptos::task::spawn_local(keep_estimating(estimator.clone()));
                *slot = Some(estimator);
                None
            }
        }
    })
}

async fn keep_estimating(estimator: Rc<RefCell<Estimator>>) {
    for _ in 0..FIRST_EXCHANGES {
        exchange_into(&estimator).await;
        sleep(FIRST_PAUSE).await;
    }
    loop {
        sleep(REFRESH).await;
        exchange_into(&estimator).await;
    }
}

async fn exchange_into(estimator: &Rc<RefCell<Estimator>>) {
    match exchange().await {
        Ok(exchange) => estimator.borrow_mut().add(exchange),
        // Offline, or the server is restarting: the previous estimate stands.
        Err(err) => leptos::logging::debug_warn!("clock exchange failed: {err}"),
    }
}

async fn exchange() -> Result<Exchange, String> {
    let performance = web_sys::window()
        .and_then(|window| window.performance())
        .ok_or("no performance clock")?;
    let sent_at = js_sys::Date::now();
    let started = performance.now();
    let response = gloo_net::http::Request::get(TIME_PATH)
        .cache(web_sys::RequestCache::NoStore)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    let round_trip_ms = performance.now() - started;
    if !response.ok() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = response.text().await.map_err(|err| err.to_string())?;
    let time: ServerTime = serde_json::from_str(&body).map_err(|err| err.to_string())?;
    Ok(Exchange {
        offset_ms: time.now as f64 - (sent_at + round_trip_ms / 2.0),
        round_trip_ms,
    })
}
