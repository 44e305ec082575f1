//! Bytes on the wire, counted where they happen: at the socket, below HTTP, so that request
//! and response heads, chunked framing, the WebSocket handshake and frame headers all count.
//!
//! Every accepted connection is [`Metered`]: its reads and writes are counted by its
//! [`ConnectionMeter`]. A request that names a client (`?client=ID`) claims its connection
//! for that client's [`WireCounts`] ([`claim_connection`]); from then on, what the connection
//! reads and writes is that client's, until the next request on the connection claims it
//! (for another client, or for nobody). A stream holds its connection for its whole life, so
//! all of a stream is its client's; a keep-alive connection that carries polls of several
//! clients one after another splits exactly at the requests.
//!
//! Invariant: a byte is counted once, for the request it belongs to. Reads are held back
//! until it is known whose they are: the head of request N+1 arrives before request N+1
//! claims the connection, so bytes read since the last claim or write go to the next
//! claimant (or, on a streaming connection, to its owner at its next write or at the end).
//! HTTP/1.1 carries one request at a time on a connection, which is what makes the split
//! exact; browsers do not pipeline. HTTP/2 carries many at once on one connection, so its
//! requests claim nothing and are not counted per client (and with TLS, what is counted is
//! the HTTP inside it, not the TLS records).

use crate::wire::http::query;
use crate::wire::usage::{is_client_id, WireUsage};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Clients counted at once; a new one beyond it is served but not counted.
const MAX_CLIENTS: usize = 10_000;
/// A client not seen for this long may give its place to a new one.
const IDLE: Duration = Duration::from_secs(600);

/// One client's counts.
#[derive(Debug)]
pub struct WireCounts {
    requests: AtomicU64,
    received: AtomicU64,
    sent: AtomicU64,
    last_seen: Mutex<Instant>,
}

impl WireCounts {
    fn new() -> WireCounts {
        WireCounts {
            requests: AtomicU64::new(0),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            last_seen: Mutex::new(Instant::now()),
        }
    }

    fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        lock(&self.last_seen).elapsed()
    }

    /// The counts as the API shows them.
    pub fn usage(&self, client: &str) -> WireUsage {
        WireUsage {
            client: client.to_owned(),
            requests: self.requests.load(Relaxed),
            bytes_received: self.received.load(Relaxed),
            bytes_sent: self.sent.load(Relaxed),
        }
    }
}

/// Every counted client of one server, by id.
#[derive(Debug, Default)]
pub struct WireMeters {
    clients: Mutex<HashMap<String, Arc<WireCounts>>>,
}

impl WireMeters {
    /// No client counted yet.
    pub fn new() -> WireMeters {
        WireMeters::default()
    }

    /// The counts of `client`, made on first use; `None` when the id is not a client id or
    /// every place is taken by a client seen recently.
    pub fn counts_for(&self, client: &str) -> Option<Arc<WireCounts>> {
        if !is_client_id(client) {
            return None;
        }
        let mut clients = lock(&self.clients);
        if let Some(counts) = clients.get(client) {
            counts.touch();
            return Some(counts.clone());
        }
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, counts| counts.idle_for() < IDLE);
            if clients.len() >= MAX_CLIENTS {
                return None;
            }
        }
        let counts = Arc::new(WireCounts::new());
        clients.insert(client.to_owned(), counts.clone());
        Some(counts)
    }

    /// What `client` has cost so far, if it is counted.
    pub fn usage(&self, client: &str) -> Option<WireUsage> {
        lock(&self.clients)
            .get(client)
            .map(|counts| counts.usage(client))
    }
}

/// One connection's bytes, and the client they are counted for now.
#[derive(Debug, Default)]
pub struct ConnectionMeter {
    owner: Mutex<Option<Arc<WireCounts>>>,
    /// Bytes read but not yet given to anyone (see the module's invariant).
    unclaimed_reads: AtomicU64,
}

impl ConnectionMeter {
    /// A meter for a new connection, owned by nobody.
    pub fn new() -> ConnectionMeter {
        ConnectionMeter::default()
    }

