//! `GET /api/sse`: the market as a Server-Sent Events stream.
//!
//! A stream opens with `retry:`, then either a `snapshot` (new client), the exact events the
//! client missed (resume by `Last-Event-ID` header or `lastEventId` query parameter), or a
//! `reset` followed by a `snapshot` (an id that cannot be continued). Then live events, and a
//! `: keep-alive` comment whenever nothing has been written for the heartbeat interval.
//! Options: `symbols=`, `types=` (see [`Filter`]) and `conflate=<ms>` (ticks are held and
//! only each symbol's latest is sent, once per interval: for slow links).
//!
//! Invariants: every event a client receives has a larger sequence number than the one
//! before it, and nothing between its start and the live stream is skipped (the snapshot is
//! taken after subscribing; live events it already includes are dropped). A client that
//! lags behind the bus backlog gets `reset` + `snapshot` rather than unbounded buffering:
//! it keeps its connection, and its page stays correct. Every stream ends itself when the
//! server shuts down.

use super::filter::Filter;
use super::{query_pairs, Resume};
use crate::server::bus::{Live, LiveReceiver, Published, ResetReason, Start};
use crate::server::driver::now_millis;
use crate::server::error::ApiError;
use crate::server::hub::{reset_event, Hub};
use crate::server::metrics::{ConnectionGuard, Metrics, Transport, TransportLabels};
use crate::server::AppState;
use crate::wire::sse::{heartbeat, Frame};
use crate::wire::EventType;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, Interval};
use tokio_util::sync::CancellationToken;

/// The content type of an event stream, with the charset the spec mandates.
pub const CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";

/// The accepted range of `conflate=`, in milliseconds.
const CONFLATE_MS: std::ops::RangeInclusive<u64> = 10..=60_000;

/// The stream's options, from the query string.
#[derive(Debug, Default)]
struct Params {
    last_event_id: Option<String>,
    filter: Filter,
    conflate: Option<Duration>,
}

impl Params {
    fn parse(query: Option<&str>, symbols: &[String]) -> Result<Params, ApiError> {
        let mut params = Params::default();
        for (name, value) in query_pairs(query)? {
            match name.as_str() {
                "lastEventId" => params.last_event_id = Some(value),
                "symbols" => params.filter.set_symbols(&value, symbols)?,
                "types" => params.filter.set_types(&value)?,
                "conflate" => params.conflate = Some(parse_conflate(&value)?),
                // Unknown parameters are ignored, like cache-busters a proxy or page adds.
                _ => {}
            }
        }
        Ok(params)
    }
}

fn parse_conflate(value: &str) -> Result<Duration, ApiError> {
    match value.parse::<u64>() {
        Ok(ms) if CONFLATE_MS.contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(ApiError::bad_param(
            "conflate",
            format!(
                "conflate must be a whole number of milliseconds from {} to {}",
                CONFLATE_MS.start(),
                CONFLATE_MS.end()
            ),
        )),
    }
}

