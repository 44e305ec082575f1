//! The publisher: one keep-alive HTTP connection posting messages of a fixed size at a
//! fixed rate, to tickstream's admin news endpoint or to Nchan's publisher location, so
//! that the same load can be pointed at either server.
//!
//! Every message carries the marker `lg#SEQ@MICROS#`: the publisher's sequence number
//! (gaps and duplicates are counted against it) and its send time in microseconds since
//! the Unix epoch, taken just before the request is written (publish → receive latency,
//! measured the same way for every server). The rest of the message is padding, sized
//! once per run from what a client actually received (see `main.rs`), so both servers
//! carry payloads of the same length.

use crate::clients::now_micros;
use crate::http::{self, bad, Conn};
use std::io;
use std::net::{IpAddr, SocketAddr};

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
}

pub struct Publisher {
    kind: ServerKind,
    addr: SocketAddr,
    host: String,
    path: String,
    auth: String,
    conn: Option<Conn>,
}

impl Publisher {
    pub fn new(kind: ServerKind, addr: SocketAddr, path: String, token: Option<&str>) -> Publisher {
        Publisher {
            kind,
            addr,
            host: addr.to_string(),
            path,
            auth: token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n")),
            conn: None,
        }
    }

    /// Publishes message `seq` with `pad` bytes of padding. On failure the connection is
    /// dropped, and the next call opens a new one.
    pub async fn publish(&mut self, seq: u64, pad: usize) -> io::Result<()> {
        let result = self.try_publish(seq, pad).await;
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    async fn try_publish(&mut self, seq: u64, pad: usize) -> io::Result<()> {
        if self.conn.is_none() {
            let source: IpAddr = [127, 0, 0, 1].into();
            self.conn = Some(Conn::new(http::connect(source, self.addr).await?));
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(bad("no connection"));
        };
        let marker = format!("lg#{seq:08}@{:016}#", now_micros());
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
            ServerKind::Nchan => (format!("{marker}{padding}"), "text/plain"),
        };
        let request = http::post(
            &self.host,
            &self.path,
            &self.auth,
            content_type,
            body.as_bytes(),
        );
        conn.send(&request).await?;
        let mut head = conn.read_head().await?;
        let reply = conn.read_to_end(&mut head, MAX_REPLY).await?;
        if !(200..300).contains(&head.status) {
            return Err(bad(format!(
                "publish answered {}: {}",
                head.status,
                String::from_utf8_lossy(&reply)
            )));
        }
        Ok(())
    }
}
