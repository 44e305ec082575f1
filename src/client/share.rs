//! One stream per browser (`?share=1`): the tabs of one origin that ask to share hold one
//! connection between them, however many there are.
//!
//! - **Who holds it**: the Web Locks API. Every sharing tab asks for the lock
//!   [`LOCK_NAME`]; the browser grants it to one tab at a time, and takes it back when that
//!   tab closes (or crashes), granting it to the next in line. The holder is the leader.
//! - **The leader** carries the stream through an ordinary [`Link`] (any transport, with
//!   all its healing) and posts every event on the `BroadcastChannel` [`CHANNEL_NAME`].
//! - **The others** (followers) read the channel. One that has just opened catches up first:
//!   its page was rendered at some id the stream has passed, so it asks `/api/poll` once for
//!   what came after (holding back what the channel brings meanwhile), then applies both in
//!   order.
//! - **Takeover**: the next tab granted the lock starts its own [`Link`] from the last id
//!   it applied, so the stream resumes where the old leader stopped: no gap, no duplicate.
//!
//! The channel carries JSON text, one [`ShareMessage`] per post: `{"kind":"event","id",
//! "json"}` (an envelope exactly as the server encoded it) and `{"kind":"state","state"}`
//! (the leader's connection state, which the followers show). A leader keeps the stream
//! while its own tab is hidden — the other tabs may be watching.
//!
//! Invariants: at most one tab per origin holds the lock, hence the stream; a follower
//! applies every event once and in order (the store skips an id it has applied); nothing
//! is reported after the handle closes.

use super::clock;
use super::link::Link;
use super::{make_adapter, now_ms};
use crate::ui::feed::{
    ConnectionState, FeedControl, FeedEvent, FeedHandle, FeedRequest, ShareRole,
};
use crate::wire::batch::decode_batch;
use crate::wire::http::{query, POLL_PATH};
use crate::wire::{self, Envelope, EventId, Payload};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

/// The Web Lock whose holder carries the stream.
pub const LOCK_NAME: &str = "tickstream-stream";
/// The channel the leader posts every event on.
pub const CHANNEL_NAME: &str = "tickstream-stream";
/// Catch-up polls a new follower makes at most before it carries on with what it has.
const CATCH_UP_POLLS: usize = 5;

/// The channel's message listener.
type OnMessage = Closure<dyn FnMut(MessageEvent)>;

/// One post on the channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShareMessage {
    /// An event, as the server encoded it.
    Event {
        /// Its id (`None` outside the history: `reset`).
        id: Option<EventId>,
        /// The envelope's JSON.
        json: String,
    },
    /// The leader's connection state.
    State {
        /// A [`ConnectionState`] name.
        state: String,
    },
}

/// Starts a shared feed; without the Web Locks API (an insecure origin, an old browser)
/// the tab carries a stream of its own.
pub fn start(request: FeedRequest, on: Rc<dyn Fn(FeedEvent)>) -> FeedHandle {
    let Some(locks) = lock_manager() else {
        leptos::logging::warn!("no Web Locks here: this tab opens a stream of its own");
        return FeedHandle::new(Link::start(make_adapter(request.kind), request, on));
    };
    let channel = match BroadcastChannel::new(CHANNEL_NAME) {
        Ok(channel) => channel,
        Err(err) => {
            leptos::logging::warn!("no BroadcastChannel ({err:?}): a stream of this tab's own");
            return FeedHandle::new(Link::start(make_adapter(request.kind), request, on));
        }
    };
    // Start the clocks' offset estimate now: a follower measures latency too.
    let _ = clock::offset();
    let shared = Rc::new(Shared {
        request,
        on,
        channel,
        on_message: RefCell::new(None),
        leader: RefCell::new(None),
        last_id: Cell::new(request.last_id),
        catching_up: Cell::new(true),
        held_back: RefCell::new(Vec::new()),
        resign: RefCell::new(None),
        state: Cell::new(ConnectionState::Connecting),
        closed: Cell::new(false),
    });
    shared.listen();
    shared.report(FeedEvent::Shared(ShareRole::Follower));
    shared.report(FeedEvent::State(ConnectionState::Connecting));
    shared.ask_for_the_lock(&locks);
    leptos::task::spawn_local(catch_up(Rc::downgrade(&shared)));
    FeedHandle::new(SharedHandle(shared))
}

