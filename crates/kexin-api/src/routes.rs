//! The `/v1` handlers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use kexin_crypto::{Hash, PublicKey};
use kexin_ledger::Ledger;
use kexin_node::Node;
use kexin_types::api::*;
use kexin_types::state::{EvidenceState, NonceState, StateKey};
use kexin_types::{Block, CertState, CommitCertificate, Decode, OrgState, ProposalState, SealedTx};
use serde::Deserialize;

use crate::auth::{self, Reader};
use crate::cache;
use crate::error::Error;

type Result<T> = std::result::Result<T, Error>;
type AppState = State<Arc<Node>>;

/// Most records returned by one evidence query.
pub const MAX_EVIDENCE_PAGE: usize = 1000;
/// Records returned by an evidence query without `limit`.
pub const DEFAULT_EVIDENCE_PAGE: usize = 100;

/// Most transactions in one `POST /v1/transactions/batch`.
pub const MAX_SUBMIT_BATCH: usize = 4096;

/// Runs ledger work off the async reactor.
pub(crate) async fn blocking<T: Send + 'static>(
    node: &Arc<Node>,
    f: impl FnOnce(&Node) -> Result<T> + Send + 'static,
) -> Result<T> {
    let node = node.clone();
    tokio::task::spawn_blocking(move || f(&node))
        .await
        .map_err(|e| Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: format!("worker failed: {e}"),
        })?
}

fn parse_hash(what: &str, s: &str) -> Result<Hash> {
    Hash::from_hex(s).map_err(|e| {
        Error::bad_request(
            "invalid_hash",
            format!("{what} must be 64 hex characters: {}", e.0),
        )
    })
}

fn read_body(body: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
    body.map_err(|e| Error {
        status: e.status(),
        code: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "invalid_body"
        },
        message: format!("cannot read the request body: {e}"),
    })
}

/// Submissions must be sent as `Content-Type: application/json` (parameters such as
/// `charset` aside), else 415 `unsupported_media_type`. A browser sends `text/plain`, form and
/// multipart bodies to another site without asking it first (a CORS "simple" request); a JSON
/// body needs a preflight, which this API, sending no CORS headers, never grants. So a page
/// on another site cannot make a visitor's browser submit to a node it can reach.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<()> {
    let given = headers
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let media = given
        .as_deref()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if media.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
        return Ok(());
    }
    Err(Error {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "unsupported_media_type",
        message: match given {
            Some(v) => {
                format!("the body must be sent as Content-Type: application/json, not {v:?}")
            }
            None => "the body must be sent as Content-Type: application/json (none given)".into(),
        },
    })
}

pub(crate) async fn submit(
    State(node): AppState,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse> {
    require_json(&headers)?;
    let body = read_body(body)?;
    let req: SubmitRequest = serde_json::from_slice(&body).map_err(|e| {
        Error::bad_request(
            "invalid_json",
            format!("body must be JSON {{\"tx\": \"<hex>\"}}: {e}"),
        )
    })?;
    let bytes = hex::decode(req.tx.trim()).map_err(|e| {
        Error::bad_request("invalid_hex", format!("field tx is not valid hex: {e}"))
    })?;
    let (hash, _) = blocking(&node, move |n| n.submit(&bytes).map_err(Error::from)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SubmitResponse {
            hash,
            status: TxState::Pending,
        }),
    ))
}

