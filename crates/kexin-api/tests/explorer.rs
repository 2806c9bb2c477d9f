//! The web explorer as the router serves it: the page and its assets with their content types
//! and security headers, revalidation, and not-found answers (HTML for browsers outside `/v1`,
//! JSON for the API). The pages themselves are tested in a browser (`tests/browser/`).

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use kexin_crypto::Suite;
use tower::ServiceExt as _;

fn app() -> (tempfile::TempDir, Router) {
    let (node, dir) = common::one_node(Suite::Intl, "explorer-test", |_| {});
    (dir, kexin_api::router(node))
}

async fn get(app: &Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().method("GET").uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

const BROWSER: (&str, &str) = ("accept", "text/html,application/xhtml+xml,*/*;q=0.8");

#[tokio::test]
async fn serves_the_page_and_assets_with_security_headers() {
    let (_dir, app) = app();
    let (s, h, body) = get(&app, "/", &[BROWSER]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert!(body.contains("<html lang=\"en\">") && body.contains("/explorer/app.js"));
    let csp = h["content-security-policy"].to_str().unwrap();
    for d in [
        "default-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(d), "CSP {csp:?} lacks {d}");
    }
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-cache");

    for (path, ctype) in [
        ("/explorer/app.js", "text/javascript; charset=utf-8"),
        (
            "/explorer/pages/dashboard.js",
            "text/javascript; charset=utf-8",
        ),
        ("/explorer/lib/sm3.js", "text/javascript; charset=utf-8"),
        ("/explorer/style.css", "text/css; charset=utf-8"),
        ("/explorer/favicon.svg", "image/svg+xml"),
    ] {
        let (s, h, _) = get(&app, path, &[]).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(h["content-type"], ctype, "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn etag_revalidates() {
    let (_dir, app) = app();
    let (_, h, _) = get(&app, "/explorer/app.js", &[]).await;
    let tag = h["etag"].to_str().unwrap().to_owned();
    let (s, h2, body) = get(&app, "/explorer/app.js", &[("if-none-match", &tag)]).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(h2["etag"].to_str().unwrap(), tag);
    let (s, _, _) = get(&app, "/explorer/app.js", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn not_found_is_html_for_browsers_and_json_for_the_api() {
    let (_dir, app) = app();
    // A browser asking for a page that does not exist gets a page.
    for path in [
        "/no-such-page",
        "/explorer/no-such.js",
        "/explorer/test/qr.test.mjs",
    ] {
        let (s, h, body) = get(&app, path, &[BROWSER]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert!(body.contains("Page not found"), "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
    }
    // API clients, and anything under /v1, keep the JSON error.
    for (path, headers) in [
        ("/no-such-page", &[][..]),
        ("/explorer/no-such.js", &[][..]),
        ("/v1/no-such-route", &[BROWSER][..]),
        ("/explorer/../Cargo.toml", &[][..]),
    ] {
        let (s, h, body) = get(&app, path, headers).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(h["content-type"], "application/json", "{path}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn the_trace_page_is_served_at_each_product_address() {
    let (_dir, app) = app();
    for id in ["GOJI-2026-001", "a", "batch_7.v2", &"x".repeat(64)] {
        let path = format!("/explorer/trace/{id}");
        let (s, h, body) = get(&app, &path, &[BROWSER]).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert!(body.contains("/explorer/trace.js"), "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
    }
    let (s, h, body) = get(&app, "/explorer/trace.js", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert!(body.contains("batch"));
    // Ids the contract could never have registered: the not-found page.
    for path in [
        format!("/explorer/trace/{}", "x".repeat(65)),
        "/explorer/trace/GOJI%2F1".to_owned(),
        "/explorer/trace/a%20b".to_owned(),
    ] {
        let (s, _, body) = get(&app, &path, &[BROWSER]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("Page not found"), "{path}");
    }
}
