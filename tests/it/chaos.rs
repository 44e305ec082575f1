//! The chaos run (`make chaos`; a one-minute one in every `make test`): three `--role auto`
//! instances and one `--role web` behind nginx (the scale-out file from `deploy/`), on one
//! redis-server, each reaching Redis through a [`Link`] a fault can cut; clients on SSE,
//! WebSocket and long-poll through nginx, reconnecting and resuming as a browser would. On a
//! schedule drawn from a seed it injects one fault at a time — the holder killed (`SIGKILL`)
//! and restarted, the holder paused (`SIGSTOP`) for 1–8 s, one instance cut off from Redis
//! or its link to Redis slowed, Redis restarted empty, the instructor's "disconnect
//! everyone", and the fault API's `freeze`, `delay`, `drop`, `refuse` and `epoch` — then
//! lets everything heal, and the history checker ([`check`]) reads every client's log: one
//! id, one event; no gap without a reset; no client silent for longer than its watchdog
//! allows.
//!
//! Settings: `CHAOS_SECS` (default 300) and `CHAOS_SEED` (default: from the clock) for the
//! long run; a violation prints the seed that reproduces the schedule. With `CHAOS_REPORT`
//! set, the run writes its report there (the Makefile turns it into RELIABILITY.md).

use crate::support::history::{check, record, ClientLog, Listen, Transport, Verdict};
use crate::support::instance::Instance;
use crate::support::link::Link;
use crate::support::proxy::Proxy;
use crate::support::redis::RedisServer;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::{sleep, Instant};

/// A real-time market with heartbeats every second and the faults API on.
const MARKET: &[&str] = &[
    "--clock",
    "realtime",
    "--step-ms",
    "100",
    "--heartbeat-secs",
    "1",
    "--faults",
];
/// Clients per transport.
const CLIENTS: usize = 4;
/// A client drops a connection silent this long (three heartbeats) and resumes.
const STALE: Duration = Duration::from_secs(3);
/// The longest a client may go without hearing from a server: the longest pause (8 s), then
/// a watchdog's wait (3 s), reconnection backoff (2 s at most) and a lease's time to live
/// (3 s) for the market to be taken over.
const SILENT_AT_MOST: Duration = Duration::from_secs(16);
/// Quiet time at the end, for every client to catch up before the logs are read.
const SETTLE: Duration = Duration::from_secs(10);

/// A small deterministic generator (SplitMix64): the same seed, the same schedule.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `range`.
    fn within(&mut self, range: std::ops::RangeInclusive<u64>) -> u64 {
        range.start() + self.next() % (range.end() - range.start() + 1)
    }

    /// Milliseconds in `range`, as a duration.
    fn millis(&mut self, range: std::ops::RangeInclusive<u64>) -> Duration {
        Duration::from_millis(self.within(range))
    }
}

/// The faults, by the name the report gives them.
const KINDS: &[&str] = &[
    "kill -9 the holder",
    "SIGSTOP the holder",
    "partition from Redis",
    "slow link to Redis",
    "Redis restart",
    "admin disconnect",
    "freeze",
    "delay",
    "drop",
    "refuse",
    "epoch",
];

/// Everything the run starts.
struct Cluster {
    redis: RedisServer,
    /// One link per instance, in the instances' order.
    links: Vec<Link>,
    /// Three `auto`, then one `web`.
    instances: Vec<Instance>,
    nginx: Proxy,
}

impl Cluster {
    async fn start() -> Cluster {
        let redis = RedisServer::start();
        let redis_addr: SocketAddr = format!("127.0.0.1:{}", redis.port).parse().expect("addr");
        let mut links = Vec::new();
        let mut instances = Vec::new();
        for role in ["auto", "auto", "auto", "web"] {
            let link = Link::to(redis_addr).await;
            instances.push(Instance::start(&link.redis_url(), role, MARKET).await);
            links.push(link);
        }
        let addrs: Vec<SocketAddr> = instances.iter().map(|instance| instance.addr).collect();
        let nginx = Proxy::nginx_for("tickstream-redis.conf", &addrs);
        let cluster = Cluster {
            redis,
            links,
            instances,
            nginx,
        };
        cluster.holder().await;
        cluster
    }

    /// The `auto` instance that runs the market, waiting until one does.
    async fn holder(&self) -> usize {
        let asked = Instant::now();
        loop {
            for at in 0..3 {
                if self.instances[at].holds().await {
                    return at;
                }
            }
            assert!(
                asked.elapsed() < Duration::from_secs(60),
                "no instance took the market"
            );
            sleep(Duration::from_millis(200)).await;
        }
    }