/// `POST /v1/transactions/batch`: the whole request is refused (nothing admitted) when it is
/// malformed, too big, or holds an item that is not hex; otherwise each transaction gets its
/// own result, in order.
pub(crate) async fn submit_batch(
    State(node): AppState,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse> {
    require_json(&headers)?;
    let body = read_body(body)?;
    let req: SubmitBatchRequest = serde_json::from_slice(&body).map_err(|e| {
        Error::bad_request(
            "invalid_json",
            format!("body must be JSON {{\"txs\": [\"<hex>\", ...]}}: {e}"),
        )
    })?;
    if req.txs.is_empty() {
        return Err(Error::bad_request(
            "empty_batch",
            "txs must hold at least one transaction",
        ));
    }
    if req.txs.len() > MAX_SUBMIT_BATCH {
        return Err(Error::bad_request(
            "batch_too_large",
            format!(
                "{} transactions in one batch; the limit is {MAX_SUBMIT_BATCH}",
                req.txs.len()
            ),
        ));
    }
    let txs = req
        .txs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            hex::decode(t.trim()).map_err(|e| {
                Error::bad_request("invalid_hex", format!("txs[{i}] is not valid hex: {e}"))
            })
        })
        .collect::<Result<Vec<Vec<u8>>>>()?;
    let outcomes = blocking(&node, move |n| {
        let results = n.submit_batch(&txs).map_err(Error::from)?;
        Ok(txs
            .iter()
            .zip(results)
            .map(|(bytes, r)| match r {
                Ok((hash, _)) => BatchItemResult {
                    hash: Some(hash),
                    status: Some(TxState::Pending),
                    error: None,
                },
                Err(e) => BatchItemResult {
                    hash: kexin_types::decode_transaction(bytes)
                        .ok()
                        .map(|t| SealedTx::new(t).hash()),
                    status: None,
                    error: Some(ApiError {
                        code: e.code().to_owned(),
                        message: e.to_string(),
                    }),
                },
            })
            .collect::<Vec<_>>())
    })
    .await?;
    let accepted = outcomes.iter().filter(|o| o.status.is_some()).count();
    Ok((
        StatusCode::OK,
        Json(SubmitBatchResponse {
            results: outcomes,
            accepted,
        }),
    ))
}

/// Where a transaction stands, and the transaction itself when `with_body`.
fn lookup(node: &Node, hash: Hash, with_body: bool) -> Result<TxResponseParts> {
    if with_body {
        if let Some((tx, loc)) = node.ledger().transaction(&hash)? {
            let status = TxStatusResponse::committed(hash, loc.height, loc.tx_index, loc.log_index);
            return Ok((status, Some(tx)));
        }
    } else if let Some(loc) = node.ledger().tx_location(&hash)? {
        let status = TxStatusResponse::committed(hash, loc.height, loc.tx_index, loc.log_index);
        return Ok((status, None));
    }
    match node.mempool().get(&hash) {
        Some(tx) => {
            let status = match node.engine_error() {
                None => TxStatusResponse::pending(hash),
                Some(why) => TxStatusResponse::dropped(
                    hash,
                    "unavailable".into(),
                    format!(
                        "this node's consensus engine stopped ({why}): it will not include the \
                         transaction; submit it to another node"
                    ),
                ),
            };
            Ok((status, with_body.then(|| tx.tx().clone())))
        }
        None => match node.mempool().rejection(&hash) {
            Some(r) if !with_body => {
                Ok((TxStatusResponse::rejected(hash, r.code, r.message), None))
            }
            Some(r) => Err(Error::not_found(format!(
                "transaction {hash} was rejected and not kept: {}: {}",
                r.code, r.message
            ))),
            None => Err(Error::not_found(format!("no transaction {hash}"))),
        },
    }
}

type TxResponseParts = (TxStatusResponse, Option<kexin_types::Transaction>);

/// `GET /v1/transactions/{hash}`: the records' metadata only for a requester who may read it.
/// Final (cacheable as immutable) once committed.
pub(crate) async fn transaction(
    State(node): AppState,
    Extension(reader): Extension<Reader>,
    Path(hash): Path<String>,
) -> Result<impl IntoResponse> {
    let hash = parse_hash("transaction hash", &hash)?;
    blocking(&node, move |n| {
        let (status, tx) = lookup(n, hash, true)?;
        let tx = tx.expect("lookup with a body returns the transaction");
        let disclose = reader.may_read_owned_by(|| auth::owner_org(n, &tx))?;
        let decoded = match n.ledger().tx_outcome(&hash)? {
            Some((o, _)) if matches!(tx.payload.kind(), 7..=9) => {
                crate::contracts::Abis::default().tx(n, &tx, &o)?
            }
            _ => None,
        };
        let outcome = if status.status == TxState::Committed {
            Some(match n.ledger().tx_outcome(&hash)? {
                Some((outcome, committed)) => TxOutcomeView { outcome, committed },
                None => TxOutcomeView {
                    outcome: kexin_types::Outcome::success(
                        kexin_exec::tx_cost(&kexin_types::SealedTx::new(tx.clone())),
                        Vec::new(),
                    ),
                    committed: false,
                },
            })
        } else {
            None
        };
        Ok((
            cache::final_if(status.status == TxState::Committed),
            Json(TxResponse {
                status,
                transaction: TxView::new(&tx, disclose),
                outcome,
                decoded,
            }),
        ))
    })
    .await
}

