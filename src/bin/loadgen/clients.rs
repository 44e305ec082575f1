//! The simulated clients: one task each, speaking SSE (raw HTTP/1.1 + `wire::sse::Parser`),
//! WebSocket (raw frames, see [`crate::ws`]) or long-polling (`wire::batch`), against
//! tickstream or against a peer such as Nchan.
//!
//! What a client measures comes from the publisher's marker inside each message
//! (`lg#SEQ@MICROS#`, see [`crate::publish`]): the publish → receive latency, and gaps or
//! duplicates in the publisher's sequence. Everything else on the stream (tickstream's
//! `hello` and `snapshot`, Nchan's comments) is counted as a frame and otherwise ignored.
//!
//! Invariants: a client ends when the run's `stop` token is cancelled, whatever it is
//! waiting for; a dropped connection is opened again (counted as a reconnect) after a
//! pause, never in a tight loop; and at most `gate` clients are connecting at any moment,
//! so a run of ten thousand clients ramps up instead of flooding the listen backlog.

use crate::http::{self, bad, Conn};
use crate::stats::Stats;
use crate::ws;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tickstream::wire::batch::decode_batch;
use tickstream::wire::sse::{Item, Parser};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// How long a connection attempt (connect + response head) may take.
const CONNECT_PATIENCE: Duration = Duration::from_secs(15);
/// The pause before a client reconnects.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// The largest long-poll answer we read.
const MAX_POLL_BODY: usize = 16 * 1024 * 1024;
/// How long a long-poll request asks the server to wait.
const POLL_WAIT_SECS: u64 = 25;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Sse,
    Ws,
    Poll,
}

/// What every client of a run shares.
pub struct Shared {
    pub transport: TransportKind,
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host: String,
    /// The path (and query) to subscribe to.
    pub path: String,
    pub stats: Arc<Stats>,
    pub stop: CancellationToken,
    /// Limits how many clients connect at once.
    pub gate: Semaphore,
    /// Take latency from the envelope's `ts` when a message carries no marker (a run
    /// against tickstream's own market, without the publisher).
    pub envelope_ts: bool,
}

/// Microseconds since the Unix epoch: the clock the publisher stamps messages with.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() as u64)
}

/// Runs one client until the run stops.
pub async fn run(shared: Arc<Shared>, source: IpAddr) {
    let mut tracker = Tracker::default();
    let mut resume = String::new();
    let mut sessions = 0u64;
    while !shared.stop.is_cancelled() {
        if sessions > 0 {
            Stats::add(&shared.stats.reconnects, 1);
        }
        sessions += 1;
        let session = async {
            match shared.transport {
                TransportKind::Sse => sse(&shared, source, &mut tracker, &mut resume).await,
                TransportKind::Ws => ws(&shared, source, &mut tracker).await,
                TransportKind::Poll => poll(&shared, source, &mut tracker).await,
            }
        };
        let ended = tokio::select! {
            () = shared.stop.cancelled() => return,
            ended = session => ended,
        };
        if let Err(Failure::Connect(_)) = ended {
            Stats::add(&shared.stats.connect_failures, 1);
        }
        tokio::select! {
            () = shared.stop.cancelled() => return,
            () = tokio::time::sleep(RECONNECT_PAUSE) => {}
        }
    }
}

/// Why a session ended: before it was established, or after.
enum Failure {
    Connect(#[allow(dead_code)] io::Error),
    Stream(#[allow(dead_code)] io::Error),
}

/// Counts the client as connected while alive.
struct Connected<'a>(&'a Stats);

impl<'a> Connected<'a> {
    fn new(stats: &'a Stats) -> Connected<'a> {
        stats.connected.fetch_add(1, Relaxed);
        Connected(stats)
    }
}

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.0.connected.fetch_sub(1, Relaxed);
    }
}

/// Connects (and sends `request`, reads the head) while holding a place at the gate.
async fn open(shared: &Shared, source: IpAddr) -> Result<Conn, Failure> {
    let _place = shared
        .gate
        .acquire()
        .await
        .map_err(|_| Failure::Connect(bad("the gate closed")))?;
    let stream = timeout(CONNECT_PATIENCE, http::connect(source, shared.addr))
        .await
        .map_err(|_| Failure::Connect(bad("connect timed out")))?
        .map_err(Failure::Connect)?;
    Ok(Conn::new(stream))
}

