//! Scaling out with a real redis-server: one market instance (`--role both`) and web
//! instances (`--role web`) sharing its events through a Redis stream. What a client sees
//! must not depend on which instance it talks to, or on an instance or Redis going away.

use crate::support::redis::RedisServer;
use crate::support::{assert_gapless, seqs, Event, Response, TestServer, PATIENCE};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tickstream::wire::{EventId, Payload};

/// The market instance, by role (`--role auto` would first have to win the lease).
async fn market(redis: &RedisServer, extra: &[&str]) -> TestServer {
    let url = redis.url();
    let mut args = vec!["--bus", url.as_str(), "--role", "both"];
    args.extend_from_slice(extra);
    TestServer::start(&args).await
}

async fn web(redis: &RedisServer) -> TestServer {
    let url = redis.url();
    TestServer::start(&["--bus", url.as_str(), "--role", "web"]).await
}

/// `/readyz`'s status code and body.
async fn readyz(server: &TestServer) -> (u16, String) {
    let mut response = server.get("/readyz", &[]).await;
    let body = response.body().await;
    (response.status, body)
}

/// Waits until `/readyz` answers `status`.
async fn wait_ready(server: &TestServer, status: u16) {
    let deadline = Instant::now() + 2 * PATIENCE;
    loop {
        let (code, body) = readyz(server).await;
        if code == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {code} {body}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `server` has folded in the event `id`.
async fn wait_for(server: &TestServer, id: EventId) {
    let deadline = Instant::now() + PATIENCE;
    while server.state.hub.latest() != Some(id) {
        assert!(
            Instant::now() < deadline,
            "{id} never reached the instance (it is at {:?})",
            server.state.hub.latest()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn snapshot_json(server: &TestServer) -> String {
    server.get("/api/snapshot", &[]).await.body().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_serve_the_same_ids_and_data() {
    let redis = RedisServer::start();
    let market = market(&redis, &[]).await;
    market.step(5).await;
    let web = web(&redis).await;
    wait_ready(&market, 200).await;
    wait_ready(&web, 200).await;
    let (_, body) = readyz(&web).await;
    assert!(body.contains(r#""redis":"ready""#), "{body}");

    // The web instance started from the market's snapshot: the very same state.
    wait_for(&web, market.latest()).await;
    assert_eq!(snapshot_json(&web).await, snapshot_json(&market).await);

    let mut on_market = market.get("/api/sse", &[]).await;
    let mut on_web = web.get("/api/sse", &[]).await;
    let first = on_market.next_event().await.expect("snapshot");
    assert_eq!(on_web.next_event().await.expect("snapshot"), first);

    let last = market.step(20).await;
    let from_market = on_market.events_until(last).await;
    let from_web = on_web.events_until(last).await;
    assert_gapless(&from_web);
    assert_eq!(from_web[0].event_id(), first.event_id().next());
    assert_eq!(from_web, from_market, "same ids, same bytes");
    assert_eq!(snapshot_json(&web).await, snapshot_json(&market).await);

    // The web instance runs no market: admin commands cannot reach one there.
    assert!(web.state.driver.step(1).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resumes_on_another_instance_with_no_gap() {
    let redis = RedisServer::start();
    let market = market(&redis, &[]).await;
    let web_a = web(&redis).await;
    let web_b = web(&redis).await;
    wait_ready(&web_a, 200).await;
    wait_ready(&web_b, 200).await;
    let mut reference = market.get("/api/sse", &[]).await;
    reference.next_event().await.expect("snapshot");

    let mut client = web_a.get("/api/sse", &[]).await;
    client.next_event().await.expect("snapshot");
    let first = market.step(10).await;
    let seen = client.events_until(first).await;
    let left_at = seen.last().expect("events").id.clone();

    // Instance A dies; its stream ends.
    web_a.state.shutdown.cancel();
    while client.next_event().await.is_some() {}
    drop(web_a);

    let last = market.step(10).await;
    let expected: Vec<Event> = reference
        .events_until(last)
        .await
        .into_iter()
        .filter(|e| e.event_id().seq > first.seq)
        .collect();
    wait_for(&web_b, last).await;
    let resumed = web_b
        .get("/api/sse", &[("Last-Event-ID", left_at.as_str())])
        .await
        .events_until(last)
        .await;
    assert_eq!(resumed[0].event_id(), first.next(), "no snapshot, no gap");
    assert_gapless(&resumed);
    assert_eq!(resumed, expected);

    // And from the market's own instance to a web instance.
    let by_query = web_b
        .get(&format!("/api/sse?lastEventId={left_at}"), &[])
        .await
        .events_until(last)
        .await;
    assert_eq!(by_query, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_market_on_the_same_stream_is_refused() {
    let redis = RedisServer::start();
    let first = market(&redis, &[]).await;
    wait_ready(&first, 200).await;
    let second = market(&redis, &[]).await;
    wait_ready(&second, 503).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, body) = readyz(&second).await;
        if body.contains(r#""redis":"conflict""#) {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The first keeps the stream: a follower sees its events only.
    let web = web(&redis).await;
    wait_ready(&web, 200).await;
    second.step(3).await;
    let last = first.step(3).await;
    wait_for(&web, last).await;
    assert_eq!(web.state.hub.epoch(), first.state.hub.epoch());
    assert_eq!(readyz(&first).await.0, 200);

    // When the first stops cleanly it lets go, and the second takes over with its epoch:
    // the follower's clients are reset onto the new market.
    let mut client = web.get("/api/sse", &[]).await;
    client.next_event().await.expect("snapshot");
    drop(first);
    wait_ready(&second, 200).await;
    let newest = second.step(1).await;
    let reset = client.next_event().await.expect("reset");
    assert_eq!(reset.event, "reset", "{reset:?}");
    let snapshot = client.next_event().await.expect("snapshot");
    assert_eq!(snapshot.event, "snapshot");
    assert_eq!(snapshot.event_id().epoch, newest.epoch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_stream_loses_nothing_the_market_could_keep() {
    let mut redis = RedisServer::start();
    let market = market(&redis, &[]).await;
    let web = web(&redis).await;
    wait_ready(&web, 200).await;
    let mut client = web.get("/api/sse", &[]).await;
    let snapshot = client.next_event().await.expect("snapshot");
    let before = market.step(5).await;
    client.events_until(before).await;

    redis.stop();
    wait_ready(&web, 503).await;
    wait_ready(&market, 503).await;
    // The market goes on; its own clients see it, and its writer keeps a bounded queue.
    let during = market.step(3).await;
    assert_eq!(readyz(&web).await.0, 503);

    redis.restart(); // empty: nothing was saved
    wait_ready(&market, 200).await;
    wait_ready(&web, 200).await;
    let last = market.step(3).await;
    let events = client.events_until(last).await;
    assert!(
        events.iter().all(|e| e.event != "reset"),
        "nothing was lost"
    );
    assert_eq!(events[0].event_id(), before.next());
    assert!(seqs(&events).contains(&during.seq));
    assert_gapless(&events);
    assert!(snapshot.event_id().seq < before.seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lost_in_an_outage_means_reset_and_snapshot() {
    let mut redis = RedisServer::start();
    // A queue of 16 events: a longer outage overflows it.
    let market = market(&redis, &["--history", "16"]).await;
    let web = web(&redis).await;
    wait_ready(&web, 200).await;
    let mut client = web.get("/api/sse", &[]).await;
    client.next_event().await.expect("snapshot");
    let before = market.step(1).await;
    let seen = client.events_until(before).await;

    redis.stop();
    wait_ready(&market, 503).await;
    market.step(10).await; // 80 ticks and more: most never reach Redis
    redis.restart();
    wait_ready(&market, 200).await;
    let last = market.step(1).await;

    // What reached Redis before the queue overflowed comes through as usual; then the
    // follower finds the hole, and its clients start over.
    let mut through = seen;
    let reset = loop {
        let event = client.next_event().await.expect("the stream went on");
        if event.event == "reset" {
            break event;
        }
        through.push(event);
    };
    assert_gapless(&through);
    assert!(reset.data.contains(r#""reason":"lagged""#), "{reset:?}");
    let snapshot = client.next_event().await.expect("snapshot");
    assert_eq!(snapshot.event, "snapshot");
    let Payload::Snapshot(state) = snapshot.envelope().payload else {
        panic!("not a snapshot");
    };
    // The snapshot is the market's own state, lost events included.
    assert!(state.id.is_some_and(|id| id.seq >= last.seq - 8));
    wait_for(&web, last).await;
    assert_eq!(snapshot_json(&web).await, snapshot_json(&market).await);
    // An id from before the hole cannot be continued here.
    let mut old = web
        .get("/api/sse", &[("Last-Event-ID", through[0].id.as_str())])
        .await;
    assert_eq!(old.next_event().await.expect("reset").event, "reset");
    wait_ready(&web, 200).await;
}

/// Not a timing assertion: prints how long events take from publication (`ts`) to a
/// client, on the market's own instance (in-memory bus) and on a web instance (through
/// Redis). Run with `--nocapture` to see the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_to_receive_latency_memory_vs_redis() {
    let redis = RedisServer::start();
    let market = market(&redis, &[]).await;
    let web = web(&redis).await;
    wait_ready(&web, 200).await;
    let mut on_market = market.get("/api/sse", &[]).await;
    let mut on_web = web.get("/api/sse", &[]).await;
    on_market.next_event().await.expect("snapshot");
    on_web.next_event().await.expect("snapshot");

    fn now_micros() -> i128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i128)
    }
    async fn measure(mut stream: Response, count: usize) -> Vec<i128> {
        let mut delays = Vec::with_capacity(count);
        while delays.len() < count {
            let event = stream.next_event().await.expect("the stream went on");
            let received = now_micros();
            delays.push(received - i128::from(event.envelope().ts) * 1000);
        }
        delays
    }
    const STEPS: u64 = 80;
    let count = 300;
    let memory = tokio::spawn(measure(on_market, count));
    let through_redis = tokio::spawn(measure(on_web, count));
    for _ in 0..STEPS {
        market.step(1).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let report = |name: &str, mut delays: Vec<i128>| {
        delays.sort_unstable();
        let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        let mean = delays.iter().sum::<i128>() as f64 / delays.len() as f64 / 1000.0;
        eprintln!(
            "latency {name}: n={} mean={mean:.2}ms p50={:.2}ms p95={:.2}ms max={:.2}ms \
             (ts has 1 ms resolution: about +0.5 ms in both)",
            delays.len(),
            at(0.5),
            at(0.95),
            at(1.0)
        );
    };
    report("memory", memory.await.expect("measured"));
    report("redis ", through_redis.await.expect("measured"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_published_with_redis_cli_reaches_the_clients_of_every_instance() {
    let redis = RedisServer::start();
    let market = market(&redis, &[]).await;
    let web = web(&redis).await;
    wait_ready(&market, 200).await;
    wait_ready(&web, 200).await;
    let mut on_web = web.get("/api/sse", &[]).await;
    on_web.next_event().await.expect("snapshot");
    // What the README shows: one XADD, from any process that can reach Redis.
    let client = redis::Client::open(redis.url()).expect("a client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    // The market reads its inbox from when it connected: retry until it has.
    let deadline = Instant::now() + PATIENCE;
    let event = loop {
        let _: String = redis::cmd("XADD")
            .arg("tickstream:publish")
            .arg("*")
            .arg("event")
            .arg("announcement")
            .arg("data")
            .arg(r#""Lunch at noon""#)
            .query_async(&mut conn)
            .await
            .expect("XADD");
        let arrived = tokio::time::timeout(Duration::from_millis(500), on_web.next_event()).await;
        if let Ok(Some(event)) = arrived {
            break event;
        }
        assert!(
            Instant::now() < deadline,
            "nothing arrived on the web instance"
        );
    };
    assert_eq!(event.event, "announcement");
    assert!(
        event.data.contains(r#""data":"Lunch at noon""#),
        "{}",
        event.data
    );
    // The market's own clients saw the very same event, id and bytes.
    let before = EventId::new(event.event_id().epoch, event.event_id().seq - 1);
    let mut on_market = market
        .get(&format!("/api/sse?lastEventId={before}"), &[])
        .await;
    let again = on_market.next_event().await.expect("the same event");
    assert_eq!(again, event);
}

/// Which of `instances` holds the one open SSE stream (by its open-connections gauge).
async fn serving(instances: &[&TestServer]) -> usize {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let open: Vec<f64> = instances
            .iter()
            .map(|i| i.metric("tickstream_open_connections{transport=\"sse\"}"))
            .collect();
        if let Some(at) = open.iter().position(|&n| n == 1.0) {
            return at;
        }
        assert!(
            Instant::now() < deadline,
            "no instance holds the stream: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_a_client_of_a_dead_web_instance_resumes_on_the_other_with_no_gap() {
    let redis = RedisServer::start();
    let market = market(&redis, &[]).await;
    let web_a = web(&redis).await;
    let web_b = web(&redis).await;
    wait_ready(&web_a, 200).await;
    wait_ready(&web_b, 200).await;
    // The very file a reader deploys: both web instances in its upstream.
    let nginx =
        crate::support::proxy::Proxy::nginx_for("tickstream-redis.conf", &[web_a.addr, web_b.addr]);

    let mut client = Response::get(nginx.addr, "/api/sse", &[]).await;
    assert_eq!(client.status, 200, "{}", nginx.log());
    client.next_event().await.expect("snapshot");
    let first = market.step(10).await;
    let seen = client.events_until(first).await;
    assert_gapless(&seen);
    let left_at = seen.last().expect("events").id.clone();

    // The instance holding the stream dies; the stream through nginx ends with it.
    let mut webs = vec![web_a, web_b];
    let dead = serving(&[&webs[0], &webs[1]]).await;
    let dying = webs.remove(dead);
    let alive = webs.remove(0);
    dying.state.shutdown.cancel();
    while client.next_event().await.is_some() {}
    drop(dying);

    // What an EventSource does next: reconnect (through nginx, which skips the dead
    // instance) with its last id. Nothing missing, nothing twice.
    let last = market.step(10).await;
    wait_for(&alive, last).await;
    let mut resumed = Response::get(nginx.addr, "/api/sse", &[("Last-Event-ID", &left_at)]).await;
    assert_eq!(resumed.status, 200, "{}", nginx.log());
    let after = resumed.events_until(last).await;
    assert_eq!(after[0].event_id(), first.next(), "no snapshot, no gap");
    assert_gapless(&after);

    // WebSocket through nginx: upgraded, and the same resume.
    let (mut socket, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/ws?lastEventId={left_at}",
        nginx.addr
    ))
    .await
    .expect("the WebSocket upgrades through nginx");
    let over_ws: Vec<EventId> = crate::support::ws::envelopes_until(&mut socket, last)
        .await
        .into_iter()
        .filter_map(|(envelope, _)| envelope.id)
        .collect();
    let expected: Vec<EventId> = (first.seq + 1..=last.seq)
        .map(|seq| EventId::new(last.epoch, seq))
        .collect();
    assert_eq!(over_ws, expected);

    // Long-poll through nginx: the events after an id, then a poll that waits and is
    // answered by the next step.
    let mut poll = Response::get(nginx.addr, &format!("/api/poll?after={left_at}"), &[]).await;
    let batch = tickstream::wire::batch::decode_batch(&poll.body().await).expect("a batch");
    let polled: Vec<EventId> = batch
        .events
        .iter()
        .filter_map(|(envelope, _)| envelope.as_ref().ok()?.id)
        .collect();
    assert_eq!(polled, expected);
    let waiting = tokio::spawn({
        let addr = nginx.addr;
        async move {
            Response::get(addr, &format!("/api/poll?after={last}&wait=20"), &[])
                .await
                .body()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let newest = market.step(1).await;
    let body = waiting.await.expect("the poll");
    let batch = tickstream::wire::batch::decode_batch(&body).expect("a batch");
    let ids: Vec<EventId> = batch
        .events
        .iter()
        .filter_map(|(envelope, _)| envelope.as_ref().ok()?.id)
        .collect();
    // Answered as soon as the step's first events were out: they follow `last` exactly.
    let expected: Vec<EventId> = (last.seq + 1..=last.seq + ids.len() as u64)
        .map(|seq| EventId::new(last.epoch, seq))
        .collect();
    assert!(!ids.is_empty());
    assert_eq!(ids, expected);
    assert!(ids.last().is_some_and(|id| id.seq <= newest.seq));
}
