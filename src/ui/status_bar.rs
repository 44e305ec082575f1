//! The status bar: the connection state, the last event id and the events received.

use super::store::MarketStore;
use leptos::prelude::*;

#[component]
pub fn StatusBar() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let state = move || store.connection.get().as_str();
    let session = move || {
        store.market.with(|market| match market {
            Some(m) => match &m.scenario {
                Some(scenario) => format!("{} · {}", m.state, scenario.replace('_', " ")),
                None => m.state.clone(),
            },
            None => "unknown".to_owned(),
        })
    };
    let last_id = move || {
        store
            .last_id
            .get()
            .map_or_else(|| "—".to_owned(), |id| id.to_string())
    };
    view! {
        <div class="status-bar" role="status">
            <span class="pill" data-testid="connection-status" data-state=state>
                <span class="dot" aria-hidden="true"></span>
                {state}
            </span>
            <span class="field">"Transport " <strong>"SSE"</strong></span>
            <span class="field">"Session " <strong data-testid="market-state">{session}</strong></span>
            <span class="field">"Last id " <code data-testid="last-event-id">{last_id}</code></span>
            <span class="field">
                "Events " <strong data-testid="events-received">{move || store.received.get()}</strong>
            </span>
        </div>
    }
}
