//! The accept loop: every TCP connection the server takes, and the timeouts that reap the
//! ones that would otherwise live forever.
//!
//! `axum::serve` has no timer, so hyper cannot time out a slow request head. This loop is
//! `axum::serve` plus what a server facing the open internet (or a workshop of forty
//! laptops) needs:
//!
//! - **Slow heads** (slow-loris): hyper closes a connection that has not sent a complete
//!   request head within `--header-timeout-secs`; the same timer bounds an idle keep-alive
//!   connection. A head larger than [`MAX_HEAD_BYTES`] gets `431`.
//! - **Stalled writes**: [`StallGuard`] fails a write that has made no progress for
//!   `--write-timeout-secs` (a client that stopped reading, a dead peer behind a full
//!   buffer), which closes the connection and ends its stream. Counted in
//!   `tickstream_stalled_connections`.
//! - **Half-open peers**: TCP keep-alive probes an idle connection, and `TCP_USER_TIMEOUT`
//!   (Linux) aborts one whose sent data stays unacknowledged for twice the write timeout.
//! - **Wire cost**: every connection is [`Metered`], and each request carries its
//!   connection's meter, so a request that names a client can claim it
//!   ([`meter`](super::meter)).
//! - **Requests hyper cannot parse** get the documented JSON error, not hyper's bodiless
//!   answer ([`ParseErrorBodies`]).
//! - **TLS**: with `--tls…`, each connection's handshake (bounded by the header timeout) comes
//!   first, and the connection then speaks HTTP/2 or HTTP/1.1 as ALPN chose; every guard
//!   above applies the same (the stall guard sits under TLS, on the socket).
//!
//! Invariant: every connection is watched by the graceful-shutdown handle, so when
//! `shutdown` is cancelled the listener closes and the loop returns once every connection
//! has finished (streams end themselves on the same signal).

use super::meter::{ConnectionMeter, Metered};
use super::metrics::Metrics;
use super::parse_errors::ParseErrorBodies;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use prometheus_client::metrics::counter::Counter;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The connection timeouts, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// The longest a request head may take to arrive (and a keep-alive connection may idle).
    pub header: Duration,
    /// The longest a write may make no progress.
    pub write: Duration,
}

/// The largest request head (request line and headers) read: a larger one gets `431`.
/// hyper's default is ~400 KiB; no client of ours sends more than a few KiB, and nginx
/// itself stops at 32 KiB by default.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Connections the kernel holds for us before `accept` takes them. Thousands of viewers
/// reconnect at once after a restart or the instructor's "disconnect everyone": with tokio's
/// default of 1,024 the queue overflowed, and a client whose handshake was dropped from it
/// could be reset before its first response byte. The kernel caps it at
/// `net.core.somaxconn` (4,096 on current Linux).
const LISTEN_BACKLOG: u32 = 4_096;

