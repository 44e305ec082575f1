//! `loadgen`: the load generator behind `make bench`.
//!
//! `loadgen run` opens N clients of one transport (SSE, WebSocket, long-poll) against a
//! running server — tickstream, or Nchan for comparison — spread over several 127.0.0.x
//! source addresses, then publishes messages of a fixed size at a fixed rate and reports
//! deliveries/s, publish → receive latency percentiles, losses, reconnects, and the server
//! process's CPU time and memory (read from /proc by pid). One run prints a summary and
//! appends one JSON line to `--out`. `loadgen report` turns those lines into BENCHMARKS.md.
//!
//! A run goes: connect every client (a bounded number at a time) → let them sit idle and
//! read the server's memory (→ memory per idle connection) → publish one calibration
//! message and size the padding from what a client received → publish `rate × duration`
//! measured messages on a timer → wait for them to arrive (bounded) → stop.
//!
//! Invariants: traffic goes only to loopback addresses; every phase has a deadline, so a
//! run always ends by itself; the server is never started or stopped here (bench/run.sh
//! does that), only observed.

mod clients;
mod http;
mod probe;
mod publish;
mod report;
mod result;
mod stats;
mod ws;

use clap::{Args, Parser, Subcommand};
use clients::{Shared, TransportKind};
use publish::{Publisher, Schedule, Sent, ServerKind};
use result::{EncodeCounts, RunResult, OVERLOAD_RATE};
use stats::Stats;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for tickstream (and Nchan, for comparison)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one benchmark cell against a running server.
    Run(RunArgs),
    /// Write BENCHMARKS.md from the JSON lines of `run`.
    Report(report::ReportArgs),
}

#[derive(Args, Clone)]
struct RunArgs {
    /// The server under test.
    #[arg(long, value_enum)]
    server: ServerKind,
    /// The server's address (a loopback address).
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, value_enum, default_value_t = TransportKind::Sse)]
    transport: TransportKind,
    /// Concurrent clients.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    clients: u64,
    /// Published messages per second; 0 publishes nothing and measures the server's own
    /// events by their envelope `ts` (tickstream's market).
    #[arg(long, default_value_t = 4.0)]
    rate: f64,
    /// Payload bytes per message as a client receives it (SSE `data`, WebSocket text).
    #[arg(long, default_value_t = 512)]
    size: usize,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// Source addresses 127.0.0.1 … 127.0.0.N, to spread clients over their port ranges.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=250))]
    sources: u8,
    /// Clients connecting at the same time.
    #[arg(long, default_value_t = 200)]
    ramp: usize,
    /// Publish requests that may be unanswered at once (pipelined on one connection).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    in_flight: u64,
    /// The server's process id, for CPU time and memory (its child processes included).
    #[arg(long)]
    pid: Option<u32>,
    /// tickstream's `--admin-token` (the publisher posts news).
    #[arg(long, env = "LOADGEN_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Nchan channel; a fresh one per run keeps runs apart.
    #[arg(long, default_value = "bench")]
    channel: String,
    /// A name for this run in the report.
    #[arg(long, default_value = "")]
    label: String,
    /// Append the result as one JSON line to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Report(args) => match report::write(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("loadgen report: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    eprintln!("loadgen: cannot start the runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("loadgen run: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// How long all clients may take to connect.
const CONNECT_DEADLINE: Duration = Duration::from_secs(90);
/// Idle time after connecting, before memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// How long to wait for the calibration message.
const CALIBRATION_PATIENCE: Duration = Duration::from_secs(10);
/// How long after the last publish to wait for deliveries still in flight.
const DRAIN: Duration = Duration::from_secs(5);