/// A tab's side of the shared stream.
struct Shared {
    request: FeedRequest,
    on: Rc<dyn Fn(FeedEvent)>,
    channel: BroadcastChannel,
    on_message: RefCell<Option<OnMessage>>,
    /// The stream, while this tab holds the lock.
    leader: RefCell<Option<Link>>,
    /// The newest event this tab applied: where a takeover resumes.
    last_id: Cell<Option<EventId>>,
    /// A new follower's catch-up is under way: channel events wait in `held_back`.
    catching_up: Cell<bool>,
    held_back: RefCell<Vec<Envelope>>,
    /// Resolving it gives the lock back.
    resign: RefCell<Option<js_sys::Function>>,
    /// The connection state this page shows: the leader's own, or as a follower last heard
    /// it.
    state: Cell<ConnectionState>,
    closed: Cell<bool>,
}

impl Shared {
    fn report(&self, event: FeedEvent) {
        if !self.closed.get() {
            (self.on)(event);
        }
    }

    /// Shows `state` (a repeat is not reported again).
    fn show(&self, state: ConnectionState) {
        if self.state.replace(state) != state {
            self.report(FeedEvent::State(state));
        }
    }

    fn is_leader(&self) -> bool {
        self.leader.borrow().is_some()
    }

    /// Hands an event to the page, noting its id.
    fn deliver(&self, envelope: Envelope, raw: String) {
        if let Some(id) = envelope.id {
            self.last_id.set(Some(id));
        }
        self.report(FeedEvent::Message {
            envelope,
            raw,
            received_at: now_ms(),
            clock: clock::offset(),
        });
    }

    fn post(&self, message: &ShareMessage) {
        // Plain strings and ids: serde_json cannot fail on them.
        if let Ok(text) = serde_json::to_string(message) {
            if let Err(err) = self.channel.post_message(&JsValue::from_str(&text)) {
                leptos::logging::warn!("cannot post to the other tabs: {err:?}");
            }
        }
    }

    /// Follows the channel (what another tab's stream receives).
    fn listen(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let on_message = OnMessage::new(move |event: MessageEvent| {
            let Some(shared) = weak.upgrade() else { return };
            let Some(text) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<ShareMessage>(&text) {
                Ok(message) => shared.heard(message),
                Err(err) => leptos::logging::warn!("not a share message: {err}"),
            }
        });
        self.channel
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        *self.on_message.borrow_mut() = Some(on_message);
    }

    /// A post from the leading tab.
    fn heard(&self, message: ShareMessage) {
        if self.closed.get() || self.is_leader() {
            return; // a late post of the previous leader: this tab's stream has it
        }
        match message {
            ShareMessage::State { state } => {
                if let Some(state) = ConnectionState::from_name(&state) {
                    self.show(state);
                }
            }
            ShareMessage::Event { json, .. } => {
                let Ok(envelope) = wire::decode(&json) else {
                    return;
                };
                // Events flow: the shared stream is open (a tab that joined late has not
                // heard the leader's last change of state).
                self.show(ConnectionState::Open);
                if self.catching_up.get() {
                    self.held_back.borrow_mut().push(envelope);
                } else {
                    self.deliver(envelope, json);
                }
            }
        }
    }

