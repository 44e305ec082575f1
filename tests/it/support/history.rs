//! Clients that keep a log of everything they receive, and the checker that reads the logs
//! afterwards — a Jepsen-style history check of the one promise every feature rests on.
//!
//! A [`record`]ing client behaves as a browser's would: it connects over SSE (reqwest and
//! the independent `eventsource-stream` parser, `Last-Event-ID` on every reconnect),
//! WebSocket (tokio-tungstenite, `?lastEventId=`) or long-poll (`/api/poll?after=&wait=`),
//! asks for heartbeats it can see, drops a connection that stays silent for its stale
//! watchdog, and reconnects after a short jittered backoff, resuming from the last id it
//! has. Like the browser's client, it takes an id that skips ahead in the same epoch for
//! events lost on the way (a `drop` fault): it does not accept that event, and resumes from
//! its last id so that the server fills the hole. It never stops before its deadline,
//! whatever the servers do.
//!
//! [`check`] then proves, over every client's log:
//!
//! - **one id, one event**: every client that received an id received the same event
//!   (type and envelope — compared as parsed JSON, since a poll's batch is re-read);
//! - **no gap**: within a client's log each event it accepted follows the one before it
//!   (same epoch, next sequence number), except right after a `reset` or a snapshot; and a
//!   hole it saw was filled — the missing event arrived — within `silent_at_most`;
//! - **no long silence**: no client went longer than `silent_at_most` without hearing from
//!   a server (an event or a heartbeat).

use futures_util::StreamExt;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tickstream::wire::EventId;
use tokio::time::Instant;

/// How a client receives the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Sse,
    WebSocket,
    LongPoll,
}

impl Transport {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Sse => "SSE",
            Transport::WebSocket => "WebSocket",
            Transport::LongPoll => "long-poll",
        }
    }
}

/// One thing a client received.
#[derive(Clone, Debug)]
pub enum Seen {
    /// An event of the history: its id, its type, and its envelope as canonical JSON.
    Event {
        id: EventId,
        kind: String,
        envelope: String,
    },
    /// A snapshot (the client's history starts over from its id).
    Snapshot(Option<EventId>),
    /// A `reset` (with its reason): the next event need not follow the last one.
    Reset(String),
    /// A heartbeat or a ping: the server is there.
    Alive,
    /// An event that skipped ahead of `after` (not accepted: the client resumed from
    /// `after`).
    Skipped { id: EventId, after: EventId },
}

/// Where a client stands in the history.
#[derive(Clone, Copy, Debug, Default)]
struct Position {
    /// The last event (or snapshot) accepted.
    last: Option<EventId>,
    /// After a `reset`: the next event starts a history of its own.
    fresh: bool,
}

/// What a client does after a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Go,
    /// Events were lost on the way: resume from the last id.
    Resume,
}

/// What one client received, in order, each with when.
pub struct ClientLog {
    /// Who it is (its transport, and a number).
    pub name: String,
    /// Everything it received, in order, with when.
    pub seen: Vec<(Instant, Seen)>,
    /// When it started and stopped listening.
    pub from: Instant,
    pub until: Instant,
    /// How many connections (or polls that failed) it had to make again.
    pub reconnects: u64,
}

/// A client's settings.
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    /// How it receives the stream.
    pub transport: Transport,
    /// Where it connects (an instance, or the proxy in front of several).
    pub addr: SocketAddr,
    /// It stops then.
    pub until: Instant,
    /// A connection silent this long is dropped and resumed (a long-poll: this long past
    /// its `wait`).
    pub stale: Duration,
}

/// The long-poll's `wait`.
const POLL_WAIT_SECS: u64 = 5;

/// Listens as a browser would until `listen.until`; its log.
pub async fn record(name: String, listen: Listen) -> ClientLog {
    let mut log = ClientLog {
        name,
        seen: Vec::new(),
        from: Instant::now(),
        until: listen.until,
        reconnects: 0,
    };
    let mut last = Position::default();
    let mut backoff = Duration::from_millis(100);
    while Instant::now() < listen.until {
        let heard = match listen.transport {
            Transport::Sse => sse(&listen, &mut last, &mut log).await,
            Transport::WebSocket => websocket(&listen, &mut last, &mut log).await,
            Transport::LongPoll => poll(&listen, &mut last, &mut log).await,
        };
        if Instant::now() >= listen.until {
            break;
        }
        log.reconnects += 1;
        backoff = if heard {
            Duration::from_millis(100)
        } else {
            (backoff * 2).min(Duration::from_secs(2))
        };
        let jitter = rand_below(u64::try_from(backoff.as_millis()).unwrap_or(100));
        tokio::time::sleep_until(
            (Instant::now() + Duration::from_millis(jitter)).min(listen.until),
        )
        .await;
    }
    log.until = Instant::now();
    log
}

/// A number below `bound` (jitter; not for anything that must be unpredictable).
fn rand_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // Every `RandomState` is keyed afresh: its empty hash is a new number each time.
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        % bound.max(1)
}

