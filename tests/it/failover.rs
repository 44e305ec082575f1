//! Market failover (`--role auto`) with real processes and a real redis-server: instances
//! started with the very same command share one market — one runs it, the others follow —
//! and when the one that runs it is killed (`SIGKILL`: no goodbye, the lease must lapse),
//! another takes it over from its checkpoint. A client of a web instance sees no reset and
//! no gap across ten such kills, and the prices at the end are those of one process with the
//! same seed stepped as often, on the manual clock.

use crate::support::redis::RedisServer;
use crate::support::{assert_gapless, Response, TestServer, PATIENCE};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tickstream::wire::EventId;

const TOKEN: &str = "failover-token";

/// How many times the market instance is killed.
const KILLS: usize = 10;

/// One `tickstream` process.
struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Instance {
    /// `tickstream --bus <redis> --role <role>` on a free port, seed 42, manual clock.
    async fn start(redis: &RedisServer, role: &str) -> Instance {
        let port = crate::support::proxy::free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let child = Command::new(env!("CARGO_BIN_EXE_tickstream"))
            .args([
                "--addr",
                &addr.to_string(),
                "--bus",
                &redis.url(),
                "--role",
                role,
            ])
            .args(["--seed", "42", "--clock", "manual", "--warmup-steps", "0"])
            .args(["--admin-token", TOKEN])
            .args([
                "--leptos-config",
                concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("tickstream starts");
        let instance = Instance { child, addr };
        let deadline = Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "{addr} never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while Response::get(addr, "/readyz", &[]).await.status != 200 {
            assert!(Instant::now() < deadline, "{addr} never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        instance
    }

    /// `SIGKILL`: the process ends at once, its lease left to lapse.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `POST /api/admin/step {"n"}`: the newest id, or `None` when this instance does not
    /// run the market (`409 not_the_market`).
    async fn step(&self, n: u64) -> Option<EventId> {
        let body = format!(r#"{{"n":{n}}}"#);
        let head = format!(
            "POST /api/admin/step HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut response = Response::get_raw_head(self.addr, head.as_bytes()).await;
        let text = response.body().await;
        match response.status {
            200 => {
                let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                json["id"].as_str().and_then(|id| id.parse().ok())
            }
            409 => {
                assert!(text.contains("not_the_market"), "{text}");
                None
            }
            other => panic!("step: {other} {text}"),
        }
    }

    /// Steps once as soon as this instance runs the market; how long that took.
    async fn step_once_holding(&self) -> (EventId, Duration) {
        let asked = Instant::now();
        loop {
            if let Some(id) = self.step(1).await {
                return (id, asked.elapsed());
            }
            assert!(
                asked.elapsed() < 3 * PATIENCE,
                "{} never took the market over",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The quotes of `/api/snapshot`.
    async fn quotes(addr: SocketAddr) -> Vec<serde_json::Value> {
        let body = Response::get(addr, "/api/snapshot", &[]).await.body().await;
        let snapshot: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        snapshot["data"]["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .map(|symbol| symbol["quote"].clone())
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_market_survives_its_instance_being_killed_ten_times() {
    let redis = RedisServer::start();
    let mut holder = Instance::start(&redis, "auto").await;
    let (_, _) = holder.step_once_holding().await;
    let mut steps = 1;
    // The client's instance only ever follows.
    let web = Instance::start(&redis, "web").await;
    let mut client = Response::get(web.addr, "/api/sse", &[]).await;
    let start = client.next_event().await.expect("snapshot");
    let mut standby = Instance::start(&redis, "auto").await;
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
        standby = Instance::start(&redis, "auto").await;
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