    /// A request on this connection belongs to `owner` (or to nobody): the bytes read since
    /// the last claim or write (its head) and everything from now on are counted for it.
    pub fn claim(&self, owner: Option<Arc<WireCounts>>) {
        let unclaimed = self.unclaimed_reads.swap(0, Relaxed);
        if let Some(counts) = &owner {
            counts.requests.fetch_add(1, Relaxed);
            counts.received.fetch_add(unclaimed, Relaxed);
        }
        *lock(&self.owner) = owner;
    }

    fn read(&self, bytes: usize) {
        self.unclaimed_reads.fetch_add(bytes as u64, Relaxed);
    }

    fn wrote(&self, bytes: usize) {
        let unclaimed = self.unclaimed_reads.swap(0, Relaxed);
        if let Some(counts) = lock(&self.owner).as_ref() {
            counts.received.fetch_add(unclaimed, Relaxed);
            counts.sent.fetch_add(bytes as u64, Relaxed);
        }
    }

    fn closed(&self) {
        self.wrote(0);
    }
}

/// A connection whose every read and write is counted by its [`ConnectionMeter`].
pub struct Metered<IO> {
    io: IO,
    meter: Arc<ConnectionMeter>,
}

impl<IO> Metered<IO> {
    /// Counts `io`'s bytes with `meter`.
    pub fn new(io: IO, meter: Arc<ConnectionMeter>) -> Metered<IO> {
        Metered { io, meter }
    }
}

impl<IO> Drop for Metered<IO> {
    fn drop(&mut self) {
        self.meter.closed();
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Metered<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let outcome = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = outcome {
            self.meter.read(buf.filled().len() - before);
        }
        outcome
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Metered<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = outcome {
            self.meter.wrote(written);
        }
        outcome
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = outcome {
            self.meter.wrote(written);
        }
        outcome
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Gives each request's connection to the client it names (`?client=ID`), or to nobody.
pub async fn claim_connection(
    State(meters): State<Arc<WireMeters>>,
    request: Request,
    next: Next,
) -> Response {
    let one_at_a_time = request.version() < axum::http::Version::HTTP_2;
    let connection = request.extensions().get::<Arc<ConnectionMeter>>();
    if let Some(connection) = connection.filter(|_| one_at_a_time) {
        let owner = named_client(request.uri().query()).and_then(|id| meters.counts_for(&id));
        connection.claim(owner);
    }
    next.run(request).await
}

/// The `client` a query string names, if any (checked properly by the handler's own query
/// reader, which refuses a bad one).
fn named_client(query_string: Option<&str>) -> Option<String> {
    let query_string = query_string?;
    if !query_string.contains(query::CLIENT) {
        return None; // the common case, a page or an asset: no parsing
    }
    serde_urlencoded::from_str::<Vec<(String, String)>>(query_string)
        .ok()?
        .into_iter()
        .find_map(|(name, value)| (name == query::CLIENT).then_some(value))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is one assignment or one map operation: a poisoned lock is consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_splits_exactly_at_its_requests() {
        let meters = WireMeters::new();
        let connection = ConnectionMeter::new();
        // Request 1 (client a): head read, claimed, answered.
        connection.read(100);
        connection.claim(meters.counts_for("a"));
        connection.wrote(40);
        connection.wrote(10);
        // Request 2 (nobody), on the same keep-alive connection.
        connection.read(70);
        connection.claim(None);
        connection.wrote(500);
        // Request 3 (client b): a stream that also reads (WebSocket frames).
        connection.read(90);
        connection.claim(meters.counts_for("b"));
        connection.wrote(5);
        connection.read(8);
        connection.closed();
        let a = meters.usage("a").expect("counted");
        assert_eq!((a.requests, a.bytes_received, a.bytes_sent), (1, 100, 50));
        let b = meters.usage("b").expect("counted");
        assert_eq!((b.requests, b.bytes_received, b.bytes_sent), (1, 98, 5));
        assert_eq!(meters.usage("nobody"), None);
        assert!(meters.counts_for("not an id").is_none());
    }

    #[test]
    fn the_client_is_found_in_the_query() {
        assert_eq!(
            named_client(Some("wait=25&client=lab-1")),
            Some("lab-1".into())
        );
        assert_eq!(named_client(Some("wait=25")), None);
        assert_eq!(named_client(None), None);
    }
}
