//! BENCHMARKS.md from the results of `loadgen run`: the machine, the targets (met or
//! not), the matrix, tickstream/Nchan ratios, the encode-once evidence from `/metrics`,
//! the profile, and the notes written by hand in bench/notes.md.
//!
//! Invariant: the report is a pure function of its inputs, except that everything from
//! the `## Soak` heading on is kept as it was (another script owns that section), and the
//! heading is always there at the end.

use crate::clients::TransportKind;
use crate::publish::ServerKind;
use crate::result::RunResult;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    /// JSON lines written by `loadgen run --out`.
    #[arg(long)]
    results: PathBuf,
    /// A Markdown description of the machine.
    #[arg(long)]
    machine: PathBuf,
    /// The profile summary (text), if one was taken.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Hand-written notes (Markdown), included as they are.
    #[arg(long)]
    notes: Option<PathBuf>,
    /// The command line that produced the results, shown in the report.
    #[arg(long, default_value = "make bench")]
    command: String,
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
}

/// The soak section's heading, kept last.
const SOAK: &str = "## Soak";
/// Targets of issue 9.
const TARGET_CLIENTS: f64 = 10_000.0;
const TARGET_DELIVERIES: f64 = 25_000.0;
const TARGET_P99_MS: f64 = 50.0;
const TARGET_KIB_PER_CONN: f64 = 10.0;

/// A whole count as a figure.
fn n(value: u64) -> Option<f64> {
    Some(value as f64)
}

/// The names the report prints (the JSON names of the enums).
fn server_name(server: ServerKind) -> &'static str {
    match server {
        ServerKind::Tickstream => "tickstream",
        ServerKind::Nchan => "nchan",
    }
}

fn transport_name(transport: TransportKind) -> &'static str {
    match transport {
        TransportKind::Sse => "sse",
        TransportKind::Ws => "ws",
        TransportKind::Poll => "poll",
    }
}

fn fmt(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) => format!("{v:.decimals$}"),
        None => "n/a".to_owned(),
    }
}

/// A whole number with thin separators for thousands: 12 345.
fn count(value: Option<f64>) -> String {
    let Some(value) = value else {
        return "n/a".to_owned();
    };
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (at, c) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "n/a".to_owned(),
    }
}

/// One line for the terminal after a run.
pub fn summary(row: &RunResult) -> String {
    format!(
        "{} {} {} clients @ {} msg/s: held {}/{}, {} deliveries/s (offered {}), latency ms \
         p50 {} p90 {} p99 {} max {}, missing {}, reconnects {}, resets {}, server CPU {}% \
         ({} µs/delivery), idle {} KiB/conn, RSS loaded {} MiB, loadgen CPU {}%",
        server_name(row.server),
        transport_name(row.transport),
        count(n(row.clients)),
        fmt(Some(row.rate), 0),
        count(n(row.held)),
        count(n(row.clients)),
        count(Some(row.deliveries_per_s)),
        count(Some(row.offered_per_s)),
        fmt(row.p50_ms, 1),
        fmt(row.p90_ms, 1),
        fmt(row.p99_ms, 1),
        fmt(row.max_ms, 1),
        count(n(row.missing)),
        count(n(row.reconnects)),
        count(n(row.resets)),
        fmt(row.server_cpu_pct, 0),
        fmt(row.server_cpu_us_per_delivery, 2),
        fmt(row.idle_kib_per_conn, 1),
        fmt(row.rss_loaded_kib.map(|k| k as f64 / 1024.0), 0),
        fmt(row.loadgen_cpu_pct, 0),
    )
}

pub fn write(args: &ReportArgs) -> Result<(), String> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))
    };
    let rows: Vec<RunResult> = read(&args.results)?
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|err| format!("{} is not JSON lines: {err}", args.results.display()))?;
    let machine = read(&args.machine)?;
    let profile = args.profile.as_ref().map(read).transpose()?;
    let notes = args.notes.as_ref().map(read).transpose()?;
    let soak = std::fs::read_to_string(&args.out)
        .ok()
        .and_then(|old| old.find(SOAK).map(|at| old[at..].to_owned()))
        .unwrap_or_else(|| format!("{SOAK}\n"));

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks\n\n\
         Written by `{}` (bench/run.sh, `loadgen report`). **All figures come from one run on a \
         shared 2-core machine** on which other work may have been running: treat them as \
         indications, not as a leaderboard. The load generator runs on the same two cores as \
         the server, so its CPU is shown too.\n",
        args.command
    );
    let _ = writeln!(md, "## Machine\n\n{}\n", machine.trim_end());
    md.push_str(METHOD);
    targets(&mut md, &rows);
    matrix(&mut md, &rows);
    ratios(&mut md, &rows);
    encode_once(&mut md, &rows);
    if let Some(profile) = profile {
        let _ = writeln!(md, "## Profile\n\n```text\n{}\n```\n", profile.trim_end());
    }
    if let Some(notes) = notes {
        let _ = writeln!(md, "{}\n", notes.trim_end());
    }
    md.push_str(&soak);
    std::fs::write(&args.out, md)
        .map_err(|err| format!("cannot write {}: {err}", args.out.display()))
}

