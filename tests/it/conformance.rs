//! SSE conformance, judged by a parser that is not ours: `eventsource-stream` (the WHATWG
//! event-stream grammar, used by reqwest-eventsource). The cases are those of the
//! web-platform-tests for `EventSource` parsing — BOM, CR / LF / CRLF line endings, fields
//! without a colon, comments, `retry`, ids that persist or carry NUL — checked on both
//! parsers, then our framing functions and a real server's stream read by the independent
//! parser.
//!
//! `eventsource-stream` attaches `retry` to the next dispatched event instead of reporting it
//! on its own, accepts `retry: +5`, panics on a leading BOM and splits a CRLF that straddles
//! two chunks; where it departs from the spec like that, the case says so and checks the
//! spec's answer on our parser only.

use crate::support::TestServer;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tickstream::wire::sse::{heartbeat, Frame, Item, Parser};
use tickstream::wire::{Epoch, EventId, EventType};

/// An event as both parsers report it: (last event id, type, data).
type Seen = (String, String, String);

/// The independent parser's events for a stream delivered in `chunks`.
async fn theirs(chunks: &[&[u8]]) -> Vec<Seen> {
    let owned: Vec<Result<Vec<u8>, std::convert::Infallible>> =
        chunks.iter().map(|chunk| Ok(chunk.to_vec())).collect();
    futures_util::stream::iter(owned)
        .eventsource()
        .map(|event| {
            let event = event.expect("the independent parser reads it");
            (event.id, event.event, event.data)
        })
        .collect()
        .await
}

/// Our parser's events for the same chunks.
fn ours(chunks: &[&[u8]]) -> Vec<Seen> {
    let mut parser = Parser::new();
    chunks
        .iter()
        .flat_map(|chunk| parser.feed(chunk))
        .filter_map(|item| match item {
            Item::Event { id, event, data } => Some((id, event, data)),
            Item::Comment(_) | Item::Retry(_) => None,
        })
        .collect()
}

fn seen(id: &str, event: &str, data: &str) -> Seen {
    (id.to_owned(), event.to_owned(), data.to_owned())
}

/// Both parsers agree with the expected events, whole and split at every byte.
async fn both(stream: &str, expected: &[Seen]) {
    let bytes = stream.as_bytes();
    assert_eq!(
        theirs(&[bytes]).await,
        expected,
        "independent parser: {stream:?}"
    );
    assert_eq!(ours(&[bytes]), expected, "our parser: {stream:?}");
    for at in 1..bytes.len() {
        let chunks = [&bytes[..at], &bytes[at..]];
        // A CR at the end of a chunk followed by LF: the independent parser ends the line
        // at the CR and then sees an extra blank line, so only ours is held to it.
        if bytes[at - 1] != b'\r' {
            assert_eq!(
                theirs(&chunks).await,
                expected,
                "independent, split at {at}: {stream:?}"
            );
        }
        assert_eq!(ours(&chunks), expected, "ours, split at {at}: {stream:?}");
    }
}

#[tokio::test]
async fn web_platform_test_cases() {
    // Line endings: LF, CR, CRLF, mixed.
    both("data: a\n\n", &[seen("", "message", "a")]).await;
    both(
        "data: a\r\rdata: b\r\n\r\n",
        &[seen("", "message", "a"), seen("", "message", "b")],
    )
    .await;
    both(
        "data: 1\ndata: 2\rdata: 3\r\n\n",
        &[seen("", "message", "1\n2\n3")],
    )
    .await;
    // One leading BOM is skipped; a second one makes a field name nobody knows. (Ours only:
    // eventsource-stream 0.2.3 panics on a BOM, slicing inside the U+FEFF.)
    let bom = "\u{FEFF}data: bom\n\n".as_bytes();
    assert_eq!(ours(&[bom]), [seen("", "message", "bom")]);
    for at in 1..bom.len() {
        assert_eq!(
            ours(&[&bom[..at], &bom[at..]]),
            [seen("", "message", "bom")]
        );
    }
    let two = "\u{FEFF}\u{FEFF}data: x\n\ndata: y\n\n".as_bytes();
    assert_eq!(ours(&[two]), [seen("", "message", "y")]);
    // A field without a colon has an empty value; `data` alone adds an empty line.
    both("data\ndata\n\n", &[seen("", "message", "\n")]).await;
    both("data\n\n", &[seen("", "message", "")]).await;
    // Only one space after the colon is dropped; no space is fine.
    both(
        "data:x\n\ndata:  y\n\n",
        &[seen("", "message", "x"), seen("", "message", " y")],
    )
    .await;
    // Comments are ignored, wherever they are.
    both(
        ": hi\ndata: a\n: there\ndata: b\n\n",
        &[seen("", "message", "a\nb")],
    )
    .await;
    // event names; unknown fields are ignored; a name is per event.
    both(
        "event: tick\ndata: 1\nfoo: bar\n\ndata: 2\n\n",
        &[seen("", "tick", "1"), seen("", "message", "2")],
    )
    .await;
    // An id persists across events; an id with NUL is ignored; an empty id resets it.
    both(
        "id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n",
        &[
            seen("7", "message", "a"),
            seen("7", "message", "b"),
            seen("7", "message", "c"),
            seen("", "message", "d"),
        ],
    )
    .await;
    // No data, no event (but an event name alone is forgotten); an unfinished event at
    // the end of the stream is never dispatched.
    both(
        "event: x\n\ndata: a\n\ndata: lost",
        &[seen("", "message", "a")],
    )
    .await;
}

