//! The instructor panel's calls to `/api/admin/…`, and the tab-local token store.
//! The token goes in `sessionStorage`: it survives a reload, not the closing of the tab.

use crate::ui::instructor::{AdminApi, AdminOutcome};
use crate::wire::admin::AdminRequest;
use crate::wire::ErrorBody;
use std::rc::Rc;

const TOKEN_KEY: &str = "tickstream-admin-token";

/// The admin calls, as the instructor panel gets them.
pub fn admin_api() -> AdminApi {
    AdminApi {
        send,
        load_token,
        save_token,
    }
}

fn send(request: AdminRequest, token: String, done: Rc<dyn Fn(AdminOutcome)>) {
    leptos::task::spawn_local(async move {
        let outcome = post(&request, &token).await;
        done(outcome);
    });
}

async fn post(request: &AdminRequest, token: &str) -> AdminOutcome {
    let response = gloo_net::http::Request::post(request.path())
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(request.body())
        .map_err(|err| err.to_string())?
        .send()
        .await
        .map_err(|err| err.to_string())?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if response.ok() {
        return Ok(text);
    }
    // Every API error is an `ErrorBody`: show its message (a proxy's page as it is).
    let message = ErrorBody::decode(&text).map_or(text, |body| body.error.message);
    Err(format!("HTTP {status}: {message}"))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn load_token() -> Option<String> {
    storage()?.get_item(TOKEN_KEY).ok().flatten()
}

fn save_token(token: Option<&str>) {
    let Some(storage) = storage() else { return };
    // Storage may refuse (private mode): the panel then works until the tab reloads.
    let _ = match token {
        Some(token) => storage.set_item(TOKEN_KEY, token),
        None => storage.remove_item(TOKEN_KEY),
    };
}
