//! The publisher: messages of a fixed size on a fixed schedule, to tickstream's admin news
//! endpoint or to a peer's publisher location (Nchan, sse-starlette), so that the same load
//! can be pointed at any server.
//!
//! **Open loop.** Message `i` is due at `start + i × period`, whatever the server does: the
//! requests are pipelined on one keep-alive connection without waiting for the replies
//! (at most `in_flight` unanswered), and a separate reader takes the replies in order. A
//! slow server therefore still gets the load it was offered, instead of a closed loop's
//! polite slow-down; when even the bound is reached the sends fall behind their schedule,
//! and that delay is counted as latency, because every message carries its *scheduled*
//! time, not the time it was written (no coordinated omission). One connection keeps the
//! messages in order, so gaps and duplicates still count against the sequence.
//!
//! Every message carries the marker `lg#SEQ@MICROS#`: the sequence number and the scheduled
//! send time in microseconds since the Unix epoch. The rest of the message is padding,
//! sized once per run from what a client actually received (see `main.rs`), so every server
//! carries payloads of the same length.

use crate::clients::now_micros;
use crate::http::{self, Conn};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// The longest padding tickstream accepts (its news summary limit).
pub const TICKSTREAM_MAX_PAD: usize = 1_000;
/// The longest answer a publish request may get.
const MAX_REPLY: usize = 64 * 1024;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    /// `POST /api/admin/news` with a bearer token; clients on `/api/sse`, `/api/ws`, `/api/poll`.
    Tickstream,
    /// `POST /pub/<channel>`; clients on `/sub/<channel>` (see bench/nchan.conf).
    Nchan,
    /// The same paths as Nchan (see bench/peers/starlette_app.py).
    Starlette,
}

/// What the publisher managed.
#[derive(Default)]
pub struct Sent {
    /// Messages the server acknowledged (2xx).
    pub published: u64,
    /// Messages refused, unanswered or never sent.
    pub errors: u64,
    /// The most requests that were unanswered at once.
    pub peak_in_flight: u64,
    /// When the last acknowledgement arrived, from the start of the schedule.
    pub last_ack: Duration,
}

/// The schedule of one run.
pub struct Schedule {
    /// Messages to publish, numbered from 1.
    pub count: u64,
    /// Time between two messages; message `i` is due at `i × period`.
    pub period: Duration,
    /// Padding bytes per message.
    pub pad: usize,
    /// Requests that may be unanswered at once.
    pub in_flight: usize,
    /// After this long from the start, nothing more is sent and no reply is awaited.
    pub deadline: Duration,
}

pub struct Publisher {
    kind: ServerKind,
    addr: SocketAddr,
    host: String,
    path: String,
    auth: String,
}

impl Publisher {
    pub fn new(kind: ServerKind, addr: SocketAddr, path: String, token: Option<&str>) -> Publisher {
        Publisher {
            kind,
            addr,
            host: addr.to_string(),
            path,
            auth: token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n")),
        }
    }

    async fn connect(&self) -> io::Result<tokio::net::TcpStream> {
        let source: IpAddr = [127, 0, 0, 1].into();
        http::connect(source, self.addr).await
    }

    /// Publishes one message, `seq` stamped now, on a connection of its own, and waits for
    /// the reply (the calibration message).
    pub async fn publish_one(&self, seq: u64, pad: usize) -> io::Result<()> {
        let mut conn = Conn::new(self.connect().await?);
        conn.send(&self.request(seq, now_micros(), pad)).await?;
        read_reply(&mut conn).await
    }

