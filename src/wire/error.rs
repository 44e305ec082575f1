//! The one shape of every API error, on every route:
//! `{"error":{"code":"invalid_parameter","message":"…","param":"symbols"}}`.
//!
//! `code` is a closed set a program can branch on ([`ErrorCode`]); `message` is a sentence
//! for a person; `param` names the query parameter, header or body field at fault, when
//! there is one. The server writes it, the instructor panel and the tests read it.

use super::values::wire_values;
use serde::{Deserialize, Serialize};

wire_values! {
    /// What went wrong, as a program should branch on it.
    pub enum ErrorCode {
        /// A query parameter, header or body field is not valid (`param` names it).
        InvalidParameter = "invalid_parameter",
        /// No such route or connection.
        NotFound = "not_found",
        /// The request body is larger than the server accepts.
        TooLarge = "too_large",
        /// This client address holds as many streams as it may (`429`).
        TooManyStreams = "too_many_streams",
        /// The server holds as many streams as it allows (`503`).
        ServerBusy = "server_busy",
        /// A `refuse` fault turns new requests away for a while (`503`, `--faults`).
        RefusedOnPurpose = "refused_on_purpose",
        /// The admin API is off: the server was started without `--admin-token`.
        AdminDisabled = "admin_disabled",
        /// Fault injection is off: the server was started without `--faults`.
        FaultsDisabled = "faults_disabled",
        /// The admin token is missing or wrong.
        Unauthorized = "unauthorized",
        /// A WebSocket handshake from a page of another site (`403`): its `Origin` is neither
        /// this server's nor one `--cors-origin` names.
        ForbiddenOrigin = "forbidden_origin",
        /// The method is not one this path answers (`405`; `Allow` lists those it does).
        MethodNotAllowed = "method_not_allowed",
        /// The request could not be read as HTTP: a malformed request line or header, bytes
        /// that are not UTF-8 in the path or query (`400`), a head that is too large (`431`).
        BadRequest = "bad_request",
        /// A market command reached an instance that serves another instance's market.
        NotTheMarket = "not_the_market",
        /// The market is stopping.
        ShuttingDown = "shutting_down",
        /// The market cannot make that change from the state it is in.
        Conflict = "conflict",
    }
}

/// Names for `param` that are not one query parameter ([`http::query`](super::http::query))
/// or one body field ([`admin::field`](super::admin::field)).
pub mod param {
    /// The request body as a whole: not JSON, an unknown field, a wrong type, too large.
    pub const BODY: &str = "body";
    /// The query string as a whole: too long, or not `name=value&…`.
    pub const QUERY: &str = "query";
    /// The `Authorization` header.
    pub const AUTHORIZATION: &str = "authorization";
    /// The `Origin` header.
    pub const ORIGIN: &str = "origin";
    /// The request's path.
    pub const PATH: &str = "path";
    /// The request's head (its request line and headers) as a whole.
    pub const HEAD: &str = "head";
}

/// An error response's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// What went wrong, for a program.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// The query parameter, header or body field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl ErrorBody {
    /// Encodes the body as JSON.
    pub fn encode(&self) -> String {
        // A struct of strings and a unit enum: serde_json cannot fail on it.
        serde_json::to_string(self).expect("error bodies always serialize")
    }

    /// Reads an error body, or `None` if the text is not one (a proxy's HTML page, say).
    pub fn decode(text: &str) -> Option<ErrorBody> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_documented_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::InvalidParameter,
                message: "symbols must be known".into(),
                param: Some("symbols".into()),
            },
        };
        let text = body.encode();
        assert_eq!(
            text,
            r#"{"error":{"code":"invalid_parameter","message":"symbols must be known","param":"symbols"}}"#
        );
        assert_eq!(ErrorBody::decode(&text), Some(body));
        let without = r#"{"error":{"code":"not_found","message":"no"}}"#;
        assert_eq!(
            ErrorBody::decode(without).map(|b| b.error.param),
            Some(None)
        );
        assert_eq!(ErrorBody::decode("<html>"), None);
    }
}
