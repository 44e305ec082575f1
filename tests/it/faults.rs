//! Faults on purpose and the heartbeats that reveal them, against a real server: a frozen
//! stream writes nothing (not even heartbeats) until the freeze ends or is cleared, and is
//! still dropped at once when asked; every bad fault request gets the documented error; the
//! API is off without `--faults`. And the visible heartbeat itself: with `heartbeat=event`
//! an idle stream sends `heartbeat` events (SSE) or messages (WebSocket) at the interval its
//! `hello` announced.

use crate::support::ws::envelopes_until;
use crate::support::{Response, TestServer, PATIENCE};
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tickstream::wire::faults::{FaultEffect, FaultRequest, FaultTarget, FAULTS_PATH};
use tickstream::wire::sse::Item;
use tickstream::wire::{self, Payload, Transport};
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "fault-token";

async fn json(response: &mut Response) -> Value {
    serde_json::from_str(&response.body().await).expect("a JSON body")
}

/// The connection name and heartbeat interval from a stream's `hello`.
fn hello(stream: &Response) -> (String, u64) {
    let data = stream.hello.as_deref().expect("the hello came first");
    match wire::decode(data).expect("an envelope").payload {
        Payload::Hello(hello) => (hello.connection, hello.heartbeat_ms),
        other => panic!("not a hello: {other:?}"),
    }
}

async fn freeze(server: &TestServer, target: &FaultTarget, ms: u64) -> Response {
    inject(server, FaultEffect::Freeze, target, ms).await
}

async fn inject(
    server: &TestServer,
    effect: FaultEffect,
    target: &FaultTarget,
    ms: u64,
) -> Response {
    let body = serde_json::to_string(&FaultRequest::new(effect, target, ms)).expect("serializes");
    server.post(FAULTS_PATH, Some(TOKEN), &body).await
}

