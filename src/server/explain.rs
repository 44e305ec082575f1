//! `POST /api/explain` `{"symbol": "NOVA"}`: a finite event stream — the [`analyst`] note
//! about one symbol, a word at a time (`token` events, every `--explain-token-ms`), then
//! `done` and the end of the response. The chat-assistant use of SSE the first seed article
//! describes, and the reason a page reads SSE with `fetch`: this is a `POST`.
//!
//! Bounded every way: one answer per client address at a time (a second gets `429`), at
//! most [`MAX_TOKENS`] words, at most [`TIMEOUT`] in all (then an `error` event and the end),
//! and it counts as a stream within `--max-streams`. When the client goes away (closes the
//! tab, presses Cancel) the response is dropped, and with it the rest of the note: nothing
//! more is written or computed. At shutdown the answer ends with an `error` event.

use super::analyst;
use super::body::read_json;
use super::error::ApiError;
use super::limits::ClientIp;
use super::state::AppState;
use crate::wire::error::{ErrorBody, ErrorDetail};
use crate::wire::explain::{
    Done, ExplainRequest, Token, DONE_EVENT, ERROR_EVENT, SYMBOL_FIELD, TOKEN_EVENT,
};
use crate::wire::sse::Frame;
use crate::wire::{ErrorCode, Transport};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::Instant;

/// The largest request body.
const MAX_BODY: usize = 1024;
/// The most words one answer sends.
pub const MAX_TOKENS: usize = 400;
/// The longest an answer may take, however slow its pace.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// `POST /api/explain`: checks the request, then streams the note.
pub async fn handler(State(app): State<AppState>, ClientIp(ip): ClientIp, body: Body) -> Response {
    match start(&app, ip, body).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn start(
    app: &AppState,
    ip: Option<std::net::IpAddr>,
    body: Body,
) -> Result<Response, ApiError> {
    let request: ExplainRequest = read_json(body, MAX_BODY).await?;
    let symbol = request.symbol.trim().to_ascii_uppercase();
    if !app.symbols.contains(&symbol) {
        return Err(ApiError::bad_param(
            SYMBOL_FIELD,
            format!(
                "unknown symbol {:?}; this market has {}",
                request.symbol,
                app.symbols.join(",")
            ),
        ));
    }
    let slot = app.answers.acquire(ip).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyStreams,
            "an answer for this client is still running: cancel it or wait for it to finish",
        )
    })?;
    let permit = app
        .limits
        .acquire(ip, Transport::Explain)
        .map_err(super::limits::Refused::error)?;
    let note = analyst::note(&app.hub.snapshot(), &symbol).unwrap_or_default();
    let words: Vec<String> = analyst::tokens(&note)
        .take(MAX_TOKENS)
        .map(str::to_owned)
        .collect();
    let answer = Answer {
        words: words.into_iter(),
        sent: 0,
        pace: Duration::from_millis(app.config.explain_token_ms),
        deadline: Instant::now() + TIMEOUT,
        shutdown: app.streams.token(),
        finished: false,
        // Held while the answer streams: dropped with it, however it ends.
        _held: (slot, permit, app.metrics.connection(Transport::Explain)),
    };
    let stream = futures_util::stream::unfold(answer, |mut answer| async move {
        let frame = answer.next().await?;
        Some((Ok::<_, Infallible>(Bytes::from(frame)), answer))
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, super::transport::sse::CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

/// One answer being written.
struct Answer {
    words: std::vec::IntoIter<String>,
    sent: u64,
    pace: Duration,
    deadline: Instant,
    shutdown: tokio_util::sync::CancellationToken,
    finished: bool,
    _held: (
        super::limits::AnswerSlot,
        super::limits::StreamPermit,
        super::metrics::ConnectionGuard,
    ),
}

impl Answer {
    /// The next frame: a word, then `done`; or an `error` if the answer cannot go on.
    async fn next(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        if self.sent > 0 {
            tokio::select! {
                () = self.shutdown.cancelled() => {
                    return self.fail(ErrorCode::ShuttingDown, "the server is stopping");
                }
                () = tokio::time::sleep_until(self.deadline) => {
                    return self.fail(ErrorCode::ServerBusy, "the answer took too long");
                }
                () = tokio::time::sleep(self.pace) => {}
            }
        }
        let Some(text) = self.words.next() else {
            self.finished = true;
            let done = Done { tokens: self.sent };
            return Some(event(DONE_EVENT, &done));
        };
        self.sent += 1;
        Some(event(TOKEN_EVENT, &Token { text }))
    }

    fn fail(&mut self, code: ErrorCode, message: &str) -> Option<String> {
        self.finished = true;
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: message.to_owned(),
                param: None,
            },
        };
        Some(
            Frame::new()
                .event_name(ERROR_EVENT)
                .data(&body.encode())
                .finish(),
        )
    }
}

fn event(name: &'static str, data: &impl serde::Serialize) -> String {
    // Small structs of strings and numbers: serde_json cannot fail on them.
    let json = serde_json::to_string(data).unwrap_or_default();
    Frame::new().event_name(name).data(&json).finish()
}
