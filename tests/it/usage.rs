//! Wire cost, checked against the bytes a client really sent and received: a raw socket
//! (or a WebSocket over a counting socket) tallies every byte on its side, and
//! `GET /api/usage/{client}` must say exactly the same, both ways. And `GET /api/time` is
//! the server's clock.

use crate::support::{TestServer, PATIENCE};
use futures_util::{SinkExt, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};
use tickstream::wire::usage::{ServerTime, WireUsage};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

/// A TCP connection that tallies what it sends and receives.
struct Tally {
    stream: TcpStream,
    sent: u64,
    received: u64,
    /// Received but not yet consumed by the test.
    buffer: Vec<u8>,
}

impl Tally {
    async fn connect(server: &TestServer) -> Tally {
        Tally {
            stream: TcpStream::connect(server.addr).await.expect("connects"),
            sent: 0,
            received: 0,
            buffer: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("sends");
        self.sent += bytes.len() as u64;
    }

    async fn get(&mut self, server: &TestServer, path: &str) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
        self.send(request.as_bytes()).await;
    }

    /// Reads more; `false` at the end of the connection.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let read = timeout(PATIENCE, self.stream.read(&mut chunk))
            .await
            .expect("the server answers")
            .expect("reads");
        self.received += read as u64;
        self.buffer.extend_from_slice(&chunk[..read]);
        read > 0
    }

    /// Reads until `needle` has arrived; drops everything up to and including it.
    async fn read_through(&mut self, needle: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self.buffer.windows(needle.len()).position(|w| w == needle) {
                return self.buffer.drain(..at + needle.len()).collect();
            }
            assert!(self.fill().await, "the connection ended before {needle:?}");
        }
    }

    /// Reads one response with a `Content-Length` body, whole; returns the body.
    async fn read_response(&mut self) -> String {
        let head = String::from_utf8(self.read_through(b"\r\n\r\n").await).expect("ASCII head");
        let length: usize = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse().ok())
            .expect("a content length");
        while self.buffer.len() < length {
            assert!(self.fill().await, "the body was cut short");
        }
        String::from_utf8(self.buffer.drain(..length).collect()).expect("UTF-8 body")
    }

    /// Reads until the server closes the connection.
    async fn read_to_end(&mut self) {
        while self.fill().await {}
    }
}

async fn usage(server: &TestServer, client: &str) -> WireUsage {
    let mut response = server.get(&format!("/api/usage/{client}"), &[]).await;
    assert_eq!(response.status, 200, "{client} is counted");
    serde_json::from_str(&response.body().await).expect("a usage body")
}