pub(crate) async fn transaction_status(
    State(node): AppState,
    Path(hash): Path<String>,
) -> Result<Json<TxStatusResponse>> {
    let hash = parse_hash("transaction hash", &hash)?;
    blocking(&node, move |n| Ok(Json(lookup(n, hash, false)?.0))).await
}

/// `GET /v1/transactions/{hash}/receipts`: the records' metadata only for a requester who may
/// read it; digests, metadata hashes and proofs for everyone.
pub(crate) async fn receipts(
    State(node): AppState,
    Extension(reader): Extension<Reader>,
    Path(hash): Path<String>,
) -> Result<Json<ReceiptsResponse>> {
    let hash = parse_hash("transaction hash", &hash)?;
    blocking(&node, move |n| match n.ledger().receipts(&hash)? {
        Some(receipts) => {
            let cert = receipts.first().and_then(|r| r.transaction.summary.cert);
            let disclose = reader.may_read_owned_by(|| match cert {
                Some(id) => auth::cert_org(n, &id),
                None => Ok(None),
            })?;
            let receipts = if disclose {
                receipts
            } else {
                receipts.into_iter().map(|r| r.withheld()).collect()
            };
            Ok(Json(ReceiptsResponse {
                tx_hash: hash,
                receipts,
            }))
        }
        None if n.mempool().get(&hash).is_some() => Err(Error::not_found(format!(
            "transaction {hash} is pending: receipts exist once it is committed"
        ))),
        None => Err(Error::not_found(format!("no committed transaction {hash}"))),
    })
    .await
}

/// `GET /v1/transactions/{hash}/receipt`: the receipt of the transaction itself, for any
/// payload kind. The payload is carried unless it is private (evidence records, an audit
/// note's text) and the requester may not read it.
pub(crate) async fn tx_receipt(
    State(node): AppState,
    Extension(reader): Extension<Reader>,
    Path(hash): Path<String>,
) -> Result<Json<kexin_types::TxReceipt>> {
    let hash = parse_hash("transaction hash", &hash)?;
    blocking(&node, move |n| match n.ledger().tx_receipt(&hash)? {
        Some(receipt) => {
            let private = matches!(
                receipt.payload,
                Some(
                    kexin_types::Payload::Evidence { .. } | kexin_types::Payload::AuditNote { .. }
                )
            );
            let cert = receipt.transaction.summary.cert;
            let disclose = !private
                || reader.may_read_owned_by(|| match cert {
                    Some(id) => auth::cert_org(n, &id),
                    None => Ok(None),
                })?;
            Ok(Json(if disclose {
                receipt
            } else {
                receipt.withheld()
            }))
        }
        None if n.mempool().get(&hash).is_some() => Err(Error::not_found(format!(
            "transaction {hash} is pending: its receipt exists once it is committed"
        ))),
        None => Err(Error::not_found(format!("no committed transaction {hash}"))),
    })
    .await
}

/// `GET /v1/audit-notes/{subject}`: the audit notes about a hash, oldest first; each note's
/// text only for auditors and readers of the auditor's organisation.
pub(crate) async fn audit_notes(
    State(node): AppState,
    Extension(reader): Extension<Reader>,
    Path(subject): Path<String>,
    query: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<AuditNotesResponse>> {
    let subject = parse_hash("subject", &subject)?;
    let limit = page_limit(query)?;
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let corrupt = |what: String| Error::from(kexin_ledger::LedgerError::Corrupt(what));
        let mut notes = Vec::new();
        for loc in ledger.audit_notes(&subject, limit)? {
            let (tx, _) = ledger
                .transaction(&loc.tx_hash)?
                .ok_or_else(|| corrupt(format!("note index names missing tx {}", loc.tx_hash)))?;
            let kexin_types::Payload::AuditNote { text, .. } = tx.payload else {
                return Err(corrupt(format!(
                    "note index names tx {} that is no note",
                    loc.tx_hash
                )));
            };
            let (header, _) = ledger
                .header(loc.height)?
                .ok_or_else(|| corrupt(format!("note index names missing block {}", loc.height)))?;
            let org = match tx.cert {
                Some(id) => auth::cert_org(n, &id)?,
                None => None,
            };
            let disclose = reader.may_read(org.as_deref());
            notes.push(AuditNoteEntry {
                tx_hash: loc.tx_hash,
                height: loc.height,
                tx_index: loc.tx_index,
                timestamp_ms: header.timestamp_ms,
                org,
                cert: tx.cert,
                text: disclose.then_some(text),
            });
        }
        if notes.is_empty() {
            return Err(Error::not_found(format!("no audit notes about {subject}")));
        }
        Ok(Json(AuditNotesResponse { subject, notes }))
    })
    .await
}

