//! What one client, and all clients together, may hold: streams and request bodies.
//!
//! Streams (SSE, WebSocket, long-poll, the diagnostic stream) are admitted by
//! [`StreamLimits`]: at most `--max-streams` at once overall and `--max-streams-per-ip` from one
//! address. A stream holds a [`StreamPermit`] for as long as it is open, and dropping the
//! permit (however the stream ends) gives the place back. A refused stream gets `429` (its
//! address holds too many) or `503` (the server is full), a JSON [`ApiError`] and
//! `Retry-After`, before any upgrade or streaming starts — except a browser's `EventSource`,
//! which would give up for good on any status but 200: it is refused in its own language
//! ([`sse`](super::transport::sse)). Short polls (`wait=0`) answer at
//! once and are not counted.
//!
//! Request bodies are capped by [`limit_body`] for every route, so a route that forgets its
//! own cap still cannot be made to buffer without bound. And a client gets one streamed
//! answer (`POST /api/explain`) at a time ([`AnswerSlots`]).
//!
//! Invariant: the counts equal the permits alive, and an address with no permit has no
//! entry, so the map stays as small as the set of connected addresses.

use super::error::ApiError;
use super::metrics::Metrics;
use crate::wire::{ErrorCode, Transport};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

/// How long a refused client is asked to wait before trying again, in seconds: long enough
/// to let a crowd of reconnecting clients spread out, short enough that a page recovers
/// before its user gives up.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The address of the client at the other end of the TCP connection, when the server knows
/// it (it always does when served by [`super::listen`]; in-process `oneshot` tests do not).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientIp, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            // An IPv4 client on a dual-stack socket is one client, however it is spelled.
            .map(|ConnectInfo(addr)| addr.ip().to_canonical());
        Ok(ClientIp(ip))
    }
}

/// The open-stream counts, overall and per address.
pub struct StreamLimits {
    max_total: u64,
    max_per_ip: u64,
    counts: Mutex<Counts>,
    metrics: Arc<Metrics>,
}

#[derive(Default)]
struct Counts {
    total: u64,
    per_ip: HashMap<IpAddr, u64>,
}

/// Why a stream was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// This address holds `--max-streams-per-ip` streams already.
    PerIp,
    /// The server holds `--max-streams` streams already.
    Overall,
    /// A `refuse` fault is in force (`--faults`), for this many more seconds.
    Fault {
        /// Seconds until it ends, rounded up.
        secs_left: u64,
    },
}

impl Refused {
    /// The `reason` label of the refused-streams metric.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::PerIp => "per_ip",
            Refused::Overall => "overall",
            Refused::Fault { .. } => "fault",
        }
    }

    /// A `refuse` fault with `left` to go.
    pub fn on_purpose(left: std::time::Duration) -> Refused {
        Refused::Fault {
            secs_left: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        }
    }

    /// How long the client is asked to wait before trying again, in seconds.
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refused::PerIp | Refused::Overall => RETRY_AFTER_SECS,
            Refused::Fault { secs_left } => secs_left.max(1),
        }
    }
}

impl StreamLimits {
    /// Limits of `max_total` streams in all and `max_per_ip` from one address.
    pub fn new(max_total: u64, max_per_ip: u64, metrics: Arc<Metrics>) -> StreamLimits {
        StreamLimits {
            max_total,
            max_per_ip,
            counts: Mutex::new(Counts::default()),
            metrics,
        }
    }

    /// Admits one more stream from `ip`, or says why not (and counts the refusal).
    pub fn acquire(
        self: &Arc<Self>,
        ip: Option<IpAddr>,
        transport: Transport,
    ) -> Result<StreamPermit, Refused> {
        let outcome = self.try_acquire(ip);
        if let Err(refused) = outcome {
            self.metrics.count_refused(transport, refused.as_str());
        }
        outcome.map(|()| StreamPermit {
            limits: self.clone(),
            ip,
        })
    }

    fn try_acquire(&self, ip: Option<IpAddr>) -> Result<(), Refused> {
        let mut counts = self.lock();
        // The per-address check first: a client over its own share should be told so (429,
        // "slow down") rather than that the server is full (503).
        if let Some(ip) = ip {
            if counts.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip {
                return Err(Refused::PerIp);
            }
        }
        if counts.total >= self.max_total {
            return Err(Refused::Overall);
        }
        counts.total += 1;
        if let Some(ip) = ip {
            *counts.per_ip.entry(ip).or_insert(0) += 1;
        }
        Ok(())
    }

