//! Signed reads: who is asking, checked once per request, and which records' private metadata
//! they may see.
//!
//! A request without any `Kexin-*` authentication header is anonymous. A request with any of
//! them must carry all three and pass every check, or it is refused with 401 and a stable
//! code — never answered as if anonymous, so a client whose identity is refused learns it
//! instead of silently getting less. The checks, in order (`docs/pki.md`, "Signed reads"):
//!
//! 1. the headers are present once each and well formed (`auth_malformed`);
//! 2. the chain has organisations (`no_organisations`: on an open chain everything is public
//!    and there is no CA to check a certificate against);
//! 3. the timestamp is within 5 minutes of the node's clock (`auth_stale`);
//! 4. the certificate parses, with a key of the chain's suite (`cert_malformed`; `wrong_suite`
//!    for a key of the other suite, `cert_wrong_algorithm` for any other key);
//! 5. the signature verifies under that key for this chain, method, path-and-query and
//!    timestamp (`auth_bad_signature`);
//! 6. the certificate passes the checks of a transaction's attached certificate, at the node's
//!    clock — canonical DER, a member organisation, one of its current CAs, the profile,
//!    validity — and the registry has not revoked it (`kexin_exec::check_certificate`:
//!    `cert_*`, `unknown_org`, `cert_revoked`; a certificate of another CA that took the
//!    organisation's name, as another chain's has, is `cert_wrong_ca`).
//!
//! Valid credentials whose role does not cover a record only get that record's metadata
//! withheld (`"metadata": "withheld"`), like an anonymous request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, VARY, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kexin_crypto::Hash;
use kexin_node::{LedgerView, Node};
use kexin_types::signed_read::{
    self, CERTIFICATE_HEADER, SIGNATURE_HEADER, SignedReadError, TIMESTAMP_HEADER,
};
use kexin_types::state::StateKey;
use kexin_types::{CertDer, CertState, Decode, Permission, Role, Transaction};

use crate::error::Error;

/// Who made a request, as established by [`authenticate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Requester {
    /// No authentication headers.
    Anonymous,
    /// A checked certificate of a member organisation.
    Member {
        /// The certificate id.
        id: Hash,
        /// Its organisation.
        org: String,
        /// Its holder.
        name: String,
        /// Its role.
        role: Role,
    },
}

/// What a request may see of private metadata.
#[derive(Clone, Debug)]
pub(crate) struct Reader {
    /// Who asks.
    pub requester: Requester,
    /// The chain has no organisations: metadata is public.
    pub open_chain: bool,
}

impl Reader {
    /// Whether the metadata of records written under a certificate of `owner` (`None`: not
    /// known) may be shown: on an open chain always; otherwise to an auditor, or to a reader
    /// of the owning organisation.
    pub fn may_read(&self, owner: Option<&str>) -> bool {
        if self.open_chain {
            return true;
        }
        match &self.requester {
            Requester::Anonymous => false,
            Requester::Member { org, role, .. } => role.may_read_metadata(org, owner),
        }
    }

    /// [`Reader::may_read`], looking the owner up only when the answer depends on it.
    pub fn may_read_owned_by(
        &self,
        owner: impl FnOnce() -> Result<Option<String>, Error>,
    ) -> Result<bool, Error> {
        match &self.requester {
            _ if self.open_chain => Ok(true),
            Requester::Anonymous => Ok(false),
            // An auditor reads whoever the owner is; a role without a read permission reads
            // nobody's; only a reader's answer depends on the owner.
            Requester::Member { org, role, .. } if role.may_read_metadata(org, None) => Ok(true),
            Requester::Member { role, .. } if !role.may(Permission::ReadMetadata) => Ok(false),
            Requester::Member { .. } => Ok(self.may_read(owner()?.as_deref())),
        }
    }
}

/// The organisation that owns a transaction's records: that of the certificate it was signed
/// under, from the registry (a committed transaction's certificate is registered), or from the
/// attached certificate of a transaction still pending. `None` on an open chain or when it
/// cannot be told.
pub(crate) fn owner_org(node: &Node, tx: &Transaction) -> Result<Option<String>, Error> {
    let Some(id) = tx.cert else {
        return Ok(None);
    };
    if let Some(bytes) = node.ledger().state_get(&StateKey::Cert(id))? {
        let state = CertState::decode(&bytes)
            .map_err(|e| Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string())))?;
        return Ok(Some(state.org));
    }
    Ok(tx
        .attached_cert
        .as_ref()
        .and_then(|der| kexin_pki::Certificate::from_der(der.as_bytes()).ok())
        .and_then(|c| c.org()))
}

/// The organisation of the certificate `id`, from the registry.
pub(crate) fn cert_org(node: &Node, id: &Hash) -> Result<Option<String>, Error> {
    match node.ledger().state_get(&StateKey::Cert(*id))? {
        None => Ok(None),
        Some(bytes) => CertState::decode(&bytes)
            .map(|s| Some(s.org))
            .map_err(|e| Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string()))),
    }
}

