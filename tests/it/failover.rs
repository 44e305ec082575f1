//! Market failover (`--role auto`) with real processes and a real redis-server: instances
//! started with the very same command share one market — one runs it, the others follow —
//! and when the one that runs it is killed (`SIGKILL`: no goodbye, the lease must lapse),
//! another takes it over from its checkpoint. A client of a web instance sees no reset and
//! no gap across ten such kills, and the prices at the end are those of one process with the
//! same seed stepped as often, on the manual clock.

use crate::support::instance::Instance;
use crate::support::redis::RedisServer;
use crate::support::{assert_gapless, Response, TestServer};
use std::time::Duration;

/// How many times the market instance is killed.
const KILLS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_market_survives_its_instance_being_killed_ten_times() {
    let redis = RedisServer::start();
    let mut holder = Instance::start(&redis.url(), "auto", &[]).await;
    let (_, _) = holder.step_once_holding().await;
    let mut steps = 1;
    // The client's instance only ever follows.
    let web = Instance::start(&redis.url(), "web", &[]).await;
    let mut client = Response::get(web.addr, "/api/sse", &[]).await;
    let start = client.next_event().await.expect("snapshot");
    let mut standby = Instance::start(&redis.url(), "auto", &[]).await;
    // Started with the same command, it follows the one market: it runs none of its own.
    assert_eq!(standby.step(1).await, None);

    let mut received = Vec::new();
    let mut takeovers = Vec::new();
    for _ in 0..KILLS {
        let id = holder.step(5).await.expect("the holder runs the market");
        steps += 5;
        // Killed once its clients have what it published (what it had not yet written to
        // Redis would be lost with it, as it should: nobody saw it).
        received.extend(client.events_until(id).await);
        holder.kill();
        let (id, took) = standby.step_once_holding().await;
        steps += 1;
        takeovers.push(took);
        received.extend(client.events_until(id).await);
        holder = standby;
        standby = Instance::start(&redis.url(), "auto", &[]).await;
    }
    let last = holder.step(5).await.expect("the holder runs the market");
    steps += 5;
    received.extend(client.events_until(last).await);

    // One history: the snapshot's, continued with no reset and no gap.
    assert_eq!(
        last.epoch,
        start.event_id().epoch,
        "the same epoch throughout"
    );
    assert!(received.iter().all(|event| event.event != "reset"));
    assert_eq!(received[0].event_id(), start.event_id().next());
    assert_gapless(&received);

    // The same prices as one process that never failed, stepped as often.
    let reference = TestServer::start(&[]).await;
    reference.step(steps).await;
    assert_eq!(
        Instance::quotes(web.addr).await,
        Instance::quotes(reference.addr).await,
        "prices after {KILLS} takeovers equal a single run's"
    );

    takeovers.sort();
    let ms = |d: &Duration| d.as_millis();
    println!(
        "failover: {KILLS} kills, from the kill to the first step on the new holder: min {} ms, \
         median {} ms, max {} ms",
        ms(&takeovers[0]),
        ms(&takeovers[KILLS / 2]),
        ms(&takeovers[KILLS - 1])
    );
}
