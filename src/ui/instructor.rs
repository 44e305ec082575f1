//! The instructor panel: the admin API (`/api/admin/…`) from the market page, for a workshop
//! run from the browser. It stays a closed box with one field until a token is entered;
//! then it offers a headline form, session and scenario buttons, the clock's speed, manual
//! steps, and "disconnect everyone". The token lives in this tab's `sessionStorage` only.
//!
//! The panel never makes requests itself: the browser build provides an [`AdminApi`] (the
//! same seam as the live feed), and the server renders the panel without one.

use super::store::MarketStore;
use leptos::prelude::*;
use std::rc::Rc;

/// What an admin call ends with: the response body on success, a message otherwise.
pub type AdminOutcome = Result<String, String>;

/// Sends `body` (JSON) to `/api/admin/{action}` with the token; calls back with the outcome.
pub type SendAdmin = fn(&'static str, String, String, Rc<dyn Fn(AdminOutcome)>);

/// The browser build's admin calls, provided as context (absent on the server).
#[derive(Clone, Copy)]
pub struct AdminApi {
    pub send: SendAdmin,
    /// Reads and writes the token kept for this tab.
    pub load_token: fn() -> Option<String>,
    pub save_token: fn(Option<&str>),
}

#[component]
pub fn InstructorPanel() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let api = use_context::<AdminApi>();
    let token = RwSignal::new(None::<String>);
    let draft_token = RwSignal::new(String::new());
    let result = RwSignal::new(None::<(bool, String)>);
    let headline = RwSignal::new(String::new());
    let summary = RwSignal::new(String::new());
    let symbols = RwSignal::new(String::new());
    let sentiment = RwSignal::new("neutral".to_owned());
    let steps = RwSignal::new("10".to_owned());
    Effect::new(move || {
        if let Some(api) = api {
            token.set((api.load_token)());
        }
    });

    let send = move |action: &'static str, body: serde_json::Value| {
        let (Some(api), Some(token)) = (api, token.get_untracked()) else {
            return;
        };
        result.set(Some((true, format!("{action}…"))));
        let done = Rc::new(move |outcome: AdminOutcome| {
            result.set(Some(match outcome {
                Ok(body) => (true, format!("{action}: {body}")),
                Err(message) => (false, format!("{action}: {message}")),
            }));
        });
        (api.send)(action, body.to_string(), token, done);
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let entered = draft_token.get_untracked().trim().to_owned();
        if entered.is_empty() {
            return;
        }
        if let Some(api) = api {
            (api.save_token)(Some(&entered));
        }
        token.set(Some(entered));
        draft_token.set(String::new());
        result.set(None);
    };
    let forget = move |_| {
        if let Some(api) = api {
            (api.save_token)(None);
        }
        token.set(None);
        result.set(None);
    };
    let publish = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let listed: Vec<String> = symbols
            .get_untracked()
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut body = serde_json::json!({
            "headline": headline.get_untracked(),
            "symbols": listed,
            "sentiment": sentiment.get_untracked(),
        });
        let text = summary.get_untracked();
        if !text.trim().is_empty() {
            body["summary"] = text.into();
        }
        send("news", body);
    };
    let market = move |action: &'static str, name: Option<&'static str>| {
        let mut body = serde_json::json!({ "action": action });
        if let Some(name) = name {
            body["name"] = name.into();
        }
        send("market", body);
    };
    let state = move || store.market.with(|m| m.as_ref().map(|m| m.state.clone()));

    view! {
        <details class="instructor" data-testid="instructor-panel">
            <summary>"Instructor"</summary>
            <Show
                when=move || token.get().is_some()
                fallback=move || view! {
                    <form class="instructor-token" on:submit=save>
                        <label>
                            "Admin token "
                            <input
                                type="password"
                                autocomplete="off"
                                data-testid="instructor-token"
                                prop:value=move || draft_token.get()
                                on:input=move |ev| draft_token.set(event_target_value(&ev))
                            />
                        </label>
                        <button type="submit" data-testid="instructor-unlock">"Unlock"</button>
                        <p class="hint">
                            "Start the server with " <code>"--admin-token"</code>
                            " to use these controls. The token stays in this tab."
                        </p>
                    </form>
                }
            >
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
                        <select on:change=move |ev| sentiment.set(event_target_value(&ev))>
                            <option value="neutral">"neutral"</option>
                            <option value="positive">"positive"</option>
                            <option value="negative">"negative"</option>
                        </select>
                    </label>
                    <button type="submit" data-testid="instructor-publish">"Publish headline"</button>
                </form>
                <div class="instructor-row" role="group" aria-label="Session">
                    <button type="button" data-testid="instructor-halt"
                        disabled=move || state().as_deref() != Some("open")
                        on:click=move |_| market("halt", None)>"Halt"</button>
                    <button type="button" data-testid="instructor-resume"
                        disabled=move || state().as_deref() != Some("halted")
                        on:click=move |_| market("resume", None)>"Resume"</button>
                    <button type="button" on:click=move |_| market("close", None)
                        disabled=move || state().as_deref() == Some("closed")>"Close"</button>
                    <button type="button" on:click=move |_| market("open", None)
                        disabled=move || state().as_deref() != Some("closed")>"Open"</button>
                </div>
                <div class="instructor-row" role="group" aria-label="Scenarios">
                    <button type="button" data-testid="instructor-crash"
                        on:click=move |_| market("scenario", Some("crash"))>"Crash"</button>
                    <button type="button" on:click=move |_| market("scenario", Some("rally"))>"Rally"</button>
                    <button type="button" on:click=move |_| market("scenario", Some("news_storm"))>"News storm"</button>
                </div>
                <div class="instructor-row">
                    <label>"Speed "
                        <select on:change=move |ev| {
                            if let Ok(factor) = event_target_value(&ev).parse::<f64>() {
                                send("speed", serde_json::json!({ "factor": factor }));
                            }
                        }>
                            {[0.5, 1.0, 2.0, 5.0, 10.0]
                                .map(|f| view! { <option value=f.to_string() selected=f == 1.0>{format!("{f}×")}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>"Steps "
                        <input type="number" min="1" max="10000" class="steps"
                            prop:value=move || steps.get()
                            on:input=move |ev| steps.set(event_target_value(&ev))/>
                    </label>
                    <button type="button" data-testid="instructor-step" on:click=move |_| {
                        let n = steps.get_untracked().parse::<u64>().unwrap_or(0);
                        send("step", serde_json::json!({ "n": n }));
                    }>"Step"</button>
                    <button type="button" data-testid="instructor-disconnect"
                        on:click=move |_| send("disconnect", serde_json::json!({}))>
                        "Disconnect everyone"
                    </button>
                    <button type="button" class="forget" on:click=forget>"Forget token"</button>
                </div>
            </Show>
            <p
                class="instructor-result"
                role="status"
                data-testid="instructor-result"
                data-ok=move || result.get().map(|r| r.0.to_string())
            >
                {move || result.get().map(|r| r.1)}
            </p>
        </details>
    }
}
