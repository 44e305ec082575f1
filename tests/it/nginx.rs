//! The workshop's proxy lesson with a real nginx: through `deploy/nginx/tickstream.conf`
//! every event arrives as it is published; through the buffered variant it does not.

use crate::support::proxy::Proxy;
use crate::support::{Response, TestServer};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_every_event_arrives_as_it_is_published() {
    let server = TestServer::start(&[]).await;
    let nginx = Proxy::nginx("tickstream.conf", server.addr);
    let mut stream = Response::get(nginx.addr, "/api/sse", &[]).await;
    assert_eq!(stream.status, 200, "{}", nginx.log());
    assert_eq!(
        stream.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    stream.next_event().await.expect("snapshot");
    // One step at a time: each step's events must come through before the next is made,
    // so nothing can be waiting in a buffer for more data to arrive.
    for _ in 0..20 {
        let last = server.step(1).await;
        let events = stream.events_until(last).await;
        assert_eq!(events.last().expect("events").event_id(), last);
    }
    // Ordinary pages still come through (buffered).
    let mut page = Response::get(nginx.addr, "/api/snapshot", &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.body().await.contains("\"type\":\"snapshot\""));
    // And the diagnostic stream shows what nginx added to the request.
    let mut diagnostic = Response::get(nginx.addr, "/.sse", &[]).await;
    diagnostic.next_event().await.expect("server");
    let request = diagnostic.next_event().await.expect("request");
    assert!(
        request.data.contains("X-Forwarded-For: 127.0.0.1"),
        "{}",
        request.data
    );
}

/// What `GET /.sse` prints through a proxy, in the shape of jmalloc/echo-server (the
/// article's server) for `curl -N http://host/.sse`: `<…>` stands for a value that must
/// differ from run to run (a host name, an address, a time, a client's name).
const ECHO_SERVER_TRANSCRIPT: &str = include_str!("fixtures/echo-server-sse.txt");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diagnostic_stream_through_nginx_reads_as_the_article_prints_it() {
    let server = TestServer::start(&[]).await;
    let nginx = Proxy::nginx("tickstream.conf", server.addr);
    let mut stream = Response::get(
        nginx.addr,
        "/.sse",
        &[("User-Agent", "curl/8.5.0"), ("Accept", "*/*")],
    )
    .await;
    assert_eq!(stream.status, 200, "{}", nginx.log());
    assert_eq!(stream.header("access-control-allow-origin"), Some("*"));
    let mut raw = String::new();
    while !raw.contains("id: 4\n\n") {
        let bytes = stream.next_body_bytes().await;
        assert!(!bytes.is_empty(), "the stream went on: {raw}");
        raw.push_str(&String::from_utf8(bytes).expect("UTF-8"));
    }
    let ours: Vec<&str> = raw.split_inclusive('\n').collect();
    let theirs: Vec<&str> = ECHO_SERVER_TRANSCRIPT.split_inclusive('\n').collect();
    assert_eq!(ours.len(), theirs.len(), "line count:\n{raw}");
    for (line, (ours, theirs)) in ours.iter().zip(&theirs).enumerate() {
        match theirs.split_once('<') {
            // A value that differs: the same field, something in it.
            Some((prefix, _)) => assert!(
                ours.starts_with(prefix) && ours.trim_end().len() > prefix.trim_end().len(),
                "line {}: {ours:?} is not {theirs:?}",
                line + 1
            ),
            None => assert_eq!(ours, theirs, "line {}", line + 1),
        }
    }
    let times: Vec<&str> = raw
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| humantime::parse_rfc3339(data).is_ok())
        .collect();
    assert_eq!(times.len(), 2, "two times, RFC 3339 to the second: {raw}");
    assert!(times
        .iter()
        .all(|t| t.len() == "2026-11-30T01:02:03Z".len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffering_compressing_proxy_holds_events_back() {
    let server = TestServer::start(&["--heartbeat-secs", "3600"]).await;
    let nginx = Proxy::nginx("tickstream-buffered.conf", server.addr);
    let mut direct = server.get("/api/sse", &[]).await;
    direct.next_event().await.expect("snapshot");
    let addr = nginx.addr;
    let proxied = tokio::spawn(async move {
        let mut response = Response::get(addr, "/api/sse", &[("Accept-Encoding", "gzip")]).await;
        let first = response.next_body_bytes().await;
        (response, first)
    });

    // The server has sent `retry:`, a 60 kB snapshot and a few live events; the direct
    // client has them all at once. Through this proxy not even the response headers have
    // come out two seconds later: everything waits in nginx's buffers.
    let last = server.step(3).await;
    direct.events_until(last).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !proxied.is_finished(),
        "the buffered proxy passed the stream on early"
    );

    // Publish enough to fill the buffers and the held-back lump arrives, compressed.
    server.step(600).await;
    let (response, first) = proxied.await.expect("the proxied request");
    assert_eq!(response.status, 200, "{}", nginx.log());
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert!(!first.is_empty());
}