async fn sse(
    shared: &Shared,
    source: IpAddr,
    tracker: &mut Tracker,
    resume: &mut String,
) -> Result<(), Failure> {
    let permit = shared.gate.acquire().await;
    let mut conn = open_unguarded(shared, source).await?;
    let mut extra = String::from("Accept: text/event-stream\r\nCache-Control: no-cache\r\n");
    if !resume.is_empty() {
        extra.push_str(&format!("Last-Event-ID: {resume}\r\n"));
    }
    let request = http::get(&shared.host, &shared.path, &extra);
    let mut head = timeout(CONNECT_PATIENCE, async {
        conn.send(&request).await?;
        conn.read_head().await
    })
    .await
    .map_err(|_| Failure::Connect(bad("no response head in time")))?
    .map_err(Failure::Connect)?;
    if head.status != 200 {
        return Err(Failure::Connect(bad(format!("status {}", head.status))));
    }
    drop(permit);
    let _connected = Connected::new(&shared.stats);
    let mut parser = Parser::new();
    let mut body = Vec::with_capacity(1024);
    let ended = loop {
        body.clear();
        match conn.read_body(&mut head, &mut body).await {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(err) => break Err(Failure::Stream(err)),
        }
        for item in parser.feed(&body) {
            if let Item::Event { event, data, .. } = item {
                if event == "reset" {
                    Stats::add(&shared.stats.resets, 1);
                }
                tracker.message(shared, data.as_bytes());
            }
        }
    };
    // Resume where the stream left off, as a browser's EventSource would.
    *resume = parser.last_event_id().to_owned();
    ended
}

/// Connects without taking a place at the gate (the caller holds one).
async fn open_unguarded(shared: &Shared, source: IpAddr) -> Result<Conn, Failure> {
    let stream = timeout(CONNECT_PATIENCE, http::connect(source, shared.addr))
        .await
        .map_err(|_| Failure::Connect(bad("connect timed out")))?
        .map_err(Failure::Connect)?;
    Ok(Conn::new(stream))
}

async fn ws(shared: &Shared, source: IpAddr, tracker: &mut Tracker) -> Result<(), Failure> {
    let permit = shared.gate.acquire().await;
    let mut conn = open_unguarded(shared, source).await?;
    let request = ws::upgrade_request(&shared.host, &shared.path);
    let head = timeout(CONNECT_PATIENCE, async {
        conn.send(&request).await?;
        conn.read_head().await
    })
    .await
    .map_err(|_| Failure::Connect(bad("no handshake in time")))?
    .map_err(Failure::Connect)?;
    if head.status != 101 {
        return Err(Failure::Connect(bad(format!("status {}", head.status))));
    }
    drop(permit);
    let _connected = Connected::new(&shared.stats);
    ws::read_messages(&mut conn, |message| {
        if is_reset(message) {
            Stats::add(&shared.stats.resets, 1);
        }
        tracker.message(shared, message);
    })
    .await
    .map_err(Failure::Stream)
}

async fn poll(shared: &Shared, source: IpAddr, tracker: &mut Tracker) -> Result<(), Failure> {
    let mut conn = open(shared, source).await?;
    let mut next: Option<String> = None;
    let mut _connected = None;
    loop {
        let path = match &next {
            None => shared.path.clone(),
            Some(after) => format!("{}?after={after}&wait={POLL_WAIT_SECS}", shared.path),
        };
        let request = http::get(&shared.host, &path, "Accept: application/json\r\n");
        let answer = async {
            conn.send(&request).await?;
            let mut head = conn.read_head().await?;
            if head.status != 200 {
                return Err(bad(format!("status {}", head.status)));
            }
            conn.read_to_end(&mut head, MAX_POLL_BODY).await
        };
        let body = match answer.await {
            Ok(body) => body,
            Err(err) if _connected.is_none() => return Err(Failure::Connect(err)),
            Err(err) => return Err(Failure::Stream(err)),
        };
        Stats::add(&shared.stats.requests, 1);
        _connected.get_or_insert_with(|| Connected::new(&shared.stats));
        let text = String::from_utf8_lossy(&body);
        let batch = decode_batch(&text)
            .map_err(|err| Failure::Stream(bad(format!("not a poll answer: {err}"))))?;
        for (_, raw) in &batch.events {
            if is_reset(raw.as_bytes()) {
                Stats::add(&shared.stats.resets, 1);
            }
            tracker.message(shared, raw.as_bytes());
        }
        if let Some(id) = batch.next {
            next = Some(id.to_string());
        }
    }
}

