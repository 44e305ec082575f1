//! The masthead every page shares: the name, a tagline, the navigation (the current page
//! marked for screen readers) and the theme toggle.

use super::theme::ThemeToggle;
use leptos::prelude::*;

/// The pages, in the order the navigation lists them.
const PAGES: [(&str, &str); 4] = [
    ("/", "Market"),
    ("/lab", "Transport lab"),
    ("/connections", "Connections"),
    ("/lessons", "Lessons"),
];

/// The masthead of the page at `path`.
#[component]
pub fn Masthead(
    /// The page's own path (marked `aria-current`).
    path: &'static str,
    /// The heading.
    title: &'static str,
    /// One line under it.
    tagline: &'static str,
) -> impl IntoView {
    view! {
        <header class="masthead">
            <h1 class="brand">{title}</h1>
            <p class="tagline">{tagline}</p>
            <nav class="nav">
                {PAGES
                    .map(|(href, label)| {
                        let current = (href == path).then_some("page");
                        view! { <a href=href aria-current=current>{label}</a> }
                    })
                    .collect_view()}
                <ThemeToggle/>
            </nav>
        </header>
    }
}
