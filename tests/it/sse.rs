//! `/api/sse` against a real server on a loopback port, read as raw bytes and parsed by the
//! WHATWG rules.

use crate::support::{assert_gapless, seqs, Event, Response, TestServer, PATIENCE};
use tickstream::market::NewsDraft;
use tickstream::wire::sse::Item;
use tickstream::wire::{Epoch, EventId, Payload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_then_retry_then_snapshot() {
    let server = TestServer::start(&[]).await;
    server.step(5).await;
    let mut stream = server
        .get("/api/sse", &[("Accept-Encoding", "gzip, br")])
        .await;
    assert_eq!(stream.status, 200);
    assert_eq!(
        stream.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
    assert_eq!(stream.header("content-encoding"), None, "never compressed");

    assert_eq!(stream.next_item().await, Some(Item::Retry(2000)));
    let snapshot = stream.next_event().await.expect("a snapshot");
    assert_eq!(snapshot.event, "snapshot");
    assert_eq!(snapshot.event_id(), server.latest());
    let Payload::Snapshot(state) = snapshot.envelope().payload else {
        panic!("not a snapshot: {}", snapshot.data);
    };
    assert_eq!(state.id, Some(server.latest()));
    assert_eq!(state.symbols.len(), 8);
    assert!(state.symbols.iter().all(|s| s.quote.last > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ids_are_gapless_and_follow_the_snapshot() {
    let server = TestServer::start(&[]).await;
    let mut stream = server.get("/api/sse", &[]).await;
    let snapshot = stream.next_event().await.expect("a snapshot");
    let last = server.step(40).await;
    let events = stream.events_until(last).await;
    assert_eq!(events[0].event_id().seq, snapshot.event_id().seq + 1);
    assert_gapless(&events);
    assert!(
        events.len() > 40,
        "40 steps of 8 symbols tick more than 40 times"
    );
    for event in &events {
        let envelope = event.envelope();
        assert_eq!(
            envelope.id,
            Some(event.event_id()),
            "the id inside matches the frame"
        );
        assert_eq!(envelope.payload.event_type().as_str(), event.event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_by_header_or_query_replays_exactly_what_was_missed() {
    let server = TestServer::start(&[]).await;
    let mut steady = server.get("/api/sse", &[]).await;
    steady.next_event().await.expect("a snapshot");

    let mut dropped = server.get("/api/sse", &[]).await;
    dropped.next_event().await.expect("a snapshot");
    let first = server.step(10).await;
    let seen = dropped.events_until(first).await;
    let left_at = seen.last().expect("events").id.clone();
    drop(dropped);

    let last = server.step(30).await;
    let reference: Vec<Event> = steady
        .events_until(last)
        .await
        .into_iter()
        .filter(|e| e.event_id().seq > first.seq)
        .collect();

    let by_header = server
        .get("/api/sse", &[("Last-Event-ID", left_at.as_str())])
        .await
        .events_until(last)
        .await;
    let by_query = server
        .get(&format!("/api/sse?lastEventId={left_at}"), &[])
        .await
        .events_until(last)
        .await;
    assert_eq!(by_header, reference, "resumed by header");
    assert_eq!(by_query, reference, "resumed by query");
    assert_gapless(&by_header);

    // The header wins over a stale query parameter (what a reconnecting EventSource sends).
    let both = server
        .get(
            &format!("/api/sse?lastEventId={}", EventId::new(first.epoch, 1)),
            &[("Last-Event-ID", left_at.as_str())],
        )
        .await
        .events_until(last)
        .await;
    assert_eq!(both, reference);
    assert!(server.metric("tickstream_resumes_total{transport=\"sse\"}") >= 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_that_cannot_continue_get_reset_then_snapshot() {
    let server = TestServer::start(&["--history", "16"]).await;
    let early = server.step(1).await;
    server.step(20).await; // well past the 16 events the history keeps
    let latest = server.latest();
    let cases = [
        ("not-an-id".to_owned(), "malformed_id"),
        (format!("{}-x", latest.epoch), "malformed_id"),
        (
            EventId::new(latest.epoch, latest.seq + 5).to_string(),
            "unknown_id",
        ),
        (
            EventId::new(Epoch(latest.epoch.0 + 1), 3).to_string(),
            "other_epoch",
        ),
        (early.to_string(), "too_old"),
    ];
    for (id, reason) in cases {
        for via_header in [true, false] {
            let mut stream = if via_header {
                server
                    .get("/api/sse", &[("Last-Event-ID", id.as_str())])
                    .await
            } else {
                let query: String = url_escape(&id);
                server
                    .get(&format!("/api/sse?lastEventId={query}"), &[])
                    .await
            };
            assert_eq!(stream.status, 200, "{id}: never an error status");
            let reset = stream.next_event().await.expect("a reset");
            assert_eq!(reset.event, "reset", "{id}");
            let Payload::Reset(body) = reset.envelope().payload else {
                panic!("not a reset: {}", reset.data);
            };
            assert_eq!(body.reason.as_str(), reason, "{id}");
            let snapshot = stream.next_event().await.expect("a snapshot");
            assert_eq!(snapshot.event, "snapshot", "{id}");
            assert_eq!(snapshot.event_id(), latest, "{id}");
        }
    }
    // A header that is not even text.
    let mut stream = Response::get_raw_head(
        server.addr,
        b"GET /api/sse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \xff\xfe\r\n\r\n",
    )
    .await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_event().await.expect("a reset").event, "reset");
    assert!(server.metric("tickstream_resets_total{transport=\"sse\",reason=\"too_old\"}") >= 2.0);
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_sends_heartbeats() {
    let server = TestServer::start(&["--heartbeat-secs", "1"]).await;
    let mut stream = server.get("/api/sse", &[]).await;
    stream.next_event().await.expect("a snapshot");
    // The market is not stepped: the only thing that can arrive is the keep-alive comment.
    assert_eq!(
        stream.next_item().await,
        Some(Item::Comment("keep-alive".into()))
    );
    assert_eq!(
        stream.next_item().await,
        Some(Item::Comment("keep-alive".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_block_of_the_stream_is_an_event() {
    // Readers such as fetch-event-source and httpx-sse turn a block without data (a lone
    // `retry:`, a comment followed by a blank line) into an empty message, which then fails
    // `JSON.parse`. The spec ignores such blocks; we send none.
    let server = TestServer::start(&["--heartbeat-secs", "1"]).await;
    let mut stream = server.get("/api/sse", &[]).await;
    let mut raw = String::new();
    let mut heartbeats = 0;
    while heartbeats < 2 {
        let bytes = stream.next_body_bytes().await;
        let text = String::from_utf8(bytes).expect("UTF-8");
        heartbeats += text.matches(": keep-alive").count();
        raw.push_str(&text);
    }
    let last = server.step(2).await;
    while !raw.contains(&format!("id: {last}\n")) || !raw.ends_with("\n\n") {
        raw.push_str(&String::from_utf8(stream.next_body_bytes().await).expect("UTF-8"));
    }
    assert!(
        raw.starts_with("retry: 2000\nevent: hello\ndata: "),
        "{raw:.80}"
    );
    for block in raw.trim_end_matches('\n').split("\n\n") {
        assert!(
            block.lines().any(|line| line.starts_with("data: ")),
            "a block without data: {block:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unnamed_events_arrive_as_messages_with_the_same_ids_and_data() {
    let server = TestServer::start(&[]).await;
    server.step(2).await;
    let mut named = server.get("/api/sse", &[]).await;
    let mut unnamed = server.get("/api/sse?events=unnamed", &[]).await;
    let last = server.step(3).await;
    let named = named.events_until(last).await;
    let mut unnamed = unnamed.events_until(last).await;
    // Unnamed, the `hello` is a message too (the reader only sets named ones aside).
    let hello = unnamed.remove(0);
    assert!(hello.data.contains("\"type\":\"hello\""), "{}", hello.data);
    assert_eq!(named.len(), unnamed.len());
    assert!(unnamed.iter().all(|event| event.event == "message"));
    assert!(named.iter().all(|event| event.event != "message"));
    for (a, b) in named.iter().zip(&unnamed) {
        assert_eq!((&a.id, &a.data), (&b.id, &b.data));
    }
    let mut refused = server.get("/api/sse?events=maybe", &[]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body().await.contains("\"param\":\"events\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_thin_the_live_stream_and_bad_values_get_400() {
    let server = TestServer::start(&[]).await;
    let mut filtered = server
        .get("/api/sse?symbols=nova,GRID&types=tick", &[])
        .await;
    assert_eq!(filtered.status, 200);
    assert_eq!(
        filtered.next_event().await.expect("snapshot").event,
        "snapshot"
    );
    let mut plain = server.get("/api/sse", &[]).await;
    plain.next_event().await.expect("snapshot");

    server.step(30).await;
    server
        .state
        .driver
        .publish_news(NewsDraft {
            headline: "GRID wins a contract".into(),
            symbols: vec!["GRID".into()],
            ..NewsDraft::default()
        })
        .await
        .expect("driver")
        .expect("accepted");
    let last = server.step(30).await;

    // What the filter should let through, worked out from the unfiltered stream.
    let expected: Vec<Event> = plain
        .events_until(last)
        .await
        .into_iter()
        .filter(|e| match e.envelope().payload {
            Payload::Tick(tick) => tick.symbol == "NOVA" || tick.symbol == "GRID",
            _ => false,
        })
        .collect();
    assert!(expected.len() > 10, "both symbols ticked");
    let mut received = Vec::new();
    while received.len() < expected.len() {
        received.push(filtered.next_event().await.expect("a filtered event"));
    }
    assert_eq!(received, expected);

    for (query, param) in [
        ("symbols=ACME", "symbols"),
        ("symbols=", "symbols"),
        ("types=tick,weather", "types"),
        ("types=snapshot", "types"),
        ("conflate=5", "conflate"),
        ("conflate=soon", "conflate"),
    ] {
        let mut response = server.get(&format!("/api/sse?{query}"), &[]).await;
        assert_eq!(response.status, 400, "{query}");
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body: serde_json::Value =
            serde_json::from_str(&response.body().await).expect("JSON error body");
        assert_eq!(body["error"]["param"], param, "{query}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflation_sends_only_the_latest_ticks() {
    let server = TestServer::start(&[]).await;
    let mut conflated = server.get("/api/sse?conflate=500&types=tick", &[]).await;
    conflated.next_event().await.expect("snapshot");
    let mut plain = server.get("/api/sse?types=tick", &[]).await;
    plain.next_event().await.expect("snapshot");
    let last = server.step(50).await;
    let all = plain.events_until(last).await;

    let symbol = |event: &Event| match event.envelope().payload {
        Payload::Tick(tick) => tick.symbol,
        other => panic!("not a tick: {other:?}"),
    };
    // Each symbol's final tick, which conflation must deliver.
    let mut finals = std::collections::BTreeMap::new();
    for event in &all {
        finals.insert(symbol(event), event.clone());
    }
    let mut received: Vec<Event> = Vec::new();
    while !finals
        .values()
        .all(|final_tick| received.contains(final_tick))
    {
        received.push(conflated.next_event().await.expect("a conflated tick"));
    }
    assert!(
        received.len() < all.len(),
        "conflation sent {} of {} ticks",
        received.len(),
        all.len()
    );
    assert!(
        received.iter().all(|event| all.contains(event)),
        "only real ticks"
    );
    assert!(
        seqs(&received).windows(2).all(|w| w[0] < w[1]),
        "ids increase"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_is_reset_and_does_not_delay_a_healthy_one() {
    // A write timeout far beyond the test: this reader is meant to stall and come back.
    let server =
        TestServer::start(&["--client-backlog", "64", "--write-timeout-secs", "3600"]).await;
    // Connects, then reads nothing until the end.
    let mut stalled = Response::get_small_window(server.addr, "/api/sse").await;
    let mut healthy = server.get("/api/sse", &[]).await;
    healthy.next_event().await.expect("snapshot");

    // One step at a time (a handful of events, well within the backlog) so the healthy
    // reader keeps up, for ~4 MB of events: far more than the stalled client's socket
    // buffers and the server's write buffer hold, so it must fall behind its backlog.
    let mut received = Vec::new();
    let mut seen = server.latest();
    for _ in 0..3_000 {
        let last = server.step(1).await;
        if last != seen {
            // (A step in which nothing traded publishes nothing.)
            received.extend(healthy.events_until(last).await);
            seen = last;
        }
    }
    let last = server.step(5).await;
    received.extend(healthy.events_until(last).await);
    assert_gapless(&received);
    assert_eq!(received.last().expect("events").event_id(), last);

    // The stalled client, reading at last, finds a reset and a fresh snapshot rather than
    // everything it missed: the server did not keep it all.
    let mut before_reset = 0;
    loop {
        let event = stalled.next_event().await.expect("the stream goes on");
        if event.event == "reset" {
            let Payload::Reset(reset) = event.envelope().payload else {
                unreachable!()
            };
            assert_eq!(reset.reason.as_str(), "lagged");
            let snapshot = stalled.next_event().await.expect("snapshot");
            assert_eq!(snapshot.event, "snapshot");
            assert_eq!(snapshot.event_id(), last, "the snapshot is current");
            break;
        }
        before_reset += 1;
    }
    assert!(
        before_reset < received.len(),
        "buffered {before_reset} of {} events for the stalled client",
        received.len()
    );
    // A lagging subscriber is noticed when it next reads: the bus never queued for it.
    assert_eq!(
        server.metric("tickstream_lagged_clients_total{transport=\"sse\"}"),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_every_open_stream() {
    let mut server = TestServer::start(&[]).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = server.get("/api/sse", &[]).await;
        stream.next_event().await.expect("snapshot");
        streams.push(stream);
    }
    let mut diagnostic = server.get("/.sse", &[]).await;
    diagnostic.next_event().await.expect("server event");
    server.state.shutdown.cancel();
    for mut stream in streams {
        // `next_item` fails the test if nothing arrives within PATIENCE; a stream that
        // ends returns None.
        assert_eq!(stream.next_item().await, None);
    }
    while diagnostic.next_item().await.is_some() {}
    let finished = tokio::time::timeout(PATIENCE, &mut server.task).await;
    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "the server stopped: {finished:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_arrives_inside_one_intact_event() {
    let server = TestServer::start(&[]).await;
    let mut stream = server.get("/api/sse", &[]).await;
    stream.next_event().await.expect("snapshot");
    let hostile = "calm\r\n\r\nevent: x\r\ndata: forged\n\nid: 999-1\rretry: 1";
    let id = server
        .state
        .driver
        .publish_news(NewsDraft {
            headline: "Breaking: a test".into(),
            summary: Some(hostile.into()),
            symbols: vec!["NOVA".into()],
            sentiment: None,
        })
        .await
        .expect("driver")
        .expect("accepted");
    let mut items = Vec::new();
    loop {
        let item = stream.next_item().await.expect("the news arrives");
        let done = matches!(&item, Item::Event { id: got, .. } if *got == id.to_string());
        items.push(item);
        if done {
            break;
        }
    }
    assert_eq!(
        items.len(),
        1,
        "exactly one event, no forged fields: {items:?}"
    );
    let Item::Event { event, data, .. } = &items[0] else {
        unreachable!()
    };
    assert_eq!(event, "news");
    let Payload::News(news) = tickstream::wire::decode(data).expect("envelope").payload else {
        panic!("not news: {data}");
    };
    assert_eq!(news.summary, hostile);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diagnostic_stream_echoes_the_request_and_ticks() {
    let server = TestServer::start(&[]).await;
    let mut stream = server
        .get(
            "/.sse",
            &[("X-Workshop", "lab 1"), ("Accept", "text/event-stream")],
        )
        .await;
    assert_eq!(
        stream.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let first = stream.next_event().await.expect("server event");
    assert_eq!(first.event, "server");
    assert_eq!(first.data, &*server.state.instance);
    let request = stream.next_event().await.expect("request event");
    assert_eq!(request.event, "request");
    let lines: Vec<&str> = request.data.lines().collect();
    assert_eq!(lines[0], "GET /.sse HTTP/1.1");
    assert_eq!(lines[1], "");
    assert!(lines[2].starts_with("Host: 127.0.0.1:"), "{lines:?}");
    assert!(lines.contains(&"X-Workshop: lab 1"), "{lines:?}");
    assert!(lines.contains(&"Accept: text/event-stream"), "{lines:?}");
    assert_eq!(first.id, "1");
    assert_eq!(request.id, "2");
    for expected_id in 3..=4 {
        let time = stream.next_event().await.expect("time event");
        assert_eq!(time.event, "time");
        assert_eq!(time.id, expected_id.to_string());
        assert!(
            humantime::parse_rfc3339(&time.data).is_ok(),
            "RFC 3339: {}",
            time.data
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_endpoint_health_and_metrics() {
    let server = TestServer::start(&[]).await;
    let last = server.step(3).await;
    let mut snapshot = server.get("/api/snapshot", &[]).await;
    assert_eq!(snapshot.status, 200);
    let envelope = tickstream::wire::decode(&snapshot.body().await).expect("an envelope");
    assert_eq!(envelope.id, Some(last));
    assert!(matches!(envelope.payload, Payload::Snapshot(ref s) if s.id == Some(last)));

    assert_eq!(server.get("/healthz", &[]).await.status, 200);
    assert_eq!(server.get("/readyz", &[]).await.status, 200);
    let mut missing = server.get("/api/nothing-here", &[]).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body().await.contains("\"not_found\""));

    let _open = {
        let mut stream = server.get("/api/sse", &[]).await;
        stream.next_event().await.expect("snapshot");
        stream
    };
    let mut metrics = server.get("/metrics", &[]).await;
    let text = metrics.body().await;
    assert_eq!(
        crate::support::metric_value(&text, "tickstream_open_connections{transport=\"sse\"}"),
        1.0
    );
    assert!(crate::support::metric_value(&text, "tickstream_events_published_total") >= 4.0);
    assert!(text.contains("tickstream_publish_to_write_seconds_bucket"));
}
