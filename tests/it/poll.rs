//! `/api/poll` with a real HTTP client (reqwest): snapshots, exact batches, waiting, limits.

use crate::support::TestServer;
use tickstream::wire::batch::{decode_batch, Batch};
use tickstream::wire::Payload;

async fn poll(server: &TestServer, query: &str) -> Batch {
    let url = format!("http://{}/api/poll{query}", server.addr);
    let response = reqwest::get(url).await.expect("answers");
    assert_eq!(response.status(), 200, "{query}");
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    decode_batch(&response.text().await.expect("a body")).expect("a batch")
}

fn ids(batch: &Batch) -> Vec<u64> {
    batch
        .events
        .iter()
        .filter_map(|(e, _)| e.as_ref().ok().and_then(|e| e.id).map(|id| id.seq))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_poll_gets_a_snapshot_then_exactly_what_follows() {
    let server = TestServer::start(&[]).await;
    let first = poll(&server, "").await;
    assert_eq!(first.events.len(), 1);
    assert!(matches!(
        first.events[0].0.as_ref().expect("envelope").payload,
        Payload::Snapshot(_)
    ));
    assert_eq!(first.next, Some(server.latest()));

    let next = first.next.expect("next");
    let nothing = poll(&server, &format!("?after={next}")).await;
    assert!(
        nothing.events.is_empty(),
        "nothing new: an empty answer at once"
    );
    assert_eq!(nothing.next, Some(next));

    let last = server.step(10).await;
    let batch = poll(&server, &format!("?after={next}")).await;
    let expected: Vec<u64> = (next.seq + 1..=last.seq).collect();
    assert_eq!(ids(&batch), expected, "every event after `after`, in order");
    assert_eq!(batch.next, Some(last));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_waits_for_the_next_event() {
    let server = TestServer::start(&[]).await;
    let after = server.latest();
    let url = format!("http://{}/api/poll?after={after}&wait=20", server.addr);
    let waiting =
        tokio::spawn(async move { reqwest::get(url).await.expect("answers").text().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "nothing was published, so it waits");
    let last = server.step(1).await;
    let body = waiting.await.expect("joined").expect("a body");
    let batch = decode_batch(&body).expect("a batch");
    assert!(!batch.events.is_empty());
    assert!(ids(&batch)
        .iter()
        .all(|seq| *seq > after.seq && *seq <= last.seq));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_bounded_and_continue() {
    let server = TestServer::start(&[]).await;
    let start = server.latest();
    let last = server.step(200).await; // far more than one batch of events
    assert!(last.seq - start.seq > 500);
    let mut after = start;
    let mut seen = Vec::new();
    while after != last {
        let batch = poll(&server, &format!("?after={after}")).await;
        assert!(batch.events.len() <= 500);
        seen.extend(ids(&batch));
        after = batch.next.expect("next");
    }
    assert_eq!(seen, (start.seq + 1..=last.seq).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_advance_next_past_what_they_leave_out() {
    let server = TestServer::start(&[]).await;
    let after = server.latest();
    let last = server.step(30).await;
    let batch = poll(&server, &format!("?after={after}&symbols=NOVA&types=tick")).await;
    for (envelope, _) in &batch.events {
        let Payload::Tick(tick) = &envelope.as_ref().expect("envelope").payload else {
            panic!()
        };
        assert_eq!(tick.symbol, "NOVA");
    }
    assert_eq!(
        batch.next,
        Some(last),
        "next covers the events filtered out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_reset_and_bad_parameters_get_400() {
    let server = TestServer::start(&[]).await;
    for after in ["garbage", "zzz-1"] {
        let batch = poll(&server, &format!("?after={after}")).await;
        let kinds: Vec<_> = batch
            .events
            .iter()
            .map(|(e, _)| e.as_ref().expect("envelope").payload.event_type().as_str())
            .collect();
        assert_eq!(kinds, ["reset", "snapshot"], "{after}");
        assert_eq!(batch.next, Some(server.latest()));
    }
    for (query, param) in [
        ("?wait=31", "wait"),
        ("?wait=-1", "wait"),
        ("?symbols=ACME", "symbols"),
    ] {
        let url = format!("http://{}/api/poll{query}", server.addr);
        let response = reqwest::get(url).await.expect("answers");
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("JSON");
        assert_eq!(body["error"]["param"], param);
    }
}