    /// Publishes `schedule.count` messages on the schedule (see the module's header).
    pub async fn run(&self, schedule: &Schedule) -> Sent {
        let stream = match self.connect().await {
            Ok(stream) => stream,
            Err(err) => {
                eprintln!("loadgen: the publisher cannot connect: {err}");
                return Sent {
                    errors: schedule.count,
                    ..Sent::default()
                };
            }
        };
        let (read, mut write) = stream.into_split();
        let start = Instant::now();
        let start_micros = now_micros();
        let window = Arc::new(Semaphore::new(schedule.in_flight.max(1)));
        let broken = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        // The reader learns of each request before it is written, so it knows how many
        // replies to wait for; the channel closing means no more will come.
        let (written, mut to_read) = mpsc::unbounded_channel::<u64>();
        // Shared with the reader, so that what it counted stands even if it is given up on.
        let acknowledged = Arc::new(AtomicU64::new(0));
        let last_ack_micros = Arc::new(AtomicU64::new(0));
        let mut reader = {
            let (window, broken) = (window.clone(), broken.clone());
            let (acknowledged, last_ack_micros) = (acknowledged.clone(), last_ack_micros.clone());
            tokio::spawn(async move {
                let mut conn = Conn::new(read);
                let mut refused = 0;
                while let Some(seq) = to_read.recv().await {
                    match read_reply(&mut conn).await {
                        Ok(()) => {
                            acknowledged.fetch_add(1, Ordering::Relaxed);
                            last_ack_micros
                                .store(start.elapsed().as_micros() as u64, Ordering::Relaxed);
                        }
                        Err(err) => {
                            refused += 1;
                            if refused <= 3 {
                                eprintln!("loadgen: publish {seq} failed: {err}");
                            }
                            if err.kind() != io::ErrorKind::InvalidInput {
                                // The connection itself failed: nothing more can be read.
                                broken.store(true, Ordering::Relaxed);
                                window.close();
                                break;
                            }
                        }
                    }
                    window.add_permits(1);
                }
            })
        };
        for seq in 1..=schedule.count {
            let due = schedule.period * u32::try_from(seq).unwrap_or(u32::MAX);
            if due > schedule.deadline || broken.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep_until((start + due).into()).await;
            // Waiting here (the server is answering slowly) delays the send, and the
            // stamped, scheduled time makes that delay part of the measured latency.
            let Ok(permit) =
                tokio::time::timeout_at((start + schedule.deadline).into(), window.acquire()).await
            else {
                break;
            };
            let Ok(permit) = permit else {
                break; // the reader closed the window: the connection failed
            };
            permit.forget();
            let unanswered = schedule.in_flight as u64 - window.available_permits() as u64;
            peak.fetch_max(unanswered, Ordering::Relaxed);
            let scheduled = start_micros + due.as_micros() as u64;
            let _ = written.send(seq);
            if let Err(err) = tokio::io::AsyncWriteExt::write_all(
                &mut write,
                &self.request(seq, scheduled, schedule.pad),
            )
            .await
            {
                eprintln!("loadgen: the publisher's connection failed: {err}");
                break;
            }
        }
        drop(written);
        let left = schedule.deadline.saturating_sub(start.elapsed()) + Duration::from_secs(1);
        if tokio::time::timeout(left, &mut reader).await.is_err() {
            eprintln!("loadgen: the publisher stopped waiting for replies at its deadline");
            reader.abort();
        }
        let published = acknowledged.load(Ordering::Relaxed);
        Sent {
            published,
            // Unsent, refused and unanswered alike: whatever was not acknowledged.
            errors: schedule.count - published,
            peak_in_flight: peak.load(Ordering::Relaxed),
            last_ack: Duration::from_micros(last_ack_micros.load(Ordering::Relaxed)),
        }
    }

    /// The request that publishes message `seq`, stamped `micros`.
    fn request(&self, seq: u64, micros: u64, pad: usize) -> Vec<u8> {
        let marker = format!("lg#{seq:08}@{micros:016}#");
        let padding = "x".repeat(pad);
        let (body, content_type) = match self.kind {
            ServerKind::Tickstream => {
                let mut news = serde_json::json!({
                    "headline": format!("{marker} bench"),
                    "sentiment": "neutral",
                });
                if pad > 0 {
                    news["summary"] = serde_json::Value::String(padding);
                }
                (news.to_string(), "application/json")
            }
            ServerKind::Nchan | ServerKind::Starlette => {
                (format!("{marker}{padding}"), "text/plain")
            }
        };
        http::post(
            &self.host,
            &self.path,
            &self.auth,
            content_type,
            body.as_bytes(),
        )
    }
}

/// Reads one publish reply. A refusal is `InvalidInput` (the connection is still usable);
/// anything else means the connection failed.
async fn read_reply<S: tokio::io::AsyncRead + Unpin>(conn: &mut Conn<S>) -> io::Result<()> {
    let mut head = conn.read_head().await?;
    let reply = conn.read_to_end(&mut head, MAX_REPLY).await?;
    if !(200..300).contains(&head.status) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "publish answered {}: {}",
                head.status,
                String::from_utf8_lossy(&reply)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::marker;
    use tokio::io::AsyncReadExt;

    /// A server that reads every request before it answers any: a closed-loop publisher
    /// would send one and wait forever; the open-loop one sends them all on schedule, each
    /// stamped with its scheduled time, and then takes the replies in order.
    #[tokio::test]
    async fn sends_on_schedule_without_waiting_for_replies() {
        const COUNT: u64 = 8;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accepts");
            let mut seen = Vec::new();
            let mut buf = vec![0; 64 * 1024];
            while seen.windows(4).filter(|w| *w == b"POST").count() < COUNT as usize {
                let n = tokio::time::timeout(Duration::from_secs(3), socket.read(&mut buf))
                    .await
                    .expect("every request arrives without a reply to the first")
                    .expect("reads");
                assert!(n > 0, "the publisher closed before sending everything");
                seen.extend_from_slice(&buf[..n]);
            }
            for _ in 0..COUNT {
                tokio::io::AsyncWriteExt::write_all(
                    &mut socket,
                    b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
                )
                .await
                .expect("answers");
            }
            seen
        });
        let publisher = Publisher::new(ServerKind::Nchan, addr, "/pub/t".into(), None);
        let period = Duration::from_millis(20);
        let sent = publisher
            .run(&Schedule {
                count: COUNT,
                period,
                pad: 10,
                in_flight: COUNT as usize,
                deadline: Duration::from_secs(10),
            })
            .await;
        let seen = server.await.expect("the server ran");
        assert_eq!((sent.published, sent.errors), (COUNT, 0));
        assert_eq!(
            sent.peak_in_flight, COUNT,
            "every request was unanswered at once"
        );
        let stamps: Vec<(u64, u64)> = seen.split(|b| *b == b'\n').filter_map(marker).collect();
        assert_eq!(
            stamps.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            (1..=COUNT).collect::<Vec<_>>(),
            "in order, numbered from 1"
        );
        for pair in stamps.windows(2) {
            assert_eq!(
                pair[1].1 - pair[0].1,
                period.as_micros() as u64,
                "stamped with the scheduled time, exactly one period apart"
            );
        }
    }
}
