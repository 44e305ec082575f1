//! What real clients ran into, each answered now with the documented JSON error or by doing
//! what the client meant: a method a path does not answer (`405`), a path segment that is
//! not UTF-8, raw non-UTF-8 bytes and an oversized head that hyper refuses before any route
//! runs (`400`, `431`), a handshake to `/api/ws` that is no WebSocket, a lower-case
//! `bearer` scheme, a list given in two parts (`symbols=NOVA&symbols=GRID`) and a single
//! value given twice. After every one of them the server goes on serving.

use crate::support::{Response, TestServer};
use tickstream::wire::batch::decode_batch;
use tickstream::wire::{Envelope, ErrorBody, Payload};

/// The documented body of an error response, or a failure naming what came instead.
async fn error_of(response: &mut Response) -> ErrorBody {
    let body = response.body().await;
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{body}"
    );
    ErrorBody::decode(&body).unwrap_or_else(|| panic!("not the documented JSON error: {body:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_a_path_does_not_answer_gets_405_json_naming_the_allowed_ones() {
    let server = TestServer::start(&[]).await;
    for (method, path) in [
        ("DELETE", "/api/sse"),
        ("PUT", "/api/snapshot"),
        ("POST", "/metrics"),
    ] {
        let mut response = server.request(method, path, None, "").await;
        assert_eq!(response.status, 405, "{method} {path}");
        assert_eq!(
            response.header("allow"),
            Some("GET,HEAD"),
            "{method} {path}"
        );
        let error = error_of(&mut response).await;
        assert_eq!(error.error.code.as_str(), "method_not_allowed");
        assert!(
            error.error.message.contains(method),
            "{}",
            error.error.message
        );
    }
    // A plain GET to the WebSocket endpoint is not a handshake: told so, in JSON.
    let mut not_ws = server.get("/api/ws", &[]).await;
    assert!((400..500).contains(&not_ws.status), "{}", not_ws.status);
    error_of(&mut not_ws).await;
    assert_eq!(server.get("/healthz", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_utf8_get_400_json_whether_encoded_or_raw() {
    let server = TestServer::start(&[]).await;
    // Percent-encoded: a route's extractor refuses it.
    let mut encoded = server.get("/api/usage/%ff", &[]).await;
    assert_eq!(encoded.status, 400);
    assert_eq!(
        error_of(&mut encoded).await.error.code.as_str(),
        "bad_request"
    );
    // Raw, in the path and in the query: hyper refuses the request line itself.
    for head in [
        &b"GET /api/usage/\xff HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &b"GET /api/sse?symbols=\xff HTTP/1.1\r\nHost: x\r\n\r\n"[..],
    ] {
        let mut raw = Response::get_raw_head(server.addr, head).await;
        assert_eq!(raw.status, 400);
        let error = error_of(&mut raw).await;
        assert_eq!(error.error.code.as_str(), "bad_request");
        assert_eq!(error.error.param.as_deref(), Some("head"));
    }
    assert_eq!(server.get("/api/snapshot", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_larger_than_the_server_reads_gets_431_json() {
    let server = TestServer::start(&[]).await;
    let big = "a".repeat(tickstream::server::listen::MAX_HEAD_BYTES);
    let head = format!("GET /api/snapshot HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let mut response = Response::get_raw_head(server.addr, head.as_bytes()).await;
    assert_eq!(response.status, 431);
    let error = error_of(&mut response).await;
    assert_eq!(error.error.code.as_str(), "bad_request");
    assert_eq!(server.get("/api/snapshot", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let token = "a-token-of-ours";
    let server = TestServer::start(&["--admin-token", token]).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let authorization = format!("{scheme} {token}");
        let mut response = server
            .get("/api/admin/faults", &[("Authorization", &authorization)])
            .await;
        // Past the token check: faults are off on this server, which is the next answer.
        let error = error_of(&mut response).await;
        assert_eq!(error.error.code.as_str(), "faults_disabled", "{scheme}");
    }
    let mut wrong = server
        .get(
            "/api/admin/faults",
            &[("Authorization", "Basic a-token-of-ours")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        error_of(&mut wrong).await.error.code.as_str(),
        "unauthorized"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_in_two_parts_is_both_and_a_value_twice_is_refused() {
    let server = TestServer::start(&[]).await;
    let first = server.latest();
    server.step(10).await;
    // A poll reads the query as a stream does, and answers with everything at once.
    let mut poll = server
        .get(
            &format!("/api/poll?wait=0&types=tick&symbols=NOVA&symbols=grid&after={first}"),
            &[],
        )
        .await;
    assert_eq!(poll.status, 200);
    let batch = decode_batch(&poll.body().await).expect("a batch");
    let mut symbols = std::collections::BTreeSet::new();
    for (envelope, text) in batch.events {
        let Ok(Envelope {
            payload: Payload::Tick(tick),
            ..
        }) = envelope
        else {
            panic!("not a tick: {text}")
        };
        symbols.insert(tick.symbol);
    }
    assert_eq!(
        symbols.into_iter().collect::<Vec<_>>(),
        ["GRID", "NOVA"],
        "both parts of the list, nothing else"
    );
    let mut twice = server
        .get("/api/sse?lastEventId=a-1&lastEventId=a-2", &[])
        .await;
    assert_eq!(twice.status, 400);
    let error = error_of(&mut twice).await;
    assert_eq!(error.error.param.as_deref(), Some("lastEventId"));
    assert!(
        error.error.message.contains("more than once"),
        "{}",
        error.error.message
    );
}
