//! `GET /.sse`: the diagnostic stream of the first SSE seed article, in exactly the shape the
//! article prints (it comes from jmalloc/echo-server behind a gateway), for curl and for
//! seeing what a proxy does to a request and to a stream.
//!
//! Every event is written `event:`, then `data:` (one line per line of the value), then
//! `id:`, then the blank line, and numbered from 1: `server` (which instance answered) is 1,
//! `request` is 2, then a `time` event every second (RFC 3339, whole seconds) takes the next
//! ids. The `request` data is the request line, an empty line, `Host:`, every other header in
//! canonical case sorted by name (what a proxy adds — `X-Forwarded-For`, `X-Real-Ip` — shows
//! up here), and a final empty line. Any origin may read it (`Access-Control-Allow-Origin:
//! *`), as the article's server allows.
//!
//! Secrets are never echoed: `Authorization`, `Proxy-Authorization` and `Cookie` read
//! `<redacted>`. It has no history: a reconnecting client starts over from 1.

use crate::server::clock;
use crate::server::limits::ClientIp;
use crate::server::state::AppState;
use crate::wire::sse::Frame;
use crate::wire::Transport;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::convert::Infallible;
use std::time::Duration;

/// Request headers whose values are secrets: echoed as `<redacted>`, so a page that shows
/// this stream (or a proxy log that records it) cannot leak them.
const SECRET_HEADERS: [header::HeaderName; 3] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
];

/// `GET /.sse`: the request echoed, then the time every second.
pub async fn handler(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> Response {
    let permit = match app.limits.acquire(ip, Transport::Diagnostic) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
    let opening = event("server", &app.instance, 1) + &event("request", &echo(&request), 2);

    let shutdown = app.streams.token();
    // Held by the stream, so the gauge falls when the client goes.
    let connection = app.metrics.connection(Transport::Diagnostic);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick of an interval is immediate: the first `time` comes a second later.
    ticker.reset();
    let state = (ticker, 2u64, (connection, permit));
    let times = futures_util::stream::unfold(state, move |(mut ticker, last, held)| {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => None,
                _ = ticker.tick() => {
                    let id = last + 1;
                    let time = humantime::format_rfc3339_seconds(clock::now()).to_string();
                    let frame = Bytes::from(event("time", &time, id));
                    Some((Ok::<_, Infallible>(frame), (ticker, id, held)))
                }
            }
        }
    });
    let first = futures_util::stream::once(async move { Ok(Bytes::from(opening)) });
    use futures_util::StreamExt;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, super::sse::CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(first.chain(times)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// One event in the article's field order: `event:`, `data:`, `id:`.
fn event(name: &'static str, data: &str, id: u64) -> String {
    Frame::new()
        .event_name(name)
        .data(data)
        .counter_id(id)
        .finish()
}

/// The request as the article's server echoes it: the request line, an empty line, `Host:`,
/// the other headers in canonical case sorted by name, and a final empty line.
fn echo(request: &Request) -> String {
    let mut text = format!(
        "{} {} {:?}\n\n",
        request.method(),
        request.uri(),
        request.version()
    );
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    text.push_str(&format!("Host: {host}\n"));
    for (name, value) in sorted_headers(request.headers()) {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text
}

/// Every header but `Host`, named in canonical case (`X-Forwarded-For`), sorted by that
/// name; a header sent twice appears twice, in the order it came.
fn sorted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| **name != header::HOST)
        .map(|(name, value)| {
            let shown = if SECRET_HEADERS.contains(name) {
                "<redacted>".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (canonical(name), shown)
        })
        .collect();
    // Stable: repeated headers keep their order.
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines
}

/// `x-forwarded-for` → `X-Forwarded-For`, as Go's `CanonicalMIMEHeaderKey` writes it.
fn canonical(name: &HeaderName) -> String {
    name.as_str()
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical_and_sorted_with_secrets_hidden() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-real-ip", "10.0.0.1"),
            ("accept", "text/event-stream"),
            ("host", "example"),
            ("authorization", "Bearer s3cret"),
            ("x-forwarded-for", "10.0.0.1"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                value.parse().expect("a header value"),
            );
        }
        assert_eq!(
            sorted_headers(&headers),
            vec![
                ("Accept".to_owned(), "text/event-stream".to_owned()),
                ("Authorization".to_owned(), "<redacted>".to_owned()),
                ("X-Forwarded-For".to_owned(), "10.0.0.1".to_owned()),
                ("X-Real-Ip".to_owned(), "10.0.0.1".to_owned()),
            ]
        );
        assert_eq!(
            event("time", "2026-11-30T01:00:00Z", 3),
            "event: time\ndata: 2026-11-30T01:00:00Z\nid: 3\n\n"
        );
        assert_eq!(
            event("request", "GET / HTTP/1.1\n\nHost: h\n", 2),
            "event: request\ndata: GET / HTTP/1.1\ndata: \ndata: Host: h\ndata: \nid: 2\n\n"
        );
    }
}
