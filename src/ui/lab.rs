//! `/lab`: the transport lab. Up to four transports carry the same stream side by side,
//! each with live counters (messages, bytes, requests, latency p50/p95, reconnects, gaps),
//! a raw frame inspector, and buttons to kill the connection from the client or have the
//! server drop it — so a workshop sees what the articles claim, measured.
//!
//! Counting rules: a gap is a jump in SEQ within an epoch (a snapshot or reset starts the
//! count afresh); latency is the server's publish time to the browser's receive time;
//! percentiles are over the last [`LATENCY_SAMPLES`] events, recomputed once a second.

use super::feed::{ConnectionState, FeedEvent, FeedHandle, LiveFeed, TransportKind};
use super::theme::ThemeToggle;
use crate::wire::{EventId, Payload};
use leptos::prelude::*;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

/// Frames kept in the inspector.
const FRAMES_SHOWN: usize = 12;
/// Latency samples kept per transport.
const LATENCY_SAMPLES: usize = 500;

#[component]
pub fn LabPage() -> impl IntoView {
    view! {
        <div class="page">
            <header class="masthead">
                <h1 class="brand">"tickstream lab"</h1>
                <p class="tagline">"The same stream over four transports, measured side by side"</p>
                <nav class="nav">
                    <a href="/">"Market"</a>
                    <a href="/lab" aria-current="page">"Transport lab"</a>
                    <ThemeToggle/>
                </nav>
            </header>
            <details class="lab-note" data-testid="lab-connection-note">
                <summary>"Why at most one of each? The six-connection limit"</summary>
                <p>
                    "Over HTTP/1.1 a browser opens at most six connections to one origin. An SSE "
                    "stream holds one for as long as it is open, a long-poll holds one while it "
                    "waits, a short-poll borrows one for a moment, and a WebSocket upgrades a "
                    "connection of its own that does not count. This lab runs one of each: at most "
                    "three HTTP connections, so other tickstream tabs still load. Open seven tabs "
                    "of the market over HTTP/1.1 and the seventh waits for a free connection. "
                    "HTTP/2 carries many streams on one connection and lifts the limit."
                </p>
            </details>
            <main class="lab">
                {TransportKind::ALL
                    .into_iter()
                    .map(|kind| view! { <LabPanel kind/> })
                    .collect_view()}
            </main>
        </div>
    }
}

/// One transport's live counters.
#[derive(Clone, Copy)]
struct Stats {
    state: RwSignal<ConnectionState>,
    messages: RwSignal<u64>,
    bytes: RwSignal<u64>,
    requests: RwSignal<u64>,
    reconnects: RwSignal<u64>,
    gaps: RwSignal<u64>,
    p50: RwSignal<Option<f64>>,
    p95: RwSignal<Option<f64>>,
    /// Newest first, each with a serial number (its key in the list).
    frames: RwSignal<VecDeque<(u64, String)>>,
    serial: StoredValue<u64>,
    paused: RwSignal<bool>,
    last_id: StoredValue<Option<EventId>>,
    latencies: StoredValue<VecDeque<f64>>,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            state: RwSignal::new(ConnectionState::Connecting),
            messages: RwSignal::new(0),
            bytes: RwSignal::new(0),
            requests: RwSignal::new(0),
            reconnects: RwSignal::new(0),
            gaps: RwSignal::new(0),
            p50: RwSignal::new(None),
            p95: RwSignal::new(None),
            frames: RwSignal::new(VecDeque::new()),
            serial: StoredValue::new(0),
            paused: RwSignal::new(false),
            last_id: StoredValue::new(None),
            latencies: StoredValue::new(VecDeque::new()),
        }
    }

    fn on_feed(&self, event: FeedEvent) {
        match event {
            FeedEvent::Message {
                envelope,
                raw,
                received_at,
            } => {
                self.messages.update(|n| *n += 1);
                match (&envelope.payload, envelope.id) {
                    (Payload::Snapshot(_) | Payload::Reset(_), id) => {
                        self.last_id.set_value(id);
                    }
                    (_, Some(id)) => {
                        if let Some(last) = self.last_id.get_value() {
                            if last.epoch == id.epoch && id.seq > last.seq + 1 {
                                self.gaps.update(|g| *g += id.seq - last.seq - 1);
                            }
                        }
                        self.last_id.set_value(Some(id));
                        self.latencies.update_value(|samples| {
                            if samples.len() == LATENCY_SAMPLES {
                                samples.pop_front();
                            }
                            samples.push_back((received_at - envelope.ts as f64).max(0.0));
                        });
                    }
                    (_, None) => {}
                }
                self.record(raw);
            }
            FeedEvent::Control { raw } => self.record(raw),
            FeedEvent::Bytes(n) => self.bytes.update(|b| *b += n as u64),
            FeedEvent::Request => self.requests.update(|r| *r += 1),
            FeedEvent::State(state) => self.state.set(state),
            FeedEvent::Reconnected => self.reconnects.update(|r| *r += 1),
            FeedEvent::Named(_) | FeedEvent::FellBack(_) => {}
        }
    }

    fn record(&self, raw: String) {
        if self.paused.get_untracked() {
            return;
        }
        let serial = self.serial.get_value() + 1;
        self.serial.set_value(serial);
        self.frames.update(|frames| {
            if frames.len() == FRAMES_SHOWN {
                frames.pop_back();
            }
            frames.push_front((serial, raw));
        });
    }

    fn update_percentiles(&self) {
        let mut sorted: Vec<f64> = self.latencies.with_value(|s| s.iter().copied().collect());
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            (!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * q).round() as usize])
        };
        self.p50.set(at(0.5));
        self.p95.set(at(0.95));
    }
}

