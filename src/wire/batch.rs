//! The polling response: `{"events":[envelope, …],"next":"EPOCH-SEQ"}`.
//!
//! The server builds it by joining envelopes it encoded once per event, so a batch costs a
//! copy, not a re-encoding. `next` is the id to ask `after=` next time; it advances past
//! events a filter left out, so a filtered poller never asks for them again.

use super::{decode, DecodeError, Envelope, EventId};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Joins encoded envelopes into one response body.
pub fn encode<'a>(envelopes: impl IntoIterator<Item = &'a [u8]>, next: Option<EventId>) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(b"{\"events\":[");
    for (index, envelope) in envelopes.into_iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(envelope);
    }
    body.extend_from_slice(b"],\"next\":");
    match next {
        Some(id) => {
            body.push(b'"');
            body.extend_from_slice(id.to_string().as_bytes());
            body.push(b'"');
        }
        None => body.extend_from_slice(b"null"),
    }
    body.push(b'}');
    body
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
    next: Option<EventId>,
}

/// A decoded batch: each envelope with its raw text (for the lab's frame inspector).
pub struct Batch {
    /// Each envelope, decoded (or why not), with its raw text.
    pub events: Vec<(Result<Envelope, DecodeError>, String)>,
    /// The id to ask `after=` next time.
    pub next: Option<EventId>,
}

/// Reads a polling response.
pub fn decode_batch(text: &str) -> Result<Batch, serde_json::Error> {
    let incoming: Incoming = serde_json::from_str(text)?;
    Ok(Batch {
        events: incoming
            .events
            .into_iter()
            .map(|raw| (decode(raw.get()), raw.get().to_owned()))
            .collect(),
        next: incoming.next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{encode as encode_envelope, Epoch, Payload, Reset, ResetReason};

    #[test]
    fn round_trips() {
        let one = encode_envelope(
            None,
            1,
            &Payload::Reset(Reset {
                reason: ResetReason::Lagged,
                last_event_id: None,
            }),
        );
        let next = EventId::new(Epoch(35), 9);
        let body = encode([one.as_bytes(), one.as_bytes()], Some(next));
        let text = String::from_utf8(body).expect("UTF-8");
        assert!(text.starts_with(r#"{"events":[{"v":1"#), "{text}");
        assert!(text.ends_with(r#"],"next":"z-9"}"#), "{text}");
        let batch = decode_batch(&text).expect("valid");
        assert_eq!(batch.next, Some(next));
        assert_eq!(batch.events.len(), 2);
        assert_eq!(batch.events[0].1, one);
        assert!(batch.events[0].0.is_ok());
        let empty = String::from_utf8(encode([], None)).expect("UTF-8");
        assert_eq!(empty, r#"{"events":[],"next":null}"#);
    }
}
