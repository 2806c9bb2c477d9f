//! API errors: a stable code, a message and an HTTP status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kexin_ledger::LedgerError;
use kexin_node::SubmitError;
use kexin_types::api::ApiError;

/// An error answer: `{"code", "message"}` with a status.
#[derive(Debug)]
pub struct Error {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
}

impl Error {
    /// A 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Error {
        Error {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, "{}", self.message);
        }
        let body = ApiError {
            code: self.code.to_owned(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Error {
        match &e {
            LedgerError::LogSizeOutOfRange { .. } | LedgerError::InvalidProofRequest(_) => {
                Error::bad_request(e.code(), e.to_string())
            }
            _ => Error {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal",
                message: format!("storage error: {e}"),
            },
        }
    }
}

impl From<SubmitError> for Error {
    fn from(e: SubmitError) -> Error {
        let code = e.code();
        let status = match code {
            "nonce_replayed" | "nonce_conflict" => StatusCode::CONFLICT,
            "mempool_full" => StatusCode::TOO_MANY_REQUESTS,
            "permission_denied" => StatusCode::FORBIDDEN,
            "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "internal" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Error {
            status,
            code,
            message: e.to_string(),
        }
    }
}
