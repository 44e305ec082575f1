//! The reconnect core every browser transport shares: a [`Link`] is the page's logical
//! connection to the stream, which outlives any one physical connection.
//!
//! An [`Adapter`] knows one way of carrying the stream (an `EventSource`, a `WebSocket`, a
//! loop of `fetch`es): it opens a connection when the link asks, and reports what happens
//! through the link. The link does the rest, the same for every transport:
//!
//! - the state the page shows (`connecting`, `open`, `reconnecting`, `closed`) and the
//!   `Reconnected` count;
//! - the last event id, which every new connection resumes from, and the connection's name
//!   from its `hello` (for "drop by the server");
//! - after a loss, a new connection after an exponential backoff with full jitter (reset as
//!   soon as the stream is heard from again);
//! - killing the connection as a network failure would, closing it for good, and handing
//!   over to another adapter (SSE's fallback to long-polling);
//! - for a metered feed (the transport lab), the client id every request carries
//!   (`?client=`), and the server's count of its bytes on the wire, read once a second;
//! - every event's receive time with the page's estimate of the clocks' offset
//!   ([`clock`](super::clock));
//! - events lost on the way (an id that skips ahead: a proxy that dropped some, a `drop`
//!   fault): the link resumes from the last id it has, and the server fills the hole;
//! - healing by itself on a real network ([`lifecycle`](super::lifecycle)): `offline` closes
//!   the connection and shows `offline`, `online` reconnects at once (no backoff to wait
//!   out); a tab hidden for longer than the server's grace (unless its stream is shared
//!   with other tabs) (`--hidden-grace-secs`, told in
//!   a `<meta>`) closes its stream and shows `paused`, and resumes by id the moment it is
//!   shown; and a stream silent for [`STALE_AFTER`] × the heartbeat interval its `hello`
//!   announced is taken for dead (a proxy or NAT that dropped it without a word) and
//!   resumed. Streams ask for heartbeats the page can see (`heartbeat=event`): an
//!   `EventSource` cannot see `:` comments, nor a page a WebSocket ping.
//!
//! Invariants: at most one reconnect is scheduled at a time; nothing is reported after
//! [`Link::stop`]; while offline or paused nothing reconnects; adapters hold the link
//! weakly, so dropping the page's handle frees both.

use super::backoff::{sleep, Backoff, Timer};
use super::lifecycle::{self, Lifecycle, PageEvent};
use super::{ask_server_to_drop, clock, now_ms};
use crate::ui::app::HIDDEN_GRACE_META;
use crate::ui::feed::{ConnectionState, FeedControl, FeedEvent, FeedRequest, TransportKind};
use crate::wire::http::{query, USAGE_PATH};
use crate::wire::usage::WireUsage;
use crate::wire::{Envelope, EventId, HeartbeatStyle, Payload};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

/// One way of carrying the stream, driven by a [`Link`].
pub trait Adapter {
    /// Which transport this is (what the page says it is using).
    fn kind(&self) -> TransportKind;

    /// Opens a new connection that resumes after [`Link::last_id`], and reports through
    /// `link`: [`Link::opened`], [`Link::received`], [`Link::lost`]. Its callbacks hold
    /// both weakly ([`Callback`]).
    fn open(self: Rc<Self>, link: &Link);

    /// Closes the current connection, if any, without reporting anything.
    fn close(&self);

    /// Asks the server to drop this connection; by default by the name its `hello` gave.
    fn drop_by_server(&self, link: &Link) {
        if let Some(name) = link.name() {
            ask_server_to_drop(&name);
        }
    }
}

/// The page's connection to the stream, whatever carries it. Cheap to clone.
#[derive(Clone)]
pub struct Link(Rc<Inner>);

/// A [`Link`] held by an adapter's callbacks, which must not keep it alive.
#[derive(Clone)]
pub struct WeakLink(Weak<Inner>);

/// How often a metered link reads its wire cost.
const USAGE_EVERY: Duration = Duration::from_secs(1);