/// Listens on `addr` with room for a burst of reconnects (see [`LISTEN_BACKLOG`]).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As `TcpListener::bind` does: a restarted server may reuse its port at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Idle time before the first TCP keep-alive probe, and between probes.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` is cancelled and every connection is done;
/// with `tls`, every connection is HTTPS and may speak HTTP/2 (ALPN).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    metrics: Arc<Metrics>,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header)
        .max_buf_size(MAX_HEAD_BYTES);
    // HTTP/2 (over TLS only, as browsers use it): ping an idle connection so a dead peer
    // is noticed, as TCP keep-alive does for HTTP/1.1.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEPALIVE_IDLE)
        .keep_alive_timeout(timeouts.write);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) if is_per_connection(&err) => continue,
                Err(err) => {
                    // Out of file descriptors, most likely: new connections must wait until
                    // some close, and spinning on accept would only burn the CPU they need.
                    tracing::error!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        configure_socket(&stream, timeouts.write);
        let connection = Connection {
            builder: builder.clone(),
            app: app.clone(),
            remote,
            meter: Arc::new(ConnectionMeter::new()),
            watcher: graceful.watcher(),
        };
        let guarded = StallGuard::new(stream, timeouts.write, metrics.stalled.clone());
        match tls.clone() {
            None => {
                tokio::spawn(connection.serve(guarded));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    // A handshake that never ends is a slow head like any other.
                    match tokio::time::timeout(timeouts.header, acceptor.accept(guarded)).await {
                        Ok(Ok(secured)) => connection.serve(secured).await,
                        Ok(Err(err)) => {
                            tracing::debug!("TLS handshake with {remote} failed: {err}")
                        }
                        Err(_) => tracing::debug!("TLS handshake with {remote} timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One accepted connection, about to be served.
struct Connection {
    builder: Builder<TokioExecutor>,
    app: Router,
    remote: SocketAddr,
    meter: Arc<ConnectionMeter>,
    watcher: Watcher,
}

impl Connection {
    /// Serves HTTP/1.1 (or, over TLS, HTTP/2) on `io` until the connection ends; each
    /// request carries the client's address and the connection's meter.
    async fn serve<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            builder,
            app,
            remote,
            meter,
            watcher,
        } = self;
        // Metered below the rewriter: what is counted is what the client is really sent.
        let io = TokioIo::new(ParseErrorBodies::new(Metered::new(io, meter.clone())));
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            request.extensions_mut().insert(meter.clone());
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder.serve_connection_with_upgrades(io, service);
        // A client that vanishes or sends garbage ends only its own connection.
        if let Err(err) = watcher.watch(connection.into_owned()).await {
            tracing::debug!("connection from {remote} ended: {err}");
        }
    }
}

/// Errors that concern one incoming connection only (it was reset before we took it).
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Keep-alive probes for idle connections, and (Linux) a bound on unacknowledged data.
fn configure_socket(stream: &TcpStream, write_timeout: Duration) {
    let socket = socket2::SockRef::from(stream);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    // Best effort: a socket that refuses an option is still served, just less guarded.
    if let Err(err) = socket.set_tcp_keepalive(&keepalive) {
        tracing::debug!("cannot enable TCP keep-alive: {err}");
    }
    // Twice the write timeout: a peer that is alive but not reading is reaped (and counted)
    // by the StallGuard first; the kernel's limit is the backstop for one that is gone.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(err) = socket.set_tcp_user_timeout(Some(write_timeout.saturating_mul(2))) {
        tracing::debug!("cannot set TCP_USER_TIMEOUT: {err}");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = write_timeout;
}

/// A connection whose writes fail once they have made no progress for `limit`.
///
/// A write that the socket cannot take (`Pending`) starts a timer, registered with the
/// same waker; any progress clears it. When the timer fires first, the write fails with
/// `TimedOut`, and hyper (or the WebSocket) closes the connection.
pub struct StallGuard {
    io: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    reaped: Counter,
    /// Whether this connection has been counted as reaped (it is, at most once).
    counted: bool,
}

impl StallGuard {
    /// Watches `io`'s writes: one that makes no progress for `limit` fails (and counts in
    /// `reaped`).
    pub fn new(io: TcpStream, limit: Duration, reaped: Counter) -> StallGuard {
        StallGuard {
            io,
            limit,
            stalled: None,
            reaped,
            counted: false,
        }
    }

    fn count_reaped(&mut self) {
        if !self.counted {
            self.counted = true;
            self.reaped.inc();
        }
    }

    /// Turns a `Pending` write into `TimedOut` once it has been pending for `limit`.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match outcome {
            Poll::Pending => {
                let limit = self.limit;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_ready() {
                    self.stalled = None;
                    self.count_reaped();
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client has not read anything for the write timeout",
                    )));
                }
                Poll::Pending
            }
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::TimedOut => {
                // The kernel's TCP_USER_TIMEOUT gave up first: the same stall, counted once.
                self.stalled = None;
                self.count_reaped();
                Poll::Ready(Err(err))
            }
            done => {
                self.stalled = None;
                done
            }
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Err(err)) = &outcome {
            // The kernel's TCP_USER_TIMEOUT (unacknowledged data) surfaces on either side.
            if err.kind() == io::ErrorKind::TimedOut {
                self.count_reaped();
            }
        }
        outcome
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.io).poll_write(cx, buf);
        self.guard(cx, outcome)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.guard(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.io).poll_flush(cx);
        self.guard(cx, outcome)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
