//! What the browser says about the page's circumstances, as the reconnect core needs it: the
//! network went away or came back (`offline`, `online` on `window`), the tab was hidden or
//! shown (`visibilitychange` on `document`, read through `document.visibilityState`).
//!
//! Invariant: the listeners live exactly as long as the [`Lifecycle`] that added them;
//! dropping it removes them, so a closed feed hears nothing more.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget, VisibilityState};

/// A change in the page's circumstances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    /// The browser lost its network.
    Offline,
    /// The network is back.
    Online,
    /// The tab is hidden (another tab, a minimised window, a locked screen).
    Hidden,
    /// The tab is visible again.
    Visible,
}

/// One listener: where it listens, for what, and the callback.
type Listener = (EventTarget, &'static str, Closure<dyn FnMut(Event)>);

/// Listeners on `window` and `document`, removed when dropped.
pub struct Lifecycle {
    listeners: Vec<Listener>,
}

impl Lifecycle {
    /// Reports every change to `on` until dropped.
    pub fn watch(on: impl Fn(PageEvent) + 'static) -> Lifecycle {
        let on = std::rc::Rc::new(on);
        let mut listeners = Vec::new();
        let Some(window) = web_sys::window() else {
            return Lifecycle { listeners };
        };
        let mut listen = |target: EventTarget, name: &'static str, event: fn() -> PageEvent| {
            let on = on.clone();
            let closure = Closure::<dyn FnMut(Event)>::new(move |_: Event| on(event()));
            // Fails only for an invalid listener; ours is a function.
            let _ = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
            listeners.push((target, name, closure));
        };
        listen(window.clone().into(), "offline", || PageEvent::Offline);
        listen(window.clone().into(), "online", || PageEvent::Online);
        if let Some(document) = window.document() {
            listen(document.into(), "visibilitychange", || {
                if is_hidden() {
                    PageEvent::Hidden
                } else {
                    PageEvent::Visible
                }
            });
        }
        Lifecycle { listeners }
    }
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        for (target, name, closure) in &self.listeners {
            let _ =
                target.remove_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        }
    }
}

/// Whether the tab is hidden now.
pub fn is_hidden() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| document.visibility_state() == VisibilityState::Hidden)
}

/// The `content` of `<meta name="{name}">` in the page, if there is one.
pub fn meta(name: &str) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let element = document
        .query_selector(&format!("meta[name=\"{name}\"]"))
        .ok()??;
    element.get_attribute("content")
}
