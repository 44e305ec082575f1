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
mod stats;

use clap::{Args, Parser, Subcommand};
use clients::{Shared, TransportKind};
use publish::{Publisher, ServerKind};
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
    /// The server's process id, for CPU time and memory.
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

async fn run(args: RunArgs) -> Result<(), String> {
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
        (ServerKind::Nchan, TransportKind::Poll) => {
            return Err("long-polling is measured against tickstream only".into())
        }
        (ServerKind::Nchan, _) => format!("/sub/{}", args.channel),
    };
    let publishing = args.rate > 0.0;
    if publishing && args.server == ServerKind::Tickstream && args.admin_token.is_none() {
        return Err("publishing to tickstream needs --admin-token".into());
    }
    let stats = Arc::new(Stats::new());
    let shared = Arc::new(Shared {
        transport: args.transport,
        addr: args.addr,
        host: args.addr.to_string(),
        path,
        stats: stats.clone(),
        stop: CancellationToken::new(),
        gate: Semaphore::new(args.ramp.max(1)),
        envelope_ts: !publishing,
    });
    let pid = args.pid;
    let rss = |field| pid.and_then(|pid| probe::status_kib(pid, field));
    let cpu = || pid.and_then(probe::cpu_secs);
    let own_pid = std::process::id();
    let rss_base = rss("VmRSS");

    // Connect.
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
    tokio::time::sleep(SETTLE).await;
    let rss_idle = rss("VmRSS");

    // Calibrate the padding, then publish on a timer.
    let publish_path = match args.server {
        ServerKind::Tickstream => "/api/admin/news".to_owned(),
        ServerKind::Nchan => format!("/pub/{}", args.channel),
    };
    let mut publisher = Publisher::new(
        args.server,
        args.addr,
        publish_path,
        args.admin_token.as_deref(),
    );
    let mut pad = 0;
    if publishing {
        publisher
            .publish(0, 0)
            .await
            .map_err(|err| format!("the calibration publish failed: {err}"))?;
        let asked = Instant::now();
        while (Stats::get(&stats.calibrated) < connected.max(1))
            && asked.elapsed() < CALIBRATION_PATIENCE
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seen = Stats::get(&stats.calibration_len) as usize;
        if seen == 0 {
            return Err("no client received the calibration message".into());
        }
        pad = args.size.saturating_sub(seen);
        if args.server == ServerKind::Tickstream {
            pad = pad.min(publish::TICKSTREAM_MAX_PAD);
        }
    }
    let before = match args.server {
        ServerKind::Tickstream => probe::metrics(args.addr).await,
        ServerKind::Nchan => None,
    };
    // bench/run.sh starts its profiler on this line.
    println!(
        "loadgen: publishing {} msg/s for {} s",
        args.rate, args.duration
    );
    let cpu_start = cpu();
    let own_start = probe::cpu_secs(own_pid);
    let window = Instant::now();
    let count = (args.rate * args.duration as f64).round() as u64;
    let mut published = 0u64;
    let mut publish_errors = 0u64;
    if publishing {
        let period = Duration::from_secs_f64(1.0 / args.rate);
        // The first message one period in: `count` messages then span exactly `duration`.
        let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let deadline = Duration::from_secs(args.duration) + DRAIN;
        for seq in 1..=count {
            timer.tick().await;
            if window.elapsed() > deadline {
                break; // the server cannot keep up with the rate: stop anyway
            }
            match publisher.publish(seq, pad).await {
                Ok(()) => published += 1,
                Err(err) => {
                    publish_errors += 1;
                    if publish_errors <= 3 {
                        eprintln!("loadgen: publish {seq} failed: {err}");
                    }
                }
            }
        }
    } else {
        tokio::time::sleep(Duration::from_secs(args.duration)).await;
    }
    let publish_secs = window.elapsed().as_secs_f64();
    let expected = published * connected;
    let drain = Instant::now();
    while publishing && Stats::get(&stats.deliveries) < expected && drain.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = window.elapsed().as_secs_f64();
    let cpu_used = cpu().zip(cpu_start).map(|(end, start)| end - start);
    let own_used = probe::cpu_secs(own_pid)
        .zip(own_start)
        .map(|(end, start)| end - start);
    let rss_loaded = rss("VmRSS");
    let rss_peak = rss("VmHWM");
    let after = match args.server {
        ServerKind::Tickstream => probe::metrics(args.addr).await,
        ServerKind::Nchan => None,
    };
    let held = Stats::get(&stats.connected);

    shared.stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();

    let deliveries = Stats::get(&stats.deliveries);
    let ms = |micros: Option<u64>| micros.map(|m| m as f64 / 1000.0);
    let per_conn = rss_idle
        .zip(rss_base)
        .filter(|_| connected > 0)
        .map(|(idle, base)| (idle as f64 - base as f64) / connected as f64);
    let metrics = before.zip(after).map(|(b, a)| {
        serde_json::json!({
            "published": a.published - b.published,
            "deliveries": a.deliveries - b.deliveries,
        })
    });
    let result = serde_json::json!({
        "label": args.label,
        "server": args.server,
        "transport": args.transport,
        "clients": args.clients,
        "rate": args.rate,
        "size": args.size,
        "duration_s": args.duration,
        "sources": args.sources,
        "connected": connected,
        "connect_s": connect_secs,
        "connect_failures": Stats::get(&stats.connect_failures),
        "held": held,
        "reconnects": Stats::get(&stats.reconnects),
        "published": published,
        "publish_errors": publish_errors,
        "publish_rate": published as f64 / publish_secs.max(1e-9),
        "expected": expected,
        "deliveries": deliveries,
        "deliveries_per_s": deliveries as f64 / elapsed.max(1e-9),
        "offered_per_s": args.rate * connected as f64,
        "missing": expected.saturating_sub(deliveries),
        "gaps": Stats::get(&stats.gaps),
        "duplicates": Stats::get(&stats.duplicates),
        "resets": Stats::get(&stats.resets),
        "requests": Stats::get(&stats.requests),
        "message_bytes": Stats::get(&stats.message_bytes).checked_div(deliveries).unwrap_or(0),
        "p50_ms": ms(stats.latency.quantile(0.50)),
        "p90_ms": ms(stats.latency.quantile(0.90)),
        "p99_ms": ms(stats.latency.quantile(0.99)),
        "max_ms": ms((stats.latency.count() > 0).then(|| stats.latency.max())),
        "server_cpu_pct": cpu_used.map(|secs| 100.0 * secs / elapsed),
        "server_cpu_us_per_delivery": cpu_used.filter(|_| deliveries > 0).map(|secs| secs * 1e6 / deliveries as f64),
        "loadgen_cpu_pct": own_used.map(|secs| 100.0 * secs / elapsed),
        "rss_base_kib": rss_base,
        "rss_idle_kib": rss_idle,
        "rss_loaded_kib": rss_loaded,
        "rss_peak_kib": rss_peak,
        "idle_kib_per_conn": per_conn,
        "metrics": metrics,
    });
    println!("{}", report::summary(&result));
    if let Some(out) = &args.out {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .map_err(|err| format!("cannot open {}: {err}", out.display()))?;
        writeln!(file, "{result}")
            .map_err(|err| format!("cannot write {}: {err}", out.display()))?;
    }
    Ok(())
}
