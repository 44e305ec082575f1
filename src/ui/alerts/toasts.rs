//! Toasts: a fired alert says so on the page, in a polite live region, until dismissed or
//! for [`TOAST_FOR`].
//!
//! Invariant: the region is always in the page (empty until something fires), so screen
//! readers are already listening when a toast appears; a toast that times out loses
//! nothing, because its alert stays in the list, marked fired.

use super::book::{AlertBook, Toast};
use crate::ui::deferred::deferred;
use leptos::prelude::*;
use std::time::Duration;

/// How long a toast stays up unless dismissed.
pub const TOAST_FOR: Duration = Duration::from_secs(10);

/// The region, at the bottom of the window.
#[component]
pub fn AlertToasts() -> impl IntoView {
    let book = expect_context::<AlertBook>();
    view! {
        <div class="alert-toasts" role="status" aria-live="polite" data-testid="alert-toasts">
            <For
                each=move || book.toasts.get()
                key=|toast| toast.id
                children=move |toast| deferred(toast_view(book, toast), None)
            />
        </div>
    }
}

/// A toast; its code comes with the first alert that fires (src/ui/deferred.rs).
#[lazy]
fn toast_view(book: AlertBook, toast: Toast) -> AnyView {
    view! { <ToastView book toast/> }.into_any()
}

#[component]
fn ToastView(book: AlertBook, toast: Toast) -> impl IntoView {
    let id = toast.id;
    // Effects run in the browser only, which is the only place toasts appear.
    Effect::new(move || {
        if let Ok(handle) = set_timeout_with_handle(move || book.dismiss(id), TOAST_FOR) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <div class="alert-toast" data-testid="alert-toast" data-direction=toast.direction.as_str()>
            <span class="alert-toast-text">{toast.text}</span>
            <button
                type="button"
                class="alert-toast-dismiss"
                data-testid="alert-toast-dismiss"
                aria-label="Dismiss"
                on:click=move |_| book.dismiss(id)
            >
                "×"
            </button>
        </div>
    }
}
