//! Light and dark themes. The system's `prefers-color-scheme` decides until the user picks
//! one with the toggle; the choice is kept in `localStorage` and applied as
//! `<html data-theme>` — before first paint by a small script in the page head, so a
//! reload never flashes the wrong theme.

use leptos::prelude::*;

/// Runs in `<head>` before the body paints: applies a stored choice.
pub const APPLY_STORED_THEME: &str = "try{var t=localStorage.getItem('tickstream-theme');\
if(t==='light'||t==='dark')document.documentElement.dataset.theme=t;}catch(e){}";

#[component]
pub fn ThemeToggle() -> impl IntoView {
    // `None` until the browser tells us; the server renders the neutral label.
    let dark = RwSignal::new(None::<bool>);
    Effect::new(move || dark.set(Some(browser::is_dark())));
    let label = move || match dark.get() {
        Some(true) => "Light theme",
        Some(false) => "Dark theme",
        None => "Theme",
    };
    let toggle = move |_| {
        let now_dark = !dark.get_untracked().unwrap_or(false);
        browser::set_theme(if now_dark { "dark" } else { "light" });
        dark.set(Some(now_dark));
    };
    view! {
        <button
            type="button"
            class="theme-toggle"
            data-testid="theme-toggle"
            aria-pressed=move || dark.get().unwrap_or(false).to_string()
            on:click=toggle
        >
            {label}
        </button>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    fn root() -> Option<web_sys::HtmlElement> {
        web_sys::window()?
            .document()?
            .document_element()?
            .dyn_into::<web_sys::HtmlElement>()
            .ok()
    }

    use wasm_bindgen::JsCast;

    /// The theme in force: the stored choice, else the system's.
    pub fn is_dark() -> bool {
        if let Some(theme) = root().and_then(|r| r.dataset().get("theme")) {
            return theme == "dark";
        }
        web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
            .is_some_and(|query| query.matches())
    }

    pub fn set_theme(theme: &str) {
        if let Some(root) = root() {
            let _ = root.dataset().set("theme", theme);
        }
        let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        if let Some(storage) = storage {
            // Private windows may refuse; the theme still applies for this page.
            let _ = storage.set_item("tickstream-theme", theme);
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn is_dark() -> bool {
        false
    }

    pub fn set_theme(_: &str) {}
}
