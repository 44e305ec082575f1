//! The envelope every transport carries:
//! `{"v":1,"id":"mi8k2x0q-42","type":"tick","ts":1764000000000,"data":{…}}`.
//!
//! [`encode`] runs once per event on the server; the resulting line is shared by every
//! connection. [`decode`] is the browser's (and the tests') way back.

use super::{
    CustomEvent, EventId, EventName, EventType, Heartbeat, Hello, MarketStatus, News, Reset,
    Snapshot, Tick, PROTOCOL_VERSION,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One event with its typed data.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// `snapshot`: the whole state.
    Snapshot(Snapshot),
    /// `tick`: one symbol traded.
    Tick(Tick),
    /// `news`: a headline.
    News(News),
    /// `market`: the session changed.
    Market(MarketStatus),
    /// `reset`: the client's history cannot be continued.
    Reset(Reset),
    /// `hello`: the connection's name.
    Hello(Hello),
    /// `heartbeat`: alive and idle.
    Heartbeat(Heartbeat),
    /// An event published under a name of its own, with any JSON data.
    Custom(CustomEvent),
}

impl Payload {
    /// The `type` this payload travels as.
    pub fn event_type(&self) -> EventType {
        match self {
            Payload::Snapshot(_) => EventType::Snapshot,
            Payload::Tick(_) => EventType::Tick,
            Payload::News(_) => EventType::News,
            Payload::Market(_) => EventType::Market,
            Payload::Reset(_) => EventType::Reset,
            Payload::Hello(_) => EventType::Hello,
            Payload::Heartbeat(_) => EventType::Heartbeat,
            Payload::Custom(_) => EventType::Custom,
        }
    }

    /// The name it travels under: its envelope's `type` and its SSE `event:`.
    pub fn type_name(&self) -> &str {
        match self {
            Payload::Custom(custom) => custom.event.as_str(),
            other => other.event_type().as_str(),
        }
    }
}

/// A decoded envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The protocol version ([`PROTOCOL_VERSION`]).
    pub v: u32,
    /// `None` only for events outside the history (`reset`).
    pub id: Option<EventId>,
    /// Server publish time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The typed `data`.
    pub payload: Payload,
}

#[derive(Serialize)]
struct Outgoing<'a, T> {
    v: u32,
    id: Option<EventId>,
    #[serde(rename = "type")]
    kind: &'a str,
    ts: u64,
    data: &'a T,
}

/// Encodes one event as one line of JSON.
pub fn encode(id: Option<EventId>, ts: u64, payload: &Payload) -> String {
    fn line<T: Serialize>(id: Option<EventId>, ts: u64, kind: &str, data: &T) -> String {
        let envelope = Outgoing {
            v: PROTOCOL_VERSION,
            id,
            kind,
            ts,
            data,
        };
        // Payloads are plain structs with string keys, and JSON values: serde_json cannot
        // fail on them.
        serde_json::to_string(&envelope).expect("wire payloads always serialize")
    }
    let kind = payload.type_name();
    match payload {
        Payload::Snapshot(data) => line(id, ts, kind, data),
        Payload::Tick(data) => line(id, ts, kind, data),
        Payload::News(data) => line(id, ts, kind, data),
        Payload::Market(data) => line(id, ts, kind, data),
        Payload::Reset(data) => line(id, ts, kind, data),
        Payload::Hello(data) => line(id, ts, kind, data),
        Payload::Heartbeat(data) => line(id, ts, kind, data),
        Payload::Custom(custom) => line(id, ts, kind, &custom.data),
    }
}

#[derive(Deserialize)]
struct Incoming<'a> {
    v: u32,
    id: Option<EventId>,
    #[serde(rename = "type")]
    kind: std::borrow::Cow<'a, str>,
    ts: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Why a text is not an envelope this version understands.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON of the envelope's shape.
    #[error("not a tickstream envelope: {0}")]
    Json(#[from] serde_json::Error),
    /// Another protocol version.
    #[error("protocol version {0} is not supported (this build speaks {PROTOCOL_VERSION})")]
    Version(u32),
    /// A newer server may add types; readers skip what they do not know.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
}

