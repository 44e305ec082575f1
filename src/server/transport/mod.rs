//! The transports: each one carries the hub's events to clients in its own way, sharing the
//! bytes the hub encoded. They differ only in framing and in how a client says where to
//! resume; the rules for resuming are the same everywhere and live here.

pub mod diagnostic;
pub mod feed;
pub mod filter;
pub mod poll;
pub mod sse;
pub mod ws;

use super::bus::ResetReason;
use super::error::ApiError;
use super::limits::StreamPermit;
use super::metrics::{ConnectionGuard, Transport};
use super::shutdown::OpenStream;
use super::AppState;
use crate::wire::EventId;
use axum::routing::{delete, get};
use axum::Router;

/// Every streaming endpoint, and the lab's way to have the server drop one connection.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sse", get(sse::handler))
        .route("/api/ws", get(ws::handler))
        .route("/api/poll", get(poll::handler))
        .route("/api/connections/{id}", delete(drop_connection))
        .route("/.sse", get(diagnostic::handler))
}

/// The longest query string a stream accepts.
const MAX_QUERY_LEN: usize = 2_048;

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

/// The accepted range of `conflate=`, in milliseconds.
const CONFLATE_MS: std::ops::RangeInclusive<u64> = 10..=60_000;

/// A stream's options from its query string: `lastEventId`, `symbols`, `types`,
/// `conflate` (SSE and WebSocket alike).
#[derive(Debug, Default)]
pub struct StreamOptions {
    pub last_event_id: Option<String>,
    pub filter: filter::Filter,
    pub conflate: Option<std::time::Duration>,
}

impl StreamOptions {
    pub fn parse(query: Option<&str>, symbols: &[String]) -> Result<StreamOptions, ApiError> {
        let mut options = StreamOptions::default();
        for (name, value) in query_pairs(query)? {
            match name.as_str() {
                "lastEventId" => options.last_event_id = Some(value),
                "symbols" => options.filter.set_symbols(&value, symbols)?,
                "types" => options.filter.set_types(&value)?,
                "conflate" => options.conflate = Some(parse_conflate(&value)?),
                // Unknown parameters are ignored, like cache-busters a proxy or page adds.
                _ => {}
            }
        }
        Ok(options)
    }

    /// Where to resume: the `Last-Event-ID` header (what a browser sends when it
    /// reconnects by itself, newer than the id a page put in the URL) wins over the query.
    pub fn resume(&self, headers: &axum::http::HeaderMap) -> Resume {
        match headers.get("last-event-id") {
            Some(value) => match value.to_str() {
                Ok(text) => Resume::parse(Some(text)),
                Err(_) => Resume::Malformed(None),
            },
            None => Resume::parse(self.last_event_id.as_deref()),
        }
    }
}

fn parse_conflate(value: &str) -> Result<std::time::Duration, ApiError> {
    match value.parse::<u64>() {
        Ok(ms) if CONFLATE_MS.contains(&ms) => Ok(std::time::Duration::from_millis(ms)),
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

/// A stream request that passed the checks every stream passes before it opens: a valid
/// query string, then room within the limits (refused with 429/503 otherwise).
pub struct Admitted {
    pub options: StreamOptions,
    pub resume: Resume,
    pub permit: StreamPermit,
}

impl Admitted {
    // The refusal is the ready response, built once per refused request: no need to box it.
    #[allow(clippy::result_large_err)]
    pub fn check(
        app: &AppState,
        ip: Option<std::net::IpAddr>,
        transport: Transport,
        query: Option<&str>,
        headers: &axum::http::HeaderMap,
    ) -> Result<Admitted, axum::response::Response> {
        use axum::response::IntoResponse;
        let options =
            StreamOptions::parse(query, &app.symbols).map_err(IntoResponse::into_response)?;
        let permit = app
            .limits
            .acquire(ip, transport)
            .map_err(IntoResponse::into_response)?;
        let resume = options.resume(headers);
        Ok(Admitted {
            options,
            resume,
            permit,
        })
    }
}

/// What every streaming connection holds while it is open: its name and the token that
/// ends it, its place in the limits and in the open-connections gauge, and its feed, which
/// starts with the `hello` event naming the connection. Dropping it gives all of that back.
pub struct Session {
    pub open: OpenStream,
    pub feed: feed::Feed,
    _connection: ConnectionGuard,
    _permit: StreamPermit,
}

impl Session {
    pub fn start(
        app: &AppState,
        transport: Transport,
        options: StreamOptions,
        resume: &Resume,
        permit: StreamPermit,
    ) -> Session {
        let open = app.streams.open();
        let mut feed = feed::Feed::open(
            app.hub.clone(),
            app.metrics.clone(),
            transport,
            resume,
            options.filter,
            options.conflate,
        );
        let payload = crate::wire::Payload::Hello(crate::wire::Hello {
            connection: open.name.clone(),
            transport: transport.as_str().to_owned(),
        });
        let hello = crate::server::hub::encode(None, crate::server::driver::now_millis(), &payload);
        feed.push_front(hello.sse, hello.json);
        Session {
            open,
            feed,
            _connection: app.metrics.connection(transport),
            _permit: permit,
        }
    }
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

/// Splits a query string into decoded pairs, refusing what cannot be a sane request.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    if query.len() > MAX_QUERY_LEN {
        return Err(ApiError::bad_param(
            "query",
            format!("the query string is longer than {MAX_QUERY_LEN} bytes"),
        ));
    }
    serde_urlencoded::from_str(query).map_err(|err| {
        ApiError::bad_param("query", format!("the query string is not valid: {err}"))
    })
}