fn block_response(ledger: &Ledger, block: Block, certificate: CommitCertificate) -> BlockResponse {
    let suite = ledger.genesis().suite;
    BlockResponse {
        hash: block.header.hash(suite),
        transactions: block
            .transactions
            .into_iter()
            .map(|t| SealedTx::new(t).hash())
            .collect(),
        header: block.header,
        certificate,
    }
}

/// `GET /v1/blocks/{id}`: final (cacheable as immutable) by height or hash, not `latest`.
pub(crate) async fn block(
    State(node): AppState,
    Path(id): Path<String>,
) -> Result<impl IntoResponse> {
    enum Id {
        Latest,
        Height(u64),
        Hash(Hash),
    }
    let id = if id == "latest" {
        Id::Latest
    } else if id.len() == 64 {
        Id::Hash(parse_hash("block hash", &id)?)
    } else {
        Id::Height(id.parse().map_err(|_| {
            Error::bad_request(
                "invalid_block_id",
                format!("{id:?} is not a height, a 64-hex block hash or \"latest\""),
            )
        })?)
    };
    let is_final = !matches!(id, Id::Latest);
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let found = match id {
            Id::Latest => match ledger.height() {
                0 => None,
                h => ledger.block(h)?,
            },
            Id::Height(h) => ledger.block(h)?,
            Id::Hash(h) => ledger.block_by_hash(&h)?,
        };
        let (block, cert) = found.ok_or_else(|| Error::not_found("no such block"))?;
        Ok((
            cache::final_if(is_final),
            Json(block_response(ledger, block, cert)),
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    limit: Option<usize>,
}

/// The `?limit=` of an evidence or audit-note page: 1..=[`MAX_EVIDENCE_PAGE`], by default
/// [`DEFAULT_EVIDENCE_PAGE`].
fn page_limit(query: std::result::Result<Query<PageQuery>, QueryRejection>) -> Result<usize> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_EVIDENCE_PAGE);
    if limit == 0 || limit > MAX_EVIDENCE_PAGE {
        return Err(Error::bad_request(
            "invalid_query",
            format!("limit must be 1..={MAX_EVIDENCE_PAGE}, got {limit}"),
        ));
    }
    Ok(limit)
}

/// `GET /v1/evidence/{digest}`: each record's metadata only for a requester who may read it.
pub(crate) async fn evidence(
    State(node): AppState,
    Extension(reader): Extension<Reader>,
    Path(digest): Path<String>,
    query: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<EvidenceResponse>> {
    let digest = parse_hash("digest", &digest)?;
    let limit = page_limit(query)?;
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let locations = ledger.evidence(&digest, limit)?;
        if locations.is_empty() {
            return Err(Error::not_found(format!(
                "no evidence with digest {digest}"
            )));
        }
        let mut records = Vec::with_capacity(locations.len());
        let mut cached: Option<(u64, Block)> = None;
        // Whether the requester may read records signed under a certificate (by its id).
        let mut may_read: std::collections::BTreeMap<Option<Hash>, bool> = Default::default();
        for loc in locations {
            if cached.as_ref().is_none_or(|(h, _)| *h != loc.height) {
                let (b, _) = ledger.block(loc.height)?.ok_or_else(|| {
                    Error::from(kexin_ledger::LedgerError::Corrupt(format!(
                        "index names missing block {}",
                        loc.height
                    )))
                })?;
                cached = Some((loc.height, b));
            }
            let (_, block) = cached.as_ref().expect("just set");
            let tx = block
                .transactions
                .get(loc.tx_index as usize)
                .ok_or_else(|| {
                    Error::from(kexin_ledger::LedgerError::Corrupt(format!(
                        "index names missing tx {loc:?}"
                    )))
                })?;
            let record = tx.records().get(loc.record_index as usize).ok_or_else(|| {
                Error::from(kexin_ledger::LedgerError::Corrupt(format!(
                    "index names missing record {loc:?}"
                )))
            })?;
            let disclose = match may_read.get(&tx.cert) {
                Some(d) => *d,
                None => {
                    let d = reader.may_read_owned_by(|| auth::owner_org(n, tx))?;
                    may_read.insert(tx.cert, d);
                    d
                }
            };
            let suite = tx.signer.suite();
            let record = if disclose {
                record.disclosed(suite)
            } else {
                record.withheld(suite)
            };
            records.push(EvidenceEntry {
                location: loc,
                tx_hash: tx.hash(),
                signer: tx.signer,
                timestamp_ms: block.header.timestamp_ms,
                record,
            });
        }
        Ok(Json(EvidenceResponse { digest, records }))
    })
    .await
}

