//! "Explain this move": the selected symbol's analyst note, streamed into a panel a word at
//! a time from `POST /api/explain` — the chat-assistant use of SSE — with a Cancel button
//! (the server sees the client go and stops) and a clear message when it fails.
//!
//! The panel makes no request itself: the browser build provides an [`ExplainApi`] (the
//! same seam as the live feed), and the server renders the panel without one. The answer's
//! panel, like the asking itself (src/client/explain.rs), comes with the first question.

use super::deferred::{deferred, LOADING};
use super::store::MarketStore;
use leptos::prelude::*;
use std::rc::Rc;

/// What a streamed answer reports.
#[derive(Clone, Debug, PartialEq)]
pub enum ExplainEvent {
    /// More text.
    Token(String),
    /// The answer is complete.
    Done,
    /// The answer could not be had, or could not go on; the message says why.
    Failed(String),
}

/// A running answer: cancelling (or dropping) it stops the request.
pub struct ExplainHandle(Option<Box<dyn FnOnce()>>);

impl ExplainHandle {
    /// A handle that calls `cancel` once, when cancelled or dropped.
    pub fn new(cancel: impl FnOnce() + 'static) -> ExplainHandle {
        ExplainHandle(Some(Box::new(cancel)))
    }

    /// Stops the answer.
    pub fn cancel(mut self) {
        if let Some(cancel) = self.0.take() {
            cancel();
        }
    }
}

impl Drop for ExplainHandle {
    fn drop(&mut self) {
        if let Some(cancel) = self.0.take() {
            cancel();
        }
    }
}

/// Starts an answer about a symbol, reporting to the callback.
pub type StartExplain = fn(String, Rc<dyn Fn(ExplainEvent)>) -> ExplainHandle;

/// The browser build's way to ask, provided as context (absent on the server).
#[derive(Clone, Copy)]
pub struct ExplainApi(pub StartExplain);

/// Where the panel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Streaming,
    Done,
    Cancelled,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Streaming => "streaming",
            Status::Done => "done",
            Status::Cancelled => "cancelled",
            Status::Failed => "error",
        }
    }
}

/// The button, and the panel the answer streams into.
#[component]
pub fn ExplainPanel() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let api = use_context::<ExplainApi>();
    let text = RwSignal::new(String::new());
    let status = RwSignal::new(None::<Status>);
    let error = RwSignal::new(None::<String>);
    let running = StoredValue::new_local(None::<ExplainHandle>);
    // Which answer is current: a cancelled or replaced one may still report (its abort),
    // and must not touch the panel.
    let current = StoredValue::new(0u64);
    let ask = move |_| {
        let (Some(api), Some(symbol)) = (api, store.selected.get_untracked()) else {
            return;
        };
        running.update_value(|r| {
            r.take();
        });
        text.set(String::new());
        error.set(None);
        status.set(Some(Status::Streaming));
        current.update_value(|n| *n += 1);
        let mine = current.get_value();
        let on = Rc::new(move |event: ExplainEvent| {
            if current.try_get_value() != Some(mine) {
                return;
            }
            match event {
                ExplainEvent::Token(piece) => text.update(|t| t.push_str(&piece)),
                ExplainEvent::Done => status.set(Some(Status::Done)),
                ExplainEvent::Failed(message) => {
                    error.set(Some(message));
                    status.set(Some(Status::Failed));
                }
            }
        });
        running.set_value(Some((api.0)(symbol, on)));
    };
    let cancel = move |_| {
        current.update_value(|n| *n += 1);
        if let Some(handle) = running.try_update_value(Option::take).flatten() {
            handle.cancel();
        }
        status.set(Some(Status::Cancelled));
    };
    let streaming = move || status.get() == Some(Status::Streaming);
    // The server renders the button disabled (it cannot ask); the browser enables it once
    // hydrated — through a signal, since hydration keeps attributes as the server wrote them.
    let available = RwSignal::new(false);
    Effect::new(move || available.set(api.is_some()));
    view! {
        <div class="explain">
            <div class="explain-actions">
                <button
                    type="button"
                    data-testid="explain-button"
                    disabled=move || streaming() || !available.get()
                    on:click=ask
                >
                    {move || format!("Explain this move{}", store.selected.get().map(|s| format!(" ({s})")).unwrap_or_default())}
                </button>
                <Show when=streaming>
                    <button type="button" data-testid="explain-cancel" on:click=cancel>"Cancel"</button>
                </Show>
            </div>
            <Show when=move || status.get().is_some()>
                {move || deferred(answer_view(Answer { text, status, error }), LOADING)}
            </Show>
        </div>
    }
}

/// The answer as it streams in.
#[derive(Clone, Copy)]
struct Answer {
    text: RwSignal<String>,
    status: RwSignal<Option<Status>>,
    error: RwSignal<Option<String>>,
}

/// The answer's panel; its code comes with the first question (src/ui/deferred.rs).
#[lazy]
fn answer_view(answer: Answer) -> AnyView {
    let Answer {
        text,
        status,
        error,
    } = answer;
    let streaming = move || status.get() == Some(Status::Streaming);
    view! {
        <div
            class="explain-panel"
            data-testid="explain-panel"
            data-state=move || status.get().map(Status::as_str)
            aria-busy=move || streaming().to_string()
        >
            <p class="explain-text" data-testid="explain-text">{move || text.get()}</p>
            <p class="explain-status" data-testid="explain-status" role="status">
                {move || match status.get() {
                    Some(Status::Streaming) => "Writing…".to_owned(),
                    Some(Status::Done) => "Done.".to_owned(),
                    Some(Status::Cancelled) => "Cancelled.".to_owned(),
                    Some(Status::Failed) => format!(
                        "Could not explain: {}",
                        error.get().unwrap_or_default()
                    ),
                    None => String::new(),
                }}
            </p>
        </div>
    }
    .into_any()
}