#[tokio::test]
async fn retry_is_read_only_when_it_is_all_digits() {
    let mut parser = Parser::new();
    let items = parser.feed(b"retry: 1500\n\nretry: 15a\n\nretry: +5\n\nretry\n\nretry: 7\n\n");
    assert_eq!(items, vec![Item::Retry(1500), Item::Retry(7)]);
    // The independent parser reports retry on the event it arrives with.
    let owned: Vec<Result<&[u8], std::convert::Infallible>> =
        vec![Ok(&b"retry: 2500\ndata: x\n\n"[..])];
    let events: Vec<_> = futures_util::stream::iter(owned)
        .eventsource()
        .collect()
        .await;
    let event = events[0].as_ref().expect("an event");
    assert_eq!(event.retry, Some(std::time::Duration::from_millis(2500)));
}

#[tokio::test]
async fn our_frames_read_back_through_the_independent_parser() {
    let hostile = [
        "plain",
        "",
        "a\nb",
        "a\r\nb\rc",
        "\n\nevent: forged\ndata: forged\n\n",
        "id: 666\r\n\r\n",
        ": not a comment",
        "bom \u{FEFF} inside",
        "trailing\n",
        "trailing cr\r",
        "nul \0 byte",
        "ünïcödé ✓",
    ];
    let id = EventId::new(Epoch(35), 9);
    for value in hostile {
        let frame = Frame::new()
            .retry(2000)
            .id(id)
            .event(EventType::News)
            .comment(value)
            .data(value)
            .finish()
            + &heartbeat();
        let expected = vec![seen(
            "z-9",
            "news",
            &value.replace("\r\n", "\n").replace('\r', "\n"),
        )];
        assert_eq!(theirs(&[frame.as_bytes()]).await, expected, "{value:?}");
        assert_eq!(ours(&[frame.as_bytes()]), expected, "{value:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_stream_reads_the_same_through_the_independent_parser() {
    let server = TestServer::start(&[]).await;
    let mut stream = server.get("/api/sse", &[]).await;
    let last = server.step(20).await;
    // Read raw bytes until the last event's frame is complete.
    let mut raw = Vec::new();
    let needle = format!("id: {last}\n");
    loop {
        let bytes = stream.next_body_bytes().await;
        assert!(!bytes.is_empty(), "the stream went on");
        raw.extend(bytes);
        let text = String::from_utf8_lossy(&raw);
        if let Some(at) = text.find(&needle) {
            if text[at..].contains("\n\n") {
                break;
            }
        }
    }
    assert!(
        raw.starts_with(b"retry: 2000\nevent: hello\n"),
        "retry comes first, in the hello's block"
    );
    let cut = raw
        .windows(2)
        .rposition(|w| w == b"\n\n")
        .map_or(raw.len(), |at| at + 2);
    let raw = &raw[..cut];
    let independent = theirs(&[raw]).await;
    assert_eq!(independent, ours(&[raw]));
    assert_eq!(independent[0].1, "hello");
    assert_eq!(independent[1].1, "snapshot");
    let ids: Vec<u64> = independent[1..]
        .iter()
        .map(|(id, _, _)| id.parse::<EventId>().expect("an id").seq)
        .collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "gapless: {ids:?}");
    assert_eq!(
        independent.last().map(|e| e.0.clone()),
        Some(last.to_string())
    );
    for (id, event, data) in &independent[1..] {
        let envelope = tickstream::wire::decode(data).expect("an envelope");
        assert_eq!(
            envelope.id.map(|i| i.to_string()).as_deref(),
            Some(id.as_str())
        );
        assert_eq!(envelope.payload.event_type().as_str(), event);
    }

    // The diagnostic stream's multi-line `request` event, read by both.
    let mut diagnostic = server.get("/.sse", &[("X-Two", "a")]).await;
    let mut raw = Vec::new();
    while !String::from_utf8_lossy(&raw).contains("event: time") {
        let bytes = diagnostic.next_body_bytes().await;
        assert!(!bytes.is_empty(), "the diagnostic stream went on");
        raw.extend(bytes);
    }
    let independent = theirs(&[&raw]).await;
    assert_eq!(independent, ours(&[&raw]));
    let request = independent
        .iter()
        .find(|e| e.1 == "request")
        .expect("a request event");
    assert!(
        request.2.starts_with("GET /.sse HTTP/1.1\n"),
        "{}",
        request.2
    );
    assert!(request.2.contains("\nX-Two: a"), "{}", request.2);
}
