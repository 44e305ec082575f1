//! Faults on purpose: the requests and replies of `/api/admin/faults`, which test authors use
//! to make the network misbehave for one connection, one transport or all of them — and
//! then watch a client heal. The server obeys them only when started with `--faults` (and an
//! admin token); a fault ends by itself after its duration, or when the faults are cleared.
//!
//! Fields that take a word (`kind`, `transport`) travel as text and are read by the
//! accessors here, so that a wrong word is refused naming its field.

use super::admin::FieldError;
use super::values::wire_values;
use super::Transport;
use serde::{Deserialize, Serialize};

/// `POST` one fault, `GET` the active ones, `DELETE` them all.
pub const FAULTS_PATH: &str = "/api/admin/faults";

/// The longest a fault may last, in milliseconds (ten minutes).
pub const MAX_DURATION_MS: u64 = 600_000;

/// The longest a `delay` fault may hold each delivery, in milliseconds.
pub const MAX_DELAY_MS: u64 = 30_000;

/// The most events a `drop` fault may skip for one connection.
pub const MAX_DROP_COUNT: u64 = 10_000;

/// The names of the body fields, as the errors that refuse them name them.
pub mod field {
    /// What goes wrong.
    pub const KIND: &str = "kind";
    /// The one connection it happens to (a name from its `hello`).
    pub const CONNECTION: &str = "connection";
    /// Every connection of one transport.
    pub const TRANSPORT: &str = "transport";
    /// For how long.
    pub const DURATION_MS: &str = "duration_ms";
    /// How long a `delay` holds each delivery.
    pub const DELAY_MS: &str = "delay_ms";
    /// How many events a `drop` skips.
    pub const COUNT: &str = "count";
}

wire_values! {
    /// What goes wrong.
    pub enum FaultKind {
        /// The server stops writing to the connection without closing it: no events, no
        /// heartbeats, as behind a dead NAT entry or a stuck proxy. Only a client that
        /// watches for silence notices. Needs `duration_ms`.
        Freeze = "freeze",
        /// Each delivery reaches the connection `delay_ms` late, in order and none lost: a
        /// slow link (a satellite hop, a congested mobile network). Streams hold each event;
        /// a poll holds its answer. Needs `delay_ms` and `duration_ms`.
        Delay = "delay",
        /// The next `count` events are not sent to each connection that is open when the
        /// fault is injected: the client sees a jump in ids and must resume from its last
        /// id to fill it (the server still has them). Connections opened later are
        /// untouched, so a client that resumes is not dropped again; polls, each a new
        /// request, share one `count`. Needs `count` and `duration_ms` (how long the fault
        /// may wait for those events).
        Drop = "drop",
        /// The market starts a new epoch at once, as if the server had restarted: every
        /// client gets `reset` and a `snapshot`, and ids start over. Server-wide (no
        /// `connection` or `transport`), instantaneous (no `duration_ms`); only on the
        /// instance that runs the market, with the in-memory bus.
        Epoch = "epoch",
        /// New stream and poll requests are refused for `duration_ms`: `503` with
        /// `Retry-After` (an `EventSource` gets a `refused` event and `retry:` instead, see
        /// `GET /api/sse`). Connections already open are untouched. A `transport` or all.
        Refuse = "refuse",
    }
}

/// Whom a fault touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// One connection, by the name its `hello` gave.
    Connection(String),
    /// Every connection of one transport, open now or opened while the fault lasts.
    Transport(Transport),
    /// Every connection.
    All,
}

/// `POST /api/admin/faults`: `{"kind", "connection"? | "transport"?, "duration_ms"?,
/// "delay_ms"?, "count"?}`. With neither `connection` nor `transport`, the fault touches every
/// connection. Which of the optional fields a kind needs is said at [`FaultKind`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// A [`FaultKind`] name; read it with [`FaultRequest::kind`].
    pub kind: String,
    /// A connection name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// A [`Transport`] name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// 1 to [`MAX_DURATION_MS`]; every kind but `epoch` needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `delay`: 1 to [`MAX_DELAY_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// `drop`: 1 to [`MAX_DROP_COUNT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// A fault request, read and checked: what it does, to whom, and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// What goes wrong.
    pub effect: FaultEffect,
    /// Whom it touches.
    pub target: FaultTarget,
    /// How long it lasts (zero for `epoch`, which happens once).
    pub duration: std::time::Duration,
}

/// What a fault does, with its own numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEffect {
    /// See [`FaultKind::Freeze`].
    Freeze,
    /// See [`FaultKind::Delay`]: how late each delivery is.
    Delay(std::time::Duration),
    /// See [`FaultKind::Drop`]: how many events each connection misses.
    Drop(u64),
    /// See [`FaultKind::Epoch`].
    Epoch,
    /// See [`FaultKind::Refuse`].
    Refuse,
}

impl FaultEffect {
    /// Its kind.
    pub fn kind(self) -> FaultKind {
        match self {
            FaultEffect::Freeze => FaultKind::Freeze,
            FaultEffect::Delay(_) => FaultKind::Delay,
            FaultEffect::Drop(_) => FaultKind::Drop,
            FaultEffect::Epoch => FaultKind::Epoch,
            FaultEffect::Refuse => FaultKind::Refuse,
        }
    }
}