/// Decodes one envelope.
pub fn decode(text: &str) -> Result<Envelope, DecodeError> {
    let incoming: Incoming = serde_json::from_str(text)?;
    if incoming.v != PROTOCOL_VERSION {
        return Err(DecodeError::Version(incoming.v));
    }
    let data = incoming.data.get();
    let payload = match EventType::from_name(&incoming.kind) {
        Some(EventType::Snapshot) => Payload::Snapshot(serde_json::from_str(data)?),
        Some(EventType::Tick) => Payload::Tick(serde_json::from_str(data)?),
        Some(EventType::News) => Payload::News(serde_json::from_str(data)?),
        Some(EventType::Market) => Payload::Market(serde_json::from_str(data)?),
        Some(EventType::Reset) => Payload::Reset(serde_json::from_str(data)?),
        Some(EventType::Hello) => Payload::Hello(serde_json::from_str(data)?),
        Some(EventType::Heartbeat) => Payload::Heartbeat(serde_json::from_str(data)?),
        // Never a wire name: `Custom` events travel under their own.
        Some(EventType::Custom) => {
            return Err(DecodeError::UnknownType(incoming.kind.into_owned()))
        }
        None => match EventName::new(&incoming.kind) {
            Ok(event) => Payload::Custom(CustomEvent {
                event,
                data: serde_json::from_str(data)?,
            }),
            Err(_) => return Err(DecodeError::UnknownType(incoming.kind.into_owned())),
        },
    };
    Ok(Envelope {
        v: incoming.v,
        id: incoming.id,
        ts: incoming.ts,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Epoch, Quote, ResetReason};

    fn tick() -> Payload {
        Payload::Tick(Tick {
            symbol: "ACME".into(),
            step: 7,
            volume: 300,
            quote: Quote {
                last: 10_234,
                bid: 10_230,
                ask: 10_238,
                open: 10_000,
                high: 10_300,
                low: 9_990,
                day_volume: 12_000,
            },
        })
    }

    #[test]
    fn encodes_the_documented_shape() {
        let id = EventId::new(Epoch(35), 42);
        let line = encode(Some(id), 1_764_000_000_000, &tick());
        assert_eq!(
            line,
            r#"{"v":1,"id":"z-42","type":"tick","ts":1764000000000,"data":{"symbol":"ACME","step":7,"volume":300,"last":10234,"bid":10230,"ask":10238,"open":10000,"high":10300,"low":9990,"day_volume":12000}}"#
        );
    }

    #[test]
    fn decodes_what_it_encodes() {
        let id = EventId::new(Epoch(99), 1);
        let line = encode(Some(id), 5, &tick());
        let envelope = decode(&line).expect("decodes");
        assert_eq!(envelope.id, Some(id));
        assert_eq!(envelope.ts, 5);
        assert_eq!(envelope.payload, tick());
    }

    #[test]
    fn line_breaks_in_values_stay_escaped() {
        let payload = Payload::Reset(Reset {
            reason: ResetReason::Lagged,
            last_event_id: Some("x\r\n\r\nevent: forged\ndata: y".into()),
        });
        let line = encode(None, 0, &payload);
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        assert_eq!(decode(&line).expect("decodes").payload, payload);
    }

    #[test]
    fn published_events_travel_under_their_own_name() {
        let payload = Payload::Custom(CustomEvent {
            event: EventName::new("announcement").expect("a name"),
            data: serde_json::json!({"text": "Lunch"}),
        });
        let line = encode(Some(EventId::new(Epoch(35), 3)), 9, &payload);
        assert_eq!(
            line,
            r#"{"v":1,"id":"z-3","type":"announcement","ts":9,"data":{"text":"Lunch"}}"#
        );
        assert_eq!(decode(&line).expect("decodes").payload, payload);
    }

    #[test]
    fn reports_unknown_types_and_versions() {
        let unknown = r#"{"v":1,"id":null,"type":"weather:now","ts":0,"data":{}}"#;
        assert!(matches!(decode(unknown), Err(DecodeError::UnknownType(t)) if t == "weather:now"));
        let future = r#"{"v":2,"id":null,"type":"tick","ts":0,"data":{}}"#;
        assert!(matches!(decode(future), Err(DecodeError::Version(2))));
        assert!(matches!(decode("not json"), Err(DecodeError::Json(_))));
    }
}
