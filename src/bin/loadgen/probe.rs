//! What the load generator reads about a server it did not start: CPU time and memory of
//! the process and its children (from `/proc/PID/stat` and `/proc/PID/status`, by pid: a
//! server with worker processes, like nginx with two workers, is measured whole), and, for
//! tickstream, two counters from `/metrics` that show per-event work happens once per
//! event: events published (each encoded once) against deliveries (each a copy).
//!
//! Invariant: probing never fails a run. A missing process or metric reads as `None` and
//! shows as "n/a" in the report.

use crate::http::{self, Conn};
use std::net::{IpAddr, SocketAddr};

/// Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// User + system CPU time of a process, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name, state is field 3 of the full line; utime and stime are 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// The process and its direct children (a master's workers), by pid.
pub fn family(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if parent(child) == Some(pid) {
            pids.push(child);
        }
    }
    pids
}

/// A process's parent, from `/proc/PID/stat`.
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the name: state, then the parent's pid.
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds of a process and its children; `None` when the process itself is gone.
pub fn family_cpu_secs(pid: u32) -> Option<f64> {
    let own = cpu_secs(pid)?;
    Some(
        own + family(pid)
            .into_iter()
            .skip(1)
            .filter_map(cpu_secs)
            .sum::<f64>(),
    )
}

/// A `kB` figure summed over a process and its children (see [`status_kib`]).
pub fn family_kib(pid: u32, field: &str) -> Option<u64> {
    let own = status_kib(pid, field)?;
    Some(
        own + family(pid)
            .into_iter()
            .skip(1)
            .filter_map(|child| status_kib(child, field))
            .sum::<u64>(),
    )
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// tickstream's `/metrics` counters that matter here.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub published: f64,
    pub deliveries: f64,
}

/// Reads `tickstream_events_published_total` and the sum of `tickstream_deliveries_total`.
pub async fn metrics(addr: SocketAddr) -> Option<Counters> {
    let source: IpAddr = [127, 0, 0, 1].into();
    let mut conn = Conn::new(http::connect(source, addr).await.ok()?);
    let host = addr.to_string();
    conn.send(&http::get(&host, "/metrics", "Connection: close\r\n"))
        .await
        .ok()?;
    let mut head = conn.read_head().await.ok()?;
    let body = conn.read_to_end(&mut head, 4 * 1024 * 1024).await.ok()?;
    let text = String::from_utf8_lossy(&body);
    let mut counters = Counters::default();
    for line in text.lines() {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if name == "tickstream_events_published_total" {
            counters.published = value;
        } else if name.starts_with("tickstream_deliveries_total") {
            counters.deliveries += value;
        }
    }
    Some(counters)
}
