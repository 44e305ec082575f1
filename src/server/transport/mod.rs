//! The transports: each one carries the hub's events to clients in its own way, sharing the
//! bytes the hub encoded. They differ only in framing and in how a client says where to
//! resume; what they share lives here and in the files beside it:
//!
//! | file | what |
//! |---|---|
//! | [`query`] | the query string of a stream or a poll, read once for all |
//! | [`filter`] | `symbols=` and `types=` |
//! | [`feed`] | one client's view of the stream: start, replay, reset, lag, conflation |
//! | this file | [`Resume`] (where a client asked to resume), [`Admitted`] (the checks before a stream opens), [`Session`] (what a connection holds while it is open) |
//! | [`sse`], [`ws`], [`poll`], [`diagnostic`] | the endpoints |

pub mod diagnostic;
pub mod feed;
pub mod filter;
pub mod poll;
pub mod query;
pub mod sse;
pub mod ws;

use super::clock::now_millis;
use super::error::ApiError;
use super::faults::{FaultChanges, FaultWatch};
use super::hub;
use super::limits::{Refused, StreamPermit};
use super::metrics::ConnectionGuard;
use super::shutdown::OpenStream;
use super::state::AppState;
use crate::wire::http::{self, LAST_EVENT_ID_HEADER};
use crate::wire::{EventId, Heartbeat, Hello, Payload, ResetReason, Transport};
use axum::routing::{delete, get};
use axum::Router;
use query::{QueryKind, StreamOptions};

/// Every streaming endpoint, and the lab's way to have the server drop one connection.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(http::SSE_PATH, get(sse::handler))
        .route(http::WS_PATH, get(ws::handler))
        .route(http::POLL_PATH, get(poll::handler))
        .route(
            &format!("{}/{{name}}", http::CONNECTIONS_PATH),
            delete(drop_connection),
        )
        .route(http::DIAGNOSTIC_PATH, get(diagnostic::handler))
}

/// Where a client asked to resume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// No id: a new client, which gets a snapshot.
    Fresh,
    /// A well-formed id, to be looked up in the history.
    After(EventId),
    /// Something that is not an id (kept, if printable, to echo back in the `reset`).
    Malformed(Option<String>),
}

impl Resume {
    /// Reads an id as a client sent it.
    pub fn parse(text: Option<&str>) -> Resume {
        match text {
            None => Resume::Fresh,
            // An empty Last-Event-ID is what a browser sends when no event had an id yet.
            Some("") => Resume::Fresh,
            Some(text) => match text.parse() {
                Ok(id) => Resume::After(id),
                Err(_) => Resume::Malformed(Some(text.to_owned())),
            },
        }
    }

    /// Where a stream resumes: the `Last-Event-ID` header (what a browser sends when it
    /// reconnects by itself, newer than the id a page put in the URL) wins over the query.
    pub fn of_stream(headers: &axum::http::HeaderMap, options: &StreamOptions) -> Resume {
        match headers.get(LAST_EVENT_ID_HEADER) {
            Some(value) => match value.to_str() {
                Ok(text) => Resume::parse(Some(text)),
                Err(_) => Resume::Malformed(None),
            },
            None => Resume::parse(options.resume_from.as_deref()),
        }
    }

    /// The id to continue after, if it is one.
    pub fn after(&self) -> Option<EventId> {
        match self {
            Resume::After(id) => Some(*id),
            Resume::Fresh | Resume::Malformed(_) => None,
        }
    }

    /// The reset a malformed id earns before the bus is even asked.
    pub fn malformed(&self) -> Option<ResetReason> {
        matches!(self, Resume::Malformed(_)).then_some(ResetReason::MalformedId)
    }

    /// The id as the client sent it, for the `reset` event.
    pub fn asked(&self) -> Option<String> {
        match self {
            Resume::Fresh => None,
            Resume::After(id) => Some(id.to_string()),
            Resume::Malformed(text) => text.clone(),
        }
    }
}

/// How long a connection that resumes from an id this instance has not seen yet waits for
/// it, when the market runs elsewhere (`--bus redis://…`).
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(2);

/// Before a connection opens: with a market shared through Redis, an id this instance has
/// not seen yet is most likely one it is about to receive — the client came from an
/// instance a few milliseconds ahead (a long-poll lands on another instance at every
/// request) — so wait for it a moment, rather than reset a client that lost nothing. An id
/// still unseen after [`CATCH_UP`] gets its `reset` as before.
async fn catch_up(app: &AppState, resume: &Resume) {
    let (Some(id), Some(_shared)) = (resume.after(), app.link.as_ref()) else {
        return;
    };
    app.hub.until_seen(id, CATCH_UP).await;
}

/// A stream request that passed the checks every stream passes before it opens: a valid
/// query string, then room within the limits (refused with 429/503 otherwise).
pub struct Admitted {
    /// What the query asked for.
    pub options: StreamOptions,
    /// Where to resume (header or query).
    pub resume: Resume,
    /// Its place within the limits.
    pub permit: StreamPermit,
}

/// Why a stream request was not admitted.
pub enum NotAdmitted {
    /// Its query string is not valid (`400`).
    Invalid(ApiError),
    /// There is no room for it within the limits (`429`/`503`, or how SSE says it).
    Full(Refused),
}

impl axum::response::IntoResponse for NotAdmitted {
    fn into_response(self) -> axum::response::Response {
        match self {
            NotAdmitted::Invalid(error) => error.into_response(),
            NotAdmitted::Full(refused) => refused.into_response(),
        }
    }
}

