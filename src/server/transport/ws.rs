//! `GET /api/ws`: the same stream over a WebSocket, for comparison with SSE.
//!
//! The server sends the very envelopes SSE sends (the shared JSON bytes, as text frames):
//! a `hello`, then a `snapshot`, a replay, or a `reset` + `snapshot` (the query takes
//! `lastEventId`, `symbols`, `types`, `conflate` exactly as `/api/sse` does), then live
//! events. The client may send the [`ClientMessage`]s of `wire::control`: `subscribe` /
//! `unsubscribe`, `resume`, `ping`. The server pings at the protocol level every heartbeat
//! interval, so dead peers and idle proxies are noticed; with `heartbeat=event` it also sends
//! a `heartbeat` envelope then, which the page's script can see (pings it cannot).
//!
//! A handshake from a page of another site is refused before the upgrade
//! ([`origin`](crate::server::origin)).
//!
//! Invariant: nothing a client sends can crash or stall the server. A message that is not
//! a valid command gets an `error` message and the connection stays open; one larger than
//! [`MAX_CLIENT_MESSAGE`] closes it with code 1009; a client that stops reading lags behind
//! the bus backlog and gets `reset` + `snapshot` once it reads again, like an SSE client, or
//! is closed when a write makes no progress for `--write-timeout-secs`; and a disconnect or
//! a shutdown reaches it even while its socket is full (every write is raced against the
//! connection's end).

use super::feed::Feed;
use super::query::StreamOptions;
use super::{Admitted, Resume, Session};
use crate::server::limits::{ClientIp, StreamPermit};
use crate::server::origin;
use crate::server::state::AppState;
use crate::wire::control::{
    ClientMessage, ControlError, ServerMessage, CLOSE_TOO_BIG, MAX_CLIENT_MESSAGE,
};
use crate::wire::{HeartbeatStyle, Transport};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::time::Duration;

/// What tungstenite itself will read before giving up on a message; our own, smaller limit
/// is checked on what gets through, so the close code is ours to choose.
const READ_LIMIT: usize = 64 * 1024;

/// tungstenite's read buffer, allocated up front for every connection: its 128 KiB default
/// made an idle WebSocket cost ~120 KiB of server memory (`make bench`). Clients send
/// small commands, and a larger message still arrives (the buffer grows up to READ_LIMIT).
const READ_BUFFER: usize = 4 * 1024;

/// Close code: the server is going away or dropping the connection (RFC 6455).
const CLOSE_GOING_AWAY: u16 = 1001;

/// The most events written together in one flush.
const MAX_BATCH: usize = 64;

/// How long the close frame may wait for room in a peer's socket before the connection is
/// simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// `GET /api/ws`: admits the stream, then upgrades.
pub async fn handler(
    upgrade: WebSocketUpgrade,
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // Checked before the upgrade, so a refusal is a plain HTTP answer a client can read.
    if let Err(refused) = origin::check_websocket(&headers, &app.config.cors_origins) {
        return refused.into_response();
    }
    let Admitted {
        options,
        resume,
        permit,
    } = match Admitted::check(&app, ip, Transport::Ws, query.as_deref(), &headers) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(),
    };
    upgrade
        .max_message_size(READ_LIMIT)
        .max_frame_size(READ_LIMIT)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| session(socket, app, options, resume, permit))
}

