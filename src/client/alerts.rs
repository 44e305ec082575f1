//! The price alerts' browser side: the stored list in `localStorage` (this browser's, every
//! tab's) and the Notification API.
//!
//! Invariant: a notification is shown only while `Notification.permission` is `granted`,
//! and nothing here throws into the page — a browser without the API, storage that refuses
//! a write (private mode, quota), or a constructor that is not allowed (Chrome on Android
//! wants a service worker) all leave the toasts working.

use crate::ui::alerts::{AlertsApi, Notice, Permission};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Notification, NotificationOptions, NotificationPermission};

/// Where the alerts are kept ([`crate::ui::alerts::storage`]'s document).
const STORAGE_KEY: &str = "tickstream-alerts";

/// Storage and notifications, as the alert book gets them.
pub fn alerts_api() -> AlertsApi {
    AlertsApi {
        load,
        save,
        notify,
        permission,
        request_permission,
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn load() -> Option<String> {
    storage()?.get_item(STORAGE_KEY).ok().flatten()
}

fn save(document: &str) {
    let Some(storage) = storage() else { return };
    if storage.set_item(STORAGE_KEY, document).is_err() {
        // The list still works until the page reloads.
        leptos::logging::warn!("could not keep the price alerts in localStorage");
    }
}

/// Whether this browser has `window.Notification` at all (iOS Safari outside a home-screen
/// app does not): the bindings below would throw otherwise.
fn supported() -> bool {
    web_sys::window().is_some_and(|window| {
        js_sys::Reflect::has(&window, &JsValue::from_str("Notification")).unwrap_or(false)
    })
}

fn permission() -> Permission {
    if !supported() {
        return Permission::Unsupported;
    }
    match Notification::permission() {
        NotificationPermission::Granted => Permission::Granted,
        NotificationPermission::Denied => Permission::Denied,
        // "default", or a word a future browser may add: asking is still the way.
        _ => Permission::Default,
    }
}

fn request_permission(done: Rc<dyn Fn(Permission)>) {
    if !supported() {
        return done(Permission::Unsupported);
    }
    // Old Safari answers through a callback and returns nothing: read the permission then.
    let promise = Notification::request_permission()
        .ok()
        .and_then(|value| JsValue::from(value).dyn_into::<js_sys::Promise>().ok());
    let Some(promise) = promise else {
        return done(permission());
    };
    leptos::task::spawn_local(async move {
        // Refused or dismissed, the answer is in `permission` either way.
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        done(permission());
    });
}

fn notify(notice: &Notice) {
    if permission() != Permission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(&notice.body);
    options.set_tag(&notice.tag);
    if let Err(err) = Notification::new_with_options(&notice.title, &options) {
        leptos::logging::warn!("could not show a notification: {err:?}");
    }
}
