//! `GET /api/poll?after=ID&wait=S`: the stream as a series of plain requests.
//!
//! Each answer is one JSON document (`wire::batch`): the events after `after` (at most
//! [`MAX_BATCH`]) and `next`, the id to ask from next time. With `wait=S` (at most
//! [`MAX_WAIT_SECS`]) a request with nothing new waits up to S seconds for the next event:
//! long-polling. With `wait=0` it answers at once: short-polling, the client asking on a
//! timer. Without `after`, the answer is a snapshot. The resume rules are the SSE ones: an
//! id that cannot be continued gets `reset` + `snapshot`. `symbols=` and `types=` filter
//! as on the streams. A waiting request is answered early at shutdown or disconnect.

use super::feed::{Feed, Out};
use super::filter::Filter;
use super::{query_pairs, Resume};
use crate::server::error::ApiError;
use crate::server::limits::ClientIp;
use crate::server::metrics::Transport;
use crate::server::AppState;
use crate::wire;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::time::Duration;

/// The most events in one answer; a client further behind asks again at once.
pub const MAX_BATCH: usize = 500;
/// The longest a request may wait for news.
pub const MAX_WAIT_SECS: u64 = 30;

/// A poll's query: `after`, `wait`, `symbols`, `types`.
#[derive(Debug)]
pub struct Params {
    pub after: Option<String>,
    pub wait: Duration,
    pub filter: Filter,
}

impl Params {
    pub fn parse(query: Option<&str>, symbols: &[String]) -> Result<Params, ApiError> {
        let mut params = Params {
            after: None,
            wait: Duration::ZERO,
            filter: Filter::default(),
        };
        for (name, value) in query_pairs(query)? {
            match name.as_str() {
                "after" => params.after = Some(value),
                "wait" => {
                    params.wait = match value.parse::<u64>() {
                        Ok(secs) if secs <= MAX_WAIT_SECS => Duration::from_secs(secs),
                        _ => {
                            return Err(ApiError::bad_param(
                                "wait",
                                format!("wait must be whole seconds from 0 to {MAX_WAIT_SECS}"),
                            ))
                        }
                    }
                }
                "symbols" => params.filter.set_symbols(&value, symbols)?,
                "types" => params.filter.set_types(&value)?,
                _ => {}
            }
        }
        Ok(params)
    }
}

pub async fn handler(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::parse(query.as_deref(), &app.symbols) {
        Ok(params) => params,
        Err(err) => return err.into_response(),
    };
    // A long poll holds a place like a stream while it waits; a short poll answers at once.
    let _permit = if params.wait.is_zero() {
        None
    } else {
        match app.limits.acquire(ip, Transport::Poll) {
            Ok(permit) => Some(permit),
            Err(refused) => return refused.into_response(),
        }
    };
    let _connection = app.metrics.connection(Transport::Poll);
    let open = app.streams.open();
    let resume = Resume::parse(params.after.as_deref());
    let mut feed = Feed::open(
        app.hub.clone(),
        app.metrics.clone(),
        Transport::Poll,
        &resume,
        params.filter,
        None,
    );
    let mut events = ready(&mut feed, Vec::new());
    if events.is_empty() && !params.wait.is_zero() {
        tokio::select! {
            () = open.token.cancelled() => {}
            () = tokio::time::sleep(params.wait) => {}
            out = feed.next() => {
                events.extend(out);
                events = ready(&mut feed, events);
            }
        }
    }
    // Where to ask from next: after the last event sent if the batch was cut short,
    // otherwise after everything this request has seen (including what was filtered out).
    let next = if feed.has_queued() {
        events.iter().rev().find_map(|out| out.id)
    } else {
        Some(feed.position())
    };
    let body = wire::batch::encode(events.iter().map(|out| &out.json[..]), next);
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Adds what the feed has ready without waiting, up to a full batch.
fn ready(feed: &mut Feed, mut events: Vec<Out>) -> Vec<Out> {
    while events.len() < MAX_BATCH {
        // `Feed::next` is cancel-safe: polling it once and dropping it loses nothing.
        match feed.next().now_or_never() {
            Some(Some(out)) => events.push(out),
            _ => break,
        }
    }
    events
}
