//! `GET /.sse`: the diagnostic stream of the SSE seed article, for curl and for checking what
//! a proxy does to a request and to a stream.
//!
//! It sends an `event: server` with this instance's id, an `event: request` whose data lines
//! are the request line and then each request header as the server received it (so you can
//! see what nginx added or removed), then an `event: time` every second with an RFC 3339
//! time and ids counting from 1. It has no history: a reconnecting client starts over.

use crate::server::clock;
use crate::server::limits::ClientIp;
use crate::server::state::AppState;
use crate::wire::sse::Frame;
use crate::wire::Transport;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
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
    let mut echo = format!(
        "{} {} {:?}",
        request.method(),
        request.uri(),
        request.version()
    );
    for (name, value) in request.headers() {
        echo.push('\n');
        echo.push_str(name.as_str());
        echo.push_str(": ");
        if SECRET_HEADERS.contains(name) {
            echo.push_str("<redacted>");
        } else {
            echo.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
    }
    let opening = Frame::new()
        .event_name("server")
        .data(&app.instance)
        .finish()
        + &Frame::new().event_name("request").data(&echo).finish();

    let shutdown = app.streams.token();
    // Held by the stream, so the gauge falls when the client goes.
    let connection = app.metrics.connection(Transport::Diagnostic);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = (ticker, 0u64, (connection, permit));
    let times = futures_util::stream::unfold(state, move |(mut ticker, count, connection)| {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => None,
                _ = ticker.tick() => {
                    let count = count + 1;
                    let time = humantime::format_rfc3339_millis(clock::now()).to_string();
                    let frame = Frame::new()
                        .counter_id(count)
                        .event_name("time")
                        .data(&time)
                        .finish();
                    Some((Ok::<_, Infallible>(Bytes::from(frame)), (ticker, count, connection)))
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
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(first.chain(times)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
