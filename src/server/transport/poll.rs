//! `GET /api/poll?after=ID&wait=S`: the stream as a series of plain requests.
//!
//! Each answer is one JSON document (`wire::batch`): the events after `after` (at most
//! [`MAX_BATCH`]) and `next`, the id to ask from next time. With `wait=S` (at most
//! [`MAX_WAIT_SECS`](super::query::MAX_WAIT_SECS)) a request with nothing new waits up to S seconds for the next event:
//! long-polling. With `wait=0` it answers at once: short-polling, the client asking on a
//! timer. Without `after`, the answer is a snapshot. The resume rules are the SSE ones: an
//! id that cannot be continued gets `reset` + `snapshot`. `symbols=` and `types=` filter
//! as on the streams. A waiting request is answered early at shutdown or disconnect.
//!
//! Faults on purpose (`--faults`) touch a poll as they touch a stream: `refuse` turns it
//! away, `drop` leaves events out of its answer, `delay` and `freeze` hold the answer.

use super::feed::{Feed, Out};
use super::query::{QueryKind, StreamOptions};
use super::{Resume, Session};
use crate::server::limits::ClientIp;
use crate::server::state::AppState;
use crate::wire::{self, Transport};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

/// The most events in one answer; a client further behind asks again at once.
pub const MAX_BATCH: usize = 500;

/// `GET /api/poll`: one batch, now or when something happens.
pub async fn handler(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    RawQuery(query): RawQuery,
) -> Response {
    let options = match StreamOptions::parse(query.as_deref(), QueryKind::Poll, &app.symbols) {
        Ok(options) => options,
        Err(err) => return err.into_response(),
    };
    if let Err(refused) = super::refuse_on_purpose(&app, Transport::Poll) {
        return refused.into_response();
    }
    let wait = options.wait;
    // A long poll holds a place like a stream while it waits; a short poll answers at once.
    let permit = if wait.is_zero() {
        None
    } else {
        match app.limits.acquire(ip, Transport::Poll) {
            Ok(permit) => Some(permit),
            Err(refused) => return refused.into_response(),
        }
    };
    let resume = Resume::parse(options.resume_from.as_deref());
    let mut session = Session::open(&app, Transport::Poll, options, &resume, permit).await;
    let feed = &mut session.feed;
    let mut events = ready(feed, Vec::new());
    if events.is_empty() && !wait.is_zero() {
        tokio::select! {
            () = session.open.token.cancelled() => {}
            () = tokio::time::sleep(wait) => {}
            out = feed.next() => {
                events.extend(out);
                events = ready(feed, events);
            }
        }
    }
    // Faults on purpose: a `drop` leaves events out (the client sees the jump in ids
    // and asks again from before it), a `delay` holds the answer, a `freeze` holds it until
    // the freeze ends; a disconnect still answers at once.
    let faults = &mut session.faults;
    // Whether the last event of the history this answer had was left out: then `next` must
    // not pass it, or the client could not tell that anything was missing.
    let mut tail_dropped = false;
    events.retain(|out| {
        if !out.in_history {
            return true;
        }
        tail_dropped = faults.drops_next();
        !tail_dropped
    });
    let delay = faults.delay();
    tokio::select! {
        biased;
        () = session.open.token.cancelled() => {}
        () = async {
            faults.thawed().await;
            tokio::time::sleep(delay).await;
        } => {}
    }
    let feed = &mut session.feed;
    // Where to ask from next: after the last event sent if the batch was cut short or ends
    // with events a fault left out, otherwise after everything this request has seen
    // (including what was filtered out).
    let next = if feed.has_queued() || tail_dropped {
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
