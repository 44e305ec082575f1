//! The one shape of every API error: a 4xx (or 5xx) status with the JSON body of
//! [`wire::error`](crate::wire::error), `{"error":{"code":"…","message":"…","param":"…"}}`,
//! that names what was wrong. Handlers return [`ApiError`]; its response is built here only.

use crate::wire::{ErrorBody, ErrorCode, ErrorDetail};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                param: self.param.map(str::to_owned),
            },
        };
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