/// The usage once the server has counted `received` bytes sent to the client: a byte can
/// reach the client a moment before the thread that wrote it has counted it.
async fn usage_after(server: &TestServer, client: &str, received: u64) -> WireUsage {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let counted = usage(server, client).await;
        if counted.bytes_sent >= received || tokio::time::Instant::now() > deadline {
            return counted;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_stream_costs_exactly_what_its_socket_carried() {
    let server = TestServer::start(&[]).await;
    server.step(3).await;
    let mut client = Tally::connect(&server).await;
    client.get(&server, "/api/sse?client=sse-one").await;
    // The hello names the connection; ask the server to end it, then read to its end.
    let hello =
        String::from_utf8(client.read_through(b"\"transport\":\"sse\"").await).expect("UTF-8");
    let name = hello
        .split("\"connection\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the connection's name")
        .to_owned();
    client.read_through(b"event: snapshot").await;
    server.step(2).await;
    let mut delete = Tally::connect(&server).await;
    let request = format!(
        "DELETE /api/connections/{name} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    delete.send(request.as_bytes()).await;
    delete.read_to_end().await;
    // The stream ends with the last chunk (the connection itself may stay open).
    client.read_through(b"\r\n0\r\n\r\n").await;
    let counted = usage_after(&server, "sse-one", client.received).await;
    assert_eq!(counted.requests, 1);
    assert_eq!(counted.bytes_received, client.sent, "request head");
    assert_eq!(
        counted.bytes_sent, client.received,
        "response head, frames and chunking"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_on_one_keep_alive_connection_are_split_at_each_request() {
    let server = TestServer::start(&[]).await;
    server.step(2).await;
    let mut connection = Tally::connect(&server).await;
    let mut per_client = Vec::new();
    for path in [
        "/api/poll?wait=0&client=poll-a",
        "/healthz",
        "/api/poll?wait=0&client=poll-b",
        "/api/poll?wait=0&client=poll-a",
    ] {
        let (sent, received) = (connection.sent, connection.received);
        connection.get(&server, path).await;
        connection.read_response().await;
        // Everything read so far belongs to this request (one response at a time).
        let client = path.split("client=").nth(1).map(str::to_owned);
        per_client.push((
            client,
            connection.sent - sent,
            connection.received - received,
        ));
    }
    for client in ["poll-a", "poll-b"] {
        let (requests, sent, received) = per_client
            .iter()
            .filter(|(name, ..)| name.as_deref() == Some(client))
            .fold((0, 0, 0), |(n, s, r), (_, sent, received)| {
                (n + 1, s + sent, r + received)
            });
        let counted = usage_after(&server, client, received).await;
        assert_eq!(counted.requests, requests, "{client}");
        assert_eq!(counted.bytes_received, sent, "{client}: its request heads");
        assert_eq!(counted.bytes_sent, received, "{client}: its responses");
    }
}

/// A socket for tokio-tungstenite that tallies both ways.
struct CountingStream {
    inner: TcpStream,
    read: u64,
    written: u64,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let outcome = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.read += (buf.filled().len() - before) as u64;
        outcome
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write(cx, bytes);
        if let Poll::Ready(Ok(n)) = outcome {
            self.written += n as u64;
        }
        outcome
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_costs_its_handshake_and_every_frame_both_ways() {
    let server = TestServer::start(&[]).await;
    server.step(2).await;
    let stream = CountingStream {
        inner: TcpStream::connect(server.addr).await.expect("connects"),
        read: 0,
        written: 0,
    };
    let url = format!("ws://{}/api/ws?client=ws-one", server.addr);
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("upgrades");
    socket
        .send(Message::text(r#"{"type":"ping","nonce":1}"#))
        .await
        .expect("sends");
    // Read until the pong, then close and read until the server's close.
    loop {
        let message = timeout(PATIENCE, socket.next())
            .await
            .expect("a message")
            .expect("open")
            .expect("a frame");
        if matches!(&message, Message::Text(text) if text.contains("pong")) {
            break;
        }
    }
    socket.close(None).await.expect("closes");
    while let Ok(Some(Ok(_))) = timeout(PATIENCE, socket.next()).await {}
    let stream = socket.into_inner();
    let counted = usage_after(&server, "ws-one", stream.read).await;
    assert_eq!(counted.requests, 1, "the upgrade");
    assert_eq!(
        counted.bytes_received, stream.written,
        "handshake and masked frames"
    );
    assert_eq!(counted.bytes_sent, stream.read, "101 and every frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_clients_and_bad_ids_are_refused_clearly() {
    let server = TestServer::start(&[]).await;
    assert_eq!(server.get("/api/usage/nobody-yet", &[]).await.status, 404);
    let mut refused = server
        .get("/api/poll?wait=0&client=not%20an%20id", &[])
        .await;
    assert_eq!(refused.status, 400);
    let body: serde_json::Value =
        serde_json::from_str(&refused.body().await).expect("a JSON error");
    assert_eq!(body["error"]["param"], "client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_endpoint_is_the_servers_clock() {
    let server = TestServer::start(&[]).await;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    let mut response = server.get("/api/time", &[]).await;
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let time: ServerTime = serde_json::from_str(&response.body().await).expect("a time body");
    assert!(
        (before..=after).contains(&time.now),
        "{before} ≤ {} ≤ {after}",
        time.now
    );
}