/// Whether an envelope is a tickstream `reset` (its type comes right after `id`).
fn is_reset(envelope: &[u8]) -> bool {
    let head = &envelope[..envelope.len().min(80)];
    http::find(head, br#""type":"reset""#).is_some()
}

/// One client's place in the publisher's sequence.
#[derive(Default)]
struct Tracker {
    last: Option<u64>,
}

impl Tracker {
    fn message(&mut self, shared: &Shared, data: &[u8]) {
        let stats = &shared.stats;
        Stats::add(&stats.frames, 1);
        let Some((seq, sent)) = marker(data) else {
            if shared.envelope_ts {
                self.envelope(stats, data);
            }
            return;
        };
        if seq == 0 {
            // The calibration message, before measuring: it sizes the padding.
            Stats::add(&stats.calibrated, 1);
            let _ = stats
                .calibration_len
                .compare_exchange(0, data.len() as u64, Relaxed, Relaxed);
            return;
        }
        stats.latency.record(now_micros().saturating_sub(sent));
        Stats::add(&stats.deliveries, 1);
        Stats::add(&stats.message_bytes, data.len() as u64);
        match self.last {
            Some(last) if seq <= last => Stats::add(&stats.duplicates, 1),
            Some(last) => Stats::add(&stats.gaps, seq - last - 1),
            None => Stats::add(&stats.gaps, seq - 1),
        }
        self.last = Some(self.last.map_or(seq, |last| last.max(seq)));
    }

    /// A market event without a marker: latency from the envelope's `ts` (milliseconds).
    fn envelope(&mut self, stats: &Stats, data: &[u8]) {
        let head = &data[..data.len().min(120)];
        if http::find(head, br#""type":"tick""#).is_none()
            && http::find(head, br#""type":"news""#).is_none()
        {
            return; // hello, snapshot, reset, market: not a measured delivery
        }
        let Some(at) = http::find(head, br#""ts":"#) else {
            return;
        };
        let Some(ts) = digits(&head[at + 5..]).map(|(value, _)| value) else {
            return;
        };
        stats
            .latency
            .record(now_micros().saturating_sub(ts.saturating_mul(1_000)));
        Stats::add(&stats.deliveries, 1);
        Stats::add(&stats.message_bytes, data.len() as u64);
    }
}

/// The publisher's marker `lg#SEQ@MICROS#` anywhere in a message.
pub fn marker(data: &[u8]) -> Option<(u64, u64)> {
    let at = http::find(data, b"lg#")?;
    let rest = &data[at + 3..];
    let (seq, used) = digits(rest)?;
    let rest = rest.get(used..)?.strip_prefix(b"@")?;
    let (micros, used) = digits(rest)?;
    rest.get(used..)?.strip_prefix(b"#")?;
    Some((seq, micros))
}

/// The decimal number at the start of `bytes`, and how many bytes it took.
fn digits(bytes: &[u8]) -> Option<(u64, usize)> {
    let used = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if used == 0 || used > 19 {
        return None;
    }
    let text = std::str::from_utf8(&bytes[..used]).ok()?;
    Some((text.parse().ok()?, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_markers() {
        assert_eq!(
            marker(br#"{"headline":"lg#00000012@1700000000000123# bench"}"#),
            Some((12, 1_700_000_000_000_123))
        );
        assert_eq!(marker(b"lg#12@"), None);
        assert_eq!(marker(b"lg#x@1#"), None);
        assert_eq!(marker(b"no marker"), None);
    }
}