    /// Injects fault `kind` and heals it; what was done, for the log.
    async fn inject(&mut self, kind: &str, dice: &mut Dice) -> String {
        let anyone = usize::try_from(dice.within(0..=3)).unwrap_or(0);
        match kind {
            "kill -9 the holder" => {
                let at = self.holder().await;
                let down = dice.millis(500..=3_000);
                self.instances[at].kill_and_restart(down).await;
                format!("instance {at} killed, back after {} ms", down.as_millis())
            }
            "SIGSTOP the holder" => {
                let at = self.holder().await;
                let paused = dice.millis(1_000..=8_000);
                self.instances[at].pause();
                sleep(paused).await;
                self.instances[at].resume();
                format!("instance {at} paused for {} ms", paused.as_millis())
            }
            "partition from Redis" => {
                let cut = dice.millis(2_000..=8_000);
                self.links[anyone].cut();
                sleep(cut).await;
                self.links[anyone].restore();
                format!("instance {anyone} cut off for {} ms", cut.as_millis())
            }
            "slow link to Redis" => {
                let delay = dice.millis(50..=1_500);
                let lasts = dice.millis(2_000..=6_000);
                self.links[anyone].slow(delay);
                sleep(lasts).await;
                self.links[anyone].restore();
                format!(
                    "instance {anyone}: {} ms more each way to Redis for {} ms",
                    delay.as_millis(),
                    lasts.as_millis()
                )
            }
            "Redis restart" => {
                self.redis.restart();
                "Redis restarted empty".to_owned()
            }
            "admin disconnect" => {
                let (status, body) = self.instances[anyone]
                    .admin("/api/admin/disconnect", "{}")
                    .await;
                assert_eq!(status, 200, "{body}");
                format!("instance {anyone}: everyone disconnected")
            }
            "epoch" => {
                let at = self.holder().await;
                let (status, body) = self.instances[at]
                    .admin("/api/admin/faults", r#"{"kind":"epoch"}"#)
                    .await;
                // The holder may have stepped down since it was asked: nobody ran it.
                assert!(status < 300 || status == 409, "{status} {body}");
                format!("instance {at}: a new epoch ({status})")
            }
            api => {
                let lasts = dice.millis(1_000..=5_000);
                let body = match api {
                    "delay" => format!(
                        r#"{{"kind":"delay","delay_ms":{},"duration_ms":{}}}"#,
                        dice.within(50..=1_500),
                        lasts.as_millis()
                    ),
                    "drop" => format!(
                        r#"{{"kind":"drop","count":{},"duration_ms":{}}}"#,
                        dice.within(1..=5),
                        lasts.as_millis()
                    ),
                    other => format!(
                        r#"{{"kind":"{other}","duration_ms":{}}}"#,
                        lasts.as_millis()
                    ),
                };
                let (status, answer) = self.instances[anyone]
                    .admin("/api/admin/faults", &body)
                    .await;
                assert!(status < 300, "{body}: {status} {answer}");
                sleep(lasts).await;
                format!("instance {anyone}: {api} for {} ms", lasts.as_millis())
            }
        }
    }
}

/// How a chaos run goes.
struct Plan {
    secs: u64,
    seed: u64,
}

/// The run that guards every `make test`: a minute, a fixed seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_minute() {
    run(Plan { secs: 60, seed: 26 }).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "minutes long: run with `make chaos`"]
async fn chaos() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|now| now.as_secs())
                .unwrap_or(1)
        });
    let secs = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(300);
    run(Plan { secs, seed }).await;
}

async fn run(plan: Plan) {
    let mut cluster = Cluster::start().await;
    let started = Instant::now();
    let end = started + Duration::from_secs(plan.secs);
    let mut clients = Vec::new();
    for transport in [Transport::Sse, Transport::WebSocket, Transport::LongPoll] {
        for n in 0..CLIENTS {
            let listen = Listen {
                transport,
                addr: cluster.nginx.addr,
                until: end,
                stale: STALE,
            };
            clients.push(tokio::spawn(record(
                format!("{} #{n}", transport.name()),
                listen,
            )));
        }
    }

    let mut dice = Dice(plan.seed);
    let mut injected: BTreeMap<&str, u64> = BTreeMap::new();
    let mut journal = Vec::new();
    sleep(Duration::from_secs(3)).await; // everyone connected
    while Instant::now() + SETTLE + Duration::from_secs(8) < end {
        let last = u64::try_from(KINDS.len() - 1).unwrap_or(0);
        let kind = KINDS[usize::try_from(dice.within(0..=last)).unwrap_or(0)];
        let what = cluster.inject(kind, &mut dice).await;
        *injected.entry(kind).or_default() += 1;
        journal.push(format!(
            "{:>5.1} s  {what}",
            started.elapsed().as_secs_f64()
        ));
        sleep(dice.millis(1_000..=3_000)).await;
    }

    let mut logs: Vec<ClientLog> = Vec::new();
    for client in clients {
        logs.push(client.await.expect("a client ran to its end"));
    }
    let verdict = check(&logs, SILENT_AT_MOST);
    let report = report(&plan, &injected, &logs, &verdict);
    println!("{report}\nschedule:\n{}", journal.join("\n"));
    if let Ok(path) = std::env::var("CHAOS_REPORT") {
        std::fs::write(&path, &report).expect("writes the report");
    }
    assert_eq!(
        verdict.violations(),
        0,
        "chaos: {} — reproduce with CHAOS_SEED={} CHAOS_SECS={} make chaos",
        verdict.describe(),
        plan.seed,
        plan.secs
    );
}

