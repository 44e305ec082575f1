//! What a client may ask for in a stream's or a poll's query string, read once for every
//! transport: where to resume (`lastEventId`, or a poll's `after`), what to let through
//! (`symbols`, `types`), how often to send ticks (`conflate`, streams), whether SSE names
//! its events (`events`), whether heartbeats are visible events (`heartbeat`), how long to wait (`wait`, polls) and whose bytes these are
//! (`client`).
//!
//! Invariant: a query is refused as a whole with a 400 that names the parameter at fault,
//! or accepted as a whole; unknown parameters (cache-busters a proxy or page adds) are
//! ignored, and so are those of the other kind of request.

use super::filter::Filter;
use crate::server::error::ApiError;
use crate::wire::error::param;
use crate::wire::http::query;
use crate::wire::usage::{is_client_id, MAX_CLIENT_ID};
use crate::wire::{EventNaming, HeartbeatStyle};
use std::ops::RangeInclusive;
use std::time::Duration;

/// The longest query string accepted.
const MAX_QUERY_LEN: usize = 2_048;
/// The accepted range of `conflate=`, in milliseconds.
const CONFLATE_MS: RangeInclusive<u64> = 10..=60_000;
/// The longest a poll may wait for news (`wait=`).
pub const MAX_WAIT_SECS: u64 = 30;

/// Which requests a query belongs to: they share the filters, not the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryKind {
    /// `/api/sse`, `/api/ws`: `lastEventId`, `conflate`.
    Stream,
    /// `/api/poll`: `after`, `wait`.
    Poll,
}

/// A stream's or a poll's options.
#[derive(Debug)]
pub struct StreamOptions {
    /// Where to resume, as the client wrote it (`lastEventId` or `after`).
    pub resume_from: Option<String>,
    /// What to let through.
    pub filter: Filter,
    /// Streams: each symbol's latest tick once per this interval.
    pub conflate: Option<Duration>,
    /// Polls: how long to wait when nothing is new (zero: answer at once).
    pub wait: Duration,
    /// The id the client counts its wire bytes under (see [`crate::server::meter`]).
    pub client: Option<String>,
    /// Streams: whether SSE frames carry an `event:` line.
    pub naming: EventNaming,
    /// Streams: what an idle stream sends.
    pub heartbeat: HeartbeatStyle,
}