/// A stream that has said nothing — no event, no heartbeat — for this many heartbeat
/// intervals is dead: one late heartbeat is jitter, two missed ones are not.
pub const STALE_AFTER: f64 = 2.5;

/// Milliseconds on the page's monotonic clock (`performance.now()`): unlike the wall
/// clock, it never jumps.
fn monotonic_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or_else(now_ms, |performance| performance.now())
}

/// How long a hidden tab keeps its stream when the page does not say
/// (`--hidden-grace-secs`'s default).
const DEFAULT_HIDDEN_GRACE: Duration = Duration::from_secs(60);

/// Why a link is not connected on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Holds {
    /// The browser is offline.
    offline: bool,
    /// The tab has been hidden for longer than the grace.
    hidden: bool,
}

impl Holds {
    fn any(self) -> bool {
        self.offline || self.hidden
    }
}

struct Inner {
    adapter: RefCell<Rc<dyn Adapter>>,
    on: Rc<dyn Fn(FeedEvent)>,
    last_id: Cell<Option<EventId>>,
    /// The id every request carries when the feed is metered.
    client: Option<String>,
    /// The current connection's name, from its `hello`.
    name: RefCell<Option<String>>,
    backoff: RefCell<Backoff>,
    /// Lost since it last opened: the next open is a reconnection.
    lost: Cell<bool>,
    stopped: Cell<bool>,
    retry: Timer,
    /// The heartbeat interval the current connection's `hello` announced.
    heartbeat: Cell<Option<Duration>>,
    /// Checks, now and then, whether the stream has been silent for too long.
    stale: Timer,
    /// When the stream was last heard from (`performance.now()`, milliseconds).
    last_heard: Cell<f64>,
    /// Closes the stream once the tab has been hidden for the grace.
    grace: Timer,
    holds: Cell<Holds>,
    /// The browser's `online`/`offline`/`visibilitychange` listeners.
    lifecycle: RefCell<Option<Lifecycle>>,
    /// Whether a hidden tab closes the stream: not when other tabs share it.
    pause_when_hidden: bool,
}

impl Link {
    /// Starts carrying the stream with `adapter`, as `request` asks.
    pub fn start(
        adapter: Rc<dyn Adapter>,
        request: FeedRequest,
        on: Rc<dyn Fn(FeedEvent)>,
    ) -> Link {
        let client = request.metered.then(|| client_id(request.kind));
        let link = Link(Rc::new(Inner {
            adapter: RefCell::new(adapter),
            on,
            last_id: Cell::new(request.last_id),
            client,
            name: RefCell::new(None),
            backoff: RefCell::new(Backoff::default()),
            lost: Cell::new(false),
            stopped: Cell::new(false),
            retry: Timer::default(),
            heartbeat: Cell::new(None),
            stale: Timer::default(),
            last_heard: Cell::new(0.0),
            grace: Timer::default(),
            holds: Cell::new(Holds::default()),
            lifecycle: RefCell::new(None),
            pause_when_hidden: !request.shared,
        }));
        let weak = link.downgrade();
        *link.0.lifecycle.borrow_mut() = Some(Lifecycle::watch(move |event| {
            if let Some(link) = weak.upgrade() {
                link.on_page(event);
            }
        }));
        link.report(FeedEvent::State(ConnectionState::Connecting));
        // Start the clocks' offset estimate now, so it is ready by the first event.
        let _ = clock::offset();
        link.adapter().open(&link);
        if link.0.client.is_some() {
            leptos::task::spawn_local(report_usage(link.downgrade()));
        }
        link
    }

