//! HTTPS with HTTP/2, as curl (a real client, with its own HTTP/2 stack) speaks it: every
//! route works on HTTP/2 and on HTTP/1.1 over TLS, and an SSE stream over HTTP/2 delivers
//! each step's events before the next step is made (nothing waits in a buffer).

use crate::support::TestServer;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

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