impl StreamOptions {
    /// Reads a query string; `symbols` are the market's tickers, which `symbols=` must name.
    pub fn parse(
        query: Option<&str>,
        kind: QueryKind,
        symbols: &[String],
    ) -> Result<StreamOptions, ApiError> {
        let mut options = StreamOptions {
            resume_from: None,
            filter: Filter::default(),
            conflate: None,
            wait: Duration::ZERO,
            client: None,
            naming: EventNaming::Named,
            heartbeat: HeartbeatStyle::Comment,
        };
        let mut seen: Vec<&'static str> = Vec::new();
        for (name, value) in query_pairs(query)? {
            // A list may come in parts (`symbols=NOVA&symbols=GRID` is both); a single value
            // given twice is ambiguous, and refused rather than one of them silently kept.
            // (Names this kind of request does not read are ignored, however often.)
            if let Some(param) = single_valued(&name, kind) {
                if seen.contains(&param) {
                    return Err(ApiError::bad_param(
                        param,
                        format!("{param} is given more than once; give it once"),
                    ));
                }
                seen.push(param);
            }
            match (name.as_str(), kind) {
                (query::SYMBOLS, _) => options.filter.set_symbols(&value, symbols)?,
                (query::TYPES, _) => options.filter.set_types(&value)?,
                (query::LAST_EVENT_ID, QueryKind::Stream) | (query::AFTER, QueryKind::Poll) => {
                    options.resume_from = Some(value);
                }
                (query::CONFLATE, QueryKind::Stream) => {
                    options.conflate = Some(parse_conflate(&value)?);
                }
                (query::WAIT, QueryKind::Poll) => options.wait = parse_wait(&value)?,
                (query::CLIENT, _) => options.client = Some(parse_client(value)?),
                (query::EVENTS, QueryKind::Stream) => {
                    options.naming = EventNaming::from_name(&value).ok_or_else(|| {
                        ApiError::bad_param(
                            query::EVENTS,
                            format!("events must be one of {}", EventNaming::names()),
                        )
                    })?;
                }
                (query::HEARTBEAT, QueryKind::Stream) => {
                    options.heartbeat = HeartbeatStyle::from_name(&value).ok_or_else(|| {
                        ApiError::bad_param(
                            query::HEARTBEAT,
                            format!("heartbeat must be one of {}", HeartbeatStyle::names()),
                        )
                    })?;
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// The parameters of `kind` that take one value, as `param` names them.
fn single_valued(name: &str, kind: QueryKind) -> Option<&'static str> {
    let names: &[&'static str] = match kind {
        QueryKind::Stream => &[
            query::LAST_EVENT_ID,
            query::CONFLATE,
            query::CLIENT,
            query::EVENTS,
            query::HEARTBEAT,
        ],
        QueryKind::Poll => &[query::AFTER, query::WAIT, query::CLIENT],
    };
    names.iter().copied().find(|known| *known == name)
}

fn parse_conflate(value: &str) -> Result<Duration, ApiError> {
    match value.parse::<u64>() {
        Ok(ms) if CONFLATE_MS.contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(ApiError::bad_param(
            query::CONFLATE,
            format!(
                "conflate must be a whole number of milliseconds from {} to {}",
                CONFLATE_MS.start(),
                CONFLATE_MS.end()
            ),
        )),
    }
}

fn parse_client(value: String) -> Result<String, ApiError> {
    if is_client_id(&value) {
        return Ok(value);
    }
    Err(ApiError::bad_param(
        query::CLIENT,
        format!("client must be 1 to {MAX_CLIENT_ID} characters of A-Z, a-z, 0-9, - and _"),
    ))
}

fn parse_wait(value: &str) -> Result<Duration, ApiError> {
    match value.parse::<u64>() {
        Ok(secs) if secs <= MAX_WAIT_SECS => Ok(Duration::from_secs(secs)),
        _ => Err(ApiError::bad_param(
            query::WAIT,
            format!("wait must be whole seconds from 0 to {MAX_WAIT_SECS}"),
        )),
    }
}

/// Splits a query string into decoded pairs, refusing what cannot be a sane request.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    if query.len() > MAX_QUERY_LEN {
        return Err(ApiError::bad_param(
            param::QUERY,
            format!("the query string is longer than {MAX_QUERY_LEN} bytes"),
        ));
    }
    serde_urlencoded::from_str(query).map_err(|err| {
        ApiError::bad_param(
            param::QUERY,
            format!("the query string is not valid: {err}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Vec<String> {
        vec!["NOVA".into(), "GRID".into()]
    }

    #[test]
    fn each_kind_reads_its_own_parameters_and_shares_the_filters() {
        let query = Some("lastEventId=z-3&after=z-4&conflate=100&wait=5&symbols=nova&x=1");
        let stream = StreamOptions::parse(query, QueryKind::Stream, &symbols()).expect("valid");
        assert_eq!(stream.resume_from.as_deref(), Some("z-3"));
        assert_eq!(stream.conflate, Some(Duration::from_millis(100)));
        assert_eq!(stream.wait, Duration::ZERO);
        assert_eq!(stream.filter.symbols(), Some(&["NOVA".to_owned()][..]));
        let poll = StreamOptions::parse(query, QueryKind::Poll, &symbols()).expect("valid");
        assert_eq!(poll.resume_from.as_deref(), Some("z-4"));
        assert_eq!(poll.conflate, None);
        assert_eq!(poll.wait, Duration::from_secs(5));
    }

    #[test]
    fn refusals_name_the_parameter() {
        let cases = [
            ("conflate=5", QueryKind::Stream, "conflate"),
            ("wait=31", QueryKind::Poll, "wait"),
            ("symbols=ACME", QueryKind::Poll, "symbols"),
            ("types=weather", QueryKind::Stream, "types"),
            ("client=a%20b", QueryKind::Poll, "client"),
            ("events=some", QueryKind::Stream, "events"),
        ];
        for (text, kind, param) in cases {
            let err = StreamOptions::parse(Some(text), kind, &symbols()).expect_err(text);
            assert_eq!(err.param, Some(param), "{text}");
        }
        let long = "x=".to_owned() + &"y".repeat(MAX_QUERY_LEN);
        let err =
            StreamOptions::parse(Some(&long), QueryKind::Stream, &symbols()).expect_err("too long");
        assert_eq!(err.param, Some("query"));
        // One value given twice is refused; a list given twice is both.
        for (text, kind, param) in [
            (
                "lastEventId=z-1&lastEventId=z-2",
                QueryKind::Stream,
                "lastEventId",
            ),
            ("wait=1&wait=2", QueryKind::Poll, "wait"),
            ("client=a&client=a", QueryKind::Poll, "client"),
        ] {
            let err = StreamOptions::parse(Some(text), kind, &symbols()).expect_err(text);
            assert_eq!(err.param, Some(param), "{text}");
            assert!(err.message.contains("more than once"), "{}", err.message);
        }
        let both = StreamOptions::parse(
            Some("symbols=NOVA&symbols=grid&types=tick&types=news"),
            QueryKind::Stream,
            &symbols(),
        )
        .expect("lists add up");
        assert_eq!(
            both.filter.symbols(),
            Some(&["NOVA".to_owned(), "GRID".to_owned()][..])
        );
        // What the other kind of request takes is ignored, not refused, even twice.
        assert!(StreamOptions::parse(Some("wait=1&wait=2"), QueryKind::Stream, &symbols()).is_ok());
        assert!(StreamOptions::parse(Some("wait=x"), QueryKind::Stream, &symbols()).is_ok());
        assert!(StreamOptions::parse(Some("conflate=x"), QueryKind::Poll, &symbols()).is_ok());
    }
}
