//! `POST /api/explain`: a *finite* event stream — an analyst note about one symbol's recent
//! move, written a word at a time, then `done` and a clean end of the response. The stream
//! people meet most today (a chat assistant typing its answer) is this shape, and it is why
//! SSE is read with `fetch` there: `EventSource` can only `GET`.
//!
//! The answer's events (`event:` names, each `data:` one line of JSON):
//! `token` `{"text":"Novatek "}` … then `done` `{"tokens":N}`; or, if the answer cannot go
//! on, `error` with the usual [`ErrorBody`](super::ErrorBody). A bad request (unknown symbol,
//! not JSON, one answer already running for this client) gets a plain JSON error instead.

use serde::{Deserialize, Serialize};

/// `POST` here.
pub const EXPLAIN_PATH: &str = "/api/explain";
/// One piece of the note.
pub const TOKEN_EVENT: &str = "token";
/// The note is complete; the response ends.
pub const DONE_EVENT: &str = "done";
/// The note cannot go on (the server is stopping, the answer took too long).
pub const ERROR_EVENT: &str = "error";
/// The name of the request's one field, as errors name it.
pub const SYMBOL_FIELD: &str = "symbol";

/// `{"symbol": "NOVA"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    /// The ticker to explain.
    pub symbol: String,
}

/// `token`: the next piece of text (a word and the space after it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Text to append.
    pub text: String,
}

/// `done`: the note is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// How many tokens were sent.
    pub tokens: u64,
}