const METHOD: &str = "## How it is measured\n\n\
- **Servers.** tickstream (release build) with `--clock manual --warmup-steps 0`, so the only \
  events are the ones the load generator publishes; one fresh process per cell. Nchan \
  (Debian's `libnginx-mod-nchan`) on nginx, one process (`master_process off`, so one core), \
  configured by `bench/nchan.conf`; one fresh process per cell.\n\
- **Load.** A publisher task inside `loadgen` posts messages at a fixed rate over one \
  keep-alive connection: to `POST /api/admin/news` (tickstream) or `POST /pub/<channel>` \
  (Nchan). Every message carries `lg#SEQ@MICROS#` — a sequence number and the publisher's \
  send time — and is padded so that the payload a client receives (SSE `data`, WebSocket \
  text) has the same length on both servers (calibrated per cell with one message first). \
  *default* rate = 4 msg/s, one per default market step (`--step-ms 250`); *high* rate = 32 \
  msg/s, what the default 8-symbol market emits (8 ticks per step).\n\
- **Clients.** `loadgen run` opens N clients of one transport, bound to 127.0.0.1–127.0.0.4 \
  before connecting (each source address has its own ephemeral ports), 200 connecting at a \
  time. SSE is read with raw HTTP/1.1 and `wire::sse::Parser`; WebSocket with \
  tokio-tungstenite; long-poll with `wire::batch`. Server and load generator are separate \
  processes, each with its open-files limit raised to the hard limit.\n\
- **Figures.** *deliveries/s*: measured messages received by all clients ÷ time from the \
  start of publishing (one period before the first message) until the last arrived (or a \
  5 s drain ended); *offered* = clients × rate. \
  *latency*: publisher send time → client parse time (same clock), p50/p90/p99/max. \
  *missing*: expected deliveries (clients × messages published) not received. *server CPU*: \
  user+system time from `/proc/PID/stat` over the window, as % of one core, and per \
  delivery. *idle KiB/conn*: (server RSS with all clients connected and idle − RSS before \
  any connected) ÷ clients, from `/proc/PID/status`. *held*: clients still connected at \
  the end.\n\n";

fn rows_of(rows: &[RunResult], server: ServerKind) -> impl Iterator<Item = &RunResult> {
    rows.iter().filter(move |row| row.server == server)
}

fn is(row: &RunResult, transport: TransportKind, clients: f64) -> bool {
    row.transport == transport && row.clients as f64 == clients
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "✅ met",
        Some(false) => "❌ missed",
        None => "n/a",
    }
}

fn targets(md: &mut String, rows: &[RunResult]) {
    let sse_10k: Vec<&RunResult> = rows_of(rows, ServerKind::Tickstream)
        .filter(|row| is(row, TransportKind::Sse, TARGET_CLIENTS))
        .collect();
    let held = sse_10k
        .iter()
        .map(|row| row.held as f64)
        .fold(None, |low: Option<f64>, v| {
            Some(low.map_or(v, |l| l.min(v)))
        });
    let reconnects: f64 = sse_10k.iter().map(|row| row.reconnects as f64).sum();
    let best = rows_of(rows, ServerKind::Tickstream)
        .filter(|row| row.transport == TransportKind::Sse)
        .max_by(|a, b| a.deliveries_per_s.total_cmp(&b.deliveries_per_s));
    let slowest_rate = sse_10k
        .iter()
        .min_by(|a, b| a.rate.total_cmp(&b.rate))
        .copied();
    let p99 = slowest_rate.and_then(|row| row.p99_ms);
    let per_conn = slowest_rate.and_then(|row| row.idle_kib_per_conn);
    let _ = writeln!(
        md,
        "## Targets (tickstream, SSE)\n\n\
         | target | measured | |\n|---|---|---|\n\
         | {} concurrent SSE clients held | {} held at the end of every 10k cell (lowest), {} reconnects | {} |\n\
         | ≥ {} deliveries/s | {} ({}) | {} |\n\
         | p99 publish → receive < {} ms with 10,000 clients (default rate) | {} ms | {} |\n\
         | ≤ {} KiB server memory per idle connection | {} KiB (10k SSE, default rate cell) | {} |\n",
        count(Some(TARGET_CLIENTS)),
        count(held),
        count(Some(reconnects)),
        verdict(held.map(|h| h >= TARGET_CLIENTS && reconnects == 0.0)),
        count(Some(TARGET_DELIVERIES)),
        count(best.map(|row| row.deliveries_per_s)),
        best.map_or("n/a".to_owned(), |row| format!(
            "{} clients @ {} msg/s",
            count(n(row.clients)),
            fmt(Some(row.rate), 0)
        )),
        verdict(best.map(|row| row.deliveries_per_s >= TARGET_DELIVERIES)),
        fmt(Some(TARGET_P99_MS), 0),
        fmt(p99, 1),
        verdict(p99.map(|p| p < TARGET_P99_MS)),
        fmt(Some(TARGET_KIB_PER_CONN), 0),
        fmt(per_conn, 1),
        verdict(per_conn.map(|k| k <= TARGET_KIB_PER_CONN)),
    );
}

