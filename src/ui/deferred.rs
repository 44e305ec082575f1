//! Parts of the page most visitors never open — the instructor console, the alert form —
//! come in WebAssembly modules of their own, fetched the first time they are wanted.
//! The release build's split (`xtask/src/bundle.rs`) cuts each `#[lazy]` function, with all
//! the code only it reaches, out of the module every visitor downloads first.
//!
//! Invariant: a deferred part is never rendered by the server nor during hydration (nobody
//! has asked for it yet), so the page the server sent and the page that hydrates agree.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::future::Future;

/// The view `part` resolves to — the call of a `#[lazy]` function, whose first call fetches
/// its module — with `loading` said until it has (nothing, if `None`).
pub fn deferred<Part>(part: Part, loading: Option<&'static str>) -> impl IntoView
where
    Part: Future<Output = AnyView> + 'static,
{
    // The browser's futures are not `Send`; this one never leaves its thread.
    let part = SendWrapper::new(part);
    view! {
        <Suspense fallback=move || {
            loading.map(|text| view! { <p class="deferred-loading" role="status">{text}</p> })
        }>{Suspend::new(part)}</Suspense>
    }
}

/// What a part the reader asked for says while its module comes.
pub const LOADING: Option<&str> = Some("Loading…");
