//! The properties the fuzz targets check, one function per target. Shared by the cargo-fuzz
//! targets (`fuzz/fuzz_targets/`, nightly, `make fuzz`) and by `tests/it/fuzz_corpus.rs`, which
//! replays every seed and every past finding (`fuzz/seeds/<target>/`) in an ordinary
//! `cargo test`, so a fixed crash stays fixed.
//!
//! Invariant: each check takes any bytes at all; it returns normally, or panics only when
//! tickstream breaks a promise (a panic on input, a round trip that changes a value, a
//! frame that a reader splits or forges).
#![allow(dead_code)] // each target uses one check

use tickstream::server::transport::query::{QueryKind, StreamOptions, MAX_WAIT_SECS};
use tickstream::wire::control::ClientMessage;
use tickstream::wire::id::MAX_ID_LEN;
use tickstream::wire::sse::{Frame, Item, Parser};
use tickstream::wire::{EventId, EventType};

/// The symbols a fuzzed query is checked against (the default universe's style).
const SYMBOLS: [&str; 3] = ["NOVA", "QBIT", "HALO"];

/// A WebSocket client message: decoding never panics, and what decodes re-encodes to the
/// same message.
pub fn check_client_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = ClientMessage::decode(text) {
        let again = ClientMessage::decode(&message.encode()).expect("an encoded message decodes");
        assert_eq!(again, message);
    }
}

/// An event id: parsing never panics, and a parsed id prints as a short canonical id that
/// parses back to itself.
pub fn check_event_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = text.parse::<EventId>() {
        let shown = id.to_string();
        assert!(shown.len() <= MAX_ID_LEN, "{shown}");
        assert_eq!(shown.parse::<EventId>(), Ok(id));
    }
}

/// A stream's or a poll's query string: parsing never panics, and a refusal is a 4xx that
/// names the parameter at fault.
pub fn check_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let symbols: Vec<String> = SYMBOLS.iter().map(|s| (*s).to_owned()).collect();
    for kind in [QueryKind::Stream, QueryKind::Poll] {
        match StreamOptions::parse(Some(text), kind, &symbols) {
            Ok(options) => assert!(options.wait.as_secs() <= MAX_WAIT_SECS),
            Err(err) => {
                assert!(err.status.is_client_error(), "{err:?}");
                assert!(err.param.is_some(), "{err:?}");
            }
        }
    }
}

/// SSE framing as a round trip: any text framed as `data:` (and as a comment) is read back
/// by the WHATWG parser as exactly one event whose data is that text with CR and CRLF
/// turned into LF, as the spec mandates — however the bytes are split into chunks. The
/// first input byte chooses the chunk boundary.
pub fn check_sse_round_trip(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let frame = Frame::new()
        .event(EventType::News)
        .comment(text)
        .data(text)
        .finish();
    let bytes = frame.as_bytes();
    let at = usize::from(cut) * bytes.len() / 256;
    let mut parser = Parser::new();
    let mut items = parser.feed(&bytes[..at]);
    items.extend(parser.feed(&bytes[at..]));
    let events: Vec<&Item> = items
        .iter()
        .filter(|item| matches!(item, Item::Event { .. }))
        .collect();
    let expected = Item::Event {
        id: String::new(),
        event: "news".to_owned(),
        data: text.replace("\r\n", "\n").replace('\r', "\n"),
    };
    assert_eq!(events, vec![&expected], "frame {frame:?}");
    assert_eq!(parser.last_event_id(), "", "no id was forged");
}
