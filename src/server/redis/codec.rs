//! How events are kept in Redis: the keys, events as stream entries (entry id = event id,
//! fields `json` and `symbols`), and the checks that what is read back is what the writer
//! wrote.

use crate::wire::{self, Epoch, EventId, Payload};
use redis::aio::MultiplexedConnection;
use redis::streams::StreamRangeReply;
use redis::RedisResult;

/// The stream: one entry per event, entry id = event id.
pub const STREAM_KEY: &str = "tickstream:events";
/// The market's current `snapshot` envelope (JSON).
pub const SNAPSHOT_KEY: &str = "tickstream:snapshot";
/// The market's whole state after the newest event in the stream (a hash: `id`, `market`),
/// written in the same transaction as the events: what `--role auto` continues from.
pub const CHECKPOINT_KEY: &str = "tickstream:checkpoint";
/// Who runs the market on this stream (an instance name), with a time to live: the lease.
pub const OWNER_KEY: &str = "tickstream:market-owner";
/// Events anyone may publish (`event`, `data` fields); the market relays them.
pub const PUBLISH_KEY: &str = "tickstream:publish";

/// An event id as a stream entry id: `EPOCH-SEQ` with the epoch in decimal.
pub fn stream_id(id: EventId) -> String {
    format!("{}-{}", id.epoch.0, id.seq)
}

/// The event id a stream entry id names.
pub fn parse_stream_id(text: &str) -> Option<EventId> {
    let (epoch, seq) = text.split_once('-')?;
    Some(EventId::new(Epoch(epoch.parse().ok()?), seq.parse().ok()?))
}

/// One event read back from the stream.
#[derive(Debug)]
pub struct StreamEvent {
    /// Its id (the entry id).
    pub id: EventId,
    /// Its publish time.
    pub ts: u64,
    /// What it says.
    pub payload: Payload,
    /// The symbols it concerns (for filters).
    pub symbols: Vec<String>,
    /// The envelope exactly as the market encoded it.
    pub json: String,
}

/// Decodes one stream entry, checking that it is what the writer wrote.
pub fn decode_entry(entry: &redis::streams::StreamId) -> Result<StreamEvent, String> {
    let id = parse_stream_id(&entry.id).ok_or("the entry id is not an event id")?;
    let json: String = entry.get("json").ok_or("the entry has no `json` field")?;
    let envelope = wire::decode(&json).map_err(|err| err.to_string())?;
    if envelope.id != Some(id) {
        return Err("the envelope's id differs from the entry's".into());
    }
    let symbols: String = entry.get("symbols").unwrap_or_default();
    Ok(StreamEvent {
        id,
        ts: envelope.ts,
        payload: envelope.payload,
        symbols: symbols
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        json,
    })
}

/// The newest `count` entries, oldest first.
pub async fn read_tail(
    conn: &mut MultiplexedConnection,
    count: usize,
) -> RedisResult<StreamRangeReply> {
    let mut reply: StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(STREAM_KEY)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(count.max(1))
        .query_async(conn)
        .await?;
    reply.ids.reverse();
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_are_event_ids() {
        let id = EventId::new(Epoch(1_764_000_000_000), 42);
        assert_eq!(stream_id(id), "1764000000000-42");
        assert_eq!(parse_stream_id("1764000000000-42"), Some(id));
        for bad in ["", "1", "a-1", "1-", "1-2-3", "-1"] {
            assert_eq!(parse_stream_id(bad), None, "{bad:?}");
        }
    }
}
