//! The documented JSON body for requests hyper refuses before any route runs.
//!
//! When a request cannot be parsed — a malformed request line or header, raw bytes that are
//! not UTF-8 in the path or query, a URI or head larger than hyper reads — hyper answers by
//! itself, with a status and no body (`400`, `414`, `431`, `content-length: 0`), and closes
//! the connection; no route, middleware or extractor of ours ever sees the request. So the
//! connection's writer is wrapped: [`ParseErrorBodies`] recognises that answer on its way
//! out and sends the whole answer of
//! [`error::unparsable_request`](super::error::unparsable_request) in its place.
//!
//! Recognised only when unmistakable: one write that is exactly a head, `HTTP/1.1 400|414|431`,
//! `content-length: 0`, and without the `x-content-type-options` every response of the app
//! carries ([`headers`](super::headers)).
//!
//! Invariant: every other byte passes through untouched, in order.

use super::error::unparsable_request;
use axum::http::StatusCode;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An HTTP/1.1 connection's I/O, with hyper's bodiless parse-error answers given a body.
pub struct ParseErrorBodies<IO> {
    io: IO,
    /// The answer being written in place of hyper's, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<IO> ParseErrorBodies<IO> {
    /// Wraps a connection's I/O.
    pub fn new(io: IO) -> ParseErrorBodies<IO> {
        ParseErrorBodies {
            io,
            replacement: None,
        }
    }
}

impl<IO: AsyncWrite + Unpin> ParseErrorBodies<IO> {
    /// Writes what is left of the replacement; ready once all of it is written.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                return Poll::Ready(Ok(()));
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The status of hyper's own answer to a request it could not parse, if `buf` is one.
fn parse_error_status(buf: &[u8]) -> Option<StatusCode> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let status = match rest.get(..4)? {
        b"400 " => StatusCode::BAD_REQUEST,
        b"414 " => StatusCode::URI_TOO_LONG,
        b"431 " => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    // Exactly a head: it ends the write, and nothing follows it.
    if !buf.ends_with(b"\r\n\r\n") || contains(buf, b"\r\n\r\n") != Some(buf.len() - 4) {
        return None;
    }
    let head = buf.to_ascii_lowercase();
    let bodiless = contains(&head, b"\r\ncontent-length: 0\r\n").is_some();
    let ours = contains(&head, b"\r\nx-content-type-options:").is_some();
    (bodiless && !ours).then_some(status)
}

/// Where `needle` first starts in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

impl<IO: AsyncRead + Unpin> AsyncRead for ParseErrorBodies<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ParseErrorBodies<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacement.is_some() {
            // The connection ends after the answer: anything hyper adds is not sent.
            ready!(self.drain(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        if let Some(status) = parse_error_status(buf) {
            self.replacement = Some((unparsable_request(status), 0));
            // Taken in full; written by the flush hyper always calls next (and by shutdown).
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper writes a head as one slice: an answer to replace is a single one.
        if let [only] = bufs {
            return self.poll_write(cx, only);
        }
        if self.replacement.is_some() {
            ready!(self.drain(cx))?;
            return Poll::Ready(Ok(bufs.iter().map(|buf| buf.len()).sum()));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_parse_error_answers_are_recognised() {
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(
            parse_error_status(hyper_431),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let hyper_400 =
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_status(hyper_400), Some(StatusCode::BAD_REQUEST));
        // The app's own answers carry its headers, or a body, or another status.
        let ours = b"HTTP/1.1 400 Bad Request\r\nx-content-type-options: nosniff\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_status(ours), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_error_status(with_body), None);
        let not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_status(not_found), None);
        assert_eq!(parse_error_status(b"data: HTTP/1.1 400 \r\n\r\n"), None);
    }

    #[tokio::test]
    async fn the_replacement_is_written_whole_and_the_rest_passes_through() {
        use tokio::io::AsyncWriteExt;
        let mut plain = ParseErrorBodies::new(Vec::new());
        plain
            .write_all(b"HTTP/1.1 200 OK\r\n\r\nhello")
            .await
            .expect("write");
        plain.flush().await.expect("flush");
        assert_eq!(plain.io, b"HTTP/1.1 200 OK\r\n\r\nhello");
        let mut refused = ParseErrorBodies::new(Vec::new());
        refused
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            )
            .await
            .expect("write");
        refused.shutdown().await.expect("shutdown");
        assert_eq!(refused.io, unparsable_request(StatusCode::BAD_REQUEST));
    }
}