pub async fn handler(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::parse(query.as_deref(), &app.symbols) {
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
    let metrics = app.metrics.clone();
    let subscription = app.hub.subscribe(resume.after());
    let mut stream = EventStream {
        queue: VecDeque::new(),
        live: subscription.live,
        floor: 0,
        filter: params.filter,
        conflation: params.conflate.map(Conflation::new),
        hub: app.hub.clone(),
        heartbeat: Duration::from_secs(app.config.heartbeat_secs),
        last_write: Instant::now(),
        shutdown: app.streams.token(),
        deliveries: metrics
            .deliveries
            .get_or_create(&TransportLabels::of(Transport::Sse))
            .clone(),
        _connection: metrics.connection(Transport::Sse),
        metrics: metrics.clone(),
    };
    stream.start(subscription.start, &resume, app.config.retry_ms);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-cache")
        // Tells nginx (and the proxies that copy it) not to buffer this response.
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(stream.into_body()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A frame waiting to be written.
struct Outgoing {
    bytes: Bytes,
    /// Publish time of a live event, for the latency histogram.
    live_ts: Option<u64>,
    /// Whether this frame is an event (counted as a delivery), not a comment or `retry:`.
    event: bool,
}

/// One open stream: where it is, what it filters, and what it owes the client.
struct EventStream {
    queue: VecDeque<Outgoing>,
    live: LiveReceiver,
    /// The sequence number of the newest event this stream has passed on, skipped, or
    /// included in a snapshot it sent: live events at or below it are not sent again.
    floor: u64,
    filter: Filter,
    conflation: Option<Conflation>,
    hub: Arc<Hub>,
    heartbeat: Duration,
    last_write: Instant,
    shutdown: CancellationToken,
    metrics: Arc<Metrics>,
    deliveries: Counter,
    _connection: ConnectionGuard,
}

impl EventStream {
    /// Queues what the stream starts with: `retry:`, then a snapshot, a replay, or a reset
    /// and a snapshot. The subscription was opened before this, so nothing falls between.
    fn start(&mut self, start: Start, resume: &Resume, retry_ms: u64) {
        self.push(
            Bytes::from(Frame::new().retry(retry_ms).finish()),
            None,
            false,
        );
        let start = match resume.malformed() {
            Some(reason) => Start::Reset(reason),
            None => start,
        };
        match start {
            Start::Fresh => self.push_snapshot(),
            Start::Replay(events) => {
                self.metrics
                    .resumes
                    .get_or_create(&TransportLabels::of(Transport::Sse))
                    .inc();
                self.floor = resume.after().map_or(0, |id| id.seq);
                for event in events {
                    self.floor = event.id.seq;
                    if self.filter.admits(&event) {
                        self.push(event.sse.clone(), None, true);
                    }
                }
            }
            Start::Reset(reason) => self.push_reset(reason, resume.asked().as_deref()),
        }
    }

    fn push(&mut self, bytes: Bytes, live_ts: Option<u64>, event: bool) {
        self.queue.push_back(Outgoing {
            bytes,
            live_ts,
            event,
        });
    }

    fn push_snapshot(&mut self) {
        let snapshot = self.hub.snapshot_event();
        self.floor = snapshot.id.map_or(0, |id| id.seq);
        self.push(snapshot.sse.clone(), None, true);
    }

    fn push_reset(&mut self, reason: ResetReason, asked: Option<&str>) {
        self.metrics.count_reset(Transport::Sse, reason.as_str());
        if let Some(conflation) = &mut self.conflation {
            conflation.held.clear(); // the snapshot supersedes them
        }
        self.push(reset_event(reason, asked, now_millis()).sse, None, true);
        self.push_snapshot();
    }

    /// Queues a live event, holding it instead if it is a tick on a conflated stream.
    fn take_live(&mut self, event: Arc<Published>) {
        if event.id.seq <= self.floor {
            return; // already in the snapshot this stream started with
        }
        self.floor = event.id.seq;
        if !self.filter.admits(&event) {
            return;
        }
        if let Some(conflation) = &mut self.conflation {
            if event.kind == EventType::Tick {
                conflation.hold(event);
                return;
            }
            // Anything else goes out now, after the ticks held before it, in id order.
            self.flush_held();
        }
        self.push(event.sse.clone(), Some(event.ts), true);
    }

    fn flush_held(&mut self) {
        let Some(conflation) = &mut self.conflation else {
            return;
        };
        let mut held = std::mem::take(&mut conflation.held);
        held.sort_by_key(|event| event.id.seq);
        for event in held {
            self.push(event.sse.clone(), Some(event.ts), true);
        }
    }

    fn into_body(self) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send {
        futures_util::stream::unfold(self, |mut stream| async move {
            let frame = stream.next_frame().await?;
            Some((Ok(frame), stream))
        })
    }

    /// The next bytes to write, or `None` when the stream should end.
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(out) = self.queue.pop_front() {
                self.last_write = Instant::now();
                if out.event {
                    self.deliveries.inc();
                }
                if let Some(ts) = out.live_ts {
                    let millis = now_millis().saturating_sub(ts);
                    self.metrics.latency.observe(millis as f64 / 1000.0);
                }
                return Some(out.bytes);
            }
            let holding = self.conflation.as_ref().is_some_and(|c| !c.held.is_empty());
            tokio::select! {
                // Shutdown first: a busy stream must still end promptly.
                biased;
                () = self.shutdown.cancelled() => return None,
                live = self.live.recv() => match live {
                    Live::Event(event) => self.take_live(event),
                    Live::Lagged(_) => {
                        self.metrics
                            .lagged
                            .get_or_create(&TransportLabels::of(Transport::Sse))
                            .inc();
                        self.push_reset(ResetReason::Lagged, None);
                    }
                    Live::Closed => return None,
                },
                () = tick(self.conflation.as_mut().map(|c| &mut c.timer)), if holding => {
                    self.flush_held();
                }
                () = tokio::time::sleep_until(self.last_write + self.heartbeat) => {
                    self.push(Bytes::from(heartbeat()), None, false);
                }
            }
        }
    }
}

/// Conflation: the latest tick per symbol, sent once per interval.
struct Conflation {
    timer: Interval,
    /// At most one tick per symbol.
    held: Vec<Arc<Published>>,
}

impl Conflation {
    fn new(every: Duration) -> Conflation {
        // The first flush is one interval away, not immediate.
        let mut timer = tokio::time::interval_at(Instant::now() + every, every);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Conflation {
            timer,
            held: Vec::new(),
        }
    }

    fn hold(&mut self, tick: Arc<Published>) {
        match self
            .held
            .iter_mut()
            .find(|held| held.symbols == tick.symbols)
        {
            Some(slot) => *slot = tick,
            None => self.held.push(tick),
        }
    }
}

async fn tick(timer: Option<&mut Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}
