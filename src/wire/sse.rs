//! Server-Sent Events framing, both ways, by the WHATWG `text/event-stream` rules.
//!
//! [`Frame`] writes one message: `retry:`, `id:`, `event:` and `data:` fields, then the blank
//! line that dispatches it. [`Parser`] reads a stream back exactly as a browser's
//! `EventSource` would; tests, the load generator and the lab use it to check what a real
//! server sent.
//!
//! Invariant: nothing given to [`Frame`] can end a field early or start a forged one. A CR,
//! LF or CRLF inside a data value starts a new `data:` line of the *same* event (which a
//! reader joins back with LF), inside a comment it starts a new comment line, and field
//! names are never taken from outside.

use super::{EventId, EventName, EventType, Payload};

/// One SSE message under construction. Field order follows the order of the calls.
#[derive(Debug, Default)]
pub struct Frame {
    text: String,
}

impl Frame {
    /// An empty frame.
    pub fn new() -> Frame {
        Frame::default()
    }

    /// Tells the browser how long to wait before reconnecting, in milliseconds.
    pub fn retry(mut self, millis: u64) -> Frame {
        self.field("retry", &millis.to_string());
        self
    }

    /// Sets the id the browser will send back as `Last-Event-ID` when it reconnects.
    pub fn id(mut self, id: EventId) -> Frame {
        // An id's text is ASCII letters, digits and '-': nothing to escape.
        self.field("id", &id.to_string());
        self
    }

    /// A plain counter as id, for a stream without history (the diagnostic stream).
    pub fn counter_id(mut self, count: u64) -> Frame {
        self.field("id", &count.to_string());
        self
    }

    /// Names the event for the browser's `addEventListener(type, …)`.
    pub fn event(self, kind: EventType) -> Frame {
        self.event_name(kind.as_str())
    }

    /// Names a published event (checked by [`EventName`]: one line, no colon).
    pub fn custom_event(mut self, name: &EventName) -> Frame {
        self.field("event", name.as_str());
        self
    }

    /// Names the event a payload travels as: its type, or a published event's own name.
    pub fn event_of(self, payload: &Payload) -> Frame {
        match payload {
            Payload::Custom(custom) => self.custom_event(&custom.event),
            other => self.event(other.event_type()),
        }
    }

    /// An event name outside [`EventType`], for the diagnostic stream. The name is a
    /// compile-time constant of ours, never outside text.
    pub fn event_name(mut self, name: &'static str) -> Frame {
        debug_assert!(!name.contains(['\r', '\n']), "event names are one line");
        self.field("event", name);
        self
    }

    /// Appends the data, one `data:` line per line of `value`.
    pub fn data(mut self, value: &str) -> Frame {
        for line in split_lines(value) {
            self.field("data", line);
        }
        self
    }

    /// Appends a comment, which readers ignore: heartbeats and notes for people using curl.
    pub fn comment(mut self, value: &str) -> Frame {
        for line in split_lines(value) {
            self.text.push(':');
            if !line.is_empty() {
                self.text.push(' ');
                self.text.push_str(line);
            }
            self.text.push('\n');
        }
        self
    }

    /// The fields written so far, without the blank line that would dispatch them: the
    /// start of a block another frame finishes (a stream's first `retry:`), or a comment
    /// line on its own (a heartbeat).
    pub fn lines(self) -> String {
        self.text
    }

    /// Ends the message with the blank line that dispatches it.
    pub fn finish(mut self) -> String {
        self.text.push('\n');
        self.text
    }

    fn field(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        self.text.push_str(": ");
        self.text.push_str(value);
        self.text.push('\n');
    }
}

/// The event that tells an `EventSource` it was refused for now (the server holds as many
/// streams as it allows): its data is the JSON error body, and the `retry:` in the same
/// block tells the browser when to come back.
pub const REFUSED_EVENT: &str = "refused";