/// Notes one envelope (JSON text); moves the position on for an event of the history, or
/// says to resume when the event skipped ahead.
fn note(json: &str, position: &mut Position, log: &mut ClientLog) -> Flow {
    let at = Instant::now();
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
        // Nothing a server sends is anything else: make the checker say so.
        log.seen.push((
            at,
            Seen::Event {
                id: EventId::new(tickstream::wire::Epoch(0), 0),
                kind: "undecodable".to_owned(),
                envelope: json.to_owned(),
            },
        ));
        return Flow::Go;
    };
    let kind = value["type"].as_str().unwrap_or_default().to_owned();
    let id = value["id"]
        .as_str()
        .and_then(|id| id.parse::<EventId>().ok());
    let seen = match (kind.as_str(), id) {
        ("reset", _) => {
            position.fresh = true;
            Seen::Reset(value["data"]["reason"].as_str().unwrap_or("?").to_owned())
        }
        ("snapshot", id) => {
            *position = Position {
                last: id,
                fresh: id.is_none(),
            };
            Seen::Snapshot(id)
        }
        (_, Some(id)) => {
            if let Some(after) = position.last.filter(|_| !position.fresh) {
                if id.epoch == after.epoch && id.seq > after.seq + 1 {
                    log.seen.push((at, Seen::Skipped { id, after }));
                    return Flow::Resume;
                }
            }
            *position = Position {
                last: Some(id),
                fresh: false,
            };
            Seen::Event {
                id,
                kind,
                envelope: value.to_string(),
            }
        }
        // hello, heartbeat: outside the history.
        (_, None) => Seen::Alive,
    };
    log.seen.push((at, seen));
    Flow::Go
}

/// One SSE connection, until it ends or goes stale; whether it heard anything.
async fn sse(listen: &Listen, position: &mut Position, log: &mut ClientLog) -> bool {
    use eventsource_stream::Eventsource;
    let client = reqwest::Client::new();
    let mut request = client.get(format!("http://{}/api/sse?heartbeat=event", listen.addr));
    if let Some(id) = position.last {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let connected = tokio::time::timeout_at(
        (Instant::now() + listen.stale).min(listen.until),
        request.send(),
    )
    .await;
    let Ok(Ok(response)) = connected else {
        return false;
    };
    if !response.status().is_success() {
        return false;
    }
    let mut events = response.bytes_stream().eventsource();
    let mut heard = false;
    loop {
        let deadline = (Instant::now() + listen.stale).min(listen.until);
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Ok(event))) => {
                heard = true;
                // The envelope's own type, as the other transports have it (the SSE event
                // name says the same; it is tested elsewhere).
                if note(&event.data, position, log) == Flow::Resume {
                    return heard;
                }
            }
            // Ended, failed, stale, or time is up.
            _ => return heard,
        }
    }
}

/// One WebSocket connection, until it ends or goes stale; whether it heard anything.
async fn websocket(listen: &Listen, position: &mut Position, log: &mut ClientLog) -> bool {
    use tokio_tungstenite::tungstenite::Message;
    let resume = position
        .last
        .map(|id| format!("&lastEventId={id}"))
        .unwrap_or_default();
    let url = format!("ws://{}/api/ws?heartbeat=event{resume}", listen.addr);
    let connected = tokio::time::timeout_at(
        (Instant::now() + listen.stale).min(listen.until),
        tokio_tungstenite::connect_async(url),
    )
    .await;
    let Ok(Ok((mut socket, _))) = connected else {
        return false;
    };
    let mut heard = false;
    loop {
        let deadline = (Instant::now() + listen.stale).min(listen.until);
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                heard = true;
                if note(&text, position, log) == Flow::Resume {
                    return heard;
                }
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {
                heard = true;
                log.seen.push((Instant::now(), Seen::Alive));
            }
            Ok(Some(Ok(_))) => {}
            _ => return heard,
        }
    }
}