/// Reads what arrives within `window`: the test's own bound on "nothing arrived".
async fn items_within(stream: &mut Response, window: Duration) -> Vec<Item> {
    let mut items = Vec::new();
    let _ = tokio::time::timeout(window, async {
        while let Some(item) = stream.next_item().await {
            items.push(item);
        }
    })
    .await;
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_stream_writes_nothing_until_the_freeze_is_cleared() {
    let server =
        TestServer::start(&["--admin-token", TOKEN, "--faults", "--heartbeat-secs", "1"]).await;
    server.step(1).await;
    let mut frozen = server.get("/api/sse", &[]).await;
    let mut other = server.get("/api/sse", &[]).await;
    frozen.next_event().await.expect("snapshot");
    other.next_event().await.expect("snapshot");
    let (name, heartbeat_ms) = hello(&frozen);
    assert_eq!(
        heartbeat_ms, 1_000,
        "the hello tells the heartbeat interval"
    );

    let mut created = freeze(&server, &FaultTarget::Connection(name.clone()), 60_000).await;
    assert_eq!(created.status, 201);
    let fault = json(&mut created).await;
    assert_eq!(fault["kind"], "freeze");
    assert_eq!(fault["connection"], name.as_str());
    assert_eq!(
        server.metric("tickstream_faults_injected_total{kind=\"freeze\"}"),
        1.0
    );

    // Events are published; the other stream gets them, the frozen one gets nothing — no
    // event, and no heartbeat either, although three heartbeat intervals pass.
    let last = server.step(3).await;
    other.events_until(last).await;
    let heard = items_within(&mut frozen, Duration::from_millis(3_000)).await;
    assert_eq!(heard, Vec::new(), "a frozen stream writes nothing");
    let mut listed = server
        .get(
            FAULTS_PATH,
            &[("Authorization", &format!("Bearer {TOKEN}"))],
        )
        .await;
    assert_eq!(
        json(&mut listed).await["faults"][0]["connection"],
        name.as_str()
    );

    // Cleared: what it held back arrives, in order, with nothing lost.
    let mut cleared = server.request("DELETE", FAULTS_PATH, Some(TOKEN), "").await;
    assert_eq!(cleared.status, 200);
    assert_eq!(
        json(&mut cleared).await["faults"].as_array().map(Vec::len),
        Some(1)
    );
    let events = frozen.events_until(last).await;
    crate::support::assert_gapless(&events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_stream_still_ends_when_dropped_and_a_freeze_ends_by_itself() {
    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    server.step(1).await;
    let mut stream = server.get("/api/sse", &[]).await;
    stream.next_event().await.expect("snapshot");
    let (name, _) = hello(&stream);
    freeze(&server, &FaultTarget::Connection(name.clone()), 60_000).await;
    let dropped = server
        .request("DELETE", &format!("/api/connections/{name}"), None, "")
        .await;
    assert_eq!(dropped.status, 204);
    let ended = tokio::time::timeout(PATIENCE, async {
        while stream.next_item().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the frozen stream ended when dropped");

    // A short freeze on a whole transport thaws by itself.
    let mut stream = server.get("/api/sse", &[]).await;
    stream.next_event().await.expect("snapshot");
    freeze(&server, &FaultTarget::Transport(Transport::Sse), 300).await;
    let last = server.step(2).await;
    crate::support::assert_gapless(&stream.events_until(last).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_websocket_sends_nothing_until_thawed() {
    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    server.step(1).await;
    let url = format!("ws://{}/api/ws", server.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    let first = socket.next().await.expect("a message").expect("a frame");
    let Message::Text(text) = first else {
        panic!("hello first: {first:?}")
    };
    let Payload::Hello(hello) = wire::decode(&text).expect("an envelope").payload else {
        panic!("hello first: {text}")
    };
    freeze(&server, &FaultTarget::Connection(hello.connection), 60_000).await;
    // The snapshot may already be on its way; after it, nothing.
    let last = server.step(2).await;
    let quiet = tokio::time::timeout(Duration::from_millis(1_500), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) if !text.contains("\"type\":\"snapshot\"") => {
                    return text.to_string()
                }
                Some(Ok(_)) => continue,
                _ => return String::from("closed"),
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "a frozen socket sent {quiet:?}");
    server.request("DELETE", FAULTS_PATH, Some(TOKEN), "").await;
    // Thawed: everything up to the last event arrives.
    envelopes_until(&mut socket, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_requests_are_checked_and_the_api_is_off_without_the_flag() {
    let off = TestServer::start(&["--admin-token", TOKEN]).await;
    let mut refused = freeze(&off, &FaultTarget::All, 1_000).await;
    assert_eq!(refused.status, 403);
    assert_eq!(json(&mut refused).await["error"]["code"], "faults_disabled");

    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    let mut unauthorized = server
        .post(FAULTS_PATH, None, r#"{"kind":"freeze","duration_ms":5}"#)
        .await;
    assert_eq!(unauthorized.status, 401);
    json(&mut unauthorized).await;
    for (body, param) in [
        (r#"{"kind":"melt","duration_ms":1000}"#, "kind"),
        (r#"{"kind":"freeze","duration_ms":0}"#, "duration_ms"),
        (r#"{"kind":"freeze","duration_ms":600001}"#, "duration_ms"),
        (
            r#"{"kind":"freeze","transport":"carrier-pigeon","duration_ms":5}"#,
            "transport",
        ),
        (
            r#"{"kind":"freeze","transport":"sse","connection":"x","duration_ms":5}"#,
            "transport",
        ),
        (r#"{"kind":"freeze","duration_ms":5,"extra":1}"#, "body"),
        (r#"{"kind":"freeze"}"#, "duration_ms"),
        (r#"{"kind":"delay","duration_ms":5}"#, "delay_ms"),
        (
            r#"{"kind":"delay","delay_ms":30001,"duration_ms":5}"#,
            "delay_ms",
        ),
        (r#"{"kind":"drop","duration_ms":5}"#, "count"),
        (r#"{"kind":"freeze","count":3,"duration_ms":5}"#, "count"),
        (r#"{"kind":"epoch","duration_ms":5}"#, "duration_ms"),
        (r#"{"kind":"epoch","transport":"sse"}"#, "transport"),
        (
            r#"{"kind":"refuse","connection":"x","duration_ms":5}"#,
            "connection",
        ),
        (r#"{"kind":"freeze","duration_ms":-5}"#, "body"),
        ("not json", "body"),
    ] {
        let mut response = server.post(FAULTS_PATH, Some(TOKEN), body).await;
        assert_eq!(response.status, 400, "{body}");
        let error = json(&mut response).await;
        assert_eq!(error["error"]["code"], "invalid_parameter", "{body}");
        assert_eq!(error["error"]["param"], param, "{body}: {error}");
    }
    let mut listed = server
        .get(
            FAULTS_PATH,
            &[("Authorization", &format!("Bearer {TOKEN}"))],
        )
        .await;
    assert_eq!(
        json(&mut listed).await["faults"],
        serde_json::json!([]),
        "nothing was injected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visible_heartbeats_are_events_an_event_source_can_see() {
    let server = TestServer::start(&["--heartbeat-secs", "1"]).await;
    server.step(1).await;
    // Idle: only the session's events, and the market does not move.
    let mut visible = server
        .get("/api/sse?types=market&heartbeat=event", &[])
        .await;
    let mut plain = server.get("/api/sse?types=market", &[]).await;
    let seen = items_within(&mut visible, Duration::from_millis(2_500)).await;
    let beats: Vec<&Item> = seen
        .iter()
        .filter(|item| matches!(item, Item::Event { event, .. } if event == "heartbeat"))
        .collect();
    assert!(!beats.is_empty(), "heartbeat events arrive: {seen:?}");
    for beat in beats {
        let Item::Event { data, .. } = beat else {
            unreachable!()
        };
        let envelope = wire::decode(data).expect("an envelope");
        assert!(matches!(envelope.payload, Payload::Heartbeat(_)), "{data}");
        // No id, so it never moves Last-Event-ID (the frame has no `id:` line either: the
        // reader's id is still the snapshot's).
        assert_eq!(envelope.id, None, "{data}");
    }
    assert!(
        !seen.iter().any(|item| matches!(item, Item::Comment(_))),
        "no comments on a stream that asked for events"
    );
    let plain_seen = items_within(&mut plain, Duration::from_millis(1_500)).await;
    assert!(
        plain_seen
            .iter()
            .any(|item| matches!(item, Item::Comment(c) if c == "keep-alive")),
        "{plain_seen:?}"
    );
    assert!(
        !plain_seen
            .iter()
            .any(|item| matches!(item, Item::Event { event, .. } if event == "heartbeat")),
        "by default heartbeats are comments only"
    );

    let mut bad = server.get("/api/sse?heartbeat=loud", &[]).await;
    assert_eq!(bad.status, 400);
    assert_eq!(json(&mut bad).await["error"]["param"], "heartbeat");

    // A WebSocket page cannot see pings either: it gets heartbeat messages.
    let url = format!("ws://{}/api/ws?types=market&heartbeat=event", server.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connects");
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a heartbeat within the patience")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = message {
            if matches!(
                wire::decode(&text).map(|e| e.payload),
                Ok(Payload::Heartbeat(_))
            ) {
                break;
            }
        }
    }
}

/// The ids of market events (not hello, heartbeats, snapshots or resets) in `events`.
fn live_seqs(events: &[crate::support::Event]) -> Vec<u64> {
    events
        .iter()
        .filter(|event| !matches!(event.event.as_str(), "snapshot" | "reset" | "heartbeat"))
        .map(|event| event.event_id().seq)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_makes_a_hole_a_resume_fills_and_a_new_connection_is_not_dropped_again() {
    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    let mut stream = server.get("/api/sse", &[]).await;
    stream.next_event().await.expect("snapshot");
    let before = server.step(1).await;
    stream.events_until(before).await;
    let mut created = inject(&server, FaultEffect::Drop(5), &FaultTarget::All, 60_000).await;
    assert_eq!(created.status, 201);
    assert_eq!(json(&mut created).await["count"], 5);
    let last = server.step(2).await;
    let seqs = live_seqs(&stream.events_until(last).await);
    // The first five never came; the rest did, in order.
    assert_eq!(seqs, ((before.seq + 6)..=last.seq).collect::<Vec<_>>());
    // The client resumes from the last id it has, on a new connection: the hole is filled,
    // and that connection (opened after the fault) loses nothing.
    let mut resumed = server
        .get("/api/sse", &[("Last-Event-ID", &before.to_string())])
        .await;
    let refilled = resumed.events_until(last).await;
    crate::support::assert_gapless(&refilled);
    assert_eq!(live_seqs(&refilled).first(), Some(&(before.seq + 1)));
    assert_eq!(
        server.metric("tickstream_faults_injected_total{kind=\"drop\"}"),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_holds_each_delivery_and_loses_nothing() {
    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    let mut stream = server.get("/api/sse", &[]).await;
    let start = stream.next_event().await.expect("snapshot").event_id();
    let (name, _) = hello(&stream);
    let mut created = inject(
        &server,
        FaultEffect::Delay(Duration::from_millis(1_500)),
        &FaultTarget::Connection(name),
        60_000,
    )
    .await;
    assert_eq!(json(&mut created).await["delay_ms"], 1_500);
    let last = server.step(1).await;
    // Held: nothing within the first half of the delay (the test's own bound) …
    let early = items_within(&mut stream, Duration::from_millis(700)).await;
    assert!(
        early.iter().all(|item| !matches!(item, Item::Event { .. })),
        "delivered before the delay: {early:?}"
    );
    // … then all of it, in order.
    let events = stream.events_until(last).await;
    crate::support::assert_gapless(&events);
    assert_eq!(
        live_seqs(&events),
        ((start.seq + 1)..=last.seq).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_fault_gives_every_client_a_reset_and_a_snapshot_of_a_new_history() {
    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    let before = server.step(1).await;
    let mut stream = server.get("/api/sse", &[]).await;
    stream.events_until(before).await;
    let mut created = inject(&server, FaultEffect::Epoch, &FaultTarget::All, 0).await;
    assert_eq!(created.status, 201);
    assert_eq!(json(&mut created).await["kind"], "epoch");
    let reset = stream.next_event().await.expect("a reset");
    assert_eq!(reset.event, "reset");
    let snapshot = stream.next_event().await.expect("a snapshot");
    assert_eq!(snapshot.event, "snapshot");
    let new = snapshot.event_id();
    assert!(new.epoch > before.epoch, "{new} after {before}");
    assert_eq!(new.seq, 1, "the new history starts at one");
    // A client resuming with an id of the old history is told it is gone.
    let mut old = server
        .get("/api/sse", &[("Last-Event-ID", &before.to_string())])
        .await;
    assert_eq!(old.next_event().await.expect("a reset").event, "reset");
    let last = server.step(1).await;
    assert_eq!(last.epoch, new.epoch);
    crate::support::assert_gapless(&stream.events_until(last).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refuse_fault_turns_new_requests_away_and_leaves_open_ones_alone() {
    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    let mut open = server.get("/api/sse", &[]).await;
    open.next_event().await.expect("snapshot");
    let created = inject(&server, FaultEffect::Refuse, &FaultTarget::All, 30_000).await;
    assert_eq!(created.status, 201);
    let mut refused = server.get("/api/sse", &[]).await;
    assert_eq!(refused.status, 503);
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .expect("Retry-After");
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(
        json(&mut refused).await["error"]["code"],
        "refused_on_purpose"
    );
    assert_eq!(server.get("/api/poll?wait=0", &[]).await.status, 503);
    // An EventSource is refused in its own language, and told when to come back.
    let mut event_source = server
        .get("/api/sse", &[("Accept", "text/event-stream")])
        .await;
    assert_eq!(event_source.status, 200);
    assert_eq!(
        event_source.next_item().await,
        Some(Item::Retry(retry_after * 1_000))
    );
    // The open stream goes on; once cleared, new requests are admitted.
    let last = server.step(1).await;
    open.events_until(last).await;
    server.request("DELETE", FAULTS_PATH, Some(TOKEN), "").await;
    assert_eq!(server.get("/api/sse", &[]).await.status, 200);
    assert_eq!(
        server.metric("tickstream_refused_streams_total{transport=\"sse\",reason=\"fault\"}"),
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_share_one_drop_count_and_asking_again_fills_the_hole() {
    let server = TestServer::start(&["--admin-token", TOKEN, "--faults"]).await;
    let before = server.step(1).await;
    inject(
        &server,
        FaultEffect::Drop(3),
        &FaultTarget::Transport(Transport::Poll),
        60_000,
    )
    .await;
    let last = server.step(1).await;
    let mut first = server
        .get(&format!("/api/poll?wait=0&after={before}"), &[])
        .await;
    let batch = wire::batch::decode_batch(&first.body().await).expect("a batch");
    let seqs: Vec<u64> = batch
        .events
        .iter()
        .filter_map(|(envelope, _)| envelope.as_ref().ok()?.id.map(|id| id.seq))
        .collect();
    assert_eq!(
        seqs,
        ((before.seq + 4)..=last.seq).collect::<Vec<_>>(),
        "three left out"
    );
    // Asked again from before the hole, the poll fills it: the count is spent.
    let mut again = server
        .get(&format!("/api/poll?wait=0&after={before}"), &[])
        .await;
    let batch = wire::batch::decode_batch(&again.body().await).expect("a batch");
    assert_eq!(batch.events.len() as u64, last.seq - before.seq);
}
