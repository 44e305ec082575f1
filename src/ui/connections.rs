//! `/connections`: the six-connection limit, watched. The page opens N `EventSource`s to its
//! own origin (8 unless you choose another number) and shows each one's state. Over HTTP/1.1
//! a browser holds at most six connections to one origin and an open stream keeps one, so
//! six open and the rest wait in the browser's queue; over HTTP/2 (`make run TLS=1`) every
//! stream shares one connection and all of them open.
//!
//! The page opens nothing itself: the browser build provides a [`ConnectionLab`] (the same
//! seam as the live feed); the server renders every stream as waiting.

use super::masthead::Masthead;
use leptos::prelude::*;
use std::rc::Rc;

/// Streams opened unless the reader chooses another number.
pub const DEFAULT_STREAMS: usize = 8;
/// The most the page opens.
pub const MAX_STREAMS: usize = 32;

/// Where one of the lab's streams stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Asked for; not open yet (queued by the browser, or on its way).
    Waiting,
    /// Open and receiving.
    Open,
    /// Failed.
    Failed,
}

impl StreamState {
    /// The name in `data-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Waiting => "waiting",
            StreamState::Open => "open",
            StreamState::Failed => "failed",
        }
    }
}

/// The lab's streams while they run; dropping it closes them all.
pub struct LabStreams {
    _open: Box<dyn std::any::Any>,
}

impl LabStreams {
    /// Keeps `streams` open for as long as the handle lives.
    pub fn new(streams: impl std::any::Any) -> LabStreams {
        LabStreams {
            _open: Box::new(streams),
        }
    }
}

/// Opens N streams, reporting each one's state by its index.
pub type OpenStreams = fn(usize, Rc<dyn Fn(usize, StreamState)>) -> LabStreams;

/// The browser build's way to open the lab's streams, provided as context.
#[derive(Clone, Copy)]
pub struct ConnectionLab(pub OpenStreams);

/// The page.
#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let count = RwSignal::new(DEFAULT_STREAMS);
    let draft = RwSignal::new(DEFAULT_STREAMS.to_string());
    let states = RwSignal::new(vec![StreamState::Waiting; DEFAULT_STREAMS]);
    let running = StoredValue::new_local(None::<LabStreams>);
    if let Some(lab) = use_context::<ConnectionLab>() {
        Effect::new(move || {
            let n = count.get();
            running.set_value(None);
            states.set(vec![StreamState::Waiting; n]);
            let on = Rc::new(move |index: usize, state: StreamState| {
                states.update(|all| {
                    if let Some(slot) = all.get_mut(index) {
                        *slot = state;
                    }
                });
            });
            running.set_value(Some((lab.0)(n, on)));
        });
    }
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Ok(n) = draft.get_untracked().trim().parse::<usize>() {
            count.set(n.clamp(1, MAX_STREAMS));
        }
    };
    let in_state =
        move |wanted: StreamState| states.with(|all| all.iter().filter(|s| **s == wanted).count());
    view! {
        <div class="page connections">
            <Masthead
                path="/connections"
                title="tickstream connections"
                tagline="How many streams can one page hold? Count them."
            />
            <main class="connections-main">
                <p>
                    "This page opens " <strong>{move || count.get()}</strong>
                    " EventSources to its own origin. Over HTTP/1.1 a browser holds at most six "
                    "connections per origin, and an open stream keeps its connection: six open, the "
                    "rest wait. Over HTTP/2 every stream is multiplexed on one connection and all open "
                    "(serve with " <code>"make run TLS=1"</code> " and open this page over https)."
                </p>
                <form class="connections-form" on:submit=apply>
                    <label>
                        "Streams "
                        <input
                            type="number"
                            min="1"
                            max=MAX_STREAMS
                            data-testid="conn-lab-count"
                            prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))
                        />
                    </label>
                    <button type="submit" data-testid="conn-lab-apply">"Open"</button>
                </form>
                <p class="connections-counts">
                    <span>"Open: " <strong data-testid="conn-lab-open">{move || in_state(StreamState::Open)}</strong></span>
                    " · "
                    <span>"Waiting: " <strong data-testid="conn-lab-waiting">{move || in_state(StreamState::Waiting)}</strong></span>
                </p>
                <ol class="connections-streams">
                    {move || {
                        states
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(index, state)| {
                                view! {
                                    <li data-testid="conn-lab-stream" data-state=state.as_str()>
                                        {format!("Stream {}: {}", index + 1, state.as_str())}
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ol>
            </main>
        </div>
    }
}
