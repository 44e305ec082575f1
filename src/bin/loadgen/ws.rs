//! Just enough WebSocket (RFC 6455) for the load generator's clients: the upgrade request,
//! then the server's frames read straight out of the connection's buffer, a pong for every
//! ping, and the end at a close frame.
//!
//! Why not a WebSocket library: ten thousand clients on the same two cores as the server
//! make the reader's cost part of every latency figure. A general client (tungstenite)
//! costs about twice the raw SSE reader's CPU per message, which showed up as WebSocket
//! latency that was the load generator's, not the server's. Both readers are now the same
//! kind of thing: raw bytes from `http::Conn`, parsed in place, with nothing allocated per
//! message.
//!
//! Invariant: every read is bounded — a frame longer than [`MAX_PAYLOAD`], a masked server
//! frame or a fragmented message is an error (the client reconnects and it is counted),
//! never a growing buffer.

use crate::http::{bad, Conn};
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

/// The largest frame payload accepted (tickstream's own message limit).
const MAX_PAYLOAD: usize = 64 * 1024;
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// The upgrade request. The key is fixed: the load generator does not check the answer's
/// `Sec-WebSocket-Accept` (only its 101), and a fixed key costs nothing per client.
pub fn upgrade_request(host: &str, path: &str) -> Vec<u8> {
    crate::http::get(
        host,
        path,
        "Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    )
}

/// A frame's header: where its payload starts and how long it is.
struct Header {
    fin: bool,
    opcode: u8,
    start: usize,
    len: usize,
}

/// Parses the header at the start of `buf`; `None` until it has all arrived.
fn header(buf: &[u8]) -> io::Result<Option<Header>> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    if second & 0x80 != 0 {
        return Err(bad("a server frame must not be masked"));
    }
    let (start, len) = match second & 0x7F {
        126 => match buf.get(2..4) {
            Some(bytes) => (4, usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))),
            None => return Ok(None),
        },
        127 => match buf
            .get(2..10)
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
        {
            Some(bytes) => (
                10,
                usize::try_from(u64::from_be_bytes(bytes)).unwrap_or(usize::MAX),
            ),
            None => return Ok(None),
        },
        short => (2, usize::from(short)),
    };
    if len > MAX_PAYLOAD {
        return Err(bad(format!("a frame of {len} bytes is over the limit")));
    }
    Ok(Some(Header {
        fin: first & 0x80 != 0,
        opcode: first & 0x0F,
        start,
        len,
    }))
}

/// A pong carrying `payload`, masked as a client's frames must be (with a zero key: the
/// masking protects proxies from a browser's scripted bytes, not a load generator's).
fn pong(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(6 + payload.len());
    frame.push(0x80 | PONG);
    // Control frames carry at most 125 bytes, so the length fits the first byte.
    frame.push(0x80 | payload.len().min(125) as u8);
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(&payload[..payload.len().min(125)]);
    frame
}

/// Reads messages until the server closes, handing each text or binary payload to
/// `on_message`. Ends `Ok` at a close frame, with an error at anything else.
pub async fn read_messages<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    mut on_message: impl FnMut(&[u8]),
) -> io::Result<()> {
    loop {
        let Some(frame) = header(conn.buffered())? else {
            conn.fill().await?;
            continue;
        };
        let end = frame.start + frame.len;
        if conn.buffered().len() < end {
            conn.fill().await?;
            continue;
        }
        match frame.opcode {
            TEXT | BINARY if frame.fin => on_message(&conn.buffered()[frame.start..end]),
            PING => {
                let answer = pong(&conn.buffered()[frame.start..end]);
                conn.consume(end);
                conn.send(&answer).await?;
                continue;
            }
            PONG => {}
            CLOSE => return Ok(()),
            TEXT | BINARY | CONTINUATION => {
                return Err(bad("fragmented messages are not expected"))
            }
            other => return Err(bad(format!("unknown opcode {other}"))),
        }
        conn.consume(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_frames_split_anywhere_and_answers_pings() {
        let (client, mut server) = tokio::io::duplex(64);
        let long = vec![b'x'; 300];
        let mut wire = vec![0x81, 5];
        wire.extend_from_slice(b"hello");
        wire.extend_from_slice(&[0x89, 2, b'p', b'!']);
        wire.extend_from_slice(&[0x82, 126, 1, 44]);
        wire.extend_from_slice(&long);
        wire.extend_from_slice(&[0x88, 0]);
        let writer = tokio::spawn(async move {
            for piece in wire.chunks(3) {
                server.write_all(piece).await.expect("writes");
            }
            let mut pong = [0; 8];
            server.read_exact(&mut pong).await.expect("a pong");
            pong
        });
        let mut conn = Conn::new(client);
        let mut seen = Vec::new();
        read_messages(&mut conn, |payload| seen.push(payload.to_vec()))
            .await
            .expect("ends at the close frame");
        assert_eq!(seen, vec![b"hello".to_vec(), long]);
        assert_eq!(
            writer.await.expect("writer"),
            [0x8A, 0x82, 0, 0, 0, 0, b'p', b'!']
        );
    }

    #[test]
    fn refuses_masked_and_oversized_frames() {
        assert!(header(&[0x81, 0x85, 0, 0, 0, 0]).is_err());
        assert!(header(&[0x81, 127, 0, 0, 0, 0, 0, 2, 0, 0]).is_err());
        assert!(header(&[0x81]).expect("incomplete").is_none());
    }
}