    /// Streams open now (for tests and the soak).
    pub fn open(&self) -> u64 {
        self.lock().total
    }

    /// Addresses holding at least one stream now.
    pub fn addresses(&self) -> usize {
        self.lock().per_ip.len()
    }

    fn release(&self, ip: Option<IpAddr>) {
        let mut counts = self.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(ip) = ip {
            if let Some(count) = counts.per_ip.get_mut(&ip) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.per_ip.remove(&ip);
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Every update is a few integer operations: a poisoned lock holds consistent counts.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One admitted stream's place; dropping it gives the place back.
pub struct StreamPermit {
    limits: Arc<StreamLimits>,
    ip: Option<IpAddr>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        self.limits.release(self.ip);
    }
}

impl Refused {
    /// What the refused client is told.
    pub fn error(self) -> ApiError {
        match self {
            Refused::PerIp => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyStreams,
                "this address has too many streams open; close one or retry later \
                 (the server's --max-streams-per-ip)",
            ),
            Refused::Overall => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServerBusy,
                "the server has as many streams open as it allows; retry later \
                 (the server's --max-streams)",
            ),
            Refused::Fault { secs_left } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::RefusedOnPurpose,
                format!(
                    "refused on purpose: a refuse fault is in force for {secs_left} s more \
                     (POST /api/admin/faults); retry after it"
                ),
            ),
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = self.error().into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_secs()),
        );
        response
    }
}

/// The largest request body any route accepts (`--max-body-bytes`): the state of
/// [`limit_body`].
#[derive(Clone, Copy, Debug)]
pub struct MaxBody(pub u64);

/// One streamed answer at a time per client address: a second one while the first runs is
/// refused, so a page cannot start a hundred. The slot is held by an [`AnswerSlot`] and
/// given back however the answer ends (done, cancelled, failed).
#[derive(Debug, Default)]
pub struct AnswerSlots {
    busy: Mutex<std::collections::HashSet<Option<IpAddr>>>,
}

impl AnswerSlots {
    /// No answer running.
    pub fn new() -> AnswerSlots {
        AnswerSlots::default()
    }

    /// Takes the slot of `ip`, or `None` if an answer for it is running.
    pub fn acquire(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<AnswerSlot> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.insert(ip).then(|| AnswerSlot {
            slots: self.clone(),
            ip,
        })
    }
}

/// A running answer's slot; dropping it gives the slot back.
pub struct AnswerSlot {
    slots: Arc<AnswerSlots>,
    ip: Option<IpAddr>,
}

impl Drop for AnswerSlot {
    fn drop(&mut self) {
        let mut busy = self.slots.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.remove(&self.ip);
    }
}

/// Caps every request body at `--max-body-bytes`: a declared length over the cap is refused
/// at once with `413`, and a body without a declared length (chunked) is cut off at the cap
/// while it is read, so no handler can be made to buffer more.
pub async fn limit_body(
    State(MaxBody(cap)): State<MaxBody>,
    request: Request,
    next: Next,
) -> Response {
    let max = usize::try_from(cap).unwrap_or(usize::MAX);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared.is_some_and(|length| length > cap) {
        return too_large(max).into_response();
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, max));
    next.run(Request::from_parts(parts, body)).await
}

/// The `413` of a body over the cap.
pub fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::TooLarge,
        format!("the request body is larger than {max} bytes"),
    )
    .at(crate::wire::error::param::BODY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address_and_overall_and_gives_places_back() {
        let limits = Arc::new(StreamLimits::new(3, 2, Arc::new(Metrics::new())));
        let a: IpAddr = "127.0.0.2".parse().expect("ip");
        let b: IpAddr = "127.0.0.3".parse().expect("ip");
        let first = limits.acquire(Some(a), Transport::Sse).expect("room");
        let second = limits.acquire(Some(a), Transport::Ws).expect("room");
        assert_eq!(
            limits.acquire(Some(a), Transport::Sse).err(),
            Some(Refused::PerIp)
        );
        let third = limits.acquire(Some(b), Transport::Poll).expect("room");
        assert_eq!(
            limits.acquire(Some(b), Transport::Sse).err(),
            Some(Refused::Overall)
        );
        assert_eq!(
            limits.acquire(None, Transport::Sse).err(),
            Some(Refused::Overall)
        );
        drop(first);
        let again = limits
            .acquire(Some(a), Transport::Sse)
            .expect("a place came back");
        drop((second, third, again));
        assert_eq!(limits.open(), 0);
        assert_eq!(limits.addresses(), 0, "no entry outlives its permits");
    }
}