/// One cell: connect, idle, calibrate, publish, drain, report.
async fn run(args: RunArgs) -> Result<(), String> {
    let plan = Plan::check(&args)?;
    let probe = ServerProbe::new(args.pid);
    let rss_base = probe.rss("VmRSS");
    let clients = Clients::connect(&args, &plan).await;
    tokio::time::sleep(SETTLE).await;
    let rss_idle = probe.rss("VmRSS");

    let publisher = Publisher::new(
        args.server,
        args.addr,
        plan.publish_path.clone(),
        args.admin_token.as_deref(),
    );
    let pad = if plan.publishing {
        calibrate(&publisher, &clients, &args).await?
    } else {
        0
    };
    let before = server_counters(&args).await;
    // bench/run.sh starts its profiler on this line.
    println!(
        "loadgen: publishing {} msg/s for {} s",
        args.rate, args.duration
    );
    let cpu_start = probe.cpu();
    let own_start = probe::cpu_secs(probe.own_pid);
    let window = Instant::now();
    let sent = if plan.publishing {
        publisher.run(&schedule(&args, pad)).await
    } else {
        tokio::time::sleep(Duration::from_secs(args.duration)).await;
        Sent::default()
    };
    // The achieved rate: acknowledged messages over the time until the last one was.
    let publish_secs = if sent.published > 0 {
        sent.last_ack.as_secs_f64()
    } else {
        window.elapsed().as_secs_f64()
    };
    let expected = sent.published * clients.connected;
    drain(&clients.stats, plan.publishing, expected).await;
    let elapsed = window.elapsed().as_secs_f64();
    let measured = Measured {
        cpu_used: probe.cpu().zip(cpu_start).map(|(end, start)| end - start),
        own_used: probe::cpu_secs(probe.own_pid)
            .zip(own_start)
            .map(|(end, start)| end - start),
        rss_base,
        rss_idle,
        rss_loaded: probe.rss("VmRSS"),
        rss_peak: probe.rss("VmHWM"),
        metrics: before
            .zip(server_counters(&args).await)
            .map(|(b, a)| EncodeCounts {
                published: a.published - b.published,
                deliveries: a.deliveries - b.deliveries,
            }),
        held: Stats::get(&clients.stats.connected),
        elapsed,
        publish_secs,
        expected,
    };
    let clients = clients.stop().await;
    let result = measured.result(&args, &clients, &sent);
    println!("{}", report::summary(&result));
    if let Some(out) = &args.out {
        append(out, &result)?;
    }
    Ok(())
}

/// What a run's arguments come to, once checked.
struct Plan {
    /// Where the clients connect.
    path: String,
    /// Where the publisher posts.
    publish_path: String,
    /// Whether this run publishes (or measures the market's own events).
    publishing: bool,
}

impl Plan {
    fn check(args: &RunArgs) -> Result<Plan, String> {
        if !args.addr.ip().is_loopback() {
            return Err("only loopback servers (127.0.0.0/8) may be loaded".into());
        }
        if !(args.rate.is_finite() && (0.0..=10_000.0).contains(&args.rate)) {
            return Err("--rate must be between 0 and 10000".into());
        }
        let path = match (args.server, args.transport) {
            (ServerKind::Tickstream, TransportKind::Sse) => "/api/sse".to_owned(),
            (ServerKind::Tickstream, TransportKind::Ws) => "/api/ws".to_owned(),
            (ServerKind::Tickstream, TransportKind::Poll) => "/api/poll".to_owned(),
            (ServerKind::Nchan | ServerKind::Starlette, TransportKind::Poll) => {
                return Err("long-polling is measured against tickstream only".into())
            }
            (ServerKind::Nchan | ServerKind::Starlette, _) => format!("/sub/{}", args.channel),
        };
        let publishing = args.rate > 0.0;
        if publishing && args.server == ServerKind::Tickstream && args.admin_token.is_none() {
            return Err("publishing to tickstream needs --admin-token".into());
        }
        let publish_path = match args.server {
            ServerKind::Tickstream => "/api/admin/news".to_owned(),
            ServerKind::Nchan | ServerKind::Starlette => format!("/pub/{}", args.channel),
        };
        Ok(Plan {
            path,
            publish_path,
            publishing,
        })
    }
}

