//! The web explorer: static HTML, CSS and ES modules embedded in the binary, served at `/`
//! (the page) and `/explorer/{file}` (its assets). The explorer talks only to the public
//! `/v1` API of the node that served it.
//!
//! Every explorer response carries a Content-Security-Policy that allows nothing but this
//! origin (and `data:` images, for the QR code), `X-Content-Type-Options: nosniff` and
//! `Cache-Control: no-cache` with an `ETag`, so a browser revalidates cheaply and never runs
//! stale code after an upgrade.
//!
//! For development, `KEXIN_EXPLORER_DIR=crates/kexin-api/explorer` makes the node read the
//! files from that directory on every request instead of the embedded copies.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kexin_node::Node;

/// The policy of every explorer response: this origin only; images also from `data:` URLs.
pub(crate) const CSP: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file, by its path under `explorer/`.
struct Asset {
    path: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, body: include_bytes!(concat!("../explorer/", $path)) }),*]
    };
}

/// Every file the explorer needs (the unit test below checks none under `explorer/` is
/// missing, except the JavaScript unit tests in `explorer/test/`).
static ASSETS: &[Asset] = assets![
    "index.html",
    "trace.html",
    "trace.js",
    "style.css",
    "favicon.svg",
    "app.js",
    "api.js",
    "dom.js",
    "chart.js",
    "der.js",
    "pages/dashboard.js",
    "pages/block.js",
    "pages/tx.js",
    "pages/evidence.js",
    "pages/receipt.js",
    "pages/org.js",
    "pages/validator.js",
    "pages/gov.js",
    "pages/verify.js",
    "pages/search.js",
    "pages/contract.js",
    "pages/receivable.js",
    "pages/receivables.js",
    "lib/encoding.js",
    "lib/hash.js",
    "lib/json.js",
    "lib/md.js",
    "lib/merkle.js",
    "lib/parse.js",
    "lib/qr.js",
    "lib/receipt.js",
    "lib/sha256.js",
    "lib/signature.js",
    "lib/sm2.js",
    "lib/sm3.js",
];

/// The explorer's routes.
pub(crate) fn router() -> Router<Arc<Node>> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/explorer/trace/{product}", get(trace_page))
        .route("/explorer/{*path}", get(asset))
}

/// `GET /explorer/trace/{product-id}`: the public trace page of a product batch, the address
/// its label's QR code carries (`kexin trace qr`). The page reads the batch from the contract
/// the consortium named `trace`; an id the contract could never have registered (1 to 64 of
/// `A-Z a-z 0-9 . _ -`) is answered 404 here.
async fn trace_page(Path(product): Path<String>, headers: HeaderMap) -> Response {
    if !is_product_id(&product) {
        return not_found_page();
    }
    serve("trace.html", &headers)
}

/// Whether `id` is a product id the traceability contract accepts.
pub(crate) fn is_product_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The answer for a path no route matched: a friendly HTML page for a browser asking for a
/// page outside `/v1`, the API's JSON `not_found` for everyone else.
pub(crate) async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if wants_html(&method, &uri, &headers) {
        return not_found_page();
    }
    crate::routes::fallback(method, uri).await.into_response()
}

fn wants_html(method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    let path = uri.path();
    let api = path == "/v1" || path.starts_with("/v1/") || path == "/metrics";
    (method == Method::GET || method == Method::HEAD) && !api && accepts_html(headers)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

const NOT_FOUND_PAGE: &str = "<!doctype html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Page not found · Kexin explorer</title>
<link rel=\"icon\" href=\"/explorer/favicon.svg\" type=\"image/svg+xml\">
<link rel=\"stylesheet\" href=\"/explorer/style.css\">
</head>
<body>
<header class=\"topbar\"><div class=\"topbar-inner\"><a class=\"brand\" href=\"/\">Kexin <span>explorer</span></a></div></header>
<main id=\"main\" class=\"page\">
<h1>Page not found</h1>
<p class=\"notice\">There is no page at this address. The explorer is at <a href=\"/\">the start page</a>; the API is under <code>/v1</code>.</p>
</main>
</body>
</html>
";

fn not_found_page() -> Response {
    let mut response = (StatusCode::NOT_FOUND, NOT_FOUND_PAGE).into_response();
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    security_headers(h);
    response
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// FNV-1a over the body: a strong validator for an immutable, embedded file.
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{}\"", body.len())
}

/// The body of `path`: from `KEXIN_EXPLORER_DIR` when set (development), else embedded.
fn body(path: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
    if let Some(dir) = std::env::var_os("KEXIN_EXPLORER_DIR") {
        let rel = std::path::Path::new(path);
        let plain = rel.components().all(|c| match c {
            std::path::Component::Normal(s) => !s.to_string_lossy().starts_with('.'),
            _ => false,
        });
        if !plain || path.starts_with("test/") {
            return None;
        }
        return std::fs::read(std::path::Path::new(&dir).join(rel))
            .ok()
            .map(Into::into);
    }
    ASSETS
        .iter()
        .find(|a| a.path == path)
        .map(|a| std::borrow::Cow::Borrowed(a.body))
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let (Some(ctype), Some(body)) = (content_type(path), body(path)) else {
        if accepts_html(headers) {
            return not_found_page();
        }
        let mut response =
            crate::error::Error::not_found(format!("no explorer file {path}")).into_response();
        security_headers(response.headers_mut());
        return response;
    };
    let tag = etag(&body);
    let fresh = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == tag || t.trim() == "*");
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_owned().into_response()
    };
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(ETAG, v);
    }
    security_headers(h);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name.starts_with('.') {
                continue;
            }
            let rel = format!("{prefix}{name}");
            if entry.file_type().unwrap().is_dir() {
                if rel != "test" {
                    files_under(&entry.path(), &format!("{rel}/"), out);
                }
            } else {
                out.push(rel);
            }
        }
    }

    #[test]
    fn every_explorer_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("explorer");
        let mut files = Vec::new();
        files_under(&root, "", &mut files);
        files.sort();
        assert!(files.contains(&"index.html".to_owned()));
        for f in &files {
            assert!(
                ASSETS.iter().any(|a| a.path == f),
                "explorer/{f} is not listed in ASSETS (explorer.rs), so the binary would not serve it"
            );
            assert!(content_type(f).is_some(), "no content type for {f}");
        }
        for a in ASSETS {
            assert!(
                files.iter().any(|f| f == a.path),
                "{} listed, not on disk",
                a.path
            );
        }
    }

    #[test]
    fn content_types_and_etags() {
        assert_eq!(
            content_type("app.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type("style.css"), Some("text/css; charset=utf-8"));
        assert_eq!(content_type("x"), None);
        assert_ne!(etag(b"a"), etag(b"b"));
        assert_eq!(etag(b"a"), etag(b"a"));
    }
}
