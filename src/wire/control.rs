//! WebSocket control messages: what a client may send, and the server's replies that are not
//! market events. Market events travel as [envelopes](super::envelope) on the same socket;
//! a reader tells them apart by `type` (`pong`, `subscribed`, `error` are control).
//!
//! Client → server (JSON objects, at most [`MAX_CLIENT_MESSAGE`] bytes):
//! - `{"type":"subscribe","symbols":["NOVA"]}` / `{"type":"unsubscribe","symbols":[…]}`:
//!   answered by `{"type":"subscribed","symbols":[…]}`, the symbols the connection now
//!   receives. A connection opened without `symbols=` receives all of them; its first
//!   `subscribe` narrows it to what it names, later ones add.
//! - `{"type":"resume","after":"EPOCH-SEQ"}`: continue after that id (same rules as SSE)
//! - `{"type":"ping","nonce":…}`: answered by `{"type":"pong","nonce":…}`

use super::values::wire_values;
use serde::{Deserialize, Serialize};

/// The largest message a client may send; a larger one closes the socket with code 1009.
pub const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// The WebSocket close code for a message that is too big (RFC 6455).
pub const CLOSE_TOO_BIG: u16 = 1009;

/// A command from a WebSocket client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Receive these symbols: only these, on a connection that received all of them;
    /// these as well, on one that had chosen already.
    Subscribe {
        /// Tickers of the universe.
        symbols: Vec<String>,
    },
    /// Stop receiving these symbols.
    Unsubscribe {
        /// Tickers of the universe.
        symbols: Vec<String>,
    },
    /// Continue after this event id, by the same rules as `Last-Event-ID`.
    Resume {
        /// An `EPOCH-SEQ` id.
        after: String,
    },
    /// Answered by a `pong` with the same nonce.
    Ping {
        /// Any JSON value, echoed exactly.
        #[serde(default)]
        nonce: Option<serde_json::Value>,
    },
}

wire_values! {
    /// Why a client message was not obeyed (the connection stays open).
    pub enum ControlError {
        /// Not one of the commands, or not JSON.
        BadMessage = "bad_message",
        /// A symbol that is not in the universe.
        BadSymbols = "bad_symbols",
        /// A binary message: commands are JSON text.
        Unsupported = "unsupported",
    }
}

/// A reply to a client message; not a market event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to a `ping`.
    Pong {
        /// The ping's nonce.
        nonce: Option<serde_json::Value>,
    },
    /// The symbols this connection now receives, always spelled out (a `subscribe` or an
    /// `unsubscribe` leaves every connection with a list of its own).
    Subscribed {
        /// The symbols, in the market's order.
        symbols: Vec<String>,
    },
    /// The last message could not be used; the connection stays open.
    Error {
        /// What was wrong, for a program.
        code: ControlError,
        /// What was wrong, for a person.
        message: String,
    },
}

impl ServerMessage {
    /// Encodes the message as one line of JSON.
    pub fn encode(&self) -> String {
        // Plain enums with string keys: serde_json cannot fail on them.
        serde_json::to_string(self).expect("control messages always serialize")
    }

    /// Reads a control message, or `None` if the text is something else (an envelope).
    pub fn decode(text: &str) -> Option<ServerMessage> {
        serde_json::from_str(text).ok()
    }
}

impl ClientMessage {
    /// Encodes the message as one line of JSON.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("control messages always serialize")
    }

    /// Reads a client's message, or says in a sentence what is wrong with it.
    pub fn decode(text: &str) -> Result<ClientMessage, String> {
        serde_json::from_str(text).map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_have_the_documented_shape() {
        let parsed: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","symbols":["NOVA"]}"#).expect("valid");
        assert_eq!(
            parsed,
            ClientMessage::Subscribe {
                symbols: vec!["NOVA".into()]
            }
        );
        let ping: ClientMessage =
            serde_json::from_str(r#"{"type":"ping","nonce":7}"#).expect("valid");
        assert_eq!(ping.encode(), r#"{"type":"ping","nonce":7}"#);
        for bad in [
            r#"{"type":"subscribe"}"#,
            r#"{"type":"dance"}"#,
            r#"{"type":"resume","after":"x","extra":1}"#,
            r#"[1,2]"#,
        ] {
            assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_messages_are_told_apart_from_envelopes() {
        let pong = ServerMessage::Pong {
            nonce: Some(7.into()),
        }
        .encode();
        assert_eq!(pong, r#"{"type":"pong","nonce":7}"#);
        assert_eq!(
            ServerMessage::decode(&pong),
            Some(ServerMessage::Pong {
                nonce: Some(7.into())
            })
        );
        assert_eq!(
            ServerMessage::decode(r#"{"v":1,"id":"z-1","type":"tick","ts":0,"data":{}}"#),
            None
        );
    }
}
