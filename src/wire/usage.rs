//! What a client costs on the wire, as the server counted it: every byte of every request
//! and response on the client's connections — HTTP headers, chunked framing, the WebSocket
//! handshake and frame headers, SSE framing, empty polls — and how many requests it made.
//!
//! A client names itself with `?client=ID` on each stream or poll request (an id it makes up:
//! [`is_client_id`] says which), and reads its counts at `GET /api/usage/{ID}`. The page
//! cannot see HTTP headers or framing itself; this is how the transport lab shows what
//! polling really costs. And `GET /api/time` gives the server's clock, so a page can tell
//! its own clock's offset from it.

use serde::{Deserialize, Serialize};

/// The longest client id.
pub const MAX_CLIENT_ID: usize = 64;

/// Whether `text` can name a client: 1 to [`MAX_CLIENT_ID`] characters of `A-Z a-z 0-9 - _`.
pub fn is_client_id(text: &str) -> bool {
    (1..=MAX_CLIENT_ID).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /api/usage/{client}`: one client's bytes on the wire, both ways, since it first
/// named itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireUsage {
    /// The client's id.
    pub client: String,
    /// HTTP requests it made (a stream counts once; each poll once).
    pub requests: u64,
    /// Bytes the server read from its connections: request heads and bodies, WebSocket
    /// frames.
    pub bytes_received: u64,
    /// Bytes the server wrote to its connections: response heads, bodies with their
    /// framing, WebSocket frames.
    pub bytes_sent: u64,
}

impl WireUsage {
    /// Everything that crossed the wire for this client, both ways.
    pub fn total(&self) -> u64 {
        self.bytes_received + self.bytes_sent
    }
}

/// `GET /api/time`: the server's clock, for a page to estimate its own clock's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTime {
    /// Milliseconds since the Unix epoch, as the server's clock says (the clock of every
    /// event's `ts`).
    pub now: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_short_plain_words() {
        for good in ["a", "lab-sse-3f9a", "A_b-9", &"x".repeat(MAX_CLIENT_ID)] {
            assert!(is_client_id(good), "{good}");
        }
        for bad in [
            "",
            "has space",
            "é",
            "a/b",
            "a=b",
            &"x".repeat(MAX_CLIENT_ID + 1),
        ] {
            assert!(!is_client_id(bad), "{bad}");
        }
    }
}