    /// Queues for the lock; the browser calls back when this tab is granted it.
    fn ask_for_the_lock(self: &Rc<Self>, locks: &JsValue) {
        let weak = Rc::downgrade(self);
        let granted = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |_lock| {
            // Held until this promise resolves: until the feed closes, or the tab goes.
            let Some(shared) = weak.upgrade().filter(|s| !s.closed.get()) else {
                return js_sys::Promise::resolve(&JsValue::UNDEFINED);
            };
            let held = js_sys::Promise::new(&mut |resolve, _reject| {
                *shared.resign.borrow_mut() = Some(resolve);
            });
            shared.lead();
            held
        });
        let request = js_sys::Reflect::get(locks, &JsValue::from_str("request"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match request {
            Some(request) => {
                let _ = request.call2(locks, &JsValue::from_str(LOCK_NAME), granted.as_ref());
            }
            None => leptos::logging::warn!("navigator.locks has no request()"),
        }
        // The browser may call it long after this feed is gone (the tab queued for the
        // lock, then switched transport): it stays alive, holding the feed only weakly,
        // and then gives the lock straight back.
        granted.forget();
    }

    /// This tab holds the lock: carry the stream from the last id it applied.
    fn lead(self: &Rc<Self>) {
        if self.closed.get() || self.is_leader() {
            return;
        }
        self.catching_up.set(false);
        self.flush_held_back();
        self.report(FeedEvent::Shared(ShareRole::Leader));
        let weak = Rc::downgrade(self);
        let on: Rc<dyn Fn(FeedEvent)> = Rc::new(move |event: FeedEvent| {
            if let Some(shared) = weak.upgrade() {
                shared.relay(event);
            }
        });
        let request = FeedRequest {
            last_id: self.last_id.get(),
            ..self.request
        };
        let link = Link::start(make_adapter(request.kind), request, on);
        *self.leader.borrow_mut() = Some(link);
    }

    /// What the leader's own stream reports: to this page, and events and states to the
    /// others.
    fn relay(&self, event: FeedEvent) {
        match &event {
            FeedEvent::Message { envelope, .. } => {
                if let Some(id) = envelope.id {
                    self.last_id.set(Some(id));
                }
                // A heartbeat tells the others the leader's state (a tab that joined during
                // a quiet spell learns it so); a hello is about this tab's connection alone.
                if matches!(envelope.payload, Payload::Heartbeat(_)) {
                    self.post(&ShareMessage::State {
                        state: self.state.get().as_str().to_owned(),
                    });
                } else if !matches!(envelope.payload, Payload::Hello(_)) {
                    self.post(&ShareMessage::Event {
                        id: envelope.id,
                        json: wire::encode(envelope.id, envelope.ts, &envelope.payload),
                    });
                }
            }
            FeedEvent::State(state) => {
                self.state.set(*state);
                self.post(&ShareMessage::State {
                    state: state.as_str().to_owned(),
                });
            }
            _ => {}
        }
        self.report(event);
    }

    /// Applies what the channel brought during the catch-up, in order.
    fn flush_held_back(&self) {
        let held: Vec<Envelope> = self.held_back.borrow_mut().drain(..).collect();
        for envelope in held {
            let raw = wire::encode(envelope.id, envelope.ts, &envelope.payload);
            self.deliver(envelope, raw);
        }
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        if let Some(link) = self.leader.borrow_mut().take() {
            link.stop();
        }
        if let Some(resign) = self.resign.borrow_mut().take() {
            let _ = resign.call0(&JsValue::UNDEFINED);
        }
        self.channel.set_onmessage(None);
        self.channel.close();
        self.on_message.borrow_mut().take();
    }
}

/// A new follower's catch-up: the events after the id its page was rendered at, up to where
/// the channel's first held-back event begins (or the server's newest).
async fn catch_up(weak: Weak<Shared>) {
    for _ in 0..CATCH_UP_POLLS {
        let Some(shared) = weak.upgrade() else { return };
        if !shared.catching_up.get() {
            return; // it leads: its own stream resumes from its last id
        }
        let Some(after) = shared.last_id.get() else {
            break; // nothing rendered to continue from: the channel's events will do
        };
        let url = format!("{POLL_PATH}?{}={after}&{}=0", query::AFTER, query::WAIT);
        drop(shared); // not held across the request
        let batch = match fetch_batch(&url).await {
            Ok(batch) => batch,
            Err(err) => {
                leptos::logging::warn!("cannot catch up: {err}");
                break;
            }
        };
        let Some(shared) = weak.upgrade() else { return };
        if !shared.catching_up.get() {
            return;
        }
        let caught: Vec<(Envelope, String)> = batch
            .events
            .into_iter()
            .filter_map(|(envelope, raw)| envelope.ok().map(|e| (e, raw)))
            .collect();
        let was_empty = caught.is_empty();
        for (envelope, raw) in caught {
            shared.deliver(envelope, raw);
        }
        if let Some(next) = batch.next {
            shared.last_id.set(Some(next));
        }
        // Done once it reaches what the channel holds, or the server had nothing more.
        let first_held = shared.held_back.borrow().iter().find_map(|e| e.id);
        let reached = match (first_held, shared.last_id.get()) {
            (Some(first), Some(last)) => first.epoch != last.epoch || last.seq + 1 >= first.seq,
            _ => false,
        };
        if was_empty || reached {
            break;
        }
    }
    if let Some(shared) = weak.upgrade() {
        shared.catching_up.set(false);
        shared.flush_held_back();
    }
}

async fn fetch_batch(url: &str) -> Result<wire::batch::Batch, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let body = response.text().await.map_err(|e| e.to_string())?;
    decode_batch(&body).map_err(|e| e.to_string())
}

/// `navigator.locks`, where the browser has it (secure origins: https, and localhost).
fn lock_manager() -> Option<JsValue> {
    let navigator = web_sys::window()?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// The page's handle on a shared feed.
struct SharedHandle(Rc<Shared>);

impl FeedControl for SharedHandle {
    fn close(&self) {
        self.0.close();
    }

    fn kill(&self) {
        if let Some(link) = self.0.leader.borrow().as_ref() {
            link.kill();
        }
    }

    fn drop_by_server(&self) {
        if let Some(link) = self.0.leader.borrow().as_ref() {
            link.drop_by_server();
        }
    }
}
