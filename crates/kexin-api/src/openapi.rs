//! The API contract: `openapi.json` (OpenAPI 3.1), embedded in the binary and served at
//! `GET /v1/openapi.json`.
//!
//! The document is written by hand and held to the code by `tests/openapi.rs`: it must
//! document exactly the routes of [`crate::routes`] with their caching, real answers must
//! validate against its schemas, and every error a bad request gets must be listed, with its
//! status and code, for that operation.
//!
//! To add a route:
//! 1. add it to the table in `lib.rs` (`table()`) with its [`crate::Caching`];
//! 2. document it in `openapi.json` under `paths`: `operationId`, `summary`, `x-cache` (the
//!    caching's name), its parameters (every `{param}` of the path), and its responses: the
//!    success with its schema (objects with `additionalProperties: false` and `required`;
//!    reuse `components/schemas`), each error status with `x-error-codes` and the `ApiError`
//!    schema, `401` and `500` as `$ref`s to `components/responses`, and `304` when cacheable;
//!    an answer that is not JSON (HTML, `text/event-stream`, Prometheus text) is documented
//!    with its media type and is exempt from schema validation;
//! 3. call it in `real_answers_validate_against_the_document` (the test fails for a JSON
//!    operation whose success answer was never checked) and its bad inputs in
//!    `bad_requests_get_documented_errors`.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The OpenAPI 3.1 document of this API, as served at `GET /v1/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// `GET /v1/openapi.json`.
pub(crate) async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
