//! `GET /api/sse`: the market as a Server-Sent Events stream.
//!
//! A stream opens with `retry:`, then either a `snapshot` (new client), the exact events the
//! client missed (resume by `Last-Event-ID` header or `lastEventId` query parameter), or a
//! `reset` followed by a `snapshot` (an id that cannot be continued). Then live events, and a
//! `: keep-alive` comment whenever the stream has been quiet for the heartbeat interval.
//!
//! Invariants: every event a client receives has a larger sequence number than the one
//! before it, and nothing between its start and the live stream is skipped (the snapshot is
//! taken after subscribing; live events it already includes are dropped). A client that
//! lags behind the bus backlog gets `reset` + `snapshot` instead of unbounded buffering.
//! Every stream ends itself when the server shuts down.

use super::{query_pairs, Resume};
use crate::server::bus::{Live, LiveReceiver, ResetReason, Start};
use crate::server::driver::now_millis;
use crate::server::error::ApiError;
use crate::server::hub::{reset_event, Hub};
use crate::server::AppState;
use crate::wire::sse::{heartbeat, Frame};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The content type of an event stream, with the charset the spec mandates.
pub const CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";

/// The stream's options, from the query string.
#[derive(Debug, Default)]
struct Params {
    last_event_id: Option<String>,
}

impl Params {
    fn parse(query: Option<&str>) -> Result<Params, ApiError> {
        let mut params = Params::default();
        for (name, value) in query_pairs(query)? {
            // Unknown parameters are ignored, like cache-busters a proxy or page adds.
            if name == "lastEventId" {
                params.last_event_id = Some(value);
            }
        }
        Ok(params)
    }
}

pub async fn handler(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::parse(query.as_deref()) {
        Ok(params) => params,
        Err(err) => return err.into_response(),
    };
    // The header is what a browser sends when it reconnects by itself, and it is newer than
    // the `lastEventId` a page put in the URL when it first connected: it wins.
    let resume = match headers.get("last-event-id") {
        Some(value) => match value.to_str() {
            Ok(text) => Resume::parse(Some(text)),
            Err(_) => Resume::Malformed(None),
        },
        None => Resume::parse(params.last_event_id.as_deref()),
    };
    let stream = open(&app.hub, &resume, app.config.retry_ms);
    let body = EventStream {
        stream,
        hub: app.hub.clone(),
        heartbeat: Duration::from_secs(app.config.heartbeat_secs),
        shutdown: app.shutdown.clone(),
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-cache")
        // Tells nginx (and the proxies that copy it) not to buffer this response.
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(body.into_stream()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The state of one open stream.
struct Stream {
    /// Frames ready to send, in order.
    queue: VecDeque<Bytes>,
    live: LiveReceiver,
    /// The sequence number of the last event sent or included in a sent snapshot.
    floor: u64,
}

/// Subscribes and queues what the stream starts with.
fn open(hub: &Hub, resume: &Resume, retry_ms: u64) -> Stream {
    let subscription = hub.subscribe(resume.after());
    let mut stream = Stream {
        queue: VecDeque::new(),
        live: subscription.live,
        floor: 0,
    };
    stream
        .queue
        .push_back(Bytes::from(Frame::new().retry(retry_ms).finish()));
    let start = match resume.malformed() {
        Some(reason) => Start::Reset(reason),
        None => subscription.start,
    };
    match start {
        Start::Fresh => stream.push_snapshot(hub),
        Start::Replay(events) => {
            stream.floor = resume.after().map_or(0, |id| id.seq);
            for event in events {
                stream.floor = event.id.seq;
                stream.queue.push_back(event.sse.clone());
            }
        }
        Start::Reset(reason) => stream.push_reset(hub, reason, resume.asked().as_deref()),
    }
    stream
}

impl Stream {
    fn push_snapshot(&mut self, hub: &Hub) {
        let snapshot = hub.snapshot_event();
        self.floor = snapshot.id.map_or(0, |id| id.seq);
        self.queue.push_back(snapshot.sse.clone());
    }

    fn push_reset(&mut self, hub: &Hub, reason: ResetReason, asked: Option<&str>) {
        self.queue
            .push_back(reset_event(reason, asked, now_millis()).sse);
        self.push_snapshot(hub);
    }
}

/// A stream plus what it needs to keep going: the body of one SSE response.
struct EventStream {
    stream: Stream,
    hub: Arc<Hub>,
    heartbeat: Duration,
    shutdown: CancellationToken,
}

impl EventStream {
    fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send {
        futures_util::stream::unfold(self, |mut body| async move {
            let frame = body.next_frame().await?;
            Some((Ok(frame), body))
        })
    }

    /// The next bytes to send, or `None` when the stream should end.
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.stream.queue.pop_front() {
                return Some(frame);
            }
            tokio::select! {
                // Shutdown first: a busy stream must still end promptly.
                biased;
                () = self.shutdown.cancelled() => return None,
                live = self.stream.live.recv() => match live {
                    Live::Event(event) => {
                        if event.id.seq > self.stream.floor {
                            self.stream.floor = event.id.seq;
                            return Some(event.sse.clone());
                        }
                        // Already included in the snapshot this stream started with.
                    }
                    Live::Lagged(_) => {
                        self.stream.push_reset(&self.hub, ResetReason::Lagged, None);
                    }
                    Live::Closed => return None,
                },
                () = tokio::time::sleep(self.heartbeat) => {
                    return Some(Bytes::from(heartbeat()));
                }
            }
        }
    }
}
