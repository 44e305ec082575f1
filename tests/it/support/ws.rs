//! A WebSocket client's reading, as the tests share it: text messages (protocol pings
//! skipped), envelopes (the connection's `hello` skipped), and every envelope up to an id.

use futures_util::StreamExt;
use tickstream::wire::{self, EventId, Payload};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client's WebSocket, as `tokio_tungstenite::connect_async` opens it.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The next text message, skipping protocol pings.
pub async fn next_text(socket: &mut Socket) -> Option<String> {
    loop {
        let message = tokio::time::timeout(crate::support::PATIENCE, socket.next())
            .await
            .expect("a message within the patience")?;
        match message.expect("a valid frame") {
            Message::Text(text) => return Some(text.to_string()),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// The next market envelope, skipping `hello`.
pub async fn next_envelope(socket: &mut Socket) -> (wire::Envelope, String) {
    loop {
        let text = next_text(socket).await.expect("the socket stays open");
        let envelope = wire::decode(&text).expect("an envelope");
        if !matches!(envelope.payload, Payload::Hello(_)) {
            return (envelope, text);
        }
    }
}

/// Every envelope (`hello` skipped) up to and including the one with id `last`.
pub async fn envelopes_until(socket: &mut Socket, last: EventId) -> Vec<(wire::Envelope, String)> {
    let mut all = Vec::new();
    loop {
        let (envelope, text) = next_envelope(socket).await;
        let done = envelope.id == Some(last);
        all.push((envelope, text));
        if done {
            return all;
        }
    }
}
