//! HTTPS with HTTP/2, as curl (a real client, with its own HTTP/2 stack) speaks it: every
//! route works on HTTP/2 and on HTTP/1.1 over TLS, and an SSE stream over HTTP/2 delivers
//! each step's events before the next step is made (nothing waits in a buffer). And the
//! plain listener's guards hold under TLS, with a rustls client that trusts the test's own
//! certificate: a handshake that never starts and a request head that never ends are cut
//! off at the header timeout, a reader that stops reading is reaped at the write timeout.

use crate::support::{TestServer, PATIENCE};
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::Command;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// `curl -k` (the certificate is self-signed) with `args`, its output as text, and the
/// HTTP version it used.
async fn curl(args: &[&str]) -> (String, String) {
    let output = Command::new("curl")
        .args(["-k", "-s", "--max-time", "10", "-w", "\\n%{http_version}"])
        .args(args)
        .output()
        .await
        .expect("curl runs");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let (body, version) = text.rsplit_once('\n').expect("the version line");
    (body.to_owned(), version.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_speaks_http2_and_http1_over_tls() {
    let server = TestServer::start(&["--tls", "self-signed"]).await;
    server.step(3).await;
    let base = format!("https://{}", server.addr);
    let (body, version) = curl(&["--http2", &format!("{base}/api/snapshot")]).await;
    assert_eq!(version, "2");
    assert!(body.contains("\"type\":\"snapshot\""), "{body:.80}");
    let (body, version) = curl(&["--http1.1", &format!("{base}/api/snapshot")]).await;
    assert_eq!(version, "1.1");
    assert!(body.contains("\"type\":\"snapshot\""), "{body:.80}");
    let (page, version) = curl(&["--http2", &format!("{base}/")]).await;
    assert_eq!(version, "2");
    assert!(
        page.contains("data-testid=\"watchlist\""),
        "the market page"
    );
    let (poll, _) = curl(&["--http2", &format!("{base}/api/poll?wait=0")]).await;
    assert!(poll.starts_with("{\"events\":["), "{poll:.80}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_stream_over_http2_is_flushed_event_by_event() {
    let server = TestServer::start(&["--tls", "self-signed"]).await;
    let url = format!("https://{}/api/sse", server.addr);
    let mut child = Command::new("curl")
        .args(["-k", "-s", "-N", "--http2", &url])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("curl runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next_line = async || {
        tokio::time::timeout(crate::support::PATIENCE, lines.next_line())
            .await
            .expect("a line within the patience")
            .expect("reads")
            .expect("the stream goes on")
    };
    while !next_line().await.starts_with("event: snapshot") {}
    for _ in 0..10 {
        let last = server.step(1).await;
        let wanted = format!("id: {last}");
        while next_line().await != wanted {}
    }
}

/// A server with a certificate made here (so a client can trust exactly it), plus `extra`.
struct TlsServer {
    server: TestServer,
    connector: TlsConnector,
    _dir: TempDir,
}

/// A folder removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TlsServer {
    async fn start(extra: &[&str]) -> TlsServer {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .expect("a certificate");
        let dir = std::env::temp_dir().join(format!(
            "tickstream-tls-{}-{}",
            std::process::id(),
            crate::support::proxy::free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).expect("writes");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("writes");
        let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
        let mut args = vec!["--tls-cert", &cert_arg, "--tls-key", &key_arg];
        args.extend_from_slice(extra);
        let server = TestServer::start(&args).await;
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(made.cert.der().to_vec()))
            .expect("a root");
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsServer {
            server,
            connector: TlsConnector::from(Arc::new(config)),
            _dir: TempDir(dir),
        }
    }

    /// A TLS connection over `tcp`, handshake done.
    async fn tls(&self, tcp: TcpStream) -> tokio_rustls::client::TlsStream<TcpStream> {
        let name = ServerName::try_from("127.0.0.1").expect("a name");
        self.connector
            .connect(name, tcp)
            .await
            .expect("the handshake")
    }
}

/// Reads until the peer closes; `true` if it did within the patience.
async fn closed_by_peer(stream: &mut (impl AsyncReadExt + Unpin)) -> (bool, String) {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received)).await;
    (
        read.is_ok(),
        String::from_utf8_lossy(&received).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_that_never_starts_and_a_head_that_never_ends_are_cut_off() {
    let tls = TlsServer::start(&["--header-timeout-secs", "1"]).await;
    let addr = tls.server.addr;
    // TCP only: no ClientHello ever comes.
    let mut silent = TcpStream::connect(addr).await.expect("connects");
    let (closed, _) = closed_by_peer(&mut silent).await;
    assert!(
        closed,
        "a silent connection is closed at the header timeout"
    );

    // A handshake, then half a request head.
    let mut slow = tls
        .tls(TcpStream::connect(addr).await.expect("connects"))
        .await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("sends");
    let (closed, received) = closed_by_peer(&mut slow).await;
    assert!(closed, "a slow head is cut off under TLS too");
    assert!(!received.contains("200 OK"), "{received}");

    // The server serves the next client as ever.
    let mut next = tls
        .tls(TcpStream::connect(addr).await.expect("connects"))
        .await;
    next.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("sends");
    let (_, answer) = closed_by_peer(&mut next).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_reader_that_stops_reading_is_reaped() {
    let tls = TlsServer::start(&["--write-timeout-secs", "1", "--client-backlog", "100000"]).await;
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let tcp = socket.connect(tls.server.addr).await.expect("connects");
    let mut stalled = tls.tls(tcp).await;
    stalled
        .write_all(b"GET /api/sse HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("sends");
    // Never read again. Publish until its buffers are full and its writes stop for a second.
    let mut reaped = false;
    for _ in 0..1_000 {
        tls.server.step(20).await;
        if tls.server.metric("tickstream_stalled_connections_total") >= 1.0 {
            reaped = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reaped, "the stalled TLS connection was closed");
    drop(stalled);
}
