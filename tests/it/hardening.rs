//! The server's limits and protective headers, against a real server on a loopback port:
//! stream limits per address and overall (429 / 503 with `Retry-After` and a JSON error),
//! the body cap, reaping a client that stops reading, cutting off a slow request head, the
//! page's Content-Security-Policy and its nonce, and CORS. Every refusal leaves the server
//! serving.

use crate::support::{Response, TestServer, PATIENCE};
use tickstream::wire::sse::Item;
use tickstream::wire::ErrorBody;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The JSON error body of a refused request.
async fn error_code(response: &mut Response) -> String {
    let body = response.body().await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
    json["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_owned()
}

/// Opens a WebSocket; the HTTP status of the refusal if it is refused.
async fn ws_status(server: &TestServer, path: &str) -> u16 {
    let url = format!("ws://{}{path}", server.addr);
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(err) => panic!("unexpected WebSocket failure: {err}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_the_per_address_limit_get_429_with_retry_after() {
    let server = TestServer::start(&["--max-streams-per-ip", "2"]).await;
    let first = server.get("/api/sse", &[]).await;
    let second = server.get("/api/sse", &[]).await;
    assert_eq!((first.status, second.status), (200, 200));

    let mut third = server.get("/api/sse", &[]).await;
    assert_eq!(third.status, 429);
    assert_eq!(third.header("retry-after"), Some("5"));
    assert_eq!(third.header("content-type"), Some("application/json"));
    assert_eq!(error_code(&mut third).await, "too_many_streams");
    assert_eq!(ws_status(&server, "/api/ws").await, 429);
    let mut long_poll = server.get("/api/poll?wait=5", &[]).await;
    assert_eq!(long_poll.status, 429);
    assert_eq!(error_code(&mut long_poll).await, "too_many_streams");
    assert_eq!(server.get("/.sse", &[]).await.status, 429);
    // What is not a stream is not limited.
    assert_eq!(server.get("/api/poll?wait=0", &[]).await.status, 200);
    assert_eq!(server.get("/api/snapshot", &[]).await.status, 200);
    assert_eq!(
        server.metric("tickstream_refused_streams_total{transport=\"sse\",reason=\"per_ip\"}"),
        1.0
    );
    assert_eq!(
        server.metric("tickstream_refused_streams_total{transport=\"ws\",reason=\"per_ip\"}"),
        1.0
    );

    // A closed stream gives its place back (once the server notices: its next write fails).
    drop(first);
    let mut admitted = false;
    for _ in 0..200 {
        server.step(1).await;
        if server.state.limits.open() < 2 {
            admitted = server.get("/api/sse", &[]).await.status == 200;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(admitted, "the place of a closed stream came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_event_source_is_told_to_come_back_not_failed_for_good() {
    let server = TestServer::start(&["--max-streams-per-ip", "1"]).await;
    let _open = server.get("/api/sse", &[]).await;
    // What every EventSource sends. A 429 would fail it for good (the spec ignores
    // Retry-After); a 200 that says `retry:` and ends is a loss it retries.
    let mut refused = server
        .get("/api/sse", &[("Accept", "text/event-stream")])
        .await;
    assert_eq!(refused.status, 200);
    assert_eq!(
        refused.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(refused.header("retry-after"), Some("5"));
    let mut items = Vec::new();
    while let Some(item) = refused.next_item().await {
        items.push(item);
    }
    let [Item::Retry(retry), Item::Event { id, event, data }] = &items[..] else {
        panic!("not retry + one event, then the end: {items:?}")
    };
    assert_eq!(*retry, 5_000);
    assert_eq!((id.as_str(), event.as_str()), ("", "refused"));
    let error = ErrorBody::decode(data).expect("the documented JSON error as its data");
    assert_eq!(error.error.code.as_str(), "too_many_streams");
    assert_eq!(
        server.metric("tickstream_refused_streams_total{transport=\"sse\",reason=\"per_ip\"}"),
        1.0
    );
    // The refusal held no place: the open stream is still the only one.
    assert_eq!(server.state.limits.open(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_wide_limit_answers_503_and_the_server_keeps_serving() {
    let server = TestServer::start(&["--max-streams", "1"]).await;
    let open = server.get("/api/sse", &[]).await;
    assert_eq!(open.status, 200);
    let mut refused = server.get("/api/sse", &[]).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("5"));
    assert_eq!(error_code(&mut refused).await, "server_busy");
    assert_eq!(ws_status(&server, "/api/ws").await, 503);
    assert_eq!(server.get("/healthz", &[]).await.status, 200);
    assert_eq!(server.get("/api/snapshot", &[]).await.status, 200);
    assert_eq!(
        server.metric("tickstream_refused_streams_total{transport=\"sse\",reason=\"overall\"}"),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_reaped() {
    let server =
        TestServer::start(&["--write-timeout-secs", "1", "--client-backlog", "100000"]).await;
    let _stalled = Response::get_small_window(server.addr, "/api/sse").await;
    // Publish until the stalled client's buffers are full and its writes stop for a second.
    assert!(
        crate::support::publish_until_reaped(&server).await,
        "the stalled connection was closed"
    );
    // Its stream ended with it, and gave its place back.
    for _ in 0..200 {
        if server.state.limits.open() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.state.limits.open(), 0);
    assert_eq!(
        server.metric("tickstream_open_connections{transport=\"sse\"}"),
        0.0
    );
    assert_eq!(server.get("/healthz", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_that_never_ends_is_cut_off() {
    let server = TestServer::start(&["--header-timeout-secs", "1"]).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connects");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("sends");
    // The server closes the connection (with or without a 408); it never answers 200.
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, slow.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the connection was closed");
    assert!(!String::from_utf8_lossy(&received).contains("200 OK"));
    assert_eq!(server.get("/healthz", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_cap_get_413_json() {
    let token = "test-admin-token";
    let server = TestServer::start(&["--max-body-bytes", "2048", "--admin-token", token]).await;
    let big = format!(r#"{{"headline":"{}"}}"#, "x".repeat(4_000));
    let mut response = server.post("/api/admin/news", Some(token), &big).await;
    assert_eq!(response.status, 413);
    assert_eq!(error_code(&mut response).await, "too_large");
    let mut response = server.post("/api/nothing-here", None, &big).await;
    assert_eq!(response.status, 413);
    assert_eq!(error_code(&mut response).await, "too_large");

    // Without a declared length the body is cut off while it is read.
    let mut head = format!(
        "POST /api/admin/news HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        big.len()
    )
    .into_bytes();
    head.extend_from_slice(big.as_bytes());
    head.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut response = Response::get_raw_head(server.addr, &head).await;
    assert_eq!(response.status, 413);
    assert_eq!(error_code(&mut response).await, "too_large");

    // A small body still works.
    let ok = server
        .post(
            "/api/admin/news",
            Some(token),
            r#"{"headline":"Small news"}"#,
        )
        .await;
    assert!(ok.status < 300, "status {}", ok.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_csp_whose_nonce_every_inline_script_carries() {
    let server = TestServer::start(&[]).await;
    for path in ["/", "/lab", "/no-such-page"] {
        let mut page = server.get(path, &[]).await;
        assert!(
            page.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{path}"
        );
        let policy = page
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has no CSP"))
            .to_owned();
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
        assert!(policy.contains("connect-src 'self'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in script-src");
        assert!(nonce.len() >= 16, "a nonce of 128 bits: {nonce}");
        let html = page.body().await;
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(
            scripts.len() >= 2,
            "the theme and hydration scripts on {path}"
        );
        for script in scripts {
            let tag = script.split('>').next().unwrap_or("");
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: a script without the nonce: <script{tag}>"
            );
        }
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    }
    // A fresh nonce per response.
    let a = server.get("/", &[]).await;
    let b = server.get("/", &[]).await;
    assert_ne!(
        a.header("content-security-policy"),
        b.header("content-security-policy")
    );
    // Every response is nosniff; the transports are never compressed, JSON and pages are.
    for (path, encoding) in [
        ("/api/snapshot", Some("br")),
        ("/", Some("br")),
        ("/api/sse", None),
        ("/api/poll?after=bad", None),
        ("/api/poll", None),
        ("/.sse", None),
    ] {
        let response = server.get(path, &[("Accept-Encoding", "gzip, br")]).await;
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(response.header("content-encoding"), encoding, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_same_origin_unless_an_origin_is_allowed() {
    let closed = TestServer::start(&[]).await;
    let response = closed
        .get("/api/snapshot", &[("Origin", "https://a.example")])
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), None);

    let open = TestServer::start(&["--cors-origin", "https://a.example"]).await;
    let allowed = open
        .get("/api/sse", &[("Origin", "https://a.example")])
        .await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://a.example")
    );
    let other = open
        .get("/api/snapshot", &[("Origin", "https://evil.example")])
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    let preflight = Response::get_raw_head(
        open.addr,
        b"OPTIONS /api/admin/news HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\n\
          Access-Control-Request-Method: POST\r\n\
          Access-Control-Request-Headers: authorization, content-type\r\n\r\n",
    )
    .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://a.example")
    );
    let methods = preflight
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
}
