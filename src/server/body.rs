//! Reading a small JSON request body: refused with `413` past its cap and with `400`
//! (naming `body`) when it is not the expected JSON, before a handler acts on anything.

use super::error::ApiError;
use crate::wire::error::param;
use crate::wire::ErrorCode;
use axum::body::Body;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// Reads a body of at most `max` bytes into `T`; an empty body is read as `{}`.
pub async fn read_json<T: DeserializeOwned>(body: Body, max: usize) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!("the request body is larger than {max} bytes"),
        )
        .at(param::BODY)
    })?;
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..] // an empty body is an empty object
    } else {
        &bytes[..]
    };
    serde_json::from_slice(text).map_err(|err| {
        ApiError::bad_param(
            param::BODY,
            format!("the body is not the expected JSON: {err}"),
        )
    })
}