    /// `path` with the query `params` and, when metered, the client id. Values must be
    /// URL-safe as they are (ids, numbers).
    pub fn url(&self, path: &str, params: &[(&str, String)]) -> String {
        let client = self.0.client.iter().map(|id| (query::CLIENT, id.clone()));
        let pairs: Vec<String> = params
            .iter()
            .cloned()
            .chain(client)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if pairs.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", pairs.join("&"))
        }
    }

    /// [`Link::url`] for a stream, which also asks for heartbeats the page can see.
    pub fn stream_url(&self, path: &str, params: &[(&str, String)]) -> String {
        let mut params = params.to_vec();
        params.push((query::HEARTBEAT, HeartbeatStyle::Event.as_str().to_owned()));
        self.url(path, &params)
    }

    /// A handle for callbacks.
    pub fn downgrade(&self) -> WeakLink {
        WeakLink(Rc::downgrade(&self.0))
    }

    fn adapter(&self) -> Rc<dyn Adapter> {
        // Cloned out, so that an adapter may call back into the link (even replace itself).
        self.0.adapter.borrow().clone()
    }

    /// The id a new connection resumes after.
    pub fn last_id(&self) -> Option<EventId> {
        self.0.last_id.get()
    }

    /// Moves the resume point on past events a filter left out (a poll's `next`).
    pub fn advance_to(&self, id: EventId) {
        self.0.last_id.set(Some(id));
    }

    /// The current connection's name, if its `hello` has arrived.
    pub fn name(&self) -> Option<String> {
        self.0.name.borrow().clone()
    }

    /// Whether the link has been closed for good.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.get()
    }

    /// Passes something on to the page (a request made, bytes received, a control message).
    pub fn report(&self, event: FeedEvent) {
        if !self.is_stopped() {
            (self.0.on)(event);
        }
    }

    /// The connection opened (or a poll succeeded): `open`, and `Reconnected` if it had
    /// been lost.
    pub fn opened(&self) {
        self.report(FeedEvent::State(ConnectionState::Open));
        if self.0.lost.replace(false) {
            self.report(FeedEvent::Reconnected);
        }
    }

    /// The stream was heard from: the next loss starts again from the shortest delay.
    pub fn heard(&self) {
        self.0.backoff.borrow_mut().reset();
    }

    /// An event arrived as `raw`: remembers its id (and a `hello`'s name and heartbeat)
    /// and hands it on — unless events are missing before it (its id skips ahead of the
    /// last one in the same epoch), then it drops the connection and resumes from the last
    /// id, so that the server sends what was lost. Returns whether the event was taken (a
    /// poller stops reading its batch if not).
    pub fn received(&self, envelope: Envelope, raw: String) -> bool {
        self.heard();
        if let (Some(id), Some(last)) = (envelope.id, self.0.last_id.get()) {
            // Streams here are unfiltered, so a skip is a loss; a snapshot or a reset
            // starts a history over and skips by design.
            let starts_over = matches!(envelope.payload, Payload::Snapshot(_) | Payload::Reset(_));
            if !starts_over && id.epoch == last.epoch && id.seq > last.seq + 1 {
                leptos::logging::warn!(
                    "events after {last} are missing ({id} came next): resuming from {last}"
                );
                self.reconnect_now();
                return false;
            }
        }
        if let Some(id) = envelope.id {
            self.0.last_id.set(Some(id));
        }
        // One write per event; the watchdog reads it when it wakes (re-arming a timer per
        // event would cost a JS closure each time).
        self.0.last_heard.set(monotonic_ms());
        if let Payload::Hello(hello) = &envelope.payload {
            *self.0.name.borrow_mut() = Some(hello.connection.clone());
            let heartbeat = Duration::from_millis(hello.heartbeat_ms);
            self.0.heartbeat.set(Some(heartbeat));
            self.report(FeedEvent::Named(hello.connection.clone()));
            self.watch_for_silence(heartbeat.mul_f64(STALE_AFTER));
        }
        self.report(FeedEvent::Message {
            envelope,
            raw,
            received_at: now_ms(),
            clock: clock::offset(),
        });
        true
    }

    /// The connection is gone: close what is left of it and open a new one after the
    /// backoff.
    pub fn lost(&self) {
        if self.is_stopped() || self.0.holds.get().any() {
            return;
        }
        self.disconnect();
        self.0.lost.set(true);
        self.report(FeedEvent::State(ConnectionState::Reconnecting));
        let delay = self.0.backoff.borrow_mut().next_delay();
        let weak = self.downgrade();
        self.0
            .retry
            .set(Duration::from_millis(u64::from(delay)), move || {
                if let Some(link) = weak.upgrade() {
                    if !link.is_stopped() && !link.0.holds.get().any() {
                        link.adapter().open(&link);
                    }
                }
            });
    }

    /// Closes the current connection and forgets its heartbeat, reporting nothing.
    fn disconnect(&self) {
        self.0.retry.cancel();
        self.0.stale.cancel();
        self.0.heartbeat.set(None);
        self.adapter().close();
    }

    /// The stale-stream watchdog: wakes after `after`; if the stream has been silent for
    /// [`STALE_AFTER`] heartbeat intervals (the one its `hello` announced) it drops it and
    /// resumes, otherwise it sleeps until that could first be true.
    fn watch_for_silence(&self, after: Duration) {
        let weak = self.downgrade();
        self.0.stale.set(after, move || {
            let Some(link) = weak.upgrade() else { return };
            let Some(heartbeat) = link.0.heartbeat.get() else {
                return; // disconnected meanwhile
            };
            let limit_ms = heartbeat.mul_f64(STALE_AFTER).as_secs_f64() * 1_000.0;
            let silent_ms = monotonic_ms() - link.0.last_heard.get();
            if silent_ms >= limit_ms {
                leptos::logging::warn!("the stream went silent: resuming on a new connection");
                link.reconnect_now();
            } else {
                link.watch_for_silence(Duration::from_secs_f64((limit_ms - silent_ms) / 1_000.0));
            }
        });
    }

    /// Drops whatever connection there is and opens a new one now, resuming from the last
    /// id: the network is back, the tab is shown, or the stream (or a long poll) went silent.
    pub(super) fn reconnect_now(&self) {
        if self.is_stopped() || self.0.holds.get().any() {
            return;
        }
        self.disconnect();
        self.0.lost.set(true);
        self.0.backoff.borrow_mut().reset();
        self.report(FeedEvent::State(ConnectionState::Reconnecting));
        self.adapter().open(self);
    }

    /// The page's circumstances changed.
    fn on_page(&self, event: PageEvent) {
        if self.is_stopped() {
            return;
        }
        let mut holds = self.0.holds.get();
        match event {
            PageEvent::Offline => {
                self.0.grace.cancel();
                holds.offline = true;
                self.hold(holds, ConnectionState::Offline);
            }
            PageEvent::Online => {
                holds.offline = false;
                self.release(holds);
            }
            PageEvent::Hidden if !self.0.pause_when_hidden => {}
            PageEvent::Hidden => {
                let weak = self.downgrade();
                self.0.grace.set(hidden_grace(), move || {
                    if let Some(link) = weak.upgrade() {
                        if lifecycle::is_hidden() && !link.is_stopped() {
                            let mut holds = link.0.holds.get();
                            holds.hidden = true;
                            link.hold(holds, ConnectionState::Paused);
                        }
                    }
                });
            }
            PageEvent::Visible => {
                self.0.grace.cancel();
                holds.hidden = false;
                self.release(holds);
            }
        }
    }

    /// Closes the connection on purpose, showing `state`, until [`Link::release`].
    fn hold(&self, holds: Holds, state: ConnectionState) {
        let was_held = self.0.holds.replace(holds).any();
        if !was_held {
            self.disconnect();
            self.0.lost.set(true);
        }
        // Offline says more than paused: it is what stands between the page and the stream.
        let shown = if holds.offline {
            ConnectionState::Offline
        } else {
            state
        };
        self.report(FeedEvent::State(shown));
    }

    /// Lifts a hold; with none left, connects again at once.
    fn release(&self, holds: Holds) {
        let was_held = self.0.holds.replace(holds).any();
        if holds.any() {
            if holds.offline {
                self.report(FeedEvent::State(ConnectionState::Offline));
            } else {
                self.report(FeedEvent::State(ConnectionState::Paused));
            }
        } else if was_held {
            self.reconnect_now();
        }
    }

    /// The connection is gone but the browser retries it by itself (an `EventSource`):
    /// only the page is told.
    pub fn retrying(&self) {
        self.0.lost.set(true);
        self.report(FeedEvent::Request);
        self.report(FeedEvent::State(ConnectionState::Reconnecting));
    }

    /// Hands the stream over to another adapter, which resumes where this one stopped.
    pub fn fall_back(&self, adapter: Rc<dyn Adapter>) {
        if self.is_stopped() {
            return;
        }
        self.disconnect();
        let kind = adapter.kind();
        *self.0.adapter.borrow_mut() = adapter;
        self.report(FeedEvent::FellBack(kind));
        self.adapter().open(self);
    }

    /// Closes the connection for good.
    pub fn stop(&self) {
        if self.0.stopped.get() {
            return;
        }
        self.report(FeedEvent::State(ConnectionState::Closed));
        self.0.stopped.set(true);
        self.0.grace.cancel();
        self.disconnect();
        self.0.lifecycle.borrow_mut().take();
    }
}

