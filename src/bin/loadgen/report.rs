//! BENCHMARKS.md from the results of `loadgen run`: the machine, the targets (met or
//! not), the matrix, tickstream's ratios to each peer, WebSocket against SSE, a curve of
//! latency and CPU against clients (an SVG beside the report), the encode-once evidence
//! from `/metrics`, the profile, and the notes of bench/notes.md (which explain; every
//! figure is here).
//!
//! Invariants: the report is a pure function of its inputs, except that everything from
//! the `## Soak` heading on is kept as it was (`make soak` writes that section from its own
//! run), and the heading is always there at the end. An overloaded cell is never a ratio.

use crate::clients::TransportKind;
use crate::publish::ServerKind;
use crate::result::RunResult;

mod curve;
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
    /// Where to draw the curve (SVG); the report links to it by its path from the report.
    #[arg(long)]
    curve: Option<PathBuf>,
    /// The rate whose cells the curve draws.
    #[arg(long, default_value_t = 32.0)]
    curve_rate: f64,
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
        ServerKind::Starlette => "sse-starlette",
    }
}

/// The name of the server as run (its label, say "nchan, 2 workers"), or its kind's.
pub fn who(row: &RunResult) -> &str {
    if row.label.is_empty() {
        server_name(row.server)
    } else {
        &row.label
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
        "{} {} {} clients @ {} msg/s{}: held {}/{}, {} deliveries/s (offered {}), latency ms \
         p50 {} p90 {} p99 {} max {}, missing {}, reconnects {}, resets {}, server CPU {}% \
         ({} µs/delivery), idle {} KiB/conn, RSS loaded {} MiB, loadgen CPU {}%",
        who(row),
        transport_name(row.transport),
        count(n(row.clients)),
        fmt(Some(row.rate), 0),
        row.overloaded
            .as_ref()
            .map_or(String::new(), |why| format!(" (overloaded: {why})")),
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
        .unwrap_or_else(|| format!("{SOAK}\n\nNot run yet: `make soak` writes this section.\n"));

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks\n\n\
         Written by `{}` (bench/run.sh, `loadgen report`): **every figure below comes from the \
         one run described under *Machine***, on a shared 2-core machine on which other work \
         may have been running: treat them as indications, not as a leaderboard. The load \
         generator runs on the same machine as the server, so its CPU is shown too.\n",
        args.command
    );
    let _ = writeln!(md, "## Machine\n\n{}\n", machine.trim_end());
    md.push_str(METHOD);
    targets(&mut md, &rows);
    matrix(&mut md, &rows);
    ratios(&mut md, &rows);
    ws_against_sse(&mut md, &rows);
    if let Some(path) = &args.curve {
        let svg = curve::draw(&rows, args.curve_rate);
        std::fs::write(path, svg)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        let link = relative_to(path, &args.out);
        let _ = writeln!(
            md,
            "## Latency and CPU against clients\n\n\
             Every cell at {} msg/s, drawn from the matrix above (a hollow point is an \
             overloaded cell).\n\n![p99 latency and server CPU per delivery against clients]({link})\n",
            fmt(Some(args.curve_rate), 0)
        );
    }
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

/// `path` as a link from the directory `report` is in (both given from the same place).
fn relative_to(path: &std::path::Path, report: &std::path::Path) -> String {
    let base = report.parent().unwrap_or(std::path::Path::new(""));
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

const METHOD: &str = "## How it is measured\n\n\
- **Servers.** tickstream (release build) with `--clock manual --warmup-steps 0`, so the only \
  events are the ones the load generator publishes. Nchan (Debian's `libnginx-mod-nchan`), \
  configured by `bench/nchan.conf`, run twice: as one nginx worker and as two (a master and \
  its workers, measured together). sse-starlette (bench/peers/starlette_app.py: Starlette's \
  SSE response and its WebSocket on the same paths as Nchan) as one uvicorn process on \
  uvloop and httptools, in a virtualenv the bench script makes (bench/peers/requirements.txt). \
  One fresh server process per cell.\n\
- **Load, open loop.** A publisher inside `loadgen` sends message *i* at *start + i ÷ rate* \
  whatever the server does: requests are pipelined on one keep-alive connection, at most 64 \
  unanswered, and the replies are read apart. It posts to `POST /api/admin/news` \
  (tickstream) or `POST /pub/<channel>` (the peers). Every message carries \
  `lg#SEQ@MICROS#` — a sequence number and its **scheduled** send time — and is padded so \
  that the payload a client receives (SSE `data`, WebSocket text) has the same length on \
  every server (calibrated per cell with one message first). *default* rate = 4 msg/s, one \
  per default market step; *high* rate = 32 msg/s, what the default 8-symbol market emits.\n\
- **Clients.** `loadgen run` opens N clients of one transport, bound to 127.0.0.1–127.0.0.4 \
  before connecting (each source address has its own ephemeral ports), 200 connecting at a \
  time. SSE is read with raw HTTP/1.1 and `wire::sse::Parser`; WebSocket with \
  raw frames read in place (`src/bin/loadgen/ws.rs`); long-poll with `wire::batch`. Server and load generator are separate \
  processes, each with its open-files limit raised to the hard limit; *Machine* says \
  whether they were pinned to separate cores.\n\
- **Figures.** *published msg/s*: acknowledged messages ÷ time until the last \
  acknowledgement. *deliveries/s*: measured messages received by all clients ÷ time from \
  the start of publishing until the last arrived (or a 5 s drain ended); *offered* = \
  clients × rate. *latency*: scheduled send time → client parse time (same clock), \
  p50/p90/p99/max, so a publisher held back by a slow server is counted against that \
  server. *missing*: expected deliveries (clients × messages published) not received. \
  *server CPU*: user+system time of the server's processes from `/proc/PID/stat` over the \
  window, as % of one core, and per delivery. *idle KiB/conn*: (server RSS with all \
  clients connected and idle − RSS before any connected) ÷ clients. *held*: clients still \
  connected at the end.\n\
- **Overloaded.** A cell whose achieved publish rate is under 95 % of its target, or that \
  misses deliveries, is marked *overloaded* with the reason: its server did not carry the \
  offered load, so its figures are not compared as ratios.\n\n";

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
         | server | transport | clients | msg/s | published msg/s | status | held | deliveries/s | offered/s | p50 ms | p90 ms | p99 ms | max ms | missing | reconnects | resets | server CPU (% of a core) | server CPU µs/delivery | idle KiB/conn | RSS idle → loaded MiB | loadgen CPU % | payload B |\n\
         |---|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let mib = |kib: Option<u64>| kib.map(|kib| kib as f64 / 1024.0);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {} | {} |",
            who(row),
            transport_name(row.transport),
            count(n(row.clients)),
            fmt(Some(row.rate), 0),
            fmt(Some(row.publish_rate), 1),
            status(row),
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

/// "ok", or "overloaded: why".
fn status(row: &RunResult) -> String {
    row.overloaded
        .as_ref()
        .map_or_else(|| "ok".to_owned(), |why| format!("**overloaded**: {why}"))
}

/// The same load (clients, rate), whatever the transport.
fn same_load(a: &RunResult, b: &RunResult) -> bool {
    a.clients == b.clients && a.rate == b.rate
}

/// The same cell (transport, clients, rate) of another run.
fn same_cell(a: &RunResult, b: &RunResult) -> bool {
    a.transport == b.transport && same_load(a, b)
}

fn ratios(md: &mut String, rows: &[RunResult]) {
    let mut lines = String::new();
    for ours in rows_of(rows, ServerKind::Tickstream) {
        for theirs in rows
            .iter()
            .filter(|row| row.server != ServerKind::Tickstream && same_cell(row, ours))
        {
            let cell = format!(
                "| {} | {} | {} | {}",
                transport_name(ours.transport),
                count(n(ours.clients)),
                fmt(Some(ours.rate), 0),
                who(theirs),
            );
            let overloaded: Vec<&str> = [ours, theirs]
                .iter()
                .filter(|row| row.overloaded.is_some())
                .map(|row| who(row))
                .collect();
            if !overloaded.is_empty() {
                let _ = writeln!(
                    lines,
                    "{cell} | overloaded: {} | | | |",
                    overloaded.join(", ")
                );
                continue;
            }
            let _ = writeln!(
                lines,
                "{cell} | {} | {} | {} | {} |",
                ratio(Some(ours.deliveries_per_s), Some(theirs.deliveries_per_s)),
                ratio(ours.p99_ms, theirs.p99_ms),
                ratio(
                    ours.server_cpu_us_per_delivery,
                    theirs.server_cpu_us_per_delivery
                ),
                ratio(ours.idle_kib_per_conn, theirs.idle_kib_per_conn),
            );
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## tickstream against each peer\n\n\
         Each figure is tickstream's divided by the peer's in the same cell. Deliveries/s: \
         above 1× is better; p99, CPU per delivery and memory: below 1× is better. A cell in \
         which either server was overloaded is not a ratio: the load was not carried, so the \
         figures measure different work (see its row in the matrix).\n\n\
         | transport | clients | msg/s | peer | deliveries/s | p99 latency | CPU µs/delivery | idle KiB/conn |\n\
         |---|--:|--:|---|--:|--:|--:|--:|\n{lines}"
    );
}

/// The WebSocket goal: within this many times SSE's server CPU per delivery…
const WS_CPU_GOAL: f64 = 1.3;
/// …and this many times SSE's p99, in the same run…
const WS_P99_GOAL: f64 = 2.0;
/// …in the cells the goal is set for (clients, msg/s).
const WS_GOAL_CELLS: [(u64, f64); 2] = [(5_000, 32.0), (10_000, 32.0)];

fn ws_against_sse(md: &mut String, rows: &[RunResult]) {
    let mut lines = String::new();
    for ws in rows_of(rows, ServerKind::Tickstream).filter(|row| row.transport == TransportKind::Ws)
    {
        let Some(sse) = rows_of(rows, ServerKind::Tickstream)
            .find(|row| row.transport == TransportKind::Sse && same_load(row, ws))
        else {
            continue;
        };
        let quotient =
            |a: Option<f64>, b: Option<f64>| a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
        let cpu = quotient(
            ws.server_cpu_us_per_delivery,
            sse.server_cpu_us_per_delivery,
        );
        let p99 = quotient(ws.p99_ms, sse.p99_ms);
        let both_carried = ws.overloaded.is_none() && sse.overloaded.is_none();
        let _ = writeln!(
            lines,
            "| {} | {} | {} / {} | {} | {} / {} | {} | {} |",
            count(n(ws.clients)),
            fmt(Some(ws.rate), 0),
            fmt(ws.server_cpu_us_per_delivery, 2),
            fmt(sse.server_cpu_us_per_delivery, 2),
            ratio(
                ws.server_cpu_us_per_delivery,
                sse.server_cpu_us_per_delivery
            ),
            fmt(ws.p99_ms, 0),
            fmt(sse.p99_ms, 0),
            ratio(ws.p99_ms, sse.p99_ms),
            if !WS_GOAL_CELLS.contains(&(ws.clients, ws.rate)) {
                ""
            } else if both_carried {
                verdict(
                    cpu.zip(p99)
                        .map(|(c, p)| c <= WS_CPU_GOAL && p <= WS_P99_GOAL),
                )
            } else {
                "overloaded"
            },
        );
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## tickstream: WebSocket against SSE\n\n\
         The same fan-out over the two streaming transports, in the same run. The goal, at \
         5,000 and 10,000 clients × 32 msg/s: WebSocket within {WS_CPU_GOAL}× of SSE's server \
         CPU per delivery and {WS_P99_GOAL}× of its p99.\n\n\
         | clients | msg/s | CPU µs/delivery, WS / SSE | ratio | p99 ms, WS / SSE | ratio | goal |\n\
         |--:|--:|--:|--:|--:|--:|---|\n{lines}"
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(server: ServerKind, label: &str, overloaded: Option<&str>) -> RunResult {
        let json = serde_json::json!({
            "label": label, "server": server, "transport": "sse", "clients": 10000,
            "rate": 32.0, "size": 512, "duration_s": 10, "sources": 4, "connected": 10000,
            "connect_s": 1.0, "connect_failures": 0, "held": 10000, "reconnects": 0,
            "published": 320, "publish_errors": 0, "publish_rate": 32.0, "expected": 3200000,
            "deliveries": 3200000, "deliveries_per_s": 300000.0, "offered_per_s": 320000.0,
            "missing": 0, "gaps": 0, "duplicates": 0, "resets": 0, "requests": 10000,
            "message_bytes": 512, "p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 100.0,
            "max_ms": 120.0, "server_cpu_pct": 100.0, "server_cpu_us_per_delivery": 3.0,
            "loadgen_cpu_pct": 90.0, "rss_base_kib": 1, "rss_idle_kib": 2,
            "rss_loaded_kib": 3, "rss_peak_kib": 4, "idle_kib_per_conn": 10.0,
            "metrics": null, "overloaded": overloaded,
        });
        serde_json::from_value(json).expect("a result")
    }

    #[test]
    fn an_overloaded_cell_is_never_a_ratio() {
        let rows = [
            cell(ServerKind::Tickstream, "", None),
            cell(
                ServerKind::Nchan,
                "nchan, 1 worker",
                Some("published 11.0 of 32 msg/s"),
            ),
            cell(ServerKind::Nchan, "nchan, 2 workers", None),
        ];
        let mut md = String::new();
        ratios(&mut md, &rows);
        let line = |peer: &str| {
            md.lines()
                .find(|line| line.contains(peer))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(line("1 worker").contains("overloaded: nchan, 1 worker"));
        assert!(!line("1 worker").contains('×'));
        assert!(line("2 workers").contains("1.00×"));
    }
}
