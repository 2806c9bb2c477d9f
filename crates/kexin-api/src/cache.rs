//! HTTP caching: an `ETag` on every successful read, `304 Not Modified` for a matching
//! `If-None-Match`, and a `Cache-Control` chosen by the route's [`Caching`].
//!
//! The entity tag hashes the exact body bytes, so one object answered with its private
//! metadata and with it withheld has two tags. Answers to signed reads still get a tag (the
//! client can revalidate), but [`crate::auth`] marks them `private, no-store` after this layer,
//! and `Vary` on the signed-read headers keeps shared caches from handing an anonymous answer
//! to a signed request. Errors are never stored (`Error` says `no-store` itself).
//!
//! Nothing here decides what is final: the route table says it for whole routes, and a
//! handler whose answer is final only sometimes (a block by height but not `latest`, a
//! committed but not a pending transaction) says it per answer with [`final_if`].

use axum::Extension;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// How a route's successful answers may be cached (`x-cache` in `openapi.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// Live or state-changing: never stored (`no-store`, no tag). Submissions, health.
    NoStore,
    /// May change: stored only to be revalidated (`no-cache` and a tag).
    Revalidate,
    /// Every successful answer is final (receipts, committed epochs): `public, max-age=1y,
    /// immutable`.
    Immutable,
    /// Final when the handler marks the answer final (a block by height or hash, not
    /// `latest`; a committed transaction, not a pending one); otherwise
    /// [`Revalidate`](Caching::Revalidate).
    WhenFinal,
}

impl Caching {
    /// The `x-cache` value that documents this policy in `openapi.json`.
    pub fn name(self) -> &'static str {
        match self {
            Caching::NoStore => "no-store",
            Caching::Revalidate => "revalidate",
            Caching::Immutable => "immutable",
            Caching::WhenFinal => "when-final",
        }
    }
}

/// `Cache-Control` of a final object answered to an anonymous request: the same for everyone.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of an answer that may change.
pub const REVALIDATE: &str = "no-cache";
/// `Cache-Control` of live answers, submissions and errors.
pub const NO_STORE: &str = "no-store";

/// Marks an answer as final (an object that can no longer change), for [`Caching::WhenFinal`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Final;

/// The response part that marks an answer final when `is_final`.
pub(crate) fn final_if(is_final: bool) -> Option<Extension<Final>> {
    is_final.then_some(Extension(Final))
}

/// Middleware applied to each route with its [`Caching`].
pub(crate) async fn apply(State(caching): State<Caching>, req: Request, next: Next) -> Response {
    let readable = matches!(*req.method(), Method::GET | Method::HEAD);
    let if_none_match = req.headers().get(IF_NONE_MATCH).cloned();
    let resp = next.run(req).await;
    if !resp.status().is_success() {
        return resp;
    }
    if !readable || caching == Caching::NoStore {
        let mut resp = resp;
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
        return resp;
    }
    let is_final = match caching {
        Caching::Immutable => true,
        Caching::WhenFinal => resp.extensions().get::<Final>().is_some(),
        Caching::NoStore | Caching::Revalidate => false,
    };
    let (mut parts, body) = resp.into_parts();
    // Handlers answer with bodies already in memory; this only collects them.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return crate::Error {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal",
                message: format!("cannot read the response body: {e}"),
            }
            .into_response();
        }
    };
    let tag = entity_tag(&bytes);
    let control = HeaderValue::from_static(if is_final { IMMUTABLE } else { REVALIDATE });
    if if_none_match.is_some_and(|v| matches_tag(&v, &tag)) {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, tag);
        headers.insert(CACHE_CONTROL, control);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    parts.headers.insert(ETAG, tag);
    parts.headers.insert(CACHE_CONTROL, control);
    Response::from_parts(parts, Body::from(bytes))
}

/// A strong entity tag over `body`: 128 bits of its SHA-256, quoted hex.
fn entity_tag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let tag = format!("\"{}\"", hex::encode(&digest[..16]));
    HeaderValue::from_str(&tag).expect("quoted hex is a valid header value")
}

/// Whether an `If-None-Match` value names `tag`: `*`, or a list of tags compared weakly (RFC
/// 9110 §13.1.2: a `W/` prefix is ignored).
fn matches_tag(header: &HeaderValue, tag: &HeaderValue) -> bool {
    let (Ok(header), Ok(tag)) = (header.to_str(), tag.to_str()) else {
        return false;
    };
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_compare_weakly() {
        let tag = entity_tag(b"{}");
        let t = tag.to_str().unwrap().to_owned();
        let hv = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(matches_tag(&hv(&t), &tag));
        assert!(matches_tag(&hv("*"), &tag));
        assert!(matches_tag(&hv(&format!("\"x\", W/{t}")), &tag));
        assert!(!matches_tag(&hv("\"x\""), &tag));
        assert!(!matches_tag(&hv(t.trim_matches('"')), &tag));
        assert_ne!(entity_tag(b"{}"), entity_tag(b"{ }"));
    }
}
