//! The market's inbox on Redis: events anyone may publish with one command, the seed
//! article's `/post` without an HTTP server —
//! `redis-cli XADD tickstream:publish '*' event announcement data '"Lunch at noon"'`.
//!
//! The market instance reads that stream and publishes each entry through its driver, in
//! order with the market's own events, so it gets the next id of the history and reaches
//! every instance's clients through the event stream like any event. Entries are read from
//! the moment the market connects: what was added while it was away is not replayed (the
//! inbox is for live announcements, not a queue). An entry with a bad name or too much data
//! is logged and skipped; `data` that is not JSON is taken as a string.

use super::codec::PUBLISH_KEY;
use super::connection::{keep_connected, Session};
use super::RedisBus;
use crate::server::driver::DriverHandle;
use crate::wire::admin::PublishRequest;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use redis::RedisResult;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one `XREAD` waits for an entry before asking again.
const BLOCK: Duration = Duration::from_secs(2);
/// The most entries one `XREAD` takes.
const BATCH: usize = 64;

/// Reads the inbox into `driver` until `shutdown`.
pub async fn run(bus: Arc<RedisBus>, driver: DriverHandle, shutdown: CancellationToken) {
    let mut inbox = Inbox {
        driver,
        shutdown: &shutdown,
        after: "$".to_owned(),
    };
    // Not the instance's health: the writer speaks for the market instance.
    keep_connected(&bus, None, &shutdown, &mut inbox).await;
}

struct Inbox<'a> {
    driver: DriverHandle,
    shutdown: &'a CancellationToken,
    /// The last entry read (`$`: only what comes next).
    after: String,
}

impl Session for Inbox<'_> {
    async fn serve(&mut self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        loop {
            let mut read = redis::cmd("XREAD");
            read.arg("COUNT")
                .arg(BATCH)
                .arg("BLOCK")
                .arg(u64::try_from(BLOCK.as_millis()).unwrap_or(u64::MAX))
                .arg("STREAMS")
                .arg(PUBLISH_KEY)
                .arg(&self.after);
            let reply: Option<StreamReadReply> = tokio::select! {
                () = self.shutdown.cancelled() => return Ok(()),
                reply = read.query_async(conn) => reply?,
            };
            let entries = reply
                .into_iter()
                .flat_map(|reply| reply.keys)
                .flat_map(|key| key.ids);
            for entry in entries {
                self.after = entry.id.clone();
                let event: Option<String> = entry.get("event");
                let data: Option<String> = entry.get("data");
                let request = PublishRequest {
                    event: event.unwrap_or_default(),
                    data: data.map_or(serde_json::Value::Null, |text| {
                        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
                    }),
                };
                match request.event() {
                    Ok(event) => {
                        if self.driver.publish(event).await.is_err() {
                            return Ok(()); // the market is stopping
                        }
                    }
                    Err(err) => tracing::warn!(entry = %entry.id, %err, "redis inbox: skipped"),
                }
            }
        }
    }
}