/// A whole refused stream: `retry:` (so that the browser comes back after `retry_ms`, as
/// `Retry-After` says to other clients) and a [`REFUSED_EVENT`] carrying `error_json`.
pub fn refused(retry_ms: u64, error_json: &str) -> String {
    Frame::new()
        .retry(retry_ms)
        .event_name(REFUSED_EVENT)
        .data(error_json)
        .finish()
}

/// The comment a stream sends when it has had nothing to say for a while, so that proxies
/// and browsers keep an idle connection open.
///
/// A comment line and no blank line after it: the spec ignores the comment either way, but
/// a blank line ends an (empty) event, and some popular readers (fetch-event-source,
/// httpx-sse) hand that on as a message with empty data, which then fails `JSON.parse`.
/// Inside the next event's block, the comment is read and ignored as the spec says.
pub fn heartbeat() -> String {
    Frame::new().comment("keep-alive").lines()
}

/// The same message without its `event:` line, so that a browser dispatches it as a plain
/// `message` (`?events=unnamed`). Safe on our own frames: no value can start a line of its
/// own (see the module's invariant), so every line that starts with `event:` is the field.
pub fn unnamed(frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.len());
    for line in frame.split_inclusive(|b| *b == b'\n') {
        if !line.starts_with(b"event:") {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Splits on CRLF, CR and LF alike: the three line endings of the event-stream grammar.
fn split_lines(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
        }
    })
}

/// What a reader gets out of an event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A dispatched event. `id` is the reader's last event id at that moment (it persists
    /// across events that carry none), `event` defaults to `message`.
    Event {
        /// The last event id, as the stream set it (it persists between events).
        id: String,
        /// The event type (`message` when the frame named none).
        event: String,
        /// The data lines joined by `\n`.
        data: String,
    },
    /// A comment line, without the colon and the one space after it.
    Comment(String),
    /// A valid `retry:` field, in milliseconds.
    Retry(u64),
}

/// An incremental event-stream reader following the WHATWG parsing rules: a leading BOM is
/// skipped, CR / LF / CRLF all end a line (also across chunk boundaries), one space after
/// the colon is dropped, unknown fields are ignored, an `id` containing NUL is ignored, and an
/// event still unfinished when the stream ends is never dispatched.
#[derive(Debug, Default)]
pub struct Parser {
    pending: Vec<u8>,
    started: bool,
    /// The previous chunk ended in CR, so a leading LF belongs to that line ending.
    after_cr: bool,
    data: String,
    event: String,
    last_event_id: String,
}