/// Polls until a poll fails or outlives its wait by the stale margin; whether any answered.
async fn poll(listen: &Listen, position: &mut Position, log: &mut ClientLog) -> bool {
    let client = reqwest::Client::new();
    let mut heard = false;
    while Instant::now() < listen.until {
        let url = match position.last {
            Some(id) => format!(
                "http://{}/api/poll?after={id}&wait={POLL_WAIT_SECS}",
                listen.addr
            ),
            None => format!("http://{}/api/poll", listen.addr),
        };
        let deadline =
            (Instant::now() + Duration::from_secs(POLL_WAIT_SECS) + listen.stale).min(listen.until);
        let answered = tokio::time::timeout_at(deadline, async {
            let response = client.get(url).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            response.text().await.ok()
        })
        .await;
        let Ok(Some(body)) = answered else {
            return heard;
        };
        let Ok(batch) = serde_json::from_str::<serde_json::Value>(&body) else {
            return heard;
        };
        heard = true;
        log.seen.push((Instant::now(), Seen::Alive));
        let mut flow = Flow::Go;
        for event in batch["events"].as_array().into_iter().flatten() {
            flow = note(&event.to_string(), position, log);
            if flow == Flow::Resume {
                break; // ask again from the last id
            }
        }
        // `next` may be past events this client does not take (none here: no filters).
        if flow == Flow::Go && !position.fresh {
            if let Some(next) = batch["next"].as_str().and_then(|next| next.parse().ok()) {
                position.last = Some(next);
            }
        }
    }
    heard
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Events checked (every client's, counted once per client).
    pub events: u64,
    /// Distinct ids among them.
    pub ids: usize,
    /// `reset` events received.
    pub resets: u64,
    /// Resets by the reason the server gave.
    pub reset_reasons: std::collections::BTreeMap<String, u64>,
    /// Connections (or polls) clients had to make again.
    pub reconnects: u64,
    /// The longest any client went without hearing from a server.
    pub longest_silence: Duration,
    /// One id, two events: `id: client a vs client b`.
    pub conflicts: Vec<String>,
    /// Events that did not follow the one before without a reset.
    pub gaps: Vec<String>,
    /// Silences longer than allowed, and holes not filled in that time.
    pub silences: Vec<String>,
    /// Holes a client saw and resumed across (each filled, or reported in `silences`).
    pub holes: u64,
}

impl Verdict {
    /// How many times the promise was broken.
    pub fn violations(&self) -> usize {
        self.conflicts.len() + self.gaps.len() + self.silences.len()
    }

    /// The first few violations of each kind, for a failure message.
    pub fn describe(&self) -> String {
        let few = |items: &[String]| items.iter().take(5).cloned().collect::<Vec<_>>();
        format!(
            "{} events ({} ids) checked; {} conflicts {:?}; {} gaps {:?}; {} silences {:?}",
            self.events,
            self.ids,
            self.conflicts.len(),
            few(&self.conflicts),
            self.gaps.len(),
            few(&self.gaps),
            self.silences.len(),
            few(&self.silences),
        )
    }
}

/// Reads every client's log and checks the three properties (see the module header).
pub fn check(logs: &[ClientLog], silent_at_most: Duration) -> Verdict {
    let mut verdict = Verdict::default();
    let mut first_seen: HashMap<EventId, (&str, &str, &str)> = HashMap::new();
    for log in logs {
        verdict.reconnects += log.reconnects;
        let mut position: Option<EventId> = None;
        let mut fresh_start = true;
        let mut heard_at = log.from;
        // The first unfilled hole: when, after which event, and what came instead.
        let mut hole: Option<(Instant, EventId, EventId)> = None;
        // Every entry, then the end of the log, when the times are judged once more.
        let entries = log.seen.iter().map(|(at, seen)| (*at, Some(seen)));
        for (at, seen) in entries.chain(std::iter::once((log.until, None))) {
            if let Some((since, after, came)) = hole {
                if at.saturating_duration_since(since) > silent_at_most {
                    verdict.silences.push(format!(
                        "{}: the hole after {after} ({came} came) was not filled within {} ms",
                        log.name,
                        silent_at_most.as_millis()
                    ));
                    hole = None;
                }
            }
            let silence = at.saturating_duration_since(heard_at);
            verdict.longest_silence = verdict.longest_silence.max(silence);
            if silence > silent_at_most {
                verdict.silences.push(format!(
                    "{}: nothing for {} ms",
                    log.name,
                    silence.as_millis()
                ));
            }
            let Some(seen) = seen else {
                break; // the end of the log
            };
            if !matches!(seen, Seen::Skipped { .. }) {
                heard_at = at;
            }
            match seen {
                Seen::Alive => {}
                Seen::Skipped { id, after } => {
                    verdict.holes += 1;
                    hole.get_or_insert((at, *after, *id));
                }
                Seen::Reset(reason) => {
                    verdict.resets += 1;
                    *verdict.reset_reasons.entry(reason.clone()).or_default() += 1;
                    fresh_start = true;
                    hole = None;
                }
                Seen::Snapshot(id) => {
                    position = *id;
                    fresh_start = id.is_none();
                }
                Seen::Event { id, kind, envelope } => {
                    verdict.events += 1;
                    hole = None;
                    match first_seen.get(id) {
                        Some((who, first_kind, first)) => {
                            if first_kind != kind || first != envelope {
                                verdict.conflicts.push(format!(
                                    "{id}: {who} got {first_kind} {first}, {} got {kind} {envelope}",
                                    log.name
                                ));
                            }
                        }
                        None => {
                            first_seen.insert(*id, (&log.name, kind, envelope));
                        }
                    }
                    if let Some(at) = position.filter(|_| !fresh_start) {
                        if *id != at.next() {
                            verdict
                                .gaps
                                .push(format!("{}: {id} after {at} without a reset", log.name));
                        }
                    }
                    position = Some(*id);
                    fresh_start = false;
                }
            }
        }
    }
    verdict.ids = first_seen.len();
    verdict
}
