//! The alerts panel under the watchlist: every alert this browser keeps, armed or fired,
//! each with a Remove button, and the switch for browser notifications.
//!
//! Invariant: it shows the book as it is and changes it only through the book, so what is
//! listed is what is stored. The server renders it empty (it has no storage); the stored
//! alerts appear once the page has hydrated and the list's module has come.

use super::book::{AlertBook, Permission};
use super::model::{Alert, Direction};
use crate::ui::deferred::{deferred, LOADING};
use crate::ui::format;
use leptos::prelude::*;

/// The list, its empty state and the notifications switch. The list's code comes in a
/// module of its own, fetched once this browser has an alert to show (src/ui/deferred.rs).
#[component]
pub fn AlertsPanel() -> impl IntoView {
    let book = expect_context::<AlertBook>();
    view! {
        <section
            class="alerts"
            aria-labelledby="alerts-heading"
            data-testid="alerts"
            data-loaded=move || book.loaded.get().to_string()
        >
            <div class="alerts-head">
                <h2 id="alerts-heading">"Price alerts"</h2>
                <NotificationSwitch book/>
            </div>
            <Show
                when=move || !book.alerts.with(Vec::is_empty)
                fallback=|| view! {
                    <p class="alerts-empty">
                        "No alerts. Set one with the bell in a watchlist row."
                    </p>
                }
            >
                {move || deferred(alert_list(book), LOADING)}
            </Show>
        </section>
    }
}

/// Every alert in the book, armed or fired.
#[lazy]
fn alert_list(book: AlertBook) -> AnyView {
    view! {
        <ul class="alerts-list">
            // Keyed by state too: an alert that fires is drawn again, as fired.
            <For
                each=move || book.alerts.get()
                key=|alert| (alert.id, alert.fired)
                children=move |alert| view! { <AlertItem book alert/> }
            />
        </ul>
    }
    .into_any()
}

#[component]
fn AlertItem(book: AlertBook, alert: Alert) -> impl IntoView {
    let arrow = match alert.direction {
        Direction::Above => "▲",
        Direction::Below => "▼",
    };
    let state = match alert.fired {
        None => "Armed".to_owned(),
        Some(fired) => format!(
            "Fired at {}, {} UTC",
            format::price(fired.price),
            format::clock(fired.ts)
        ),
    };
    let id = alert.id;
    view! {
        <li
            class="alert-item"
            data-testid="alert-item"
            data-symbol=alert.symbol.clone()
            data-direction=alert.direction.as_str()
            data-state=alert.state()
        >
            <span class="alert-what">
                <span class="alert-arrow" aria-hidden="true">{arrow}</span>
                {alert.describe()}
            </span>
            <span class="alert-state">{state}</span>
            <button
                type="button"
                class="alert-remove"
                data-testid="alert-remove"
                on:click=move |_| book.remove(id)
            >
                "Remove"
                <span class="visually-hidden">{format!(" the alert {}", alert.describe())}</span>
            </button>
        </li>
    }
}

/// "Enable notifications" while the browser has not been asked; what it answered after.
#[component]
fn NotificationSwitch(book: AlertBook) -> impl IntoView {
    move || match book.permission.get() {
        // The server, and the page until it has hydrated: nothing to say yet.
        None => ().into_any(),
        Some(Permission::Default) => view! {
            <button
                type="button"
                class="alerts-enable"
                data-testid="alerts-enable-notifications"
                on:click=move |_| book.request_permission()
            >
                "Enable notifications"
            </button>
        }
        .into_any(),
        Some(permission) => {
            let text = match permission {
                Permission::Granted => "Notifications on",
                Permission::Denied => "Notifications blocked in this browser's settings",
                Permission::Unsupported | Permission::Default => {
                    "This browser cannot show notifications"
                }
            };
            view! {
                <span class="alerts-permission" data-testid="alerts-permission">
                    {text}
                </span>
            }
            .into_any()
        }
    }
}
