//! The status bar: connection state, transport switch and the transport actually in use,
//! whether the tabs share one stream (and this tab's part in it),
//! session, last event id, events received, messages per second, latency, reconnects and
//! resets.
//!
//! Only the connection pill is a live region: a screen reader hears "reconnecting" and
//! "open", not counters that change several times a second.

use super::feed::{ShareRole, TransportKind};
use super::format;
use super::store::MarketStore;
use crate::wire::http::query;
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
            .latency
            .get()
            .map_or_else(|| "—".to_owned(), format::latency)
    };
    let active = move || {
        let (chosen, active) = (store.transport.get(), store.active.get());
        if chosen == active {
            active.as_str().to_owned()
        } else {
            format!("{} (fallback from {})", active.as_str(), chosen.label())
        }
    };
    // A choice goes into the URL (so a reload keeps it); the page follows the URL.
    let navigate = use_navigate();
    let go = move |kind: TransportKind, shared: bool| {
        let mut url = format!("?{}={}", query::TRANSPORT, kind.as_str());
        if shared {
            url.push_str(&format!("&{}=1", query::SHARE));
        }
        navigate(
            &url,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..NavigateOptions::default()
            },
        );
    };
    let go_transport = go.clone();
    let switch = move |ev: leptos::ev::Event| {
        if let Some(kind) = TransportKind::from_name(&event_target_value(&ev)) {
            go_transport(kind, store.share.get_untracked());
        }
    };
    let toggle_share = move |ev: leptos::ev::Event| {
        go(store.transport.get_untracked(), event_target_checked(&ev));
    };
    let share_role = move || {
        store.share_role.get().map_or("", |role| match role {
            ShareRole::Leader => "this tab holds the stream",
            ShareRole::Follower => "from another tab",
        })
    };
    view! {
        <div class="status-bar">
            <span class="pill" role="status" data-testid="connection-status" data-state=state>
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
            <span class="field">
                "Using "
                <strong data-testid="transport-active" data-value=move || store.active.get().as_str()>
                    {active}
                </strong>
            </span>
            <label class="field" title="Tabs of this site that share hold one connection between them: one tab carries the stream and hands every event to the others; when it closes, another takes over where it stopped">
                <input
                    type="checkbox"
                    data-testid="share-toggle"
                    prop:checked=move || store.share.get()
                    on:change=toggle_share
                />
                " One stream for all tabs "
                <span data-testid="share-role" data-role=move || store.share_role.get().map(ShareRole::as_str)>
                    {share_role}
                </span>
            </label>
            <span class="field">"Session " <strong data-testid="market-state">{session}</strong></span>
            <span class="field">"Last id " <code data-testid="last-event-id">{last_id}</code></span>
            <span class="field">
                "Events " <strong data-testid="events-received">{move || store.received.get()}</strong>
            </span>
            <span class="field">"Rate " <strong data-testid="message-rate">{move || format!("{}/s", rate.get())}</strong></span>
            <span class="field">
                "Latency "
                <strong
                    data-testid="latency"
                    data-value=move || store.latency.get().map(|l| format!("{:.1}", l.ms))
                    data-uncertainty=move || store.latency.get().map(|l| format!("{:.1}", l.uncertainty_ms))
                    title="Server publish time to browser receive time, on one clock: the browser's clock is corrected by its measured offset from the server's, to within ± half the best round trip"
                >
                    {latency}
                </strong>
            </span>
            <span class="field">
                "Reconnects " <strong data-testid="reconnects">{move || store.reconnects.get()}</strong>
            </span>
            <span class="field" title="Times the stream could not be resumed and a fresh snapshot replaced the page's state: events were skipped">
                "Resets " <strong data-testid="resets">{move || store.resets.get()}</strong>
            </span>
        </div>
    }
}
