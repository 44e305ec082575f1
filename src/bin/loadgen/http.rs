//! Just enough HTTP/1.1 for a load generator: connect from a chosen source address, send a
//! request, read the status and headers, then the body as it arrives — chunked, with a
//! length, or until the server closes — without an HTTP library's per-connection cost.
//!
//! Invariant: every read is bounded. A response head larger than [`MAX_HEAD`] or a chunk
//! size line longer than [`MAX_LINE`] is an error, never a growing buffer.

use bytes::{Buf, BytesMut};
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The largest response head we accept.
const MAX_HEAD: usize = 16 * 1024;
/// The longest chunk-size line we accept.
const MAX_LINE: usize = 1024;
/// Read granularity; small, because ten thousand clients each hold one buffer.
const READ_CHUNK: usize = 4 * 1024;

/// Connects to `target` from `source` (port chosen by the kernel). Binding first spreads
/// clients over several loopback addresses, each with its own ephemeral ports.
pub async fn connect(source: IpAddr, target: SocketAddr) -> io::Result<TcpStream> {
    let socket = match target {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

pub fn bad(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// How a response body ends.
#[derive(Clone, Copy, Debug)]
enum Framing {
    /// `Transfer-Encoding: chunked`: `left` bytes remain in the current chunk, and the CRLF
    /// after a chunk's data is still to be skipped when `crlf` is set.
    Chunked {
        left: usize,
        crlf: bool,
    },
    /// After the last chunk: trailer lines up to an empty line.
    Trailers,
    Length(usize),
    UntilClose,
}

/// One connection (or the read half of one), with what has been read and not yet used.
pub struct Conn<S = TcpStream> {
    pub stream: S,
    buf: BytesMut,
}

/// A response's status and what its head says about the body.
pub struct Head {
    pub status: u16,
    framing: Framing,
}

impl<S: AsyncWrite + Unpin> Conn<S> {
    pub async fn send(&mut self, request: &[u8]) -> io::Result<()> {
        self.stream.write_all(request).await
    }
}

impl<S: AsyncRead + Unpin> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// What has been read and not yet used.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Marks the first `n` buffered bytes as used.
    pub fn consume(&mut self, n: usize) {
        self.buf.advance(n);
    }

    /// Reads more bytes into the buffer; an error at end of stream.
    pub async fn fill(&mut self) -> io::Result<()> {
        self.buf.reserve(READ_CHUNK);
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }

    /// Reads a response's status line and headers.
    pub async fn read_head(&mut self) -> io::Result<Head> {
        let end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("response head too large"));
            }
            self.fill().await?;
        };
        let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.advance(end + 4);
        let mut lines = text.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let mut framing = Framing::UntilClose;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                framing = Framing::Chunked {
                    left: 0,
                    crlf: false,
                };
            } else if name.eq_ignore_ascii_case("content-length") {
                if let Ok(length) = value.parse() {
                    if !matches!(framing, Framing::Chunked { .. }) {
                        framing = Framing::Length(length);
                    }
                }
            }
        }
        // A 101 (WebSocket) or a 204/304 has no body.
        if status == 101 || status == 204 || status == 304 {
            framing = Framing::Length(0);
        }
        Ok(Head { status, framing })
    }

    /// Appends the next body bytes to `out`, waiting for some if none are buffered.
    /// Returns `false` once the body is complete (nothing more will come).
    pub async fn read_body(&mut self, head: &mut Head, out: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            let before = out.len();
            let more = self.decode(head, out)?;
            if !more {
                return Ok(false);
            }
            if out.len() > before {
                return Ok(true);
            }
            match self.fill().await {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                    return match head.framing {
                        Framing::UntilClose => Ok(false),
                        _ => Err(err),
                    };
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Reads the whole body (a poll answer, a publisher's reply), at most `limit` bytes.
    pub async fn read_to_end(&mut self, head: &mut Head, limit: usize) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        while self.read_body(head, &mut body).await? {
            if body.len() > limit {
                return Err(bad("response body too large"));
            }
        }
        Ok(body)
    }

    /// Moves what the buffer holds of the body into `out`; `false` when the body ended.
    fn decode(&mut self, head: &mut Head, out: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            match &mut head.framing {
                Framing::Length(left) => {
                    let take = (*left).min(self.buf.len());
                    out.extend_from_slice(&self.buf[..take]);
                    self.buf.advance(take);
                    *left -= take;
                    return Ok(*left > 0);
                }
                Framing::UntilClose => {
                    out.extend_from_slice(&self.buf);
                    self.buf.clear();
                    return Ok(true);
                }
                Framing::Chunked { left, crlf } => {
                    if *left > 0 {
                        let take = (*left).min(self.buf.len());
                        out.extend_from_slice(&self.buf[..take]);
                        self.buf.advance(take);
                        *left -= take;
                        if *left > 0 {
                            return Ok(true);
                        }
                        *crlf = true;
                    }
                    if *crlf {
                        if self.buf.len() < 2 {
                            return Ok(true);
                        }
                        if &self.buf[..2] != b"\r\n" {
                            return Err(bad("chunk data not followed by CRLF"));
                        }
                        self.buf.advance(2);
                        *crlf = false;
                    }
                    let Some(end) = find(&self.buf, b"\r\n") else {
                        if self.buf.len() > MAX_LINE {
                            return Err(bad("chunk size line too long"));
                        }
                        return Ok(true);
                    };
                    let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                    let digits = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(digits, 16)
                        .map_err(|_| bad(format!("bad chunk size {digits:?}")))?;
                    self.buf.advance(end + 2);
                    if size == 0 {
                        head.framing = Framing::Trailers;
                        continue;
                    }
                    *left = size;
                }
                Framing::Trailers => {
                    // Skip the trailers (none, usually) so the next response starts clean.
                    let end = if self.buf.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        find(&self.buf, b"\r\n\r\n").map(|at| at + 4)
                    };
                    let Some(end) = end else {
                        if self.buf.len() > MAX_HEAD {
                            return Err(bad("trailers too large"));
                        }
                        return Ok(true);
                    };
                    self.buf.advance(end);
                    head.framing = Framing::Length(0);
                    return Ok(false);
                }
            }
        }
    }
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A GET request for `path` on `host`, with extra header lines (each ending in CRLF).
pub fn get(host: &str, path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tickstream-loadgen\r\n{extra}\r\n")
        .into_bytes()
}

/// A POST request with a body.
pub fn post(host: &str, path: &str, extra: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tickstream-loadgen\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_chunked_and_length_bodies() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accepts");
            let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                          5\r\nhello\r\n1;x=y\r\n \r\n5\r\nworld\r\n0\r\n\r\n\
                          HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
            for piece in reply.chunks(3) {
                socket.write_all(piece).await.expect("writes");
                tokio::task::yield_now().await;
            }
        });
        let stream = connect("127.0.0.1".parse().expect("ip"), addr)
            .await
            .expect("connects");
        let mut conn = Conn::new(stream);
        let mut head = conn.read_head().await.expect("head");
        assert_eq!(head.status, 200);
        let body = conn.read_to_end(&mut head, 100).await.expect("body");
        assert_eq!(body, b"hello world");
        let mut head = conn.read_head().await.expect("head");
        assert_eq!(head.status, 201);
        let body = conn.read_to_end(&mut head, 100).await.expect("body");
        assert_eq!(body, b"ok");
        server.await.expect("server");
    }
}
