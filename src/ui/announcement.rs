//! The announcement banner: the latest `announcement` anyone published
//! (`POST /api/admin/publish`, or `XADD tickstream:publish` with Redis), until the viewer
//! dismisses it. A new announcement shows again after a dismissal.

use super::store::MarketStore;
use leptos::prelude::*;

/// Shows the latest announcement with a button that dismisses it.
#[component]
pub fn AnnouncementBanner() -> impl IntoView {
    let store = expect_context::<MarketStore>();
    view! {
        <Show when=move || store.announcement.with(Option::is_some)>
            <div class="announcement" role="status" data-testid="announcement">
                <span class="announcement-text">
                    {move || store.announcement.with(|a| a.as_ref().map(|a| a.text.clone()))}
                </span>
                <button
                    type="button"
                    class="announcement-dismiss"
                    data-testid="announcement-dismiss"
                    aria-label="Dismiss the announcement"
                    on:click=move |_| store.announcement.set(None)
                >
                    "×"
                </button>
            </div>
        </Show>
    }
}