/// How long a hidden tab keeps its stream: what the server said in the page, or the default.
fn hidden_grace() -> Duration {
    lifecycle::meta(HIDDEN_GRACE_META)
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(DEFAULT_HIDDEN_GRACE, Duration::from_millis)
}

/// A fresh client id for a metered feed: its transport and a random part.
fn client_id(kind: TransportKind) -> String {
    let random = (js_sys::Math::random() * 2f64.powi(48)) as u64;
    format!("{}-{random:012x}", kind.as_str())
}

/// Reads the server's count of this link's bytes once a second, while the link lives.
async fn report_usage(weak: WeakLink) {
    loop {
        sleep(USAGE_EVERY).await;
        let Some(link) = weak.upgrade() else { return };
        if link.is_stopped() {
            return;
        }
        let Some(client) = link.0.client.clone() else {
            return;
        };
        drop(link); // not held across the request
        let usage = read_usage(&client).await;
        if let (Some(link), Some(usage)) = (weak.upgrade(), usage) {
            link.report(FeedEvent::Wire(usage));
        }
    }
}

async fn read_usage(client: &str) -> Option<WireUsage> {
    let response = gloo_net::http::Request::get(&format!("{USAGE_PATH}/{client}"))
        .send()
        .await
        .ok()?;
    // 404 until the server has seen the first request.
    if !response.ok() {
        return None;
    }
    serde_json::from_str(&response.text().await.ok()?).ok()
}

