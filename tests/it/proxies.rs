//! The same lesson through every proxy the README's table covers — nginx, Caddy, HAProxy —
//! each with the very file in `deploy/`: events arrive one by one as they are published,
//! a WebSocket upgrades and streams, a long-poll waits and answers, and the diagnostic
//! stream shows the headers the proxy added. nginx over TLS and HTTP/2 too, as curl speaks it.

use crate::support::proxy::Proxy;
use crate::support::ws::envelopes_until;
use crate::support::{Response, TestServer, PATIENCE};
use std::net::SocketAddr;

/// Through `proxy`: 20 steps, each one's events before the next step is made (nothing may
/// wait in a buffer for more data), a WebSocket, a long-poll, and `/.sse`.
async fn streams_through(name: &str, proxy: &Proxy, server: &TestServer) {
    let mut stream = Response::get(proxy.addr, "/api/sse", &[]).await;
    assert_eq!(stream.status, 200, "{name}: {}", proxy.log());
    assert_eq!(
        stream.header("content-encoding"),
        None,
        "{name}: never compressed"
    );
    stream.next_event().await.expect("snapshot");
    for _ in 0..20 {
        let last = server.step(1).await;
        let events = stream.events_until(last).await;
        assert_eq!(events.last().expect("events").event_id(), last, "{name}");
    }

    websocket(name, proxy.addr, server).await;

    // A long-poll that waits for news, answered through the proxy when it comes.
    let after = server.latest();
    let (addr, path) = (proxy.addr, format!("/api/poll?after={after}&wait=10"));
    let waiting = tokio::spawn(async move { Response::get(addr, &path, &[]).await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server.step(1).await;
    let mut answer = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("the poll is answered")
        .expect("the poll task");
    assert_eq!(answer.status, 200, "{name}");
    // It answers with what came after `after` (the first of the step's events, at least).
    let batch: serde_json::Value =
        serde_json::from_str(&answer.body().await).expect("a poll batch");
    assert_eq!(
        batch["events"][0]["id"],
        after.next().to_string(),
        "{name}: {batch}"
    );

    let mut diagnostic = Response::get(proxy.addr, "/.sse", &[]).await;
    diagnostic.next_event().await.expect("server");
    let request = diagnostic.next_event().await.expect("request");
    assert!(
        request.data.contains("X-Forwarded-For: 127.0.0.1"),
        "{name}: {}",
        request.data
    );
}

async fn websocket(name: &str, addr: SocketAddr, server: &TestServer) {
    let url = format!("ws://{addr}/api/ws");
    let (mut socket, response) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|err| panic!("{name}: the upgrade failed: {err}"));
    assert_eq!(response.status(), 101, "{name}");
    let last = server.step(1).await;
    envelopes_until(&mut socket, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_caddy_events_arrive_one_by_one_and_websockets_upgrade() {
    let server = TestServer::start(&[]).await;
    let proxy = Proxy::caddy(server.addr);
    streams_through("caddy", &proxy, &server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_events_arrive_one_by_one_and_websockets_upgrade() {
    let server = TestServer::start(&[]).await;
    let proxy = Proxy::haproxy(server.addr);
    streams_through("haproxy", &proxy, &server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_a_websocket_and_a_long_poll_pass_too() {
    let server = TestServer::start(&[]).await;
    let proxy = Proxy::nginx("tickstream.conf", server.addr);
    streams_through("nginx", &proxy, &server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_over_http2_events_arrive_one_by_one() {
    let server = TestServer::start(&[]).await;
    let proxy = Proxy::nginx("tickstream-h2.conf", server.addr);
    let url = format!("https://{}/api/sse", proxy.addr);
    let mut curl = tokio::process::Command::new("curl")
        .args(["--http2", "-k", "-s", "-N", "-i", &url])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("curl runs");
    let stdout = curl.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut next_line = async || {
        tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("a line within the patience: {}", proxy.log()))
            .expect("reads")
            .expect("the stream goes on")
    };
    // `-i` prints the status line first: the HTTP version curl and nginx agreed on.
    let status = next_line().await;
    assert!(status.starts_with("HTTP/2 200"), "{status}");
    while !next_line().await.starts_with("event: snapshot") {}
    // Each step's events arrive before the next step is made: nothing waits in a buffer.
    for _ in 0..10 {
        let wanted = format!("id: {}", server.step(1).await);
        while next_line().await != wanted {}
    }
}
