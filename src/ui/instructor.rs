//! The instructor panel: the admin API (`/api/admin/…`) from the market page, for a workshop
//! run from the browser. It stays a closed box, its console loaded the first time it opens
//! (src/ui/deferred.rs), with one field until a token is entered; then it offers a headline
//! form, session and scenario buttons, the clock's speed, manual steps, and "disconnect
//! everyone". The token lives in this tab's `sessionStorage` only.
//!
//! The panel never makes requests itself: the browser build provides an [`AdminApi`] (the
//! same seam as the live feed), and the server renders the panel without one. Requests are
//! the typed bodies of [`wire::admin`](crate::wire::admin), never hand-written JSON.

use super::deferred::{deferred, LOADING};
use super::store::MarketStore;
use crate::wire::admin::{AdminRequest, MarketAction, NewsRequest, SpeedRequest, StepRequest};
use crate::wire::{Scenario, Sentiment, SessionState};
use leptos::prelude::*;
use std::rc::Rc;

/// What an admin call ends with: the response body on success, a message otherwise.
pub type AdminOutcome = Result<String, String>;

/// Sends a request with the token; calls back with the outcome.
pub type SendAdmin = fn(AdminRequest, String, Rc<dyn Fn(AdminOutcome)>);

/// The browser build's admin calls, provided as context (absent on the server).
#[derive(Clone, Copy)]
pub struct AdminApi {
    /// Sends one request.
    pub send: SendAdmin,
    /// Reads the token kept for this tab.
    pub load_token: fn() -> Option<String>,
    /// Keeps (or, with `None`, forgets) the token for this tab.
    pub save_token: fn(Option<&str>),
}

/// The panel's state and its one way of talking to the server.
#[derive(Clone, Copy)]
struct Console {
    api: Option<AdminApi>,
    token: RwSignal<Option<String>>,
    /// The last outcome: whether it went well, and what to say.
    result: RwSignal<Option<(bool, String)>>,
}

impl Console {
    fn send(self, request: AdminRequest) {
        let (Some(api), Some(token)) = (self.api, self.token.get_untracked()) else {
            return;
        };
        let name = request.name();
        self.result.set(Some((true, format!("{name}…"))));
        let result = self.result;
        let done = Rc::new(move |outcome: AdminOutcome| {
            result.set(Some(match outcome {
                Ok(body) => (true, format!("{name}: {body}")),
                Err(message) => (false, format!("{name}: {message}")),
            }));
        });
        (api.send)(request, token, done);
    }

    fn unlock(self, token: String) {
        if let Some(api) = self.api {
            (api.save_token)(Some(&token));
        }
        self.token.set(Some(token));
        self.result.set(None);
    }

    fn forget(self) {
        if let Some(api) = self.api {
            (api.save_token)(None);
        }
        self.token.set(None);
        self.result.set(None);
    }
}

/// The panel: closed, with nothing inside until first opened; then the console, from a
/// module of its own (most visitors never open it).
#[component]
pub fn InstructorPanel() -> impl IntoView {
    // `toggle` fires on opening and on closing; the first one is always an opening.
    let opened = RwSignal::new(false);
    view! {
        <details class="instructor" data-testid="instructor-panel" on:toggle=move |_| opened.set(true)>
            <summary>"Instructor"</summary>
            // Once there, it stays: a typed draft survives closing the box.
            <Show when=move || opened.get()>{|| deferred(instructor_console(), LOADING)}</Show>
        </details>
    }
}

/// The console, fetched the first time the panel opens.
#[lazy]
fn instructor_console() -> AnyView {
    view! { <ConsoleBody/> }.into_any()
}

/// A token form until unlocked, then the controls; the last outcome below.
#[component]
fn ConsoleBody() -> impl IntoView {
    let api = use_context::<AdminApi>();
    let console = Console {
        api,
        token: RwSignal::new(api.and_then(|api| (api.load_token)())),
        result: RwSignal::new(None),
    };
    view! {
        <Show
            when=move || console.token.get().is_some()
            fallback=move || view! { <TokenForm console/> }
        >
            <HeadlineForm console/>
            <SessionControls console/>
            <ClockControls console/>
        </Show>
        <p
            class="instructor-result"
            role="status"
            data-testid="instructor-result"
            data-ok=move || console.result.get().map(|r| r.0.to_string())
        >
            {move || console.result.get().map(|r| r.1)}
        </p>
    }
}

/// The one field shown before unlocking.
#[component]
fn TokenForm(console: Console) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let entered = draft.get_untracked().trim().to_owned();
        if !entered.is_empty() {
            console.unlock(entered);
            draft.set(String::new());
        }
    };
    view! {
        <form class="instructor-token" on:submit=save>
            <label>
                "Admin token "
                <input
                    type="password"
                    autocomplete="off"
                    data-testid="instructor-token"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
            </label>
            <button type="submit" data-testid="instructor-unlock">"Unlock"</button>
            <p class="hint">
                "Start the server with " <code>"--admin-token"</code>
                " to use these controls. The token stays in this tab."
            </p>
        </form>
    }
}

