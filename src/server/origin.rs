//! Which pages may open a WebSocket here.
//!
//! The same-origin policy does not guard WebSockets: a page of any site may open one to any
//! server, and the browser sends this site's cookies along (cross-site WebSocket hijacking).
//! What the browser does do is say, in `Origin`, which page asked. So a handshake is
//! admitted when its `Origin` is this server's own — the scheme's host and port are the ones
//! the request was sent to (`Host`, or `X-Forwarded-Host` behind a proxy that rewrites it) —
//! or one of the origins `--cors-origin` names; anything else, `null` included (a sandboxed
//! frame, a `file:` page), gets `403 forbidden_origin` before the upgrade.
//!
//! A handshake without `Origin` is not from a page (curl, Python `websockets`, a load
//! generator) and passes: the check keeps other sites' pages out, it is not authentication.
//!
//! A proxy that forwards `Host` without its port (nginx's `proxy_set_header Host $host`)
//! still matches: with no port in `Host`, the host names are compared.

use super::error::ApiError;
use crate::wire::error::param;
use crate::wire::ErrorCode;
use axum::http::{header, HeaderMap, StatusCode};

/// The header a proxy puts the original `Host` in when it rewrites `Host`.
const FORWARDED_HOST: &str = "x-forwarded-host";

/// Admits a WebSocket handshake from this server's own pages, the `allowed` origins
/// (`--cors-origin`), and clients that are not pages; refuses the rest.
pub fn check_websocket(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    if allowed.iter().any(|allowed| allowed == origin) {
        return Ok(());
    }
    let authority = authority_of(origin);
    let same_site = authority.is_some_and(|authority| {
        [header::HOST.as_str(), FORWARDED_HOST]
            .into_iter()
            .filter_map(|name| headers.get(name)?.to_str().ok())
            .any(|host| same_authority(authority, host))
    });
    if same_site {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::ForbiddenOrigin,
        format!(
            "a page from {origin:?} may not open a WebSocket here: only this server's own \
             pages and the origins the server names with --cors-origin may"
        ),
    )
    .at(param::ORIGIN))
}

/// The `host[:port]` of an `http(s)://host[:port]` origin; `None` for `null` and the like.
fn authority_of(origin: &str) -> Option<&str> {
    let (scheme, authority) = origin.split_once("://")?;
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (web && !authority.is_empty() && !authority.contains('/')).then_some(authority)
}

/// Whether an origin's `host[:port]` names the host a request was sent to.
fn same_authority(origin: &str, host: &str) -> bool {
    if origin.eq_ignore_ascii_case(host) {
        return true;
    }
    // `Host` without a port (a proxy that kept only the name): compare the names.
    !has_port(host) && origin_host(origin).eq_ignore_ascii_case(host)
}

/// The host name of `host[:port]` (an IPv6 literal keeps its brackets).
fn origin_host(authority: &str) -> &str {
    if has_port(authority) {
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    } else {
        authority
    }
}

/// Whether `host[:port]` has a port (`[::1]` has none, `[::1]:80` has one).
fn has_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!host.starts_with('[') || host.ends_with(']'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn request(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
        if let Some(origin) = origin {
            headers.insert(
                header::ORIGIN,
                HeaderValue::from_str(origin).expect("origin"),
            );
        }
        headers
    }

    #[test]
    fn own_pages_and_named_origins_pass_other_sites_do_not() {
        let none: &[String] = &[];
        let ok = |host, origin| check_websocket(&request(host, origin), none).is_ok();
        assert!(ok("127.0.0.1:3000", None), "not a page");
        assert!(ok("127.0.0.1:3000", Some("http://127.0.0.1:3000")));
        assert!(ok("localhost:3000", Some("https://LOCALHOST:3000")));
        assert!(
            ok("127.0.0.1", Some("http://127.0.0.1:8080")),
            "a proxy kept the name"
        );
        assert!(ok("[::1]:3000", Some("http://[::1]:3000")));
        assert!(!ok("127.0.0.1:3000", Some("http://evil.example")));
        assert!(!ok("127.0.0.1:3000", Some("null")));
        assert!(
            !ok("127.0.0.1:3000", Some("http://127.0.0.1:3001")),
            "another port"
        );
        assert!(!ok("127.0.0.1:3000", Some("file://")));
        assert!(!ok("[::1]", Some("http://[::2]:3000")));
        let named = ["https://app.example".to_owned()];
        assert!(
            check_websocket(&request("api.example", Some("https://app.example")), &named).is_ok()
        );
        let refused = check_websocket(&request("a:1", Some("http://evil.example")), &named)
            .expect_err("another site");
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.code, ErrorCode::ForbiddenOrigin);
        assert_eq!(refused.param, Some(param::ORIGIN));
    }

    #[test]
    fn a_proxy_that_rewrote_host_is_read_from_x_forwarded_host() {
        let mut headers = request("backend:3000", Some("https://shop.example"));
        headers.insert(FORWARDED_HOST, HeaderValue::from_static("shop.example"));
        assert!(check_websocket(&headers, &[]).is_ok());
    }
}