/// Middleware: establishes the [`Reader`] of every request (as a request extension), refusing
/// bad credentials with 401. Responses vary by the authentication headers, and those to
/// signed requests are not to be stored by caches.
pub(crate) async fn authenticate(
    State(node): State<Arc<Node>>,
    mut req: Request,
    next: Next,
) -> Response {
    let signed = [CERTIFICATE_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]
        .iter()
        .any(|h| req.headers().contains_key(*h));
    let open_chain = !node.genesis().is_permissioned();
    let requester = if signed {
        let checked = match credentials(&req) {
            Ok(c) => check(&node, c).await,
            Err(e) => Err(e),
        };
        match checked {
            Ok(r) => {
                if let Requester::Member {
                    id,
                    org,
                    name,
                    role,
                } = &r
                {
                    tracing::debug!(
                        cert = %id, %org, %name, %role,
                        method = %req.method(), path = %req.uri().path(),
                        "signed read"
                    );
                }
                r
            }
            Err(e) => {
                tracing::debug!(code = e.code, "signed read refused: {}", e.message);
                let mut resp = e.into_response();
                decorate(resp.headers_mut(), true);
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "Kexin-Signature realm=\"{}\"",
                    node.genesis().chain_id
                )) {
                    resp.headers_mut().insert(WWW_AUTHENTICATE, v);
                }
                return resp;
            }
        }
    } else {
        Requester::Anonymous
    };
    req.extensions_mut().insert(Reader {
        requester,
        open_chain,
    });
    let mut resp = next.run(req).await;
    decorate(resp.headers_mut(), signed);
    resp
}

fn decorate(headers: &mut HeaderMap, signed: bool) {
    headers.insert(
        VARY,
        HeaderValue::from_static("kexin-certificate, kexin-timestamp, kexin-signature"),
    );
    if signed {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
}

fn unauthorized(code: &'static str, message: impl Into<String>) -> Error {
    Error {
        status: StatusCode::UNAUTHORIZED,
        code,
        message: message.into(),
    }
}

fn read_error(e: SignedReadError) -> Error {
    unauthorized(e.code(), e.to_string())
}

/// The one value of header `name`, as text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, Error> {
    let mut values = headers.get_all(name).iter();
    let value = values.next().ok_or_else(|| {
        unauthorized(
            "auth_malformed",
            format!(
                "a signed read needs all of {CERTIFICATE_HEADER}, {TIMESTAMP_HEADER} and \
                 {SIGNATURE_HEADER}; {name} is missing"
            ),
        )
    })?;
    if values.next().is_some() {
        return Err(unauthorized(
            "auth_malformed",
            format!("{name} is given more than once"),
        ));
    }
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| unauthorized("auth_malformed", format!("{name} is not ASCII")))
}

/// Wall-clock milliseconds since the Unix epoch: the node's clock for freshness and validity.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A signed read's parts, as sent.
struct Credentials {
    der: Vec<u8>,
    timestamp_ms: u64,
    signature: kexin_crypto::Signature,
    method: String,
    target: String,
}

/// Check 1: the headers, method and target are well formed.
fn credentials(req: &Request) -> Result<Credentials, Error> {
    let headers = req.headers();
    let der =
        signed_read::parse_certificate(header(headers, CERTIFICATE_HEADER)?).map_err(read_error)?;
    let timestamp_ms =
        signed_read::parse_timestamp(header(headers, TIMESTAMP_HEADER)?).map_err(read_error)?;
    let signature =
        signed_read::parse_signature(header(headers, SIGNATURE_HEADER)?).map_err(read_error)?;
    // The request target as sent: origin-form requests carry exactly the path and query.
    let method = req.method().as_str().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    signed_read::message(&method, &target, timestamp_ms).map_err(read_error)?;
    Ok(Credentials {
        der,
        timestamp_ms,
        signature,
        method,
        target,
    })
}

/// The checks of the module documentation, in order.
async fn check(node: &Arc<Node>, credentials: Credentials) -> Result<Requester, Error> {
    let Credentials {
        der,
        timestamp_ms,
        signature,
        method,
        target,
    } = credentials;
    let genesis = node.genesis();
    if !genesis.is_permissioned() {
        return Err(unauthorized(
            "no_organisations",
            format!(
                "chain {} has no organisations: there are no certificates to sign reads with, \
                 and every record's metadata is public; send the request unsigned",
                genesis.chain_id
            ),
        ));
    }
    signed_read::check_fresh(timestamp_ms, now_ms()).map_err(read_error)?;

    let node = node.clone();
    crate::routes::blocking(&node, move |n| {
        let genesis = n.genesis();
        let suite = genesis.suite;
        let pki = |e: kexin_pki::PkiError| unauthorized(e.code(), e.to_string());
        let cert = kexin_pki::Certificate::from_der(&der).map_err(pki)?;
        let key = cert.public_key(suite).map_err(|e| {
            // A key of the other suite gets the code a transaction signed by one gets.
            let other = match suite {
                kexin_crypto::Suite::Intl => kexin_crypto::Suite::Gm,
                kexin_crypto::Suite::Gm => kexin_crypto::Suite::Intl,
            };
            if cert.public_key(other).is_ok() {
                unauthorized(
                    "wrong_suite",
                    format!(
                        "the certificate's key is a key of the {other} suite; chain {} uses \
                         the {suite} suite",
                        genesis.chain_id
                    ),
                )
            } else {
                pki(e)
            }
        })?;
        signed_read::verify(
            &key,
            &genesis.chain_id,
            &method,
            &target,
            timestamp_ms,
            &signature,
        )
        .map_err(read_error)?;
        let der = CertDer(der);
        let ctx = kexin_exec::BlockContext {
            genesis,
            height: n.ledger().height() + 1,
            timestamp_ms: now_ms(),
        };
        let state = kexin_exec::check_certificate(&LedgerView::committed(n.ledger()), &ctx, &der)
            .map_err(|e| Error {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal",
                message: format!("cannot check the certificate: {e}"),
            })?
            .map_err(|r| unauthorized(r.code(), r.to_string()))?;
        Ok(Requester::Member {
            id: der.id(suite),
            org: state.org,
            name: state.name,
            role: state.role,
        })
    })
    .await
}
