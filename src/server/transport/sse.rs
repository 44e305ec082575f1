//! `GET /api/sse`: the market as a Server-Sent Events stream.
//!
//! A stream opens with a `hello` naming the connection — its block also carries `retry:`, so
//! that no block of the stream is without an event (readers that turn a lone `retry:` into an
//! empty message then choke on it) — then what its [`Feed`] starts with: a `snapshot` (new client), the exact events the client missed
//! (resume by `Last-Event-ID` header or `lastEventId` query parameter), or a `reset` and a
//! `snapshot` (an id that cannot be continued). Then live events, and a `: keep-alive`
//! comment line whenever nothing has been written for the heartbeat interval — or, with
//! `heartbeat=event`, a `heartbeat` event a page's `EventSource` can see. Options:
//! `symbols=`, `types=`, `conflate=<ms>`, `events=unnamed` and `heartbeat=event` (see
//! [`StreamOptions`](super::query::StreamOptions)).
//!
//! A stream refused for want of room (`--max-streams`, `--max-streams-per-ip`, or a `refuse`
//! fault) is, for a
//! client that asked for `text/event-stream`, a 200 that says `retry:` and a `refused` event
//! and ends, so that a browser comes back later instead of giving up for good (see
//! [`refused_stream`]); other clients get the 429/503 every stream gets.
//!
//! A client that lags behind the bus backlog gets `reset` + `snapshot` rather than
//! unbounded buffering: it keeps its connection, and its page stays correct. Every stream
//! ends itself when the server shuts down, the instructor disconnects everyone, or the
//! lab drops this one.

use super::{Admitted, NotAdmitted, Session};
use crate::server::limits::{ClientIp, Refused};
use crate::server::state::AppState;
use crate::wire::sse::{self, heartbeat, Frame};
use crate::wire::{EventNaming, HeartbeatStyle, Transport};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::Instant;

/// The content type of an event stream, with the charset the spec mandates.
pub const CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";

/// `GET /api/sse`: admits the stream, then answers with it.
pub async fn handler(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let admitted = match Admitted::check(&app, ip, Transport::Sse, query.as_deref(), &headers) {
        Ok(admitted) => admitted,
        Err(NotAdmitted::Full(refused)) if wants_event_stream(&headers) => {
            return refused_stream(refused);
        }
        Err(not) => return not.into_response(),
    };
    let heartbeat = Duration::from_secs(app.config.heartbeat_secs);
    let (style, naming) = (admitted.options.heartbeat, admitted.options.naming);
    let session = Session::open(
        &app,
        Transport::Sse,
        admitted.options,
        &admitted.resume,
        Some(admitted.permit),
    )
    .await;
    let stream = EventStream {
        // No blank line: the `hello` completes the block.
        opening: Some(Bytes::from(Frame::new().retry(app.config.retry_ms).lines())),
        style,
        naming,
        session: session.greet(Transport::Sse, heartbeat),
        heartbeat,
        last_write: Instant::now(),
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-cache")
        // Tells nginx (and the proxies that copy it) not to buffer this response.
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(stream.into_body()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Whether the client asked for an event stream (`Accept: text/event-stream`), as every
/// `EventSource` and SSE library does.
fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.to_ascii_lowercase().contains("text/event-stream"))
}

/// The refusal an `EventSource` can act on. By the spec, any status but 200 (a 429 or a 503)
/// *fails* the connection: the browser never tries again, whatever `Retry-After` says. A 200
/// stream that says `retry:` and ends is a connection lost, which the browser retries after
/// that delay, with the same `Last-Event-ID`. The `refused` event carries the error body a
/// 429/503 would have, and `Retry-After` is there for whoever reads headers. The stream ends
/// at once, holding no place.
fn refused_stream(refused: Refused) -> Response {
    let retry_after = refused.retry_after_secs();
    let body = sse::refused(
        retry_after.saturating_mul(1_000),
        &refused.error().body().encode(),
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::RETRY_AFTER, retry_after)
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// One open SSE response.
struct EventStream {
    /// `retry:`, written at the start of the first block (the `hello`).
    opening: Option<Bytes>,
    /// Given back (limits, gauge, name) when the response is dropped.
    session: Session,
    heartbeat: Duration,
    /// What an idle stream sends: a comment, or also an event the page can see.
    style: HeartbeatStyle,
    naming: EventNaming,
    last_write: Instant,
}

impl EventStream {
    fn into_body(self) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send {
        futures_util::stream::unfold(self, |mut stream| async move {
            let frame = stream.next_frame().await?;
            stream.last_write = Instant::now();
            Some((Ok(frame), stream))
        })
    }

    /// The next bytes to write, or `None` when the stream should end.
    async fn next_frame(&mut self) -> Option<Bytes> {
        if let Some(retry) = self.opening.take() {
            // The first item is always the `hello` (queued ahead of everything).
            let hello = self.session.feed.next().await?.sse;
            let mut block = bytes::BytesMut::with_capacity(retry.len() + hello.len());
            block.extend_from_slice(&retry);
            block.extend_from_slice(&hello);
            return Some(block.freeze());
        }
        loop {
            // A frozen stream (a fault on purpose) writes nothing, not even heartbeats, but
            // still ends when told to.
            tokio::select! {
                biased;
                () = self.session.open.token.cancelled() => return None,
                () = self.session.faults.thawed() => {}
            }
            return tokio::select! {
                // Ending first: a busy stream must still end promptly.
                biased;
                () = self.session.open.token.cancelled() => None,
                // A fault began: look again before writing anything.
                () = self.session.changes.changed() => continue,
                out = self.session.outbox.next(&mut self.session.feed, &mut self.session.faults) => {
                    out.map(|out| out.sse)
                }
                () = tokio::time::sleep_until(self.last_write + self.heartbeat) => {
                    Some(match self.style {
                        HeartbeatStyle::Comment => Bytes::from(heartbeat()),
                        HeartbeatStyle::Event => super::heartbeat_event().sse_as(self.naming),
                    })
                }
            };
        }
    }
}
