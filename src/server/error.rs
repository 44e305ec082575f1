//! The one shape of every API error: a 4xx (or 5xx) status with the JSON body of
//! [`wire::error`](crate::wire::error), `{"error":{"code":"…","message":"…","param":"…"}}`,
//! that names what was wrong. Handlers return [`ApiError`]; its response is built here only.
//!
//! Errors nobody wrote by hand — axum's `405` for a method a path does not answer, an
//! extractor's rejection (a path segment that is not UTF-8, a handshake that is no
//! WebSocket) — come as an empty or plain-text body; [`json_errors`] rewrites them into the
//! same shape, keeping their status and headers (`Allow`). What hyper refuses before any
//! route runs is rewritten where the connection is served
//! ([`listen`](super::listen)), by [`unparsable_request`].

use crate::wire::error::param;
use crate::wire::{ErrorBody, ErrorCode, ErrorDetail};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The most of a plain-text rejection that is kept as the error's message.
const MAX_REJECTION_TEXT: usize = 1024;

/// An error answer, before it becomes a response.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a program.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// The query parameter, header or body field at fault.
    pub param: Option<&'static str>,
}

impl ApiError {
    /// An error with no parameter at fault.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            param: None,
        }
    }

    /// A bad query parameter, header or field.
    pub fn bad_param(param: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            param: Some(param),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidParameter,
                message,
            )
        }
    }

    /// Nothing by that name.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// The same error, naming the field at fault.
    pub fn at(self, param: &'static str) -> ApiError {
        ApiError {
            param: Some(param),
            ..self
        }
    }
}

impl From<crate::wire::admin::FieldError> for ApiError {
    fn from(err: crate::wire::admin::FieldError) -> ApiError {
        ApiError::bad_param(err.field, err.message)
    }
}

impl ApiError {
    /// The documented JSON body of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                param: self.param.map(str::to_owned),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body.encode(),
        )
            .into_response()
    }
}

/// Rewrites a 4xx answer that is neither JSON nor a page (HTML) into the documented JSON
/// error, with the same status and headers; the plain text, if any, becomes the message.
pub async fn json_errors(request: Request, next: Next) -> Response {
    // Kept for the message; cheap (a shared buffer), not a copy per request.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    if !response.status().is_client_error() || has_own_body(&response) {
        return response;
    }
    let path = uri.path();
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_REJECTION_TEXT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let error = match parts.status {
        // (axum adds `Allow` after this layer has run: the client reads it there.)
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            parts.status,
            ErrorCode::MethodNotAllowed,
            format!("{path} does not answer {method}; the Allow header lists what it does"),
        ),
        StatusCode::NOT_FOUND => ApiError::not_found(format!("nothing at {path}")),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            parts.status,
            ErrorCode::TooLarge,
            "the request body is larger than the server accepts",
        ),
        status => ApiError::new(
            status,
            ErrorCode::BadRequest,
            if text.is_empty() {
                format!("{method} {path} could not be read as a request")
            } else {
                text
            },
        ),
    };
    let fresh = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, fresh.into_body())
}

/// Whether a response's body is already one a client can read as intended: JSON (ours), a
/// page, or an event stream.
fn has_own_body(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| {
            kind.starts_with("application/json")
                || kind.starts_with("text/html")
                || kind.starts_with("text/event-stream")
        })
}

/// The whole HTTP/1.1 answer to a request hyper could not parse — its request line or
/// headers are malformed, its path or query holds bytes that are not UTF-8 (`400`), its URI
/// (`414`) or head (`431`) is too large — with the documented JSON body that hyper's own
/// bodiless answer lacks. The connection closes after it.
pub fn unparsable_request(status: StatusCode) -> Vec<u8> {
    let message = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "the request's head (request line and headers) is larger than the server reads"
        }
        StatusCode::URI_TOO_LONG => "the request's URI is longer than the server reads",
        _ => {
            "the request could not be read as HTTP/1.1: a malformed request line or header, \
             or bytes that are not UTF-8 in its path or query (percent-encode them)"
        }
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: ErrorCode::BadRequest,
            message: message.to_owned(),
            param: Some(param::HEAD.to_owned()),
        },
    }
    .encode();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\nx-content-type-options: nosniff\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsable_request_gets_a_whole_response_with_the_json_body() {
        let bytes = unparsable_request(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let text = String::from_utf8(bytes).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        assert!(
            head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let error = ErrorBody::decode(body).expect("the documented body");
        assert_eq!(error.error.code, ErrorCode::BadRequest);
    }
}