/// RELIABILITY.md's body, from this run.
fn report(
    plan: &Plan,
    injected: &BTreeMap<&str, u64>,
    logs: &[ClientLog],
    verdict: &Verdict,
) -> String {
    let stamp = std::env::var("CHAOS_STAMP").unwrap_or_else(|_| "not stamped".to_owned());
    let mut text = String::from(
        "# Reliability\n\n\
         <!-- Written by `make chaos` (tests/it/chaos.rs) from its own run: do not edit. -->\n\n\
         One promise carries every feature: **an event id means one event, everywhere**, so a \
         client can resume with `Last-Event-ID` on any instance and miss nothing. `make chaos` \
         tries to break it: it injects faults on a schedule drawn from a seed, one at a time, \
         while clients listen as browsers do, then a history checker reads every client's \
         log and proves that (a) every client that received an id received the same event \
         (type and envelope); (b) each client's events follow one another with no gap, except \
         right after a `reset`, and every hole a client saw (a `drop` fault) was filled by \
         resuming; (c) no client went without hearing from a server for longer than its \
         watchdog, a reconnect and a takeover allow. The holder of the market lease shows its \
         clients an event only once Redis holds it, and steps down before its lease could \
         lapse (see `src/server/redis/lease.rs`).\n\n",
    );
    let _ = writeln!(
        text,
        "Seed {}, {} s, {stamp}. Three `--role auto` instances and one `--role web` behind \
         nginx (`deploy/nginx/tickstream-redis.conf`) on one redis-server, each through a link \
         the run can cut; {} clients through nginx ({CLIENTS} each on SSE, WebSocket and \
         long-poll), a stale watchdog of {} s.\n",
        plan.seed,
        plan.secs,
        logs.len(),
        STALE.as_secs()
    );
    let _ = writeln!(text, "| fault | injected |\n|---|---:|");
    for kind in KINDS {
        let _ = writeln!(
            text,
            "| {kind} | {} |",
            injected.get(kind).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(
        text,
        "| **all** | **{}** |\n",
        injected.values().sum::<u64>()
    );
    let _ = writeln!(text, "| checked | |\n|---|---:|");
    let _ = writeln!(text, "| events received and checked | {} |", verdict.events);
    let _ = writeln!(text, "| distinct ids | {} |", verdict.ids);
    let reasons: Vec<String> = verdict
        .reset_reasons
        .iter()
        .map(|(reason, n)| format!("{n} `{reason}`"))
        .collect();
    let _ = writeln!(
        text,
        "| resets received | {} {} |",
        verdict.resets,
        if reasons.is_empty() {
            String::new()
        } else {
            format!("({})", reasons.join(", "))
        }
    );
    let _ = writeln!(text, "| reconnects | {} |", verdict.reconnects);
    let _ = writeln!(
        text,
        "| holes seen and filled by resuming | {} |",
        verdict.holes
    );
    let _ = writeln!(
        text,
        "| longest silence (allowed {} s) | {:.1} s |",
        SILENT_AT_MOST.as_secs(),
        verdict.longest_silence.as_secs_f64()
    );
    let _ = writeln!(
        text,
        "| one id, two events | {} |\n| gaps without a reset | {} |\n| silences too long, holes not filled | {} |",
        verdict.conflicts.len(),
        verdict.gaps.len(),
        verdict.silences.len()
    );
    let _ = writeln!(
        text,
        "\n**Violations: {}.** Reproduce the schedule with `CHAOS_SEED={} CHAOS_SECS={} make chaos`.",
        verdict.violations(),
        plan.seed,
        plan.secs
    );
    text
}
