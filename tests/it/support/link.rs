//! A TCP link between an instance and Redis that a test can cut, slow down and restore: a
//! forwarder on a free loopback port, so a partition is a real one — the instance's socket
//! stays open and its bytes go nowhere — not one simulated inside the process.
//!
//! Cut, it behaves like a network that drops packets while both ends keep their connection:
//! bytes already sent wait (TCP would retransmit them), new connections are accepted but go
//! nowhere, and when the link is restored everything that waited is delivered in order, as
//! after a partition heals — unless an end gave up meanwhile. Slowed, every chunk waits
//! `delay` before it is passed on. Stopped when dropped.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the link passes bytes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// At once.
    Open,
    /// Not at all, until restored.
    Cut,
    /// Each chunk after this long.
    Slow(Duration),
}

/// A forwarder to one upstream address.
pub struct Link {
    /// Where the instance connects instead of the upstream.
    pub addr: SocketAddr,
    condition: watch::Sender<Condition>,
    accept: JoinHandle<()>,
}

impl Link {
    /// A link to `upstream`, open.
    pub async fn to(upstream: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (condition, watching) = watch::channel(Condition::Open);
        // The connections live in a set the accepting task owns: aborted with it.
        let accept = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                connections.spawn(connect(inbound, upstream, watching.clone()));
            }
        });
        Link {
            addr,
            condition,
            accept,
        }
    }

    /// `redis://` at the link, for `--bus`.
    pub fn redis_url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Stops passing bytes on (a partition).
    pub fn cut(&self) {
        self.condition.send_replace(Condition::Cut);
    }

    /// Passes each chunk on after `delay`.
    pub fn slow(&self, delay: Duration) {
        self.condition.send_replace(Condition::Slow(delay));
    }

    /// Passes bytes on at once again, what waited first.
    pub fn restore(&self) {
        self.condition.send_replace(Condition::Open);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Waits until the link is not cut; how long each chunk must wait then.
async fn passable(condition: &mut watch::Receiver<Condition>) -> Option<Duration> {
    let now = condition
        .wait_for(|now| *now != Condition::Cut)
        .await
        .ok()
        .map(|now| *now)?;
    match now {
        Condition::Slow(delay) => Some(delay),
        Condition::Open | Condition::Cut => Some(Duration::ZERO),
    }
}

/// One connection: once the link lets it through, to the upstream, then both directions.
async fn connect(
    inbound: TcpStream,
    upstream: SocketAddr,
    mut condition: watch::Receiver<Condition>,
) {
    if passable(&mut condition).await.is_none() {
        return;
    }
    let Ok(outbound) = TcpStream::connect(upstream).await else {
        return; // the upstream is down: the instance sees its connection close
    };
    let (from_in, to_in) = inbound.into_split();
    let (from_out, to_out) = outbound.into_split();
    // Either end closing closes both.
    tokio::select! {
        () = pump(from_in, to_out, condition.clone()) => {}
        () = pump(from_out, to_in, condition) => {}
    }
}

/// Copies one direction chunk by chunk, each when the link lets it through.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut condition: watch::Receiver<Condition>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        let Some(delay) = passable(&mut condition).await else {
            return;
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
