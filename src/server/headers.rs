//! The headers every response carries for safety: a Content-Security-Policy on pages, no
//! MIME sniffing, no referrer leaks, and CORS only for origins the operator names.
//!
//! The page's CSP allows exactly what it needs: our own scripts, styles, images and
//! connections (`'self'`, which covers `ws:`/`wss:` to the same host for the WebSocket
//! transport), WebAssembly compilation (`'wasm-unsafe-eval'`), and inline scripts only when
//! they carry this response's nonce — Leptos' hydration script and our theme script do. The
//! nonce is made fresh per request by [`security_headers`], handed to Leptos through the
//! request (see [`provide_page_nonce`]) and written into the header of the same response.
//!
//! Invariant: a response with an HTML body always has a CSP whose nonce is the one its
//! inline scripts carry; no response is ever compressed here (event streams must never be:
//! a compressor buffers, and a buffered event arrives late).

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `Referrer-Policy`: other sites learn nothing of our URLs (query strings carry event ids).
const REFERRER_POLICY: &str = "same-origin";

/// Adds the security headers, and the page CSP with a fresh nonce to HTML responses.
pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(REFERRER_POLICY),
    );
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if html {
        // The nonce is URL-safe base64: always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce, dev_reload_port())) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// The page's Content-Security-Policy.
pub fn page_policy(nonce: &str, reload_port: Option<u16>) -> String {
    // `cargo leptos watch` injects a script that reloads the page through a WebSocket on
    // its own port; only then is that port allowed.
    let reload = reload_port
        .map(|port| format!(" ws://*:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; \
         img-src 'self' data:; \
         connect-src 'self'{reload}; \
         font-src 'self'; \
         object-src 'none'; \
         base-uri 'none'; \
         form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The live-reload port when running under `cargo leptos watch` (which sets `LEPTOS_WATCH`).
fn dev_reload_port() -> Option<u16> {
    std::env::var_os("LEPTOS_WATCH")?;
    std::env::var("LEPTOS_RELOAD_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .or(Some(3001))
}

/// Hands this request's nonce to Leptos, so that its hydration script and every
/// `use_nonce()` carry the nonce the CSP names. Call it in the render's context closure.
pub fn provide_page_nonce() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        leptos::prelude::provide_context(nonce);
    }
}

/// CORS for the configured origins, or `None`: without any, the API is same-origin only
/// (no `Access-Control-Allow-Origin` is ever sent, so browsers keep other sites out).
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
            ])
            .expose_headers([header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_names_the_nonce_and_nothing_inline_without_it() {
        let policy = page_policy("abc", None);
        assert!(policy.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(!policy.contains("ws://"));
        assert!(page_policy("abc", Some(3001)).contains("connect-src 'self' ws://*:3001"));
    }

    #[test]
    fn no_origins_means_no_cors() {
        assert!(cors(&[]).is_none());
        assert!(cors(&["https://a.example".to_owned()]).is_some());
    }
}
