//! `/api/ws` with a real WebSocket client (tokio-tungstenite): the same envelopes as SSE,
//! the control messages, the errors, the size limit and resuming.

use crate::support::ws::{envelopes_until, next_envelope, next_text, Socket};
use crate::support::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tickstream::wire::{self, Payload};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

async fn connect(server: &TestServer, query: &str) -> Socket {
    let url = format!("ws://{}/api/ws{query}", server.addr);
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    socket
}

async fn send(socket: &mut Socket, text: &str) {
    socket.send(Message::text(text)).await.expect("sends");
}

async fn next_control(socket: &mut Socket) -> Value {
    loop {
        let text = next_text(socket).await.expect("open");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        if value.get("v").is_none() {
            return value;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_snapshot_then_the_same_bytes_as_sse() {
    let server = TestServer::start(&[]).await;
    let mut socket = connect(&server, "").await;
    let hello = next_text(&mut socket).await.expect("hello");
    assert!(
        matches!(wire::decode(&hello).expect("envelope").payload, Payload::Hello(ref h) if h.transport.as_str() == "ws")
    );
    let (snapshot, _) = next_envelope(&mut socket).await;
    assert!(matches!(snapshot.payload, Payload::Snapshot(_)));
    assert_eq!(snapshot.id, Some(server.latest()));

    let mut sse = server.get("/api/sse", &[]).await;
    sse.next_event().await.expect("snapshot");
    let last = server.step(20).await;
    let over_ws = envelopes_until(&mut socket, last).await;
    let over_sse = sse.events_until(last).await;
    assert_eq!(over_ws.len(), over_sse.len());
    for ((envelope, text), event) in over_ws.iter().zip(&over_sse) {
        assert_eq!(envelope.id, Some(event.event_id()));
        assert_eq!(*text, event.data, "byte for byte the same envelope");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_messages_and_errors_keep_the_connection_open() {
    let server = TestServer::start(&[]).await;
    let mut socket = connect(&server, "?types=market").await;
    next_envelope(&mut socket).await; // snapshot

    send(&mut socket, r#"{"type":"ping","nonce":"abc"}"#).await;
    assert_eq!(
        next_control(&mut socket).await,
        serde_json::json!({"type":"pong","nonce":"abc"})
    );
    for bad in [
        "not json",
        r#"{"type":"dance"}"#,
        r#"{"type":"subscribe"}"#,
        r#"{"type":"subscribe","symbols":["ACME"]}"#,
        r#"[]"#,
    ] {
        send(&mut socket, bad).await;
        let reply = next_control(&mut socket).await;
        assert_eq!(reply["type"], "error", "{bad}");
        assert!(
            reply["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{bad}"
        );
    }
    socket
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("sends");
    assert_eq!(next_control(&mut socket).await["code"], "unsupported");
    // Still open and answering.
    send(&mut socket, r#"{"type":"ping"}"#).await;
    assert_eq!(next_control(&mut socket).await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_and_unsubscribe_choose_the_symbols() {
    let server = TestServer::start(&[]).await;
    let mut socket = connect(&server, "?types=tick").await;
    next_envelope(&mut socket).await;
    let all: Vec<String> = server
        .state
        .symbols
        .iter()
        .filter(|s| *s != "NOVA")
        .cloned()
        .collect();
    send(
        &mut socket,
        &serde_json::json!({"type":"unsubscribe","symbols":all}).to_string(),
    )
    .await;
    assert_eq!(
        next_control(&mut socket).await,
        serde_json::json!({"type":"subscribed","symbols":["NOVA"]})
    );
    send(&mut socket, r#"{"type":"subscribe","symbols":["grid"]}"#).await;
    assert_eq!(
        next_control(&mut socket).await,
        serde_json::json!({"type":"subscribed","symbols":["NOVA","GRID"]})
    );
    server.step(40).await;
    // A marker that passes the filter: NOVA's next tick.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let (envelope, _) = next_envelope(&mut socket).await;
        let Payload::Tick(tick) = envelope.payload else {
            panic!("not a tick")
        };
        seen.insert(tick.symbol);
    }
    assert!(seen.iter().all(|s| s == "NOVA" || s == "GRID"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_subscribe_narrows_a_connection_that_had_every_symbol() {
    let server = TestServer::start(&[]).await;
    let mut socket = connect(&server, "?types=tick").await;
    next_envelope(&mut socket).await;
    send(&mut socket, r#"{"type":"subscribe","symbols":["nova"]}"#).await;
    // Spelled out, never `null`: what the connection receives now.
    assert_eq!(
        next_control(&mut socket).await,
        serde_json::json!({"type":"subscribed","symbols":["NOVA"]})
    );
    server.step(5).await;
    // Every step ticks every symbol: five steps, five NOVA ticks and nothing else.
    for _ in 0..5 {
        let (envelope, _) = next_envelope(&mut socket).await;
        let Payload::Tick(tick) = envelope.payload else {
            panic!("not a tick")
        };
        assert_eq!(tick.symbol, "NOVA");
    }
    // A later subscribe adds.
    send(
        &mut socket,
        r#"{"type":"subscribe","symbols":["GRID","NOVA"]}"#,
    )
    .await;
    assert_eq!(
        next_control(&mut socket).await,
        serde_json::json!({"type":"subscribed","symbols":["NOVA","GRID"]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_from_another_sites_page_is_refused_with_the_json_error() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start(&["--cors-origin", "https://app.example"]).await;
    let status = |origin: Option<&'static str>| {
        let addr = server.addr;
        async move {
            let mut request = format!("ws://{addr}/api/ws")
                .into_client_request()
                .expect("request");
            if let Some(origin) = origin {
                request
                    .headers_mut()
                    .insert("origin", origin.parse().expect("header"));
            }
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => (101, String::new()),
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    let body = response.body().clone().unwrap_or_default();
                    (
                        response.status().as_u16(),
                        String::from_utf8_lossy(&body).into_owned(),
                    )
                }
                Err(err) => panic!("unexpected WebSocket failure: {err}"),
            }
        }
    };
    let own = format!("http://{}", server.addr);
    let own: &'static str = Box::leak(own.into_boxed_str());
    assert_eq!(status(None).await.0, 101, "not a page: no Origin");
    assert_eq!(status(Some(own)).await.0, 101, "this server's own page");
    assert_eq!(
        status(Some("https://app.example")).await.0,
        101,
        "--cors-origin"
    );
    for other in ["http://evil.example", "null"] {
        let (code, body) = status(Some(other)).await;
        assert_eq!(code, 403, "{other}");
        let error: Value = serde_json::from_str(&body).expect("a JSON error body");
        assert_eq!(error["error"]["code"], "forbidden_origin", "{body}");
        assert_eq!(error["error"]["param"], "origin", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_replays_exactly_by_message_and_by_query() {
    let server = TestServer::start(&[]).await;
    let mut steady = connect(&server, "").await;
    next_envelope(&mut steady).await;
    let from = server.step(5).await;
    let last = server.step(25).await;
    let reference: Vec<String> = envelopes_until(&mut steady, last)
        .await
        .into_iter()
        .filter(|(e, _)| e.id.is_some_and(|id| id.seq > from.seq))
        .map(|(_, text)| text)
        .collect();

    let mut by_message = connect(&server, "").await;
    next_envelope(&mut by_message).await;
    send(
        &mut by_message,
        &format!(r#"{{"type":"resume","after":"{from}"}}"#),
    )
    .await;
    let replayed: Vec<String> = envelopes_until(&mut by_message, last)
        .await
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    assert_eq!(replayed, reference);

    let mut by_query = connect(&server, &format!("?lastEventId={from}")).await;
    let replayed: Vec<String> = envelopes_until(&mut by_query, last)
        .await
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    assert_eq!(replayed, reference);

    // An id from another epoch: reset, then a snapshot.
    send(&mut by_message, r#"{"type":"resume","after":"zzz-5"}"#).await;
    let (reset, _) = next_envelope(&mut by_message).await;
    assert!(matches!(reset.payload, Payload::Reset(ref r) if r.reason.as_str() == "other_epoch"));
    let (snapshot, _) = next_envelope(&mut by_message).await;
    assert!(matches!(snapshot.payload, Payload::Snapshot(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_close_with_1009() {
    let server = TestServer::start(&[]).await;
    for size in [5 * 1024, 100 * 1024] {
        let mut socket = connect(&server, "").await;
        next_envelope(&mut socket).await;
        let big = format!(r#"{{"type":"ping","nonce":"{}"}}"#, "x".repeat(size));
        // The server may close before it has read all of a very large message.
        let _ = socket.send(Message::text(big)).await;
        let close = loop {
            match tokio::time::timeout(crate::support::PATIENCE, socket.next())
                .await
                .expect("an answer")
            {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("{size}: the socket failed instead of closing: {err}"),
                None => panic!("{size}: ended without a close frame"),
            }
        };
        assert_eq!(close.map(|f| f.code), Some(CloseCode::Size), "{size}");
    }
    // The server is fine.
    let mut socket = connect(&server, "").await;
    next_envelope(&mut socket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_pings_and_the_lab_can_drop_one_connection() {
    let server = TestServer::start(&["--heartbeat-secs", "1"]).await;
    let mut socket = connect(&server, "").await;
    let hello = next_text(&mut socket).await.expect("hello");
    let Payload::Hello(hello) = wire::decode(&hello).expect("envelope").payload else {
        panic!()
    };
    let ping = loop {
        match tokio::time::timeout(crate::support::PATIENCE, socket.next())
            .await
            .expect("frames")
        {
            Some(Ok(Message::Ping(payload))) => break payload,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert!(ping.is_empty());

    let client = reqwest::Client::new();
    let url = format!(
        "http://{}/api/connections/{}",
        server.addr, hello.connection
    );
    assert_eq!(
        client.delete(&url).send().await.expect("answers").status(),
        204
    );
    let close = loop {
        match tokio::time::timeout(crate::support::PATIENCE, socket.next())
            .await
            .expect("frames")
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Away));
    assert_eq!(
        client.delete(&url).send().await.expect("answers").status(),
        404
    );
}

/// A WebSocket with a tiny receive window, so that a client that stops reading is felt by
/// the server quickly instead of after megabytes of kernel buffering.
async fn connect_small_window(server: &TestServer) -> Socket {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let stream = socket.connect(server.addr).await.expect("connects");
    let url = format!("ws://{}/api/ws", server.addr);
    let (socket, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
        .await
        .expect("upgrades");
    socket
}

/// Publishes about `bytes` of events, a step at a time.
async fn publish_about(server: &TestServer, bytes: usize) {
    // ~250 bytes an event, eight events a step.
    for _ in 0..bytes / (250 * 8 * 20) {
        server.step(20).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_stops_reading_is_reset_when_it_reads_again() {
    // A write timeout far beyond the test: this reader is meant to stall and come back.
    let server =
        TestServer::start(&["--client-backlog", "64", "--write-timeout-secs", "3600"]).await;
    let mut stalled = connect_small_window(&server).await;
    // The snapshot.
    next_envelope(&mut stalled).await;
    // One step at a time (eight events, well within the backlog, so a reader that kept up
    // would never lag), for ~4 MB: far more than its socket buffers and the server's write
    // buffer hold, so the stalled reader must fall behind its backlog.
    for _ in 0..2_000 {
        server.step(1).await;
    }
    let last = server.step(1).await;
    // Reading at last, it finds resets and fresh snapshots rather than everything it
    // missed, and reaches the newest event: the server did not keep it all for it.
    let (mut received, mut resets) = (0_u64, 0);
    let mut expect_snapshot = false;
    loop {
        let (envelope, _) = next_envelope(&mut stalled).await;
        received += 1;
        if expect_snapshot {
            assert!(
                matches!(envelope.payload, Payload::Snapshot(_)),
                "{envelope:?}"
            );
            expect_snapshot = false;
        }
        if let Payload::Reset(reset) = &envelope.payload {
            assert_eq!(reset.reason.as_str(), "lagged");
            resets += 1;
            expect_snapshot = true;
        }
        if envelope.id == Some(last) {
            break;
        }
    }
    assert!(resets >= 1, "it lagged and was told so");
    assert!(
        received < last.seq,
        "not everything was kept for it: {received} messages for {} events",
        last.seq
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_stops_reading_is_closed_after_the_write_timeout() {
    let server =
        TestServer::start(&["--write-timeout-secs", "1", "--client-backlog", "100000"]).await;
    let _stalled = connect_small_window(&server).await;
    assert!(
        crate::support::publish_until_reaped(&server).await,
        "the stalled WebSocket was closed"
    );
    wait_for_ws_gauge(&server, 0.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_reaches_a_websocket_whose_socket_is_full() {
    // No write timeout to come to the rescue within the test: only the disconnect can end it.
    let server = TestServer::start(&[
        "--write-timeout-secs",
        "3600",
        "--client-backlog",
        "1000000",
        "--history",
        "1000000",
        "--admin-token",
        "backpressure-token",
    ])
    .await;
    let _stalled = connect_small_window(&server).await;
    publish_about(&server, 8 << 20).await;
    wait_for_ws_gauge(&server, 1.0).await;
    let response = server
        .post("/api/admin/disconnect", Some("backpressure-token"), "{}")
        .await;
    assert_eq!(response.status, 200);
    wait_for_ws_gauge(&server, 0.0).await;
}

/// Waits (up to the patience) until the server counts `n` open WebSockets.
async fn wait_for_ws_gauge(server: &TestServer, n: f64) {
    let deadline = tokio::time::Instant::now() + crate::support::PATIENCE;
    let gauge = "tickstream_open_connections{transport=\"ws\"}";
    while server.metric(gauge) != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{gauge} stayed {} (expected {n})",
            server.metric(gauge)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
