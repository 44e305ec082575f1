//! `POST /api/explain`: a finite event stream read as a real client reads it — every
//! `token`, then `done`, then the end of the response — and what happens when the client
//! goes away early, asks twice at once, or asks about nothing.

use crate::support::{TestServer, PATIENCE};
use serde_json::Value;
use tickstream::server::analyst;

/// Reads an answer to its end: the text of its tokens, and the `done` event's count.
async fn read_answer(response: &mut crate::support::Response) -> (String, u64) {
    let mut text = String::new();
    loop {
        let event = response
            .next_event()
            .await
            .expect("the answer goes on to done");
        let data: Value = serde_json::from_str(&event.data).expect("JSON data");
        match event.event.as_str() {
            "token" => text.push_str(data["text"].as_str().expect("a token's text")),
            "done" => {
                assert!(response.next_event().await.is_none(), "done is the end");
                return (text, data["tokens"].as_u64().expect("a count"));
            }
            other => panic!("unexpected event {other}: {}", event.data),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_note_streams_word_by_word_then_done_then_the_end() {
    let server = TestServer::start(&["--explain-token-ms", "1"]).await;
    server.step(30).await;
    let mut answer = server
        .post("/api/explain", None, r#"{"symbol":"nova"}"#)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let (text, tokens) = read_answer(&mut answer).await;
    let expected = analyst::note(&server.state.hub.snapshot(), "NOVA").expect("NOVA");
    assert_eq!(text, expected);
    assert_eq!(tokens, analyst::tokens(&expected).count() as u64);
    assert!(
        text.starts_with("NOVA (Novatek Systems) last traded at "),
        "{text}"
    );

    // A seeded market on a manual clock explains itself the same way every time.
    let twin = TestServer::start(&["--explain-token-ms", "1"]).await;
    twin.step(30).await;
    let mut again = twin
        .post("/api/explain", None, r#"{"symbol":"NOVA"}"#)
        .await;
    assert_eq!(read_answer(&mut again).await.0, text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_the_answer_and_frees_its_slot() {
    let server = TestServer::start(&["--explain-token-ms", "300"]).await;
    server.step(5).await;
    let gauge = "tickstream_open_connections{transport=\"explain\"}";
    let mut answer = server
        .post("/api/explain", None, r#"{"symbol":"GRID"}"#)
        .await;
    answer.next_event().await.expect("a first token");
    assert_eq!(server.metric(gauge), 1.0);
    // One answer per client at a time.
    let mut second = server
        .post("/api/explain", None, r#"{"symbol":"NOVA"}"#)
        .await;
    assert_eq!(second.status, 429);
    let body: Value = serde_json::from_str(&second.body().await).expect("a JSON error");
    assert_eq!(body["error"]["code"], "too_many_streams");
    // The client goes (Cancel, a closed tab): the server stops writing and frees the slot.
    drop(answer);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.metric(gauge) > 0.0 {
        assert!(tokio::time::Instant::now() < deadline, "the answer went on");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let third = server
        .post("/api/explain", None, r#"{"symbol":"NOVA"}"#)
        .await;
    assert_eq!(third.status, 200, "the slot came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_questions_get_a_json_error_naming_the_problem() {
    let server = TestServer::start(&[]).await;
    for (body, param) in [
        (r#"{"symbol":"ACME"}"#, "symbol"),
        (r#"{"ticker":"NOVA"}"#, "body"),
        ("not json", "body"),
    ] {
        let mut response = server.post("/api/explain", None, body).await;
        assert_eq!(response.status, 400, "{body}");
        let reply: Value = serde_json::from_str(&response.body().await).expect("JSON");
        assert_eq!(reply["error"]["param"], param, "{body}");
    }
}