async fn session(
    socket: WebSocket,
    app: AppState,
    options: StreamOptions,
    resume: Resume,
    permit: StreamPermit,
) {
    let every = Duration::from_secs(app.config.heartbeat_secs);
    let visible_heartbeats = options.heartbeat == HeartbeatStyle::Event;
    // Held to the end of the function: it keeps the permit, the gauge and the name.
    let mut session = Session::open(&app, Transport::Ws, options, &resume, Some(permit))
        .await
        .greet(Transport::Ws, every);
    let (mut sink, mut source) = socket.split();
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + every, every);

    let close = loop {
        // A frozen connection (a fault on purpose) neither writes nor reads, but still
        // ends when told to.
        tokio::select! {
            biased;
            () = session.open.token.cancelled() => {
                break Some((CLOSE_GOING_AWAY, "the server dropped this connection"));
            }
            () = session.faults.thawed() => {}
        }
        tokio::select! {
            biased;
            () = session.open.token.cancelled() => {
                break Some((CLOSE_GOING_AWAY, "the server dropped this connection"));
            }
            // A fault began: look again before writing anything.
            () = session.changes.changed() => continue,
            incoming = source.next() => match incoming {
                None | Some(Ok(Message::Close(_))) => break None,
                Some(Err(err)) => {
                    // tungstenite refused a message over READ_LIMIT (or a broken frame).
                    tracing::debug!("websocket read failed: {err}");
                    break Some((CLOSE_TOO_BIG, "message too big"));
                }
                Some(Ok(Message::Text(text))) => {
                    if text.len() > MAX_CLIENT_MESSAGE {
                        break Some((CLOSE_TOO_BIG, "message too big"));
                    }
                    if let Some(reply) = obey(&text, &mut session.feed, &app.symbols) {
                        if !send(&mut sink, &session.open.token, Message::Text(reply.encode().into())).await {
                            break None;
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = error(ControlError::Unsupported, "send commands as JSON text messages");
                    if !send(&mut sink, &session.open.token, Message::Text(reply.encode().into())).await {
                        break None;
                    }
                }
                // tungstenite answers pings by itself; pongs need nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            },
            out = session.outbox.next(&mut session.feed, &mut session.faults) => {
                let Some(out) = out else { break Some((CLOSE_GOING_AWAY, "the server is stopping")) };
                // What else is ready goes out with it, in one write: at fan-out the write per
                // message, not the framing, is the cost. (A backlog still waits on the socket
                // as before: the batch is only what was already there.)
                let (outbox, feed, faults) = (&mut session.outbox, &mut session.feed, &mut session.faults);
                let write = async {
                    let mut next = Some(out);
                    let mut batched = 0;
                    while let Some(out) = next.take() {
                        if let Some(message) = text_of(out) {
                            sink.feed(message).await?;
                        }
                        batched += 1;
                        if batched < MAX_BATCH {
                            next = outbox.next(feed, faults).now_or_never().flatten();
                        }
                    }
                    sink.flush().await
                };
                let written = tokio::select! {
                    biased;
                    () = session.open.token.cancelled() => false,
                    written = write => written.is_ok(),
                };
                if !written {
                    break None;
                }
            }
            _ = pings.tick() => {
                if !send(&mut sink, &session.open.token, Message::Ping(Bytes::new())).await {
                    break None;
                }
                // Pings are invisible to a page's script; a heartbeat message is not.
                if visible_heartbeats {
                    let Ok(text) = Utf8Bytes::try_from(super::heartbeat_event().json) else { continue };
                    if !send(&mut sink, &session.open.token, Message::Text(text)).await {
                        break None;
                    }
                }
            }
        }
    };
    // A write cut short by the connection's end: it still says goodbye, if it can.
    let close = close.or_else(|| {
        session
            .open
            .token
            .is_cancelled()
            .then_some((CLOSE_GOING_AWAY, "the server dropped this connection"))
    });
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // The peer may already be gone, or not reading (its socket full): the close frame
        // gets a moment, then the connection is dropped either way.
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
    }
}

/// Writes one message, unless the connection is told to end first; whether it was written.
///
/// A peer that stopped reading leaves a write waiting on a full socket — until the stall
/// guard gives up on it (`--write-timeout-secs`) — and a disconnect or a shutdown must reach
/// it meanwhile, as it reaches an SSE stream.
async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    ending: &tokio_util::sync::CancellationToken,
    message: Message,
) -> bool {
    tokio::select! {
        biased;
        () = ending.cancelled() => false,
        sent = sink.send(message) => sent.is_ok(),
    }
}

/// Carries out one client message; returns the reply, if it gets one.
fn obey(text: &str, feed: &mut Feed, known: &[String]) -> Option<ServerMessage> {
    let message = match ClientMessage::decode(text) {
        Ok(message) => message,
        Err(err) => {
            return Some(error(
                ControlError::BadMessage,
                &format!("not a command ({err}); send subscribe, unsubscribe, resume or ping"),
            ))
        }
    };
    match message {
        ClientMessage::Ping { nonce } => Some(ServerMessage::Pong { nonce }),
        ClientMessage::Resume { after } => {
            // The reply is the stream itself: a replay, or a reset and a snapshot.
            feed.restart(&Resume::parse(Some(&after)));
            None
        }
        ClientMessage::Subscribe { symbols } => {
            Some(match feed.filter.subscribe(&symbols, known) {
                Ok(()) => subscribed(feed, known),
                Err(message) => error(ControlError::BadSymbols, &message),
            })
        }
        ClientMessage::Unsubscribe { symbols } => {
            Some(match feed.filter.unsubscribe(&symbols, known) {
                Ok(()) => subscribed(feed, known),
                Err(message) => error(ControlError::BadSymbols, &message),
            })
        }
    }
}

/// What the connection receives now, spelled out.
fn subscribed(feed: &Feed, known: &[String]) -> ServerMessage {
    ServerMessage::Subscribed {
        // After a subscribe or an unsubscribe the filter always has a list; "all" is
        // spelled out all the same, should a connection ever be asked before either.
        symbols: feed
            .filter
            .symbols()
            .map_or_else(|| known.to_vec(), <[String]>::to_vec),
    }
}

fn error(code: ControlError, message: &str) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: message.to_owned(),
    }
}

/// An event as a text message. The shared bytes are JSON the hub encoded: valid UTF-8,
/// checked, not copied (`None` for what could never happen, which is then not sent).
fn text_of(out: super::feed::Out) -> Option<Message> {
    Utf8Bytes::try_from(out.json).ok().map(Message::Text)
}