#[component]
fn LabPanel(kind: TransportKind) -> impl IntoView {
    let stats = Stats::new();
    let enabled = RwSignal::new(true);
    let running = StoredValue::new_local(None::<FeedHandle>);
    if let Some(feed) = use_context::<LiveFeed>() {
        Effect::new(move || {
            running.set_value(None);
            if enabled.get() {
                let on = Rc::new(move |event| stats.on_feed(event));
                running.set_value(Some(feed.start(kind, None, on)));
            }
        });
        Effect::new(move || {
            if let Ok(handle) =
                set_interval_with_handle(move || stats.update_percentiles(), Duration::from_secs(1))
            {
                on_cleanup(move || handle.clear());
            }
        });
    }
    let ms = |value: Option<f64>| value.map_or_else(|| "—".to_owned(), |v| format!("{v:.0} ms"));
    let kib = move || format!("{:.1} KiB", stats.bytes.get() as f64 / 1024.0);
    let frames = move || stats.frames.get();
    // Frames shift down as new ones arrive: keyed by serial, each row is reused as it moves.
    let frame_key = |(serial, _): &(u64, String)| *serial;
    view! {
        <section class="lab-panel" data-testid=format!("lab-panel-{}", kind.as_str())>
            <header class="lab-panel-head">
                <h2>{kind.label()}</h2>
                <span class="pill" data-testid="lab-state" data-state=move || stats.state.get().as_str()>
                    <span class="dot" aria-hidden="true"></span>
                    {move || stats.state.get().as_str()}
                </span>
                <label class="lab-toggle">
                    <input
                        type="checkbox"
                        data-testid="lab-enabled"
                        prop:checked=move || enabled.get()
                        on:change=move |ev| enabled.set(event_target_checked(&ev))
                    />
                    "run"
                </label>
            </header>
            <dl class="lab-stats">
                <dt>"Messages"</dt><dd data-testid="lab-messages">{move || stats.messages.get()}</dd>
                <dt>"Bytes"</dt><dd data-testid="lab-bytes" data-bytes=move || stats.bytes.get()>{kib}</dd>
                <dt>"Requests"</dt><dd data-testid="lab-requests">{move || stats.requests.get()}</dd>
                <dt>"Latency p50"</dt><dd data-testid="lab-latency-p50">{move || ms(stats.p50.get())}</dd>
                <dt>"Latency p95"</dt><dd data-testid="lab-latency-p95">{move || ms(stats.p95.get())}</dd>
                <dt>"Reconnects"</dt><dd data-testid="lab-reconnects">{move || stats.reconnects.get()}</dd>
                <dt>"Gaps"</dt><dd data-testid="lab-gaps">{move || stats.gaps.get()}</dd>
            </dl>
            <div class="lab-actions">
                <button
                    type="button"
                    data-testid="lab-kill"
                    title="Close the connection as a network failure would; it reconnects and resumes"
                    on:click=move |_| running.with_value(|r| if let Some(h) = r { h.kill() })
                >
                    "Kill (client)"
                </button>
                <button
                    type="button"
                    data-testid="lab-drop"
                    title="Ask the server to drop this connection; it reconnects and resumes"
                    on:click=move |_| running.with_value(|r| if let Some(h) = r { h.drop_by_server() })
                >
                    "Drop (server)"
                </button>
                <button
                    type="button"
                    data-testid="lab-pause"
                    aria-pressed=move || stats.paused.get().to_string()
                    on:click=move |_| stats.paused.update(|p| *p = !*p)
                >
                    {move || if stats.paused.get() { "Resume frames" } else { "Pause frames" }}
                </button>
            </div>
            <ol class="lab-frames" data-testid="lab-frames" aria-label="Latest frames, newest first">
                <For each=frames key=frame_key children=|(_, frame)| view! { <li><pre>{frame}</pre></li> }/>
            </ol>
        </section>
    }
}
