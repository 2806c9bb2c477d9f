//! The API contract: `openapi.json` (OpenAPI 3.1), embedded in the binary and served at
//! `GET /v1/openapi.json`.
//!
//! The document is written by hand and held to the code by `tests/openapi.rs`: it must
//! document exactly the routes of [`crate::routes`] with their caching, real answers must
//! validate against its schemas, and every error a bad request gets must be listed, with its
//! status and code, for that operation.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The OpenAPI 3.1 document of this API, as served at `GET /v1/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// `GET /v1/openapi.json`.
pub(crate) async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