/// Publishes a headline through the market's news path.
#[component]
fn HeadlineForm(console: Console) -> impl IntoView {
    let headline = RwSignal::new(String::new());
    let summary = RwSignal::new(String::new());
    let symbols = RwSignal::new(String::new());
    let sentiment = RwSignal::new(Sentiment::Neutral);
    let publish = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let listed = symbols
            .get_untracked()
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let text = summary.get_untracked();
        let summary = (!text.trim().is_empty()).then_some(text);
        let request = NewsRequest::new(
            headline.get_untracked(),
            summary,
            listed,
            sentiment.get_untracked(),
        );
        console.send(AdminRequest::News(request));
    };
    view! {
        <form class="instructor-news" on:submit=publish data-testid="instructor-news">
            <label>"Headline "
                <input
                    required
                    maxlength="200"
                    data-testid="instructor-headline"
                    prop:value=move || headline.get()
                    on:input=move |ev| headline.set(event_target_value(&ev))
                />
            </label>
            <label>"Summary "
                <input
                    maxlength="1000"
                    prop:value=move || summary.get()
                    on:input=move |ev| summary.set(event_target_value(&ev))
                />
            </label>
            <label>"Symbols "
                <input
                    placeholder="NOVA, GRID"
                    data-testid="instructor-symbols"
                    prop:value=move || symbols.get()
                    on:input=move |ev| symbols.set(event_target_value(&ev))
                />
            </label>
            <label>"Sentiment "
                <select on:change=move |ev| {
                    if let Some(value) = Sentiment::from_name(&event_target_value(&ev)) {
                        sentiment.set(value);
                    }
                }>
                    {[Sentiment::Neutral, Sentiment::Positive, Sentiment::Negative]
                        .map(|value| view! { <option value=value.as_str()>{value.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" data-testid="instructor-publish">"Publish headline"</button>
        </form>
    }
}

/// Halts, resumes, closes and opens the session; starts scenarios.
#[component]
fn SessionControls(console: Console) -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let state = move || store.market.with(|m| m.as_ref().map(|m| m.state));
    let act = move |action: MarketAction| console.send(AdminRequest::Market(action.into()));
    view! {
        <div class="instructor-row" role="group" aria-label="Session">
            <button type="button" data-testid="instructor-halt"
                disabled=move || state() != Some(SessionState::Open)
                on:click=move |_| act(MarketAction::Halt)>"Halt"</button>
            <button type="button" data-testid="instructor-resume"
                disabled=move || state() != Some(SessionState::Halted)
                on:click=move |_| act(MarketAction::Resume)>"Resume"</button>
            <button type="button" on:click=move |_| act(MarketAction::Close)
                disabled=move || state() == Some(SessionState::Closed)>"Close"</button>
            <button type="button" on:click=move |_| act(MarketAction::Open)
                disabled=move || state() != Some(SessionState::Closed)>"Open"</button>
        </div>
        <div class="instructor-row" role="group" aria-label="Scenarios">
            <button type="button" data-testid="instructor-crash"
                on:click=move |_| act(MarketAction::Scenario(Scenario::Crash))>"Crash"</button>
            <button type="button"
                on:click=move |_| act(MarketAction::Scenario(Scenario::Rally))>"Rally"</button>
            <button type="button"
                on:click=move |_| act(MarketAction::Scenario(Scenario::NewsStorm))>"News storm"</button>
        </div>
    }
}

/// The clock's speed, manual steps, "disconnect everyone", and forgetting the token.
#[component]
fn ClockControls(console: Console) -> impl IntoView {
    let steps = RwSignal::new("10".to_owned());
    view! {
        <div class="instructor-row">
            <label>"Speed "
                <select on:change=move |ev| {
                    if let Ok(factor) = event_target_value(&ev).parse::<f64>() {
                        console.send(AdminRequest::Speed(SpeedRequest { factor }));
                    }
                }>
                    {[0.5, 1.0, 2.0, 5.0, 10.0]
                        .map(|f| view! { <option value=f.to_string() selected=f == 1.0>{format!("{f}×")}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>"Steps "
                <input type="number" min="1" max=StepRequest::MAX class="steps"
                    prop:value=move || steps.get()
                    on:input=move |ev| steps.set(event_target_value(&ev))/>
            </label>
            <button type="button" data-testid="instructor-step" on:click=move |_| {
                // Anything unparsable goes as 0, which the server refuses with its reason.
                let n = steps.get_untracked().parse::<u64>().unwrap_or(0);
                console.send(AdminRequest::Step(StepRequest { n }));
            }>"Step"</button>
            <button type="button" data-testid="instructor-disconnect"
                on:click=move |_| console.send(AdminRequest::Disconnect)>
                "Disconnect everyone"
            </button>
            <button type="button" class="forget" on:click=move |_| console.forget()>"Forget token"</button>
        </div>
    }
}
