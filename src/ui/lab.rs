//! `/lab`: the transport lab. Up to five transports carry the same stream side by side,
//! each with live counters (messages, payload bytes, bytes on the wire, requests, latency
//! p50/p95, reconnects, gaps, resets), a raw frame inspector, and buttons to kill the
//! connection from the client or have the server drop it — so a workshop sees what the
//! articles claim, measured.
//!
//! Counting rules:
//! - *payload bytes* are what the page received as frames, messages or response bodies;
//!   *wire bytes* are every byte of the panel's requests and responses as the server
//!   counted them at its socket (headers, chunked framing, WebSocket frame headers, empty
//!   polls), both ways — the cost a page cannot see;
//! - a *gap* is a jump in SEQ within an epoch; a *reset* is the server saying the history
//!   could not be continued (events were skipped, a snapshot replaced them): counted apart,
//!   so a resume that degraded into a reset never passes for "no gap";
//! - *latency* is the server's publish time to the browser's receive time on one clock (the
//!   browser's, corrected by its measured offset), with the estimate's uncertainty;
//!   percentiles are over the last [`LATENCY_SAMPLES`] events, recomputed once a second.

use super::feed::{
    ConnectionState, FeedEvent, FeedHandle, FeedRequest, Latency, LiveFeed, TransportKind,
};
use super::format;
use super::masthead::Masthead;
use crate::wire::usage::WireUsage;
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
            <Masthead
                path="/lab"
                title="tickstream lab"
                tagline="The same stream over five transports, measured side by side"
            />
            <details class="lab-note" data-testid="lab-connection-note">
                <summary>"Why at most one of each? The six-connection limit"</summary>
                <p>
                    "Over HTTP/1.1 a browser opens at most six connections to one origin. An SSE "
                    "stream (EventSource or fetch) holds one for as long as it is open, a long-poll "
                    "holds one while it waits, a short-poll borrows one for a moment, and a "
                    "WebSocket upgrades a connection of its own that does not count. This lab runs "
                    "one of each: three connections held, so the page's other requests still get "
                    "through. Open seven tabs of the market over HTTP/1.1 and the seventh waits for "
                    "a free connection. HTTP/2 carries many streams on one connection and lifts "
                    "the limit."
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
    /// The transport carrying the panel's stream (another after a fallback).
    active: RwSignal<Option<TransportKind>>,
    messages: RwSignal<u64>,
    bytes: RwSignal<u64>,
    /// The server's count of this panel's bytes on the wire (and the client id it is
    /// counted under).
    wire: RwSignal<Option<WireUsage>>,
    requests: RwSignal<u64>,
    reconnects: RwSignal<u64>,
    gaps: RwSignal<u64>,
    resets: RwSignal<u64>,
    /// The newest event id seen.
    newest: RwSignal<Option<EventId>>,
    p50: RwSignal<Option<f64>>,
    p95: RwSignal<Option<f64>>,
    /// The uncertainty of the latest latency (the clocks' offset estimate).
    uncertainty: RwSignal<Option<f64>>,
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
            active: RwSignal::new(None),
            messages: RwSignal::new(0),
            bytes: RwSignal::new(0),
            wire: RwSignal::new(None),
            requests: RwSignal::new(0),
            reconnects: RwSignal::new(0),
            gaps: RwSignal::new(0),
            resets: RwSignal::new(0),
            newest: RwSignal::new(None),
            p50: RwSignal::new(None),
            p95: RwSignal::new(None),
            uncertainty: RwSignal::new(None),
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
                clock,
            } => {
                self.messages.update(|n| *n += 1);
                match (&envelope.payload, envelope.id) {
                    (Payload::Reset(_), _) => self.resets.update(|r| *r += 1),
                    (Payload::Snapshot(_), id) => self.last_id.set_value(id),
                    (_, Some(id)) => {
                        if let Some(last) = self.last_id.get_value() {
                            if last.epoch == id.epoch && id.seq > last.seq + 1 {
                                self.gaps.update(|g| *g += id.seq - last.seq - 1);
                            }
                        }
                        self.last_id.set_value(Some(id));
                        if let Some(latency) = Latency::of(envelope.ts, received_at, clock) {
                            self.sample(latency);
                        }
                    }
                    (_, None) => {}
                }
                if envelope.id.is_some() {
                    self.newest.set(envelope.id);
                }
                self.record(raw);
            }
            FeedEvent::Control { raw } => self.record(raw),
            FeedEvent::Bytes(n) => self.bytes.update(|b| *b += n as u64),
            FeedEvent::Request => self.requests.update(|r| *r += 1),
            FeedEvent::State(state) => self.state.set(state),
            FeedEvent::Reconnected => self.reconnects.update(|r| *r += 1),
            FeedEvent::FellBack(kind) => self.active.set(Some(kind)),
            FeedEvent::Wire(usage) => self.wire.set(Some(usage)),
            FeedEvent::Named(_) | FeedEvent::Shared(_) => {}
        }
    }

    fn sample(&self, latency: Latency) {
        self.uncertainty.set(Some(latency.uncertainty_ms));
        self.latencies.update_value(|samples| {
            if samples.len() == LATENCY_SAMPLES {
                samples.pop_front();
            }
            samples.push_back(latency.ms);
        });
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
                let request = FeedRequest {
                    kind,
                    last_id: None,
                    metered: true,
                    shared: false,
                };
                stats.active.set(Some(kind));
                running.set_value(Some(feed.start(request, on)));
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
    let ms = move |value: Option<f64>| {
        let uncertainty_ms = stats.uncertainty.get().unwrap_or_default();
        value.map_or_else(
            || "—".to_owned(),
            |ms| format::latency(Latency { ms, uncertainty_ms }),
        )
    };
    let wire_total = move || stats.wire.get().map(|usage| usage.total());
    let per_message = move || {
        let messages = stats.messages.get();
        wire_total()
            .filter(|_| messages > 0)
            .map(|total| total as f64 / messages as f64)
    };
    let active = move || match stats.active.get() {
        Some(used) if used != kind => format!("{} (fallback from {})", used.as_str(), kind.label()),
        Some(used) => used.as_str().to_owned(),
        None => "—".to_owned(),
    };
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
            <p class="lab-active">
                "Using "
                <strong data-testid="lab-active-transport" data-value=move || stats.active.get().map(TransportKind::as_str)>
                    {active}
                </strong>
            </p>
            <dl class="lab-stats">
                <dt>"Messages"</dt><dd data-testid="lab-messages">{move || stats.messages.get()}</dd>
                <dt title="What the page received: frames, messages, response bodies">"Payload bytes"</dt>
                <dd data-testid="lab-bytes" data-bytes=move || stats.bytes.get()>{move || format::bytes(stats.bytes.get())}</dd>
                <dt title="Every byte of this panel's requests and responses, both ways, counted by the server at its socket: headers, framing, empty polls">"Bytes on the wire"</dt>
                <dd
                    data-testid="lab-wire-bytes"
                    data-bytes=wire_total
                    data-client=move || stats.wire.get().map(|usage| usage.client)
                >{move || wire_total().map_or_else(|| "—".to_owned(), format::bytes)}</dd>
                <dt>"Wire bytes / message"</dt>
                <dd data-testid="lab-wire-per-message" data-value=move || per_message().map(|v| format!("{v:.1}"))>
                    {move || per_message().map_or_else(|| "—".to_owned(), |v| format!("{v:.0} B"))}
                </dd>
                <dt>"Requests"</dt><dd data-testid="lab-requests">{move || stats.requests.get()}</dd>
                <dt>"Latency p50"</dt><dd data-testid="lab-latency-p50" data-value=move || stats.p50.get().map(|v| format!("{v:.1}"))>{move || ms(stats.p50.get())}</dd>
                <dt>"Latency p95"</dt><dd data-testid="lab-latency-p95" data-value=move || stats.p95.get().map(|v| format!("{v:.1}"))>{move || ms(stats.p95.get())}</dd>
                <dt>"Reconnects"</dt><dd data-testid="lab-reconnects">{move || stats.reconnects.get()}</dd>
                <dt>"Gaps"</dt><dd data-testid="lab-gaps">{move || stats.gaps.get()}</dd>
                <dt title="Times the stream could not be resumed: events were skipped and a snapshot replaced them">"Resets"</dt>
                <dd data-testid="lab-resets">{move || stats.resets.get()}</dd>
                <dt>"Last id"</dt>
                <dd data-testid="lab-last-id" data-value=move || stats.newest.get().map(|id| id.to_string())>
                    {move || stats.newest.get().map_or_else(|| "—".to_owned(), |id| id.to_string())}
                </dd>
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
            // Scrollable, so reachable by keyboard (tabindex) to scroll it without a mouse.
            <ol class="lab-frames" data-testid="lab-frames" tabindex="0" aria-label="Latest frames, newest first">
                <For each=frames key=frame_key children=|(_, frame)| view! { <li><pre>{frame}</pre></li> }/>
            </ol>
        </section>
    }
}