pub(crate) async fn checkpoint(State(node): AppState) -> Result<Json<CheckpointResponse>> {
    blocking(&node, |n| {
        let cp = n
            .ledger()
            .checkpoint()?
            .ok_or_else(|| Error::not_found("no block has been committed yet"))?;
        let epochs = n
            .ledger()
            .epoch_links(n.genesis().epoch_of(cp.header.height))?;
        Ok(Json(CheckpointResponse {
            block_hash: cp.header.hash(n.genesis().suite),
            header: cp.header,
            certificate: cp.certificate,
            epochs,
        }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: u64,
}

pub(crate) async fn consistency(
    State(node): AppState,
    query: std::result::Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyResponse>> {
    let Query(q) = query.map_err(|e| {
        Error::bad_request(
            "invalid_query",
            format!("expected ?from=M&to=N with sizes: {}", e.body_text()),
        )
    })?;
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let proof = ledger.consistency_proof(q.from, q.to)?;
        Ok(Json(ConsistencyResponse {
            old_root: ledger.log_root_at(q.from)?,
            new_root: ledger.log_root_at(q.to)?,
            proof,
        }))
    })
    .await
}

/// Decodes a stored state value; a value that does not decode means a corrupt store.
fn decode_value<T: Decode>(bytes: &[u8]) -> Result<T> {
    T::decode(bytes).map_err(|e| Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string())))
}

fn state_response(node: &Node, key: StateKey) -> Result<Json<StateProofResponse>> {
    let r = node.ledger().state_proof(&key)?;
    let value = match (&key, &r.value) {
        (_, None) => None,
        (StateKey::Nonce(_), Some(v)) => {
            Some(StateValue::Nonce(NonceState::decode(v).map_err(|e| {
                Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string()))
            })?))
        }
        (StateKey::Evidence(_), Some(v)) => Some(StateValue::Evidence(
            EvidenceState::decode(v)
                .map_err(|e| Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string())))?,
        )),
        (StateKey::Org(_), Some(v)) => {
            Some(StateValue::Org(OrgState::decode(v).map_err(|e| {
                Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string()))
            })?))
        }
        (StateKey::Cert(_), Some(v)) => Some(StateValue::Cert(decode_value(v)?)),
        (StateKey::Proposal(_), Some(v)) => Some(StateValue::Proposal(decode_value(v)?)),
        (StateKey::Consortium, Some(v)) => Some(StateValue::Consortium(decode_value(v)?)),
        (StateKey::Epoch(_), Some(v)) => Some(StateValue::Epoch(decode_value(v)?)),
    };
    Ok(Json(StateProofResponse {
        key_hash: r.key_hash,
        value,
        value_hex: r.value.as_ref().map(hex::encode),
        proof: r.proof,
        state_root: r.state_root,
        height: r.height,
    }))
}

pub(crate) async fn state_nonce(
    State(node): AppState,
    Path(key): Path<String>,
) -> Result<Json<StateProofResponse>> {
    let suite = node.genesis().suite;
    // A signer's key: the suite's own scheme, or (on intl) an ECDSA P-256 user key, told
    // apart by length.
    let pk = PublicKey::from_hex_any(&key)
        .map_err(|e| Error::bad_request("invalid_public_key", format!("not a public key: {e}")))?;
    if pk.suite() != suite {
        return Err(Error::bad_request(
            "invalid_public_key",
            format!("a {} key, not a key of this {suite} chain", pk.scheme()),
        ));
    }
    blocking(&node, move |n| state_response(n, StateKey::Nonce(pk))).await
}

