//! What the integration tests share: a real tickstream server on a free loopback port, and
//! a raw HTTP/1.1 client that reads the bytes the server sent — status line, headers,
//! chunked body — and parses event streams by the WHATWG rules (`wire::sse::Parser`).
//! Nothing here trusts the server's own types: tests see what a browser would see.

pub mod history;
pub mod instance;
pub mod link;
pub mod proxy;
pub mod redis;
pub mod ws;

use clap::Parser as _;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tickstream::server::config::Config;
use tickstream::server::startup::{self, Server};
use tickstream::server::state::AppState;
use tickstream::wire::sse::{Item, Parser};
use tickstream::wire::EventId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// Publishes, twenty steps at a time, until the server has reaped a connection whose writes
/// stalled (`tickstream_stalled_connections_total`); whether it did within a thousand rounds.
pub async fn publish_until_reaped(server: &TestServer) -> bool {
    for _ in 0..1_000 {
        server.step(20).await;
        if server.metric("tickstream_stalled_connections_total") >= 1.0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// How long a test waits for something that should happen at once before failing. Not a
/// performance bound: only a guard against hanging forever.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    /// A server with a manual clock (nothing moves unless stepped), seed 42, no warm-up,
    /// plus `extra` flags.
    pub async fn start(extra: &[&str]) -> TestServer {
        let mut args = vec![
            "tickstream",
            "--seed",
            "42",
            "--clock",
            "manual",
            "--warmup-steps",
            "0",
            "--leptos-config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
        ];
        args.extend_from_slice(extra);
        let config = Config::try_parse_from(args).expect("valid test flags");
        let leptos = startup::leptos_options(&config).expect("Leptos.toml");
        let assembled =
            startup::assemble(config, leptos, CancellationToken::new()).expect("assembles");
        let server = Server::start(assembled, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("starts");
        let Server { addr, state, task } = server;
        TestServer { addr, state, task }
    }

    /// Steps the market `n` times; returns the newest event id.
    pub async fn step(&self, n: u64) -> EventId {
        self.state
            .driver
            .step(n)
            .await
            .expect("driver running")
            .expect("the market has published")
    }

    pub fn latest(&self) -> EventId {
        self.state.hub.latest().expect("the market has published")
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        Response::get(self.addr, path, headers).await
    }

    /// `POST` with a JSON body and, if given, a bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        self.request("POST", path, token, body).await
    }

    /// Any method, with a JSON body and, if given, a bearer token.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth.as_str()));
        }
        let stream = TcpStream::connect(self.addr).await.expect("connects");
        Response::send(stream, self.addr, method, path, &headers, body.as_bytes()).await
    }

    pub fn metric(&self, line_prefix: &str) -> f64 {
        metric_value(&self.state.metrics.render(), line_prefix)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

/// The value on the first line of a Prometheus text that starts with `line_prefix`.
pub fn metric_value(text: &str, line_prefix: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(line_prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no metric {line_prefix:?} in:\n{text}"))
}

/// One HTTP response, read incrementally from the socket.
pub struct Response {
    stream: TcpStream,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    chunked: bool,
    /// Bytes read from the socket but not yet decoded.
    raw: Vec<u8>,
    /// Remaining bytes of the current chunk (chunked) or of the body (content-length).
    remaining: Option<usize>,
    finished: bool,
    parser: Parser,
    items: VecDeque<Item>,
    /// The data of the stream's `hello` event, once seen.
    pub hello: Option<String>,
}

impl Response {
    pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
        let stream = TcpStream::connect(addr).await.expect("connects");
        Response::send(stream, addr, "GET", path, headers, b"").await
    }

    /// Like `get`, but with a tiny receive buffer, so that a client that stops reading is
    /// felt by the server quickly instead of after megabytes of kernel buffering.
    pub async fn get_small_window(addr: SocketAddr, path: &str) -> Response {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("buffer size");
        let stream = socket.connect(addr).await.expect("connects");
        Response::send(stream, addr, "GET", path, &[], b"").await
    }

    async fn send(
        mut stream: TcpStream,
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if method != "GET" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        stream.write_all(&bytes).await.expect("sends");
        Response::read(stream).await
    }

    /// Sends raw bytes as the request head (for malformed-header tests).
    pub async fn get_raw_head(addr: SocketAddr, head: &[u8]) -> Response {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        stream.write_all(head).await.expect("sends");
        Response::read(stream).await
    }

    /// Reads the status line and headers of the response arriving on `stream`.
    async fn read(stream: TcpStream) -> Response {
        let mut response = Response {
            stream,
            status: 0,
            headers: Vec::new(),
            chunked: false,
            raw: Vec::new(),
            remaining: None,
            finished: false,
            parser: Parser::new(),
            items: VecDeque::new(),
            hello: None,
        };
        response.read_head().await;
        response
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    async fn fill(&mut self) -> bool {
        let mut buf = [0u8; 16 * 1024];
        match timeout(PATIENCE, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.raw.extend_from_slice(&buf[..n]);
                true
            }
            Err(_) => panic!("nothing arrived within {PATIENCE:?}"),
        }
    }

    async fn read_head(&mut self) {
        let end = loop {
            if let Some(at) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            assert!(self.fill().await, "connection closed before the headers");
        };
        let head = String::from_utf8(self.raw[..end].to_vec()).expect("ASCII head");
        self.raw.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        self.status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status code");
        for line in lines {
            let (name, value) = line.split_once(':').expect("header line");
            self.headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        self.chunked = self
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if !self.chunked {
            self.remaining = self.header("content-length").and_then(|v| v.parse().ok());
        }
    }

    /// The next decoded body bytes; empty when the body has ended.
    pub async fn next_body_bytes(&mut self) -> Vec<u8> {
        loop {
            if self.finished {
                return Vec::new();
            }
            if let Some(bytes) = self.decode() {
                if !bytes.is_empty() {
                    return bytes;
                }
                continue;
            }
            if !self.fill().await {
                self.finished = true;
                return std::mem::take(&mut self.raw);
            }
        }
    }

    /// Decodes what `raw` holds: `None` when more bytes are needed.
    fn decode(&mut self) -> Option<Vec<u8>> {
        if !self.chunked {
            let take = self
                .remaining
                .map_or(self.raw.len(), |r| r.min(self.raw.len()));
            if take == 0 {
                if self.remaining == Some(0) {
                    self.finished = true;
                    return Some(Vec::new());
                }
                return None;
            }
            if let Some(r) = &mut self.remaining {
                *r -= take;
            }
            return Some(self.raw.drain(..take).collect());
        }
        match self.remaining {
            Some(0) => {
                // The CRLF after a chunk's data.
                if self.raw.len() < 2 {
                    return None;
                }
                assert_eq!(&self.raw[..2], b"\r\n", "chunk framing");
                self.raw.drain(..2);
                self.remaining = None;
                Some(Vec::new())
            }
            Some(left) => {
                let take = left.min(self.raw.len());
                if take == 0 {
                    return None;
                }
                self.remaining = Some(left - take);
                Some(self.raw.drain(..take).collect())
            }
            None => {
                let at = self.raw.windows(2).position(|w| w == b"\r\n")?;
                let size_text = String::from_utf8_lossy(&self.raw[..at]).to_string();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .expect("chunk size");
                self.raw.drain(..at + 2);
                if size == 0 {
                    self.finished = true;
                    return Some(Vec::new());
                }
                self.remaining = Some(size);
                Some(Vec::new())
            }
        }
    }

    /// The whole body (for ordinary responses).
    pub async fn body(&mut self) -> String {
        let mut body = Vec::new();
        loop {
            let bytes = self.next_body_bytes().await;
            if bytes.is_empty() {
                break;
            }
            body.extend(bytes);
        }
        String::from_utf8(body).expect("UTF-8 body")
    }

    /// The next event-stream item, or `None` when the stream ended.
    pub async fn next_item(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Some(item);
            }
            let bytes = self.next_body_bytes().await;
            if bytes.is_empty() {
                return None;
            }
            self.items.extend(self.parser.feed(&bytes));
        }
    }

    /// The next dispatched event, skipping comments, `retry:` and the connection's `hello`
    /// (kept in `self.hello`).
    pub async fn next_event(&mut self) -> Option<Event> {
        loop {
            match self.next_item().await? {
                Item::Event { event, data, .. } if event == "hello" => self.hello = Some(data),
                Item::Event { id, event, data } => return Some(Event { id, event, data }),
                Item::Comment(_) | Item::Retry(_) => continue,
            }
        }
    }

    /// Events up to and including the one with id `last`.
    pub async fn events_until(&mut self, last: EventId) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let event = self.next_event().await.expect("the stream went on");
            let done = event.id == last.to_string();
            events.push(event);
            if done {
                return events;
            }
        }
    }
}

/// One dispatched SSE event as a browser would see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub event: String,
    pub data: String,
}

/// The sequence numbers of `events`, in order.
pub fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.event_id().seq).collect()
}

/// Each event's id is the one after the previous event's: same epoch, next sequence.
pub fn assert_gapless(events: &[Event]) {
    for pair in events.windows(2) {
        assert_eq!(
            pair[1].event_id(),
            pair[0].event_id().next(),
            "gap between {} and {}",
            pair[0].id,
            pair[1].id
        );
    }
}

impl Event {
    pub fn event_id(&self) -> EventId {
        self.id.parse().expect("a valid event id")
    }

    pub fn envelope(&self) -> tickstream::wire::Envelope {
        tickstream::wire::decode(&self.data).expect("a valid envelope")
    }
}