/// The server process as /proc shows it (nothing without `--pid`), and this process.
struct ServerProbe {
    pid: Option<u32>,
    own_pid: u32,
}

impl ServerProbe {
    fn new(pid: Option<u32>) -> ServerProbe {
        ServerProbe {
            pid,
            own_pid: std::process::id(),
        }
    }

    fn rss(&self, field: &str) -> Option<u64> {
        self.pid.and_then(|pid| probe::family_kib(pid, field))
    }

    fn cpu(&self) -> Option<f64> {
        self.pid.and_then(probe::family_cpu_secs)
    }
}

/// The run's clients, connected.
struct Clients {
    shared: Arc<Shared>,
    stats: Arc<Stats>,
    tasks: tokio::task::JoinSet<()>,
    connected: u64,
    connect_secs: f64,
}

impl Clients {
    /// Starts every client, spread over the source addresses, and waits (bounded) until
    /// they are all connected.
    async fn connect(args: &RunArgs, plan: &Plan) -> Clients {
        let stats = Arc::new(Stats::new());
        let shared = Arc::new(Shared {
            transport: args.transport,
            addr: args.addr,
            host: args.addr.to_string(),
            path: plan.path.clone(),
            stats: stats.clone(),
            stop: CancellationToken::new(),
            gate: Semaphore::new(args.ramp.max(1)),
            envelope_ts: !plan.publishing,
        });
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..args.clients {
            let source = IpAddr::V4(Ipv4Addr::new(
                127,
                0,
                0,
                1 + (n % u64::from(args.sources)) as u8,
            ));
            tasks.spawn(clients::run(shared.clone(), source));
        }
        while Stats::get(&stats.connected) < args.clients && started.elapsed() < CONNECT_DEADLINE {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let connect_secs = started.elapsed().as_secs_f64();
        let connected = Stats::get(&stats.connected);
        println!(
            "loadgen: {connected}/{} {:?} clients connected in {connect_secs:.1} s",
            args.clients, args.transport
        );
        Clients {
            shared,
            stats,
            tasks,
            connected,
            connect_secs,
        }
    }

    /// Stops every client (bounded).
    async fn stop(mut self) -> Clients {
        self.shared.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(15), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
        self
    }
}

/// Publishes one calibration message and sizes the padding from what a client received.
async fn calibrate(
    publisher: &Publisher,
    clients: &Clients,
    args: &RunArgs,
) -> Result<usize, String> {
    publisher
        .publish_one(0, 0)
        .await
        .map_err(|err| format!("the calibration publish failed: {err}"))?;
    let asked = Instant::now();
    while (Stats::get(&clients.stats.calibrated) < clients.connected.max(1))
        && asked.elapsed() < CALIBRATION_PATIENCE
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = Stats::get(&clients.stats.calibration_len) as usize;
    if seen == 0 {
        return Err("no client received the calibration message".into());
    }
    let pad = args.size.saturating_sub(seen);
    Ok(match args.server {
        ServerKind::Tickstream => pad.min(publish::TICKSTREAM_MAX_PAD),
        ServerKind::Nchan | ServerKind::Starlette => pad,
    })
}

/// The run's open-loop schedule: `rate × duration` messages, the first one period in, so
/// that they span exactly `duration`; a server that cannot keep up is given up on after the
/// drain time.
fn schedule(args: &RunArgs, pad: usize) -> Schedule {
    Schedule {
        count: (args.rate * args.duration as f64).round() as u64,
        period: Duration::from_secs_f64(1.0 / args.rate),
        pad,
        in_flight: args.in_flight as usize,
        deadline: Duration::from_secs(args.duration) + DRAIN,
    }
}

/// Waits (bounded) for deliveries still in flight.
async fn drain(stats: &Stats, publishing: bool, expected: u64) {
    let drain = Instant::now();
    while publishing && Stats::get(&stats.deliveries) < expected && drain.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// tickstream's own counters (Nchan has none).
async fn server_counters(args: &RunArgs) -> Option<probe::Counters> {
    match args.server {
        ServerKind::Tickstream => probe::metrics(args.addr).await,
        ServerKind::Nchan | ServerKind::Starlette => None,
    }
}

/// What the window measured besides the clients' own counters.
struct Measured {
    cpu_used: Option<f64>,
    own_used: Option<f64>,
    rss_base: Option<u64>,
    rss_idle: Option<u64>,
    rss_loaded: Option<u64>,
    rss_peak: Option<u64>,
    metrics: Option<EncodeCounts>,
    held: u64,
    elapsed: f64,
    publish_secs: f64,
    expected: u64,
}

impl Measured {
    fn result(self, args: &RunArgs, clients: &Clients, sent: &Sent) -> RunResult {
        let stats = &clients.stats;
        let connected = clients.connected;
        let deliveries = Stats::get(&stats.deliveries);
        let ms = |micros: Option<u64>| micros.map(|m| m as f64 / 1000.0);
        let elapsed = self.elapsed;
        let publish_rate = sent.published as f64 / self.publish_secs.max(1e-9);
        let missing = self.expected.saturating_sub(deliveries);
        let overloaded = if args.rate > 0.0 && publish_rate < OVERLOAD_RATE * args.rate {
            Some(format!(
                "published {publish_rate:.1} of {} msg/s",
                args.rate
            ))
        } else if missing > 0 {
            Some(format!("{missing} deliveries missing"))
        } else {
            None
        };
        RunResult {
            label: args.label.clone(),
            server: args.server,
            transport: args.transport,
            clients: args.clients,
            rate: args.rate,
            size: args.size,
            duration_s: args.duration,
            sources: args.sources,
            connected,
            connect_s: clients.connect_secs,
            connect_failures: Stats::get(&stats.connect_failures),
            held: self.held,
            reconnects: Stats::get(&stats.reconnects),
            published: sent.published,
            publish_errors: sent.errors,
            publish_rate,
            peak_in_flight: sent.peak_in_flight,
            overloaded,
            expected: self.expected,
            deliveries,
            deliveries_per_s: deliveries as f64 / elapsed.max(1e-9),
            offered_per_s: args.rate * connected as f64,
            missing,
            gaps: Stats::get(&stats.gaps),
            duplicates: Stats::get(&stats.duplicates),
            resets: Stats::get(&stats.resets),
            requests: Stats::get(&stats.requests),
            message_bytes: Stats::get(&stats.message_bytes)
                .checked_div(deliveries)
                .unwrap_or(0),
            p50_ms: ms(stats.latency.quantile(0.50)),
            p90_ms: ms(stats.latency.quantile(0.90)),
            p99_ms: ms(stats.latency.quantile(0.99)),
            max_ms: ms((stats.latency.count() > 0).then(|| stats.latency.max())),
            server_cpu_pct: self.cpu_used.map(|secs| 100.0 * secs / elapsed),
            server_cpu_us_per_delivery: self
                .cpu_used
                .filter(|_| deliveries > 0)
                .map(|secs| secs * 1e6 / deliveries as f64),
            loadgen_cpu_pct: self.own_used.map(|secs| 100.0 * secs / elapsed),
            rss_base_kib: self.rss_base,
            rss_idle_kib: self.rss_idle,
            rss_loaded_kib: self.rss_loaded,
            rss_peak_kib: self.rss_peak,
            idle_kib_per_conn: self
                .rss_idle
                .zip(self.rss_base)
                .filter(|_| connected > 0)
                .map(|(idle, base)| (idle as f64 - base as f64) / connected as f64),
            metrics: self.metrics,
        }
    }
}

/// Appends the result as one JSON line.
fn append(out: &PathBuf, result: &RunResult) -> Result<(), String> {
    use std::io::Write;
    let line = serde_json::to_string(result).map_err(|err| err.to_string())?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map_err(|err| format!("cannot open {}: {err}", out.display()))?;
    writeln!(file, "{line}").map_err(|err| format!("cannot write {}: {err}", out.display()))
}