impl FaultRequest {
    /// A request for `effect` on `target` for `duration_ms` (ignored for `epoch`).
    pub fn new(effect: FaultEffect, target: &FaultTarget, duration_ms: u64) -> FaultRequest {
        let (connection, transport) = match target {
            FaultTarget::Connection(name) => (Some(name.clone()), None),
            FaultTarget::Transport(transport) => (None, Some(transport.as_str().to_owned())),
            FaultTarget::All => (None, None),
        };
        let (delay_ms, count) = match effect {
            FaultEffect::Delay(delay) => (
                Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
                None,
            ),
            FaultEffect::Drop(count) => (None, Some(count)),
            _ => (None, None),
        };
        FaultRequest {
            kind: effect.kind().as_str().to_owned(),
            connection,
            transport,
            duration_ms: (effect != FaultEffect::Epoch).then_some(duration_ms),
            delay_ms,
            count,
        }
    }

    /// Reads and checks the whole request, naming the first field at fault.
    pub fn spec(&self) -> Result<FaultSpec, FieldError> {
        let kind = self.kind()?;
        let target = self.target()?;
        let effect = match kind {
            FaultKind::Freeze => FaultEffect::Freeze,
            FaultKind::Delay => FaultEffect::Delay(std::time::Duration::from_millis(within(
                self.delay_ms,
                field::DELAY_MS,
                MAX_DELAY_MS,
            )?)),
            FaultKind::Drop => FaultEffect::Drop(within(self.count, field::COUNT, MAX_DROP_COUNT)?),
            FaultKind::Epoch => FaultEffect::Epoch,
            FaultKind::Refuse => FaultEffect::Refuse,
        };
        if kind != FaultKind::Delay && self.delay_ms.is_some() {
            return Err(not_for(field::DELAY_MS, kind));
        }
        if kind != FaultKind::Drop && self.count.is_some() {
            return Err(not_for(field::COUNT, kind));
        }
        match (kind, &target) {
            (FaultKind::Epoch, FaultTarget::All) => {}
            (FaultKind::Epoch, _) => {
                return Err(FieldError {
                    field: field::TRANSPORT,
                    message: "an epoch is the whole server's: give no connection or transport"
                        .into(),
                })
            }
            (FaultKind::Refuse, FaultTarget::Connection(_)) => {
                return Err(FieldError {
                    field: field::CONNECTION,
                    message: "refuse turns away new requests, which have no name yet: give a \
                              transport, or nothing for all"
                        .into(),
                })
            }
            _ => {}
        }
        let duration = if kind == FaultKind::Epoch {
            if self.duration_ms.is_some() {
                return Err(not_for(field::DURATION_MS, kind));
            }
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_millis(within(
                self.duration_ms,
                field::DURATION_MS,
                MAX_DURATION_MS,
            )?)
        };
        Ok(FaultSpec {
            effect,
            target,
            duration,
        })
    }

    /// The kind asked for.
    pub fn kind(&self) -> Result<FaultKind, FieldError> {
        FaultKind::from_name(&self.kind).ok_or_else(|| FieldError {
            field: field::KIND,
            message: format!("kind {:?} is not one of {}", self.kind, FaultKind::names()),
        })
    }

    /// Whom it touches.
    pub fn target(&self) -> Result<FaultTarget, FieldError> {
        match (&self.connection, &self.transport) {
            (Some(_), Some(_)) => Err(FieldError {
                field: field::TRANSPORT,
                message: "give a connection or a transport, not both".into(),
            }),
            (Some(name), None) => Ok(FaultTarget::Connection(name.clone())),
            (None, Some(name)) => Transport::from_name(name)
                .map(FaultTarget::Transport)
                .ok_or_else(|| FieldError {
                    field: field::TRANSPORT,
                    message: format!("transport {name:?} is not one of {}", Transport::names()),
                }),
            (None, None) => Ok(FaultTarget::All),
        }
    }
}

/// A number field that must be present and from 1 to `max`.
fn within(value: Option<u64>, field: &'static str, max: u64) -> Result<u64, FieldError> {
    match value {
        Some(value) if (1..=max).contains(&value) => Ok(value),
        _ => Err(FieldError {
            field,
            message: format!("{field} must be given, from 1 to {max}"),
        }),
    }
}

/// A field the kind does not take.
fn not_for(field: &'static str, kind: FaultKind) -> FieldError {
    FieldError {
        field,
        message: format!("a {} fault takes no {field}", kind.as_str()),
    }
}

/// One active fault, as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveFault {
    /// Its number, unique in this process.
    pub id: u64,
    /// What goes wrong.
    pub kind: FaultKind,
    /// The connection it touches, if one.
    pub connection: Option<String>,
    /// The transport it touches, if one.
    pub transport: Option<Transport>,
    /// How much longer it lasts.
    pub remaining_ms: u64,
    /// `delay`: how late each delivery is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// `drop`: how many events each connection it touches misses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// `GET /api/admin/faults`, and the answer to `DELETE` (what was cleared).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultList {
    /// Oldest first.
    pub faults: Vec<ActiveFault>,
}
