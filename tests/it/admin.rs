//! `/api/admin/…` against a real server: the token, every action, and every bad request.

use crate::support::TestServer;
use serde_json::Value;
use tickstream::wire::Payload;

const TOKEN: &str = "workshop-token-1";

async fn admin() -> TestServer {
    TestServer::start(&["--admin-token", TOKEN]).await
}

async fn json(response: &mut crate::support::Response) -> Value {
    serde_json::from_str(&response.body().await).expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_token_the_admin_api_is_disabled() {
    let server = TestServer::start(&[]).await;
    let mut response = server
        .post("/api/admin/step", Some("anything-at-all"), r#"{"n":1}"#)
        .await;
    assert_eq!(response.status, 403);
    assert_eq!(json(&mut response).await["error"]["code"], "admin_disabled");
    assert_eq!(server.latest().seq, 1, "nothing happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_token_gets_401() {
    let server = admin().await;
    for token in [
        None,
        Some("workshop-token-2"),
        Some("workshop-token-1x"),
        Some(""),
    ] {
        let mut response = server.post("/api/admin/step", token, r#"{"n":1}"#).await;
        assert_eq!(response.status, 401, "{token:?}");
        assert!(response
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")));
        assert_eq!(json(&mut response).await["error"]["code"], "unauthorized");
    }
    assert_eq!(server.latest().seq, 1, "nothing happened");
    let rendered = server.state.metrics.render();
    assert!(!rendered.contains(TOKEN), "the token never reaches metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_publishes_before_it_answers() {
    let server = admin().await;
    let mut stream = server.get("/api/sse", &[]).await;
    stream.next_event().await.expect("snapshot");
    let mut response = server
        .post("/api/admin/step", Some(TOKEN), r#"{"n":20}"#)
        .await;
    assert_eq!(response.status, 200);
    let body = json(&mut response).await;
    let id: tickstream::wire::EventId = body["id"].as_str().expect("an id").parse().expect("valid");
    assert_eq!(
        id,
        server.latest(),
        "every event of the steps is already published"
    );
    let events = stream.events_until(id).await;
    assert!(events.len() >= 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn news_reaches_every_stream_through_the_news_path() {
    let server = admin().await;
    let mut stream = server.get("/api/sse?types=news", &[]).await;
    stream.next_event().await.expect("snapshot");
    let mut response = server
        .post(
            "/api/admin/news",
            Some(TOKEN),
            r#"{"headline":"Novatek recalls its flagship","symbols":["nova"],"sentiment":"negative"}"#,
        )
        .await;
    assert_eq!(response.status, 201);
    let id = json(&mut response).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let event = stream.next_event().await.expect("the headline");
    assert_eq!(event.id, id);
    let Payload::News(news) = event.envelope().payload else {
        panic!("{}", event.data)
    };
    assert_eq!(news.headline, "Novatek recalls its flagship");
    assert_eq!(news.kind, "instructor");
    assert_eq!(news.sentiment.as_str(), "negative");
    assert_eq!(news.symbols, vec!["NOVA".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_actions_change_the_session() {
    let server = admin().await;
    let mut stream = server.get("/api/sse?types=market", &[]).await;
    stream.next_event().await.expect("snapshot");
    for (body, state, scenario) in [
        (r#"{"action":"halt"}"#, "halted", None),
        (r#"{"action":"resume"}"#, "open", None),
        (
            r#"{"action":"scenario","name":"crash"}"#,
            "open",
            Some("crash"),
        ),
        (r#"{"action":"close"}"#, "closed", None),
        (r#"{"action":"open"}"#, "open", None),
    ] {
        let mut response = server.post("/api/admin/market", Some(TOKEN), body).await;
        assert_eq!(response.status, 200, "{body}");
        let reply = json(&mut response).await;
        assert_eq!(reply["market"]["state"], state, "{body}");
        let event = stream.next_event().await.expect("a market event");
        let Payload::Market(status) = event.envelope().payload else {
            panic!("{}", event.data)
        };
        assert_eq!(status.state.as_str(), state, "{body}");
        assert_eq!(status.scenario.map(|s| s.as_str()), scenario, "{body}");
    }
    // Resuming an open market is refused, and changes nothing.
    let before = server.latest();
    let mut response = server
        .post("/api/admin/market", Some(TOKEN), r#"{"action":"resume"}"#)
        .await;
    assert_eq!(response.status, 409);
    assert_eq!(json(&mut response).await["error"]["code"], "conflict");
    assert_eq!(server.latest(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speed_is_validated_and_applied() {
    let server = admin().await;
    let mut response = server
        .post("/api/admin/speed", Some(TOKEN), r#"{"factor":4}"#)
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(json(&mut response).await["factor"], 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_ends_open_streams_which_then_resume() {
    let server = admin().await;
    let mut stream = server.get("/api/sse", &[]).await;
    let snapshot = stream.next_event().await.expect("snapshot");
    let mut response = server.post("/api/admin/disconnect", Some(TOKEN), "").await;
    assert_eq!(response.status, 200);
    assert_eq!(json(&mut response).await["disconnected"], 1);
    while stream.next_item().await.is_some() {} // the stream ends
    let last = server.step(5).await;
    let mut resumed = server
        .get("/api/sse", &[("Last-Event-ID", snapshot.id.as_str())])
        .await;
    let events = resumed.events_until(last).await;
    assert_eq!(
        events[0].event_id().seq,
        snapshot.event_id().seq + 1,
        "no gap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_a_4xx_naming_the_problem_and_change_nothing() {
    let server = admin().await;
    let before = server.latest();
    let long_headline = format!(r#"{{"headline":"{}"}}"#, "x".repeat(300));
    let huge = format!(r#"{{"headline":"{}"}}"#, "x".repeat(20_000));
    let cases: Vec<(&str, &str, u16, &str)> = vec![
        ("/api/admin/news", r#"{"headline":""}"#, 400, "headline"),
        ("/api/admin/news", r#"{"headline":"   "}"#, 400, "headline"),
        ("/api/admin/news", &long_headline, 400, "headline"),
        (
            "/api/admin/news",
            r#"{"headline":"two\nlines"}"#,
            400,
            "headline",
        ),
        (
            "/api/admin/news",
            r#"{"headline":"ok","symbols":["ACME"]}"#,
            400,
            "symbols",
        ),
        (
            "/api/admin/news",
            r#"{"headline":"ok","sentiment":"ecstatic"}"#,
            400,
            "sentiment",
        ),
        (
            "/api/admin/news",
            r#"{"summary":"no headline"}"#,
            400,
            "body",
        ),
        (
            "/api/admin/news",
            r#"{"headline":"ok","extra":1}"#,
            400,
            "body",
        ),
        ("/api/admin/news", "not json", 400, "body"),
        ("/api/admin/news", &huge, 413, "body"),
        (
            "/api/admin/market",
            r#"{"action":"explode"}"#,
            400,
            "action",
        ),
        ("/api/admin/market", r#"{"action":"scenario"}"#, 400, "name"),
        (
            "/api/admin/market",
            r#"{"action":"scenario","name":"meteor"}"#,
            400,
            "name",
        ),
        ("/api/admin/speed", r#"{"factor":0}"#, 400, "factor"),
        ("/api/admin/speed", r#"{"factor":1e9}"#, 400, "factor"),
        ("/api/admin/speed", r#"{"factor":"fast"}"#, 400, "body"),
        ("/api/admin/step", r#"{"n":0}"#, 400, "n"),
        ("/api/admin/step", r#"{"n":10001}"#, 400, "n"),
        ("/api/admin/step", r#"{"n":-1}"#, 400, "body"),
        ("/api/admin/disconnect", r#"{"now":true}"#, 400, "body"),
    ];
    for (path, body, status, param) in cases {
        let mut response = server.post(path, Some(TOKEN), body).await;
        assert_eq!(response.status, status, "{path} {body:.60}");
        let reply = json(&mut response).await;
        assert_eq!(reply["error"]["param"], param, "{path} {body:.60}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}: {reply}"
        );
    }
    assert_eq!(server.latest(), before, "nothing was published");
    // And the server is still serving.
    assert_eq!(server.get("/healthz", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_reaches_every_transport_as_the_named_event() {
    use futures_util::StreamExt;
    let server = admin().await;
    let mut sse = server.get("/api/sse", &[]).await;
    sse.next_event().await.expect("snapshot");
    let url = format!("ws://{}/api/ws", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrades");
    let after = server.latest();

    let mut response = server
        .post(
            "/api/admin/publish",
            Some(TOKEN),
            r#"{"event":"announcement","data":{"text":"Lunch at noon","room":"B"}}"#,
        )
        .await;
    assert_eq!(response.status, 201);
    let id = json(&mut response).await["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    // SSE: that event name, the JSON as sent, the next id of the history.
    let event = sse.next_event().await.expect("the published event");
    assert_eq!(event.event, "announcement");
    assert_eq!(event.id, id);
    assert_eq!(event.event_id(), after.next());
    let envelope: Value = serde_json::from_str(&event.data).expect("an envelope");
    assert_eq!(envelope["type"], "announcement");
    assert_eq!(envelope["data"]["text"], "Lunch at noon");

    // WebSocket: the same envelope, byte for byte.
    let text = loop {
        let message = tokio::time::timeout(crate::support::PATIENCE, ws.next())
            .await
            .expect("a message")
            .expect("open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            if text.contains("\"announcement\"") {
                break text.to_string();
            }
        }
    };
    assert_eq!(text, event.data);

    // Polling: in the batch after the previous id.
    let mut poll = server.get(&format!("/api/poll?after={after}"), &[]).await;
    let batch = json(&mut poll).await;
    assert_eq!(batch["events"][0]["type"], "announcement");
    assert_eq!(batch["events"][0]["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_refuses_names_that_could_forge_a_frame_and_oversized_data() {
    let server = admin().await;
    let before = server.latest();
    let big = format!(r#"{{"event":"big","data":"{}"}}"#, "x".repeat(9_000));
    for (body, status, param) in [
        (r#"{"event":"a\nevent: tick","data":1}"#, 400, "event"),
        (r#"{"event":"a:b","data":1}"#, 400, "event"),
        (r#"{"event":"","data":1}"#, 400, "event"),
        (r#"{"event":"tick","data":1}"#, 400, "event"),
        (r#"{"data":1}"#, 400, "body"),
        (big.as_str(), 400, "data"),
    ] {
        let mut response = server.post("/api/admin/publish", Some(TOKEN), body).await;
        assert_eq!(response.status, status, "{body:.60}");
        assert_eq!(
            json(&mut response).await["error"]["param"],
            param,
            "{body:.60}"
        );
    }
    assert_eq!(server.latest(), before, "nothing was published");
}
