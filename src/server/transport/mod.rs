//! The transports: each one carries the hub's events to clients in its own way, sharing the
//! bytes the hub encoded. They differ only in framing and in how a client says where to
//! resume; the rules for resuming are the same everywhere and live here.

pub mod diagnostic;
pub mod filter;
pub mod sse;

use super::bus::ResetReason;
use super::error::ApiError;
use crate::wire::EventId;

/// The longest query string a stream accepts.
const MAX_QUERY_LEN: usize = 2_048;

/// Where a client asked to resume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// No id: a new client, which gets a snapshot.
    Fresh,
    /// A well-formed id, to be looked up in the history.
    After(EventId),
    /// Something that is not an id (kept, if printable, to echo back in the `reset`).
    Malformed(Option<String>),
}

impl Resume {
    /// Reads an id as a client sent it.
    pub fn parse(text: Option<&str>) -> Resume {
        match text {
            None => Resume::Fresh,
            // An empty Last-Event-ID is what a browser sends when no event had an id yet.
            Some("") => Resume::Fresh,
            Some(text) => match text.parse() {
                Ok(id) => Resume::After(id),
                Err(_) => Resume::Malformed(Some(text.to_owned())),
            },
        }
    }

    pub fn after(&self) -> Option<EventId> {
        match self {
            Resume::After(id) => Some(*id),
            Resume::Fresh | Resume::Malformed(_) => None,
        }
    }

    /// The reset a malformed id earns before the bus is even asked.
    pub fn malformed(&self) -> Option<ResetReason> {
        matches!(self, Resume::Malformed(_)).then_some(ResetReason::MalformedId)
    }

    /// The id as the client sent it, for the `reset` event.
    pub fn asked(&self) -> Option<String> {
        match self {
            Resume::Fresh => None,
            Resume::After(id) => Some(id.to_string()),
            Resume::Malformed(text) => text.clone(),
        }
    }
}

/// Splits a query string into decoded pairs, refusing what cannot be a sane request.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    if query.len() > MAX_QUERY_LEN {
        return Err(ApiError::bad_param(
            "query",
            format!("the query string is longer than {MAX_QUERY_LEN} bytes"),
        ));
    }
    serde_urlencoded::from_str(query).map_err(|err| {
        ApiError::bad_param("query", format!("the query string is not valid: {err}"))
    })
}