pub(crate) async fn state_evidence(
    State(node): AppState,
    Path(digest): Path<String>,
) -> Result<Json<StateProofResponse>> {
    let digest = parse_hash("digest", &digest)?;
    blocking(&node, move |n| {
        state_response(n, StateKey::Evidence(digest))
    })
    .await
}

pub(crate) async fn state_cert(
    State(node): AppState,
    Path(id): Path<String>,
) -> Result<Json<StateProofResponse>> {
    let id = parse_hash("certificate id", &id)?;
    blocking(&node, move |n| state_response(n, StateKey::Cert(id))).await
}

pub(crate) async fn state_org(
    State(node): AppState,
    Path(name): Path<String>,
) -> Result<Json<StateProofResponse>> {
    kexin_types::identity::validate_org_name(&name)
        .map_err(|e| Error::bad_request("invalid_name", e.to_string()))?;
    blocking(&node, move |n| state_response(n, StateKey::Org(name))).await
}

/// Most certificates one `GET /v1/certs` returns.
pub(crate) const MAX_CERT_PAGE: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertQuery {
    org: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn certs(
    State(node): AppState,
    query: std::result::Result<Query<CertQuery>, QueryRejection>,
) -> Result<Json<CertListResponse>> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(1000);
    if limit == 0 || limit > MAX_CERT_PAGE {
        return Err(Error::bad_request(
            "invalid_query",
            format!("limit must be 1..={MAX_CERT_PAGE}, got {limit}"),
        ));
    }
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let height = ledger.height();
        let mut certs = Vec::new();
        for key in ledger.registry_keys(4, MAX_CERT_PAGE)? {
            let StateKey::Cert(id) = key else { continue };
            let Some(bytes) = ledger.state_get(&key)? else {
                continue;
            };
            let state = CertState::decode(&bytes)
                .map_err(|e| Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string())))?;
            if q.org.as_ref().is_some_and(|o| *o != state.org) {
                continue;
            }
            certs.push(CertEntry { id, state });
            if certs.len() == limit {
                break;
            }
        }
        Ok(Json(CertListResponse { height, certs }))
    })
    .await
}

pub(crate) async fn orgs(State(node): AppState) -> Result<Json<OrgListResponse>> {
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let height = ledger.height();
        let orgs = kexin_node::expiry::current_orgs(ledger, n.genesis())?;
        Ok(Json(OrgListResponse { height, orgs }))
    })
    .await
}

pub(crate) async fn state_proposal(
    State(node): AppState,
    Path(id): Path<String>,
) -> Result<Json<StateProofResponse>> {
    let id = parse_hash("proposal id", &id)?;
    blocking(&node, move |n| state_response(n, StateKey::Proposal(id))).await
}

/// Most proposals one `GET /v1/gov/proposals` returns.
pub(crate) const MAX_PROPOSAL_PAGE: usize = 1_000;

pub(crate) async fn proposals(
    State(node): AppState,
    query: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<ProposalListResponse>> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PROPOSAL_PAGE {
        return Err(Error::bad_request(
            "invalid_query",
            format!("limit must be 1..={MAX_PROPOSAL_PAGE}, got {limit}"),
        ));
    }
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let height = ledger.height();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut proposals = Vec::new();
        for key in ledger.registry_keys(5, limit)? {
            let StateKey::Proposal(id) = key else {
                continue;
            };
            let Some(bytes) = ledger.state_get(&key)? else {
                continue;
            };
            let proposal: ProposalState = decode_value(&bytes)?;
            proposals.push(ProposalEntry {
                id,
                state: proposal.state_name(now).to_owned(),
                proposal,
            });
        }
        Ok(Json(ProposalListResponse { height, proposals }))
    })
    .await
}

pub(crate) async fn consortium(State(node): AppState) -> Result<Json<ConsortiumResponse>> {
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let height = ledger.height();
        let c = kexin_node::expiry::consortium(ledger, n.genesis())?;
        Ok(Json(ConsortiumResponse {
            height,
            params: kexin_types::gov::PARAMS
                .iter()
                .map(|p| ParamValue {
                    name: p.name.to_owned(),
                    value: c.param(p.name),
                    default: p.default,
                    doc: p.doc.to_owned(),
                })
                .collect(),
            votes_needed: c.votes_needed(),
            members: c.members,
        }))
    })
    .await
}

