//! The instructor panel's calls to `/api/admin/…`, and the tab-local token store.
//! The token goes in `sessionStorage`: it survives a reload, not the closing of the tab.

use crate::ui::instructor::{AdminApi, AdminOutcome};
use std::rc::Rc;

const TOKEN_KEY: &str = "tickstream-admin-token";

pub fn admin_api() -> AdminApi {
    AdminApi {
        send,
        load_token,
        save_token,
    }
}

fn send(action: &'static str, body: String, token: String, done: Rc<dyn Fn(AdminOutcome)>) {
    leptos::task::spawn_local(async move {
        let url = format!("/api/admin/{action}");
        let request = gloo_net::http::Request::post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .body(body);
        let outcome = match request {
            Err(err) => Err(err.to_string()),
            Ok(request) => match request.send().await {
                Err(err) => Err(err.to_string()),
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    if response.ok() {
                        Ok(text)
                    } else {
                        // Our errors are `{"error":{"message":…}}`; show the message.
                        let message = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                            .unwrap_or(text);
                        Err(format!("HTTP {status}: {message}"))
                    }
                }
            },
        };
        done(outcome);
    });
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