impl Admitted {
    /// Checks a stream request (SSE or WebSocket).
    pub fn check(
        app: &AppState,
        ip: Option<std::net::IpAddr>,
        transport: Transport,
        query: Option<&str>,
        headers: &axum::http::HeaderMap,
    ) -> Result<Admitted, NotAdmitted> {
        let options = StreamOptions::parse(query, QueryKind::Stream, &app.symbols)
            .map_err(NotAdmitted::Invalid)?;
        refuse_on_purpose(app, transport).map_err(NotAdmitted::Full)?;
        let permit = app
            .limits
            .acquire(ip, transport)
            .map_err(NotAdmitted::Full)?;
        let resume = Resume::of_stream(headers, &options);
        Ok(Admitted {
            options,
            resume,
            permit,
        })
    }
}

/// Turns a new request away while a `refuse` fault is in force for its transport (counted
/// with the refusals of the limits, as `reason="fault"`).
pub fn refuse_on_purpose(app: &AppState, transport: Transport) -> Result<(), Refused> {
    match app.faults.refusing(transport) {
        None => Ok(()),
        Some(left) => {
            let refused = Refused::on_purpose(left);
            app.metrics.count_refused(transport, refused.as_str());
            Err(refused)
        }
    }
}

/// What every connection holds while it is open — a stream, or a poll while it waits: its
/// name and the token that ends it, its place in the limits (a short poll takes none) and
/// in the open-connections gauge, its feed, and the faults it obeys. Dropping it gives all
/// of that back.
pub struct Session {
    /// Its name, and the token that ends it (shutdown, disconnect, the lab's drop).
    pub open: OpenStream,
    /// What it is sent.
    pub feed: feed::Feed,
    /// Faults on purpose that touch it (`--faults`).
    pub faults: FaultWatch,
    /// When those faults change.
    pub changes: FaultChanges,
    /// What a `delay` fault holds back.
    pub outbox: Outbox,
    _connection: ConnectionGuard,
    _permit: Option<StreamPermit>,
}

impl Session {
    /// Opens a feed for one client, starting from `resume` (once this instance has the
    /// event it names, for a moment, see [`catch_up`]).
    pub async fn open(
        app: &AppState,
        transport: Transport,
        options: StreamOptions,
        resume: &Resume,
        permit: Option<StreamPermit>,
    ) -> Session {
        catch_up(app, resume).await;
        let feed = feed::Feed::open(
            app.hub.clone(),
            app.metrics.clone(),
            transport,
            resume,
            options,
        );
        let open = app.streams.open();
        let faults = app.faults.watch(&open.name, transport);
        Session {
            changes: faults.changes(),
            faults,
            open,
            feed,
            outbox: Outbox::default(),
            _connection: app.metrics.connection(transport),
            _permit: permit,
        }
    }

    /// Queues the `hello` that names this connection, and tells how long it may stay
    /// silent, before everything else: the first event of every stream (a poll has no
    /// connection to name).
    pub fn greet(mut self, transport: Transport, heartbeat: std::time::Duration) -> Session {
        let payload = Payload::Hello(Hello {
            connection: self.open.name.clone(),
            transport,
            heartbeat_ms: u64::try_from(heartbeat.as_millis()).unwrap_or(u64::MAX),
        });
        let hello = hub::encode(None, now_millis(), &payload);
        self.feed.push_front(&hello);
        self
    }
}

/// The events a connection has taken from its feed but not yet sent: those a `delay` fault
/// holds back, each with the moment it is due.
#[derive(Default)]
pub struct Outbox {
    held: std::collections::VecDeque<(tokio::time::Instant, feed::Out)>,
}

impl Outbox {
    /// The next event to send, when it is due: what `feed` gives, less the events a `drop`
    /// fault skips, each held back as long as a `delay` fault says (in order: an
    /// event never overtakes one held before it). `None` when the feed has ended.
    ///
    /// Cancel-safe, like [`feed::Feed::next`]: an event taken from the feed is held here
    /// before anything else is awaited. (It takes the session's parts rather than the
    /// session, so that a connection can race it against the session's other parts.)
    pub async fn next(
        &mut self,
        feed: &mut feed::Feed,
        faults: &mut FaultWatch,
    ) -> Option<feed::Out> {
        loop {
            let now = tokio::time::Instant::now();
            if self.held.front().is_some_and(|(due, _)| *due <= now) {
                return self.held.pop_front().map(|(_, out)| out);
            }
            let next_due = self.held.front().map(|(due, _)| *due);
            tokio::select! {
                out = feed.next() => {
                    let out = out?;
                    if out.in_history && faults.drops_next() {
                        continue; // lost on purpose: the client sees the jump in ids
                    }
                    let delay = faults.delay();
                    if delay.is_zero() && self.held.is_empty() {
                        return Some(out);
                    }
                    self.held.push_back((tokio::time::Instant::now() + delay, out));
                }
                () = sleep_until_due(next_due) => {}
            }
        }
    }
}

/// Sleeps until `due`; forever without one.
async fn sleep_until_due(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// A `heartbeat` event, for streams whose client asked to see heartbeats
/// (`?heartbeat=event`). Outside the history: no id.
pub fn heartbeat_event() -> hub::Encoded {
    hub::encode(None, now_millis(), &Payload::Heartbeat(Heartbeat {}))
}

/// `DELETE /api/connections/{name}`: the server drops that one streaming connection (the
/// lab's "server drop" button). Its client reconnects and resumes as after any drop.
async fn drop_connection(
    axum::extract::State(app): axum::extract::State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if app.streams.end(&name) {
        axum::http::StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::not_found("no open connection has that name").into_response()
    }
}