pub(crate) async fn chain(State(node): AppState) -> Result<Json<ChainInfo>> {
    blocking(&node, |n| {
        let g = n.genesis();
        let (epoch, epoch_last_height) = n.current_epoch();
        let validators = n.current_validators().map_err(|e| Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: e.to_string(),
        })?;
        let schedule =
            kexin_exec::protocol::schedule(&kexin_node::LedgerView::committed(n.ledger()))
                .map_err(|e| Error {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: e.to_string(),
                })?;
        let next = n.ledger().height() + 1;
        Ok(Json(ChainInfo {
            protocol_version: schedule.version_at(g.version, next),
            protocol_upgrades: schedule.upgrades,
            protocol_supported: (kexin_types::protocol::V3..=kexin_types::protocol::CURRENT)
                .collect(),
            chain_id: g.chain_id.clone(),
            suite: g.suite,
            genesis_hash: g.hash(),
            genesis: g.clone(),
            height: n.ledger().height(),
            epoch,
            epoch_last_height,
            validators,
        }))
    })
    .await
}

pub(crate) async fn epoch(
    State(node): AppState,
    Path(epoch): Path<String>,
) -> Result<Json<EpochResponse>> {
    let epoch: u64 = epoch.parse().map_err(|_| {
        Error::bad_request(
            "invalid_epoch",
            format!("epoch must be a non-negative integer, got {epoch:?}"),
        )
    })?;
    blocking(&node, move |n| {
        let g = n.genesis();
        let unknown = || Error {
            status: StatusCode::NOT_FOUND,
            code: "unknown_epoch",
            message: format!(
                "the validators of epoch {epoch} are not committed yet (they are fixed by block {})",
                // The last block of the epoch before; saturating, as `epoch` may be any u64.
                epoch.saturating_mul(g.epoch_length).saturating_sub(1)
            ),
        };
        if epoch >= g.epoch_of(u64::MAX / 2) {
            return Err(unknown());
        }
        let (validators, link) = if epoch == 0 {
            (g.validators.clone(), None)
        } else {
            let link = n.ledger().epoch_link(epoch)?.ok_or_else(unknown)?;
            (link.set.validators.clone(), Some(link))
        };
        Ok(Json(EpochResponse {
            epoch,
            first_height: epoch * g.epoch_length,
            last_height: g.epoch_last(epoch),
            validators,
            link,
        }))
    })
    .await
}

/// `GET /v1/health`: 200 while the node serves (liveness), with readiness and its reasons;
/// 503 `unavailable` once the ordering engine has stopped.
pub(crate) async fn health(State(node): AppState) -> Result<Json<HealthResponse>> {
    if let Some(e) = node.engine_error() {
        return Err(Error {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: format!("the ordering engine stopped: {e}"),
        });
    }
    Ok(Json(health_response(&node).await?))
}

/// What `GET /v1/health` and `GET /v1/health/ready` report.
pub(crate) async fn health_response(node: &Arc<Node>) -> Result<HealthResponse> {
    blocking(node, |n| {
        let (status, reasons) = n.readiness();
        Ok(HealthResponse {
            status: "ok".into(),
            height: n.ledger().height(),
            mempool: n.mempool().len() as u64,
            role: n.role().as_str().into(),
            peers: n.peers() as u64,
            expiring: n.expiring()?,
            ready: reasons.is_empty(),
            reasons,
            validators_online: status.iter().filter(|v| v.online).count() as u64,
            validators_total: status.len() as u64,
        })
    })
    .await
}

pub(crate) async fn fallback(method: Method, uri: Uri) -> Error {
    Error::not_found(format!("no route for {method} {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(content_type: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_bytes(content_type).unwrap(),
        );
        h
    }

    #[test]
    fn submissions_must_be_json() {
        for ok in [
            &b"application/json"[..],
            b"application/json; charset=utf-8",
            b"Application/JSON",
        ] {
            assert!(require_json(&with(ok)).is_ok(), "{ok:?}");
        }
        for refused in [
            &b"text/plain"[..],
            b"text/plain; charset=utf-8",
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=x",
            b"application/jsonp",
            b"application/json-seq",
        ] {
            let e = require_json(&with(refused)).unwrap_err();
            assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert_eq!(e.code, "unsupported_media_type");
        }
        let e = require_json(&HeaderMap::new()).unwrap_err();
        assert_eq!(e.code, "unsupported_media_type");
        assert!(e.message.contains("none given"), "{}", e.message);
    }
}
