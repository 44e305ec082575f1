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
}

wire_values! {
    /// What goes wrong.
    pub enum FaultKind {
        /// The server stops writing to the connection without closing it: no events, no
        /// heartbeats, as behind a dead NAT entry or a stuck proxy. Only a client that
        /// watches for silence notices.
        Freeze = "freeze",
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

/// `POST /api/admin/faults`: `{"kind", "connection"? | "transport"?, "duration_ms"}`. With
/// neither `connection` nor `transport`, the fault touches every connection.
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
    /// 1 to [`MAX_DURATION_MS`].
    pub duration_ms: u64,
}

impl FaultRequest {
    /// A fault of `kind` on `target` for `duration_ms`.
    pub fn new(kind: FaultKind, target: &FaultTarget, duration_ms: u64) -> FaultRequest {
        let (connection, transport) = match target {
            FaultTarget::Connection(name) => (Some(name.clone()), None),
            FaultTarget::Transport(transport) => (None, Some(transport.as_str().to_owned())),
            FaultTarget::All => (None, None),
        };
        FaultRequest {
            kind: kind.as_str().to_owned(),
            connection,
            transport,
            duration_ms,
        }
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

    /// How long it lasts.
    pub fn duration(&self) -> Result<std::time::Duration, FieldError> {
        if (1..=MAX_DURATION_MS).contains(&self.duration_ms) {
            return Ok(std::time::Duration::from_millis(self.duration_ms));
        }
        Err(FieldError {
            field: field::DURATION_MS,
            message: format!("duration_ms must be from 1 to {MAX_DURATION_MS}"),
        })
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
}

/// `GET /api/admin/faults`, and the answer to `DELETE` (what was cleared).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultList {
    /// Oldest first.
    pub faults: Vec<ActiveFault>,
}
