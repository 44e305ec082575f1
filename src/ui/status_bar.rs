//! The status bar: connection state, transport switch, session, last event id, events
//! received, messages per second, latency and reconnects.

use super::feed::TransportKind;
use super::store::MarketStore;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;
use std::time::Duration;

#[component]
pub fn StatusBar() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let state = move || store.connection.get().as_str();
    let session = move || {
        store.market.with(|market| match market {
            Some(m) => match m.scenario {
                Some(scenario) => format!("{} · {}", m.state, scenario.label()),
                None => m.state.to_string(),
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
    // Messages per second, sampled once a second (in the browser only).
    let rate = RwSignal::new(0u64);
    Effect::new(move || {
        let previous = std::cell::Cell::new(store.received.get_untracked());
        let handle = set_interval_with_handle(
            move || {
                let now = store.received.get_untracked();
                rate.set(now.saturating_sub(previous.replace(now)));
            },
            Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    let latency = move || {
        store
            .latency_ms
            .get()
            .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.0} ms"))
    };
    let navigate = use_navigate();
    let switch = move |ev: leptos::ev::Event| {
        let choice = event_target_value(&ev);
        if let Some(kind) = TransportKind::from_name(&choice) {
            let url = format!("?transport={}", kind.as_str());
            navigate(
                &url,
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..NavigateOptions::default()
                },
            );
        }
    };
    view! {
        <div class="status-bar" role="status">
            <span class="pill" data-testid="connection-status" data-state=state>
                <span class="dot" aria-hidden="true"></span>
                {state}
            </span>
            <label class="field">
                "Transport "
                <select data-testid="transport-select" on:change=switch>
                    {TransportKind::ALL
                        .into_iter()
                        .map(|kind| {
                            view! {
                                <option
                                    value=kind.as_str()
                                    selected=move || store.transport.get() == kind
                                >
                                    {kind.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <span class="field">"Session " <strong data-testid="market-state">{session}</strong></span>
            <span class="field">"Last id " <code data-testid="last-event-id">{last_id}</code></span>
            <span class="field">
                "Events " <strong data-testid="events-received">{move || store.received.get()}</strong>
            </span>
            <span class="field">"Rate " <strong data-testid="message-rate">{move || format!("{}/s", rate.get())}</strong></span>
            <span class="field">"Latency " <strong data-testid="latency">{latency}</strong></span>
            <span class="field">
                "Reconnects " <strong data-testid="reconnects">{move || store.reconnects.get()}</strong>
            </span>
        </div>
    }
}
