//! Fencing: a market holder that loses its lease without dying — paused with `SIGSTOP`, cut
//! off from Redis by a real partition, or caught by a Redis restart in the middle of a
//! takeover — steps down, and no client of any instance ever receives two different events
//! under one id. Two `--role auto` instances started with the same command run a real-time
//! market on one redis-server; clients of both listen over SSE, WebSocket and long-poll
//! while the fault happens, and the history checker reads their logs afterwards.

use crate::support::history::{check, record, ClientLog, Listen, Seen, Transport};
use crate::support::instance::Instance;
use crate::support::link::Link;
use crate::support::redis::RedisServer;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

/// A real-time market, fast enough that a few seconds hold hundreds of events, with
/// heartbeats every second so that a client's stale watchdog can be short.
const MARKET: &[&str] = &[
    "--clock",
    "realtime",
    "--step-ms",
    "50",
    "--heartbeat-secs",
    "1",
];

/// A client drops a connection that has been silent this long, and resumes.
const STALE: Duration = Duration::from_secs(3);

/// Clients of `instance` on every transport, listening until `until`.
fn listen(instance: &Instance, label: &str, until: Instant) -> Vec<JoinHandle<ClientLog>> {
    [Transport::Sse, Transport::WebSocket, Transport::LongPoll]
        .into_iter()
        .map(|transport| {
            let listen = Listen {
                transport,
                addr: instance.addr,
                until,
                stale: STALE,
            };
            tokio::spawn(record(format!("{label} {}", transport.name()), listen))
        })
        .collect()
}

/// The logs, once every client has stopped.
async fn logs(clients: Vec<JoinHandle<ClientLog>>) -> Vec<ClientLog> {
    let mut logs = Vec::new();
    for client in clients {
        logs.push(client.await.expect("a client ran to its end"));
    }
    logs
}

/// Checks the logs: one id one event, no gap without a reset, and every client received
/// events of the one market after `healed` (its instance's clients carried on).
fn assert_one_market(logs: &[ClientLog], healed: Instant) {
    // Silences are the chaos run's to judge: here a client of the paused instance is
    // silent for as long as the pause, by design.
    let verdict = check(logs, Duration::from_secs(3_600));
    assert_eq!(verdict.violations(), 0, "{}", verdict.describe());
    let shared = {
        let mut seen_by = std::collections::HashMap::new();
        for log in logs {
            for (_, seen) in &log.seen {
                if let Seen::Event { id, .. } = seen {
                    seen_by
                        .entry(*id)
                        .or_insert_with(std::collections::HashSet::new)
                        .insert(log.name.as_str());
                }
            }
        }
        seen_by.values().filter(|who| who.len() > 1).count()
    };
    assert!(
        shared > 100,
        "clients shared only {shared} ids: too few to compare ({})",
        verdict.describe()
    );
    for log in logs {
        let after = log
            .seen
            .iter()
            .filter(|(at, seen)| *at > healed && matches!(seen, Seen::Event { .. }))
            .count();
        assert!(
            after > 0,
            "{} received nothing after the fault healed",
            log.name
        );
    }
    println!(
        "fencing: {} events ({} ids, {shared} received by several clients) checked, {} resets, \
         {} reconnects, no conflict, no gap",
        verdict.events, verdict.ids, verdict.resets, verdict.reconnects
    );
}

/// A holder reaching Redis at `holder_bus` (once it runs the market), a standby reaching it
/// at `standby_bus`, and clients of both on every transport, listening for `secs`.
async fn holder_and_standby(
    holder_bus: &str,
    standby_bus: &str,
    secs: u64,
) -> (Instance, Instance, Vec<JoinHandle<ClientLog>>) {
    let holder = Instance::start(holder_bus, "auto", MARKET).await;
    holder.until_holding().await;
    let standby = Instance::start(standby_bus, "auto", MARKET).await;
    let until = Instant::now() + Duration::from_secs(secs);
    let mut clients = listen(&holder, "holder's", until);
    clients.extend(listen(&standby, "standby's", until));
    (holder, standby, clients)
}

/// Waits until exactly one of `instances` runs the market; which.
async fn one_holder(instances: &[&Instance]) -> usize {
    let asked = Instant::now();
    loop {
        let mut holding = Vec::new();
        for (at, instance) in instances.iter().enumerate() {
            if instance.holds().await {
                holding.push(at);
            }
        }
        if let [one] = holding[..] {
            return one;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(30),
            "holders: {holding:?}, not exactly one"
        );
        sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_steps_down_and_nobody_sees_its_private_market() {
    let redis = RedisServer::start();
    let (holder, standby, clients) = holder_and_standby(&redis.url(), &redis.url(), 20).await;

    sleep(Duration::from_secs(3)).await;
    holder.pause();
    // Twice the lease: the standby takes the market over meanwhile.
    sleep(Duration::from_secs(6)).await;
    holder.resume();
    let healed = Instant::now() + 2 * STALE;

    let logs = logs(clients).await;
    assert_eq!(
        one_holder(&[&holder, &standby]).await,
        1,
        "the standby runs it"
    );
    assert_one_market(&logs, healed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_cut_off_from_redis_steps_down_and_nobody_sees_its_private_market() {
    let redis = RedisServer::start();
    let redis_addr = format!("127.0.0.1:{}", redis.port).parse().expect("addr");
    let link = Link::to(redis_addr).await;
    let (holder, standby, clients) = holder_and_standby(&link.redis_url(), &redis.url(), 20).await;

    sleep(Duration::from_secs(3)).await;
    link.cut();
    sleep(Duration::from_secs(6)).await;
    link.restore();
    let healed = Instant::now() + 2 * STALE;

    let logs = logs(clients).await;
    assert_eq!(
        one_holder(&[&holder, &standby]).await,
        1,
        "the standby runs it"
    );
    assert_one_market(&logs, healed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_during_a_takeover_leaves_one_market() {
    let mut redis = RedisServer::start();
    let (holder, standby, clients) = holder_and_standby(&redis.url(), &redis.url(), 24).await;

    sleep(Duration::from_secs(3)).await;
    holder.pause();
    // Just past the lease's time to live: the standby is asking for it, or taking over.
    sleep(Duration::from_millis(3_100)).await;
    redis.restart();
    sleep(Duration::from_secs(3)).await;
    holder.resume();
    let healed = Instant::now() + 2 * STALE;

    let logs = logs(clients).await;
    one_holder(&[&holder, &standby]).await;
    assert_one_market(&logs, healed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_stops_writes_what_it_showed_and_releases_the_lease() {
    let redis = RedisServer::start();
    let holder = Instance::start(&redis.url(), "auto", &[]).await;
    let (shown, _) = holder.step_once_holding().await;
    let last = holder.step(5).await.expect("it runs the market");
    assert!(last.seq > shown.seq);
    holder.terminate();

    let client = ::redis::Client::open(redis.url()).expect("a client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let owner: Option<String> = ::redis::cmd("GET")
        .arg("tickstream:market-owner")
        .query_async(&mut conn)
        .await
        .expect("GET");
    assert_eq!(owner, None, "the lease was released, not left to lapse");
    let newest: ::redis::streams::StreamRangeReply = ::redis::cmd("XREVRANGE")
        .arg("tickstream:events")
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut conn)
        .await
        .expect("XREVRANGE");
    let top = newest.ids.first().map(|entry| entry.id.clone());
    assert_eq!(
        top,
        Some(format!("{}-{}", last.epoch.0, last.seq)),
        "the stream ends with the last event its clients were shown"
    );
}