impl WeakLink {
    /// The link, if the page still holds it.
    pub fn upgrade(&self) -> Option<Link> {
        self.0.upgrade().map(Link)
    }
}

/// What an adapter's callbacks (a JS event handler, a timer, a task) hold: the adapter and
/// its link, both weakly, so that neither is kept alive by a connection it no longer wants.
pub struct Callback<A> {
    adapter: Weak<A>,
    link: WeakLink,
}

impl<A> Clone for Callback<A> {
    fn clone(&self) -> Self {
        Callback {
            adapter: self.adapter.clone(),
            link: self.link.clone(),
        }
    }
}

impl<A> Callback<A> {
    /// A callback of `adapter` on `link`.
    pub fn new(adapter: &Rc<A>, link: &Link) -> Callback<A> {
        Callback {
            adapter: Rc::downgrade(adapter),
            link: link.downgrade(),
        }
    }

    /// Runs `then` if both are still alive and the link has not been stopped.
    pub fn run(&self, then: impl FnOnce(&Rc<A>, &Link)) {
        let (Some(adapter), Some(link)) = (self.adapter.upgrade(), self.link.upgrade()) else {
            return;
        };
        if !link.is_stopped() {
            then(&adapter, &link);
        }
    }
}

impl FeedControl for Link {
    fn close(&self) {
        self.stop();
    }

    fn kill(&self) {
        // As a network failure would: the link notices and reconnects by itself.
        self.lost();
    }

    fn drop_by_server(&self) {
        self.adapter().drop_by_server(self);
    }
}