fn matrix(md: &mut String, rows: &[RunResult]) {
    md.push_str(
        "## Matrix\n\n\
         | server | transport | clients | msg/s | published msg/s | held | deliveries/s | offered/s | p50 ms | p90 ms | p99 ms | max ms | missing | reconnects | resets | server CPU (% of a core) | server CPU µs/delivery | idle KiB/conn | RSS idle → loaded MiB | loadgen CPU % | payload B |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let mib = |kib: Option<u64>| kib.map(|kib| kib as f64 / 1024.0);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {} | {} |",
            server_name(row.server),
            transport_name(row.transport),
            count(n(row.clients)),
            fmt(Some(row.rate), 0),
            fmt(Some(row.publish_rate), 1),
            count(n(row.held)),
            count(Some(row.deliveries_per_s)),
            count(Some(row.offered_per_s)),
            fmt(row.p50_ms, 1),
            fmt(row.p90_ms, 1),
            fmt(row.p99_ms, 1),
            fmt(row.max_ms, 1),
            count(n(row.missing)),
            count(n(row.reconnects)),
            count(n(row.resets)),
            fmt(row.server_cpu_pct, 0),
            fmt(row.server_cpu_us_per_delivery, 2),
            fmt(row.idle_kib_per_conn, 1),
            fmt(mib(row.rss_idle_kib), 0),
            fmt(mib(row.rss_loaded_kib), 0),
            fmt(row.loadgen_cpu_pct, 0),
            count(n(row.message_bytes)),
        );
    }
    md.push('\n');
}

fn ratios(md: &mut String, rows: &[RunResult]) {
    let mut lines = String::new();
    for ours in rows_of(rows, ServerKind::Tickstream) {
        let Some(theirs) = rows_of(rows, ServerKind::Nchan).find(|row| {
            row.transport == ours.transport && row.clients == ours.clients && row.rate == ours.rate
        }) else {
            continue;
        };
        let (d1, d2) = (Some(ours.deliveries_per_s), Some(theirs.deliveries_per_s));
        let (p1, p2) = (ours.p99_ms, theirs.p99_ms);
        let (c1, c2) = (
            ours.server_cpu_us_per_delivery,
            theirs.server_cpu_us_per_delivery,
        );
        let (m1, m2) = (ours.idle_kib_per_conn, theirs.idle_kib_per_conn);
        let _ = writeln!(
            lines,
            "| {} | {} | {} | {} | {} | {} | {} |",
            transport_name(ours.transport),
            count(n(ours.clients)),
            fmt(Some(ours.rate), 0),
            ratio(d1, d2),
            ratio(p1, p2),
            ratio(c1, c2),
            ratio(m1, m2),
        );
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## tickstream / Nchan\n\n\
         Each figure is tickstream's divided by Nchan's in the same cell. Deliveries/s: above \
         1× is better; p99, CPU per delivery and memory: below 1× is better. Note that Nchan \
         ran as one nginx process (one core at most) while tickstream's runtime may use both \
         cores: CPU per delivery is the fair efficiency comparison.\n\n\
         | transport | clients | msg/s | deliveries/s | p99 latency | CPU µs/delivery | idle KiB/conn |\n\
         |---|--:|--:|--:|--:|--:|--:|\n{lines}"
    );
}

fn encode_once(md: &mut String, rows: &[RunResult]) {
    let mut lines = String::new();
    for row in rows_of(rows, ServerKind::Tickstream) {
        let Some(metrics) = row.metrics else {
            continue;
        };
        let published = Some(metrics.published);
        let deliveries = Some(metrics.deliveries);
        let _ = writeln!(
            lines,
            "| {} | {} | {} | {} | {} | {} |",
            transport_name(row.transport),
            count(n(row.clients)),
            fmt(Some(row.rate), 0),
            count(published),
            count(deliveries),
            fmt(
                published
                    .zip(deliveries)
                    .filter(|(p, _)| *p > 0.0)
                    .map(|(p, d)| d / p),
                0
            ),
        );
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Encoded once per event, copied per client\n\n\
         From tickstream's `/metrics` over each measured window: \
         `tickstream_events_published_total` counts events through `Hub::publish`, which \
         encodes each one once (JSON envelope and SSE frame, shared `Bytes`); \
         `tickstream_deliveries_total` counts writes to clients. Deliveries per encode equal \
         the number of clients: the per-client work is a reference-count bump and a write.\n\n\
         | transport | clients | msg/s | events published (= encodes) | deliveries | deliveries per encode |\n\
         |---|--:|--:|--:|--:|--:|\n{lines}"
    );
}
