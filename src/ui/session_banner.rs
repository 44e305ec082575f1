//! The session banner: says so, in words, when the market is not simply open — halted,
//! closed, or running a scenario.

use super::store::MarketStore;
use crate::wire::SessionState;
use leptos::prelude::*;

#[component]
pub fn SessionBanner() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    let message = move || {
        store.market.with(|market| {
            let market = market.as_ref()?;
            match (market.state, market.scenario) {
                (SessionState::Halted, _) => Some(("halted", "Trading is halted".to_owned())),
                (SessionState::Closed, _) => Some(("closed", "The market is closed".to_owned())),
                (SessionState::Open, Some(scenario)) => Some((
                    "scenario",
                    format!("Scenario running: {}", scenario.label()),
                )),
                (SessionState::Open, None) => None,
            }
        })
    };
    view! {
        <Show when=move || message().is_some()>
            <div
                class="session-banner"
                role="status"
                data-testid="session-banner"
                data-kind=move || message().map(|m| m.0)
            >
                {move || message().map(|m| m.1)}
            </div>
        </Show>
    }
}
