//! API errors: a stable code, a message and an HTTP status.

use axum::Json;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
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
        // A 500 is a fault of this node; other 5xx answers (a full event-stream table, an
        // engine that stopped) refuse load or report a state logged where it arose.
        if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(code = self.code, "{}", self.message);
        } else if self.status.is_server_error() {
            tracing::warn!(code = self.code, "{}", self.message);
        }
        let body = ApiError {
            code: self.code.to_owned(),
            message: self.message,
        };
        // An error is about this moment (a block not yet made, a node not yet ready): never
        // stored by caches.
        (
            self.status,
            [(CACHE_CONTROL, crate::cache::NO_STORE)],
            Json(body),
        )
            .into_response()
    }
}

/// Middleware: the few errors axum answers itself in plain text, on `/v1/` routes, answered
/// as JSON errors instead: a path segment that does not percent-decode to UTF-8
/// (`invalid_path`). Handlers answer every other bad input with their own codes; other
/// routes (pages, metrics) keep their own error bodies.
pub(crate) async fn json_rejections(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/v1/");
    let resp = next.run(req).await;
    let status = resp.status();
    let plain_text = resp
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !api || !plain_text || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "invalid_path",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    };
    Error {
        status,
        code,
        message: if text.is_empty() {
            status.to_string()
        } else {
            text
        },
    }
    .into_response()
}

/// The answer to a known path with a method it does not take (axum adds `Allow`).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> Error {
    Error {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: format!("{} does not take {method}", uri.path()),
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