impl Parser {
    /// A parser at the start of a stream.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// The last event id the stream has set, as a browser would send it on reconnect.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Feeds the next bytes of the stream; returns what they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        let mut bytes = bytes;
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        self.pending.extend_from_slice(bytes);
        if !self.started {
            const BOM: &[u8] = b"\xEF\xBB\xBF";
            if self.pending.len() < BOM.len() && BOM.starts_with(&self.pending) {
                return items; // Too early to tell whether a BOM is arriving.
            }
            if self.pending.starts_with(BOM) {
                self.pending.drain(..BOM.len());
            }
            self.started = true;
        }
        let mut start = 0;
        let mut at = 0;
        while at < self.pending.len() {
            match self.pending[at] {
                b'\n' => {
                    self.line(start, at, &mut items);
                    at += 1;
                }
                b'\r' => {
                    self.line(start, at, &mut items);
                    at += 1;
                    if at == self.pending.len() {
                        self.after_cr = true;
                    } else if self.pending[at] == b'\n' {
                        at += 1;
                    }
                }
                _ => {
                    at += 1;
                    continue;
                }
            }
            start = at;
        }
        self.pending.drain(..start);
        items
    }

    fn line(&mut self, start: usize, end: usize, items: &mut Vec<Item>) {
        let line = String::from_utf8_lossy(&self.pending[start..end]).into_owned();
        if line.is_empty() {
            self.dispatch(items);
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            items.push(Item::Comment(
                comment.strip_prefix(' ').unwrap_or(comment).to_owned(),
            ));
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_event_id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(millis) = value.parse() {
                    items.push(Item::Retry(millis));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, items: &mut Vec<Item>) {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the LF after the last data line
        items.push(Item::Event {
            id: self.last_event_id.clone(),
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Epoch;

    fn parse_all(chunks: &[&[u8]]) -> Vec<Item> {
        let mut parser = Parser::new();
        chunks.iter().flat_map(|chunk| parser.feed(chunk)).collect()
    }

    fn event(id: &str, event: &str, data: &str) -> Item {
        Item::Event {
            id: id.into(),
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn writes_a_complete_message() {
        let frame = Frame::new()
            .retry(3000)
            .id(EventId::new(Epoch(35), 9))
            .event(EventType::Tick)
            .data("{\"a\":1}")
            .finish();
        assert_eq!(
            frame,
            "retry: 3000\nid: z-9\nevent: tick\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(heartbeat(), ": keep-alive\n");
    }

    #[test]
    fn a_heartbeat_dispatches_nothing_even_between_events() {
        let stream = format!(
            "{}data: a\n\n{}{}data: b\n\n",
            heartbeat(),
            heartbeat(),
            heartbeat()
        );
        let events: Vec<Item> = parse_all(&[stream.as_bytes()])
            .into_iter()
            .filter(|item| matches!(item, Item::Event { .. }))
            .collect();
        assert_eq!(
            events,
            vec![event("", "message", "a"), event("", "message", "b")]
        );
    }

    #[test]
    fn an_unnamed_frame_is_the_same_message_as_message() {
        let hostile = "x\nevent: forged";
        let frame = Frame::new()
            .id(EventId::new(Epoch(35), 9))
            .event(EventType::Tick)
            .data(hostile)
            .finish();
        let plain = String::from_utf8(unnamed(frame.as_bytes())).expect("UTF-8");
        assert_eq!(plain, "id: z-9\ndata: x\ndata: event: forged\n\n");
        assert_eq!(
            parse_all(&[plain.as_bytes()]),
            vec![event("z-9", "message", hostile)]
        );
    }

    #[test]
    fn values_with_line_breaks_cannot_forge_events() {
        let hostile = "a\r\n\r\nevent: x\rdata: y\n\nid: 666\r\n";
        let frame = Frame::new()
            .event(EventType::News)
            .data(hostile)
            .comment(hostile)
            .finish();
        let items = parse_all(&[frame.as_bytes()]);
        let events: Vec<_> = items
            .iter()
            .filter(|i| matches!(i, Item::Event { .. }))
            .collect();
        assert_eq!(
            events,
            vec![&event("", "news", "a\n\nevent: x\ndata: y\n\nid: 666\n")]
        );
    }

    #[test]
    fn reads_what_browsers_read() {
        // BOM, all three line endings, a field without colon, comments, retry, an id that
        // persists, an id with NUL ignored, unknown fields, and an unfinished last event.
        let stream = "\u{FEFF}retry: 1500\r\n: hello\rid: 1\nevent: a\ndata\ndata:x\r\n\r\n\
                      data: second\nfoo: bar\n\nid: bad\0id\ndata: third\n\nretry: soon\n\
                      data: lost";
        let items = parse_all(&[stream.as_bytes()]);
        assert_eq!(
            items,
            vec![
                Item::Retry(1500),
                Item::Comment("hello".into()),
                event("1", "a", "\nx"),
                event("1", "message", "second"),
                event("1", "message", "third"),
            ]
        );
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let stream = b"\xEF\xBB\xBFid: 7\r\ndata: caf\xC3\xA9\r\n\r\ndata: b\r\n\r\n";
        let whole = parse_all(&[stream]);
        assert_eq!(
            whole,
            vec![event("7", "message", "café"), event("7", "message", "b")]
        );
        for size in 1..stream.len() {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(parse_all(&chunks), whole, "chunk size {size}");
        }
    }
}
