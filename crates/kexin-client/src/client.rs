//! The REST client.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use kexin_crypto::SigningKey;
use kexin_crypto::{Hash, PublicKey};
use kexin_types::api::{
    ApiError, AuditNotesResponse, BlockResponse, CertListResponse, ChainInfo, CheckpointResponse,
    ConsistencyResponse, EvidenceResponse, HealthResponse, OrgListResponse, ReceiptsResponse,
    StateProofResponse, StateValue, SubmitBatchRequest, SubmitBatchResponse, SubmitRequest,
    SubmitResponse, TxResponse, TxState, TxStatusResponse,
};
use kexin_types::{CertState, Encode, Transaction, signed_read};
use serde::de::DeserializeOwned;

use crate::Identity;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node answered with an error status and an [`ApiError`] body (or, when the body was
    /// not one, `code` is `http_<status>` and `message` the start of the body).
    #[error("{code}: {message} (HTTP {status})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's machine-readable code (`not_found`, `nonce_replayed`, ...).
        code: String,
        /// The API's explanation.
        message: String,
    },
    /// The request did not get an answer: connection refused or reset, timeout, bad URL.
    #[error("{0}")]
    Http(String),
    /// The answer was not the JSON shape expected.
    #[error("{0}")]
    Decode(String),
    /// [`Client::wait_committed`] gave up.
    #[error("{0}")]
    Timeout(String),
}

impl ClientError {
    /// A stable, machine-readable code: the API's code, or `http`, `decode`, `timeout`.
    pub fn code(&self) -> &str {
        match self {
            ClientError::Api { code, .. } => code,
            ClientError::Http(_) => "http",
            ClientError::Decode(_) => "decode",
            ClientError::Timeout(_) => "timeout",
        }
    }

    /// The error without its code (what follows `code: ` when printed as `code: message`).
    pub fn message(&self) -> String {
        match self {
            ClientError::Api {
                status, message, ..
            } => format!("{message} (HTTP {status})"),
            ClientError::Http(m) | ClientError::Decode(m) | ClientError::Timeout(m) => m.clone(),
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether this is a 404 from the API.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether retrying the same request later may succeed: no answer at all, 429 (mempool
    /// full) or 503 (not ready).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Http(_) => true,
            ClientError::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }
}

/// Which block to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockId {
    /// The highest committed block.
    Latest,
    /// The block at a height (1 is the first).
    Height(u64),
    /// The block with a hash.
    Hash(Hash),
}

impl FromStr for BlockId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            Ok(BlockId::Latest)
        } else if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse()
                .map(BlockId::Height)
                .map_err(|e| format!("invalid height {s:?}: {e}"))
        } else {
            Hash::from_hex(s).map(BlockId::Hash).map_err(|_| {
                format!("{s:?} is not a block height, a 64-hex-digit block hash, or \"latest\"")
            })
        }
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockId::Latest => f.write_str("latest"),
            BlockId::Height(h) => write!(f, "{h}"),
            BlockId::Hash(h) => write!(f, "{h}"),
        }
    }
}

/// A client of one node's REST API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    signer: Option<ReadSigner>,
}

/// What signs requests: an identity's key and certificate, for one chain.
#[derive(Clone)]
struct ReadSigner {
    key: SigningKey,
    cert: Vec<u8>,
    chain_id: String,
    who: String,
}

impl fmt::Debug for ReadSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadSigner")
            .field("who", &self.who)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

/// How long one request may take before it is abandoned.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest error body quoted in a [`ClientError::Api`] message when it is not JSON.
const MAX_QUOTED_BODY: usize = 200;

impl Client {
    /// A client of the node at `url` (`http://host:port`; a bare `host:port` means `http://`).
    pub fn new(url: impl AsRef<str>) -> Result<Client, ClientError> {
        let url = url.as_ref().trim();
        let base = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let base = base.trim_end_matches('/').to_owned();
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(|| ClientError::Http(format!("unsupported URL {url:?}: use http://")))?;
        if rest.is_empty() {
            return Err(ClientError::Http(format!("URL {url:?} has no host")));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Http(format!("cannot build HTTP client: {e}")))?;
        Ok(Client {
            base,
            http,
            signer: None,
        })
    }

    /// Signs every request under `identity`, for chain `chain_id` (signed reads,
    /// `docs/pki.md`): the node then shows the private record metadata the identity may read
    /// — a reader its own organisation's, an auditor everyone's. A node refuses a request
    /// whose signature or certificate does not check out (401 with a code such as
    /// `auth_stale`, `cert_revoked`) rather than answer it anonymously.
    pub fn with_identity(mut self, identity: &Identity, chain_id: impl Into<String>) -> Client {
        self.signer = Some(ReadSigner {
            key: identity.key().clone(),
            cert: identity.cert_der().as_bytes().to_vec(),
            chain_id: chain_id.into(),
            who: format!(
                "{} of {} ({})",
                identity.name(),
                identity.org(),
                identity.role()
            ),
        });
        self
    }

    /// Whether requests are signed (see [`Client::with_identity`]).
    pub fn signs_requests(&self) -> bool {
        self.signer.is_some()
    }

    /// The node's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A request builder for `method` on `path`, with the signed-read headers when the client
    /// has an identity.
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut builder = self.http.request(method.clone(), &url);
        if let Some(signer) = &self.signer {
            // Sign the path and query exactly as they go on the request line.
            let parsed = reqwest::Url::parse(&url)
                .map_err(|e| ClientError::Http(format!("invalid URL {url:?}: {e}")))?;
            let mut target = parsed.path().to_owned();
            if let Some(q) = parsed.query() {
                target.push('?');
                target.push_str(q);
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let headers = signed_read::headers(
                &signer.key,
                &signer.cert,
                &signer.chain_id,
                method.as_str(),
                &target,
                now,
            )
            .map_err(|e| {
                ClientError::Http(format!(
                    "cannot sign {method} {target} as {}: {e}",
                    signer.who
                ))
            })?;
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
        }
        Ok(builder)
    }

    async fn finish<T: DeserializeOwned>(
        &self,
        what: &str,
        res: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let res = res.map_err(|e| http_error(what, &self.base, e))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| http_error(what, &self.base, e))?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &body));
        }
        serde_json::from_slice(&body).map_err(|e| {
            ClientError::Decode(format!("{what}: unexpected answer from the node: {e}"))
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let res = self.request(reqwest::Method::GET, path)?.send().await;
        self.finish(&format!("GET {path}"), res).await
    }

    /// `POST /v1/transactions`: submits a signed transaction.
    pub async fn submit(&self, tx: &Transaction) -> Result<SubmitResponse, ClientError> {
        self.submit_encoded(&tx.encode()).await
    }

    /// `POST /v1/transactions` with an already encoded transaction.
    pub async fn submit_encoded(&self, tx: &[u8]) -> Result<SubmitResponse, ClientError> {
        let body = serde_json::to_vec(&SubmitRequest {
            tx: hex::encode(tx),
        })
        .map_err(|e| ClientError::Decode(e.to_string()))?;
        let res = self
            .request(reqwest::Method::POST, "/v1/transactions")?
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        self.finish("POST /v1/transactions", res).await
    }

    /// `POST /v1/transactions/batch` with already encoded transactions (at most 4,096): one
    /// result per transaction, in order. An error means the whole batch was refused.
    pub async fn submit_batch_encoded(
        &self,
        txs: &[&[u8]],
    ) -> Result<SubmitBatchResponse, ClientError> {
        let body = serde_json::to_vec(&SubmitBatchRequest {
            txs: txs.iter().map(hex::encode).collect(),
        })
        .map_err(|e| ClientError::Decode(e.to_string()))?;
        let res = self
            .request(reqwest::Method::POST, "/v1/transactions/batch")?
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let answer: SubmitBatchResponse = self.finish("POST /v1/transactions/batch", res).await?;
        if answer.results.len() != txs.len() {
            return Err(ClientError::Decode(format!(
                "POST /v1/transactions/batch: {} results for {} transactions",
                answer.results.len(),
                txs.len()
            )));
        }
        Ok(answer)
    }

    /// `GET /v1/transactions/{hash}`.
    pub async fn transaction(&self, hash: &Hash) -> Result<TxResponse, ClientError> {
        self.get(&format!("/v1/transactions/{hash}")).await
    }

    /// `GET /v1/transactions/{hash}/status`: pending or committed, without the body.
    pub async fn transaction_status(&self, hash: &Hash) -> Result<TxStatusResponse, ClientError> {
        self.get(&format!("/v1/transactions/{hash}/status")).await
    }

    /// `GET /v1/transactions/{hash}/receipts`: one receipt per record (404 while pending).
    pub async fn receipts(&self, hash: &Hash) -> Result<ReceiptsResponse, ClientError> {
        self.get(&format!("/v1/transactions/{hash}/receipts")).await
    }

    /// `GET /v1/transactions/{hash}/receipt`: the receipt of the transaction itself (any
    /// payload kind); the payload is withheld where it is private and this client may not
    /// read it.
    pub async fn tx_receipt(&self, hash: &Hash) -> Result<kexin_types::TxReceipt, ClientError> {
        self.get(&format!("/v1/transactions/{hash}/receipt")).await
    }

    /// `GET /v1/audit-notes/{subject}`: the audit notes about a hash (404 when there are none).
    pub async fn audit_notes(&self, subject: &Hash) -> Result<AuditNotesResponse, ClientError> {
        self.get(&format!("/v1/audit-notes/{subject}")).await
    }

    /// `GET /v1/blocks/{latest|height|hash}`.
    pub async fn block(&self, id: BlockId) -> Result<BlockResponse, ClientError> {
        self.get(&format!("/v1/blocks/{id}")).await
    }

    /// `GET /v1/blocks/latest`.
    pub async fn latest_block(&self) -> Result<BlockResponse, ClientError> {
        self.block(BlockId::Latest).await
    }

    /// `GET /v1/evidence/{digest}`: the records with a digest (404 when there are none).
    pub async fn evidence(&self, digest: &Hash) -> Result<EvidenceResponse, ClientError> {
        self.get(&format!("/v1/evidence/{digest}")).await
    }

    /// `GET /v1/checkpoint`: the latest signed tree head (404 before the first block).
    pub async fn checkpoint(&self) -> Result<CheckpointResponse, ClientError> {
        self.get("/v1/checkpoint").await
    }

    /// `GET /v1/proofs/consistency?from=M&to=N`.
    pub async fn consistency(
        &self,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyResponse, ClientError> {
        self.get(&format!("/v1/proofs/consistency?from={from}&to={to}"))
            .await
    }

    /// `GET /v1/state/nonce/{public-key}`.
    pub async fn nonce_state(&self, key: &PublicKey) -> Result<StateProofResponse, ClientError> {
        self.get(&format!("/v1/state/nonce/{key}")).await
    }

    /// `GET /v1/state/evidence/{digest}`.
    pub async fn evidence_state(&self, digest: &Hash) -> Result<StateProofResponse, ClientError> {
        self.get(&format!("/v1/state/evidence/{digest}")).await
    }

    /// `GET /v1/state/cert/{id}`: a certificate's registry entry with its proof.
    pub async fn cert_state(&self, id: &Hash) -> Result<StateProofResponse, ClientError> {
        self.get(&format!("/v1/state/cert/{id}")).await
    }

    /// `GET /v1/state/org/{name}`: an organisation's CA set if it changed since genesis, with
    /// its proof.
    pub async fn org_state(&self, name: &str) -> Result<StateProofResponse, ClientError> {
        self.get(&format!("/v1/state/org/{}", encode_component(name)))
            .await
    }

    /// The registry entry of certificate `id`, or `None` if the chain has not registered it
    /// (never used nor revoked).
    pub async fn cert(&self, id: &Hash) -> Result<Option<CertState>, ClientError> {
        match self.cert_state(id).await?.value {
            None => Ok(None),
            Some(StateValue::Cert(c)) => Ok(Some(c)),
            Some(other) => Err(ClientError::Decode(format!(
                "certificate state of {id} holds a {} value",
                value_kind(&other)
            ))),
        }
    }

    /// `GET /v1/certs[?org=ORG][&limit=N]`: registered certificates, in id order.
    pub async fn certs(
        &self,
        org: Option<&str>,
        limit: Option<usize>,
    ) -> Result<CertListResponse, ClientError> {
        let mut query = Vec::new();
        if let Some(o) = org {
            query.push(format!("org={}", encode_component(o)));
        }
        if let Some(l) = limit {
            query.push(format!("limit={l}"));
        }
        let path = if query.is_empty() {
            "/v1/certs".to_owned()
        } else {
            format!("/v1/certs?{}", query.join("&"))
        };
        self.get(&path).await
    }

    /// `GET /v1/orgs`: the consortium's organisations and their CAs now.
    pub async fn orgs(&self) -> Result<OrgListResponse, ClientError> {
        self.get("/v1/orgs").await
    }

    /// `GET /v1/contracts/{address}`: a contract account.
    pub async fn contract(
        &self,
        address: &kexin_types::ContractAddress,
    ) -> Result<kexin_types::api::ContractResponse, ClientError> {
        self.get(&format!("/v1/contracts/{address}")).await
    }

    /// `POST /v1/contracts/{address}/query`: a read-only call on the committed state.
    pub async fn contract_query(
        &self,
        address: &kexin_types::ContractAddress,
        request: &kexin_types::api::ContractQueryRequest,
    ) -> Result<kexin_types::api::ContractQueryResponse, ClientError> {
        let path = format!("/v1/contracts/{address}/query");
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode(e.to_string()))?;
        let res = self
            .request(reqwest::Method::POST, &path)?
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        self.finish(&format!("POST {path}"), res).await
    }

    /// `GET /v1/contracts/{address}/storage/{slot}`: the 32-byte word at `slot` of `address`
    /// (or its absence) at the node's head, as a state proof document. Check it with
    /// [`StateReceipt::verify`](kexin_types::state_receipt::StateReceipt::verify) against the
    /// genesis before trusting it.
    pub async fn contract_storage(
        &self,
        address: &kexin_types::ContractAddress,
        slot: &[u8; 32],
    ) -> Result<kexin_types::state_receipt::StateReceipt, ClientError> {
        let slot = kexin_types::state_receipt::word_hex(slot);
        self.get(&format!("/v1/contracts/{address}/storage/{slot}"))
            .await
    }

    /// `GET /v1/contracts/{address}/events`: one page of the logs (Solidity events) `address`
    /// emitted in committed blocks `from..=to` (default 1 to the head), only those whose first
    /// topic is `topic0` when given, at most `limit` (default 100, at most 1,000; pages end at
    /// block boundaries). The node scans at most 10,000 blocks per request: continue from
    /// [`ContractEventsPage::next_from_height`] until it is `None`.
    pub async fn contract_events(
        &self,
        address: &kexin_types::ContractAddress,
        from: Option<u64>,
        to: Option<u64>,
        topic0: Option<&Hash>,
        limit: Option<usize>,
    ) -> Result<ContractEventsPage, ClientError> {
        let mut query = Vec::new();
        if let Some(h) = from {
            query.push(format!("from_height={h}"));
        }
        if let Some(h) = to {
            query.push(format!("to_height={h}"));
        }
        if let Some(t) = topic0 {
            query.push(format!("topic0=0x{t}"));
        }
        if let Some(l) = limit {
            query.push(format!("limit={l}"));
        }
        let mut path = format!("/v1/contracts/{address}/events");
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        self.get(&path).await
    }

    /// `GET /v1/names/{name}`: the contract the consortium named `name` (a
    /// [`ClientError`] with status 404 when no contract has that name).
    pub async fn contract_named(
        &self,
        name: &str,
    ) -> Result<kexin_types::api::ContractNameResponse, ClientError> {
        self.get(&format!("/v1/names/{name}")).await
    }

    /// `GET /v1/names/{name}/proof`: the contract `name` stands for (or its absence) at the
    /// node's head, as a state proof document; check it with
    /// [`StateReceipt::verify`](kexin_types::state_receipt::StateReceipt::verify).
    pub async fn contract_name_proof(
        &self,
        name: &str,
    ) -> Result<kexin_types::state_receipt::StateReceipt, ClientError> {
        self.get(&format!("/v1/names/{name}/proof")).await
    }

    /// `GET /v1/contracts/{address}/transactions`: the transactions that deployed or called
    /// `address`, newest first, from blocks below `before` (default: all), at most `limit`
    /// (default 50, at most 200); continue with
    /// [`next_before`](kexin_types::api::ContractTxsResponse::next_before) until it is `None`.
    pub async fn contract_txs(
        &self,
        address: &kexin_types::ContractAddress,
        before: Option<u64>,
        limit: Option<usize>,
    ) -> Result<kexin_types::api::ContractTxsResponse, ClientError> {
        let mut query = Vec::new();
        if let Some(h) = before {
            query.push(format!("before={h}"));
        }
        if let Some(l) = limit {
            query.push(format!("limit={l}"));
        }
        let mut path = format!("/v1/contracts/{address}/transactions");
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        self.get(&path).await
    }

    /// `GET /v1/chain`: chain id, suite, genesis and height.
    pub async fn chain(&self) -> Result<ChainInfo, ClientError> {
        self.get("/v1/chain").await
    }

    /// `GET /v1/epochs/{epoch}`: a consensus epoch's heights and validators.
    pub async fn epoch(&self, epoch: u64) -> Result<kexin_types::api::EpochResponse, ClientError> {
        self.get(&format!("/v1/epochs/{epoch}")).await
    }

    /// `GET /v1/health` (an error while the node is not ready).
    pub async fn health(&self) -> Result<HealthResponse, ClientError> {
        self.get("/v1/health").await
    }

    /// The smallest nonce `key`'s next transaction may use: the last committed nonce plus one,
    /// or 1 for a signer with no committed transaction. Pending transactions are not counted.
    pub async fn next_nonce(&self, key: &PublicKey) -> Result<u64, ClientError> {
        let state = self.nonce_state(key).await?;
        match state.value {
            None => Ok(1),
            Some(StateValue::Nonce(n)) => n.last_nonce.checked_add(1).ok_or_else(|| {
                ClientError::Decode(format!("signer {key} has used up every nonce"))
            }),
            Some(other) => Err(ClientError::Decode(format!(
                "nonce state of {key} holds a {} value",
                value_kind(&other)
            ))),
        }
    }

    /// Polls `GET /v1/transactions/{hash}/status` with a short backoff until the transaction is
    /// committed, or `timeout` passes. A 404 (not yet known, or the node restarting), no
    /// answer, 429 and 503 are retried; other API errors are returned at once.
    pub async fn wait_committed(
        &self,
        hash: &Hash,
        timeout: Duration,
    ) -> Result<TxStatusResponse, ClientError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(5);
        loop {
            let last = match self.transaction_status(hash).await {
                Ok(tx) if tx.status == TxState::Committed => return Ok(tx),
                Ok(tx) if matches!(tx.status, TxState::Rejected | TxState::Dropped) => {
                    let what = if tx.status == TxState::Rejected {
                        "rejected"
                    } else {
                        "dropped"
                    };
                    let e = tx.error.unwrap_or(ApiError {
                        code: what.into(),
                        message: "the node dropped the transaction".into(),
                    });
                    return Err(ClientError::Api {
                        status: 200,
                        code: e.code,
                        message: format!("transaction {hash} was {what}: {}", e.message),
                    });
                }
                Ok(_) => "still pending".to_owned(),
                Err(e) if e.is_not_found() || e.is_transient() => e.to_string(),
                Err(e) => return Err(e),
            };
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return Err(ClientError::Timeout(format!(
                    "transaction {hash} not committed after {:.1}s ({last})",
                    elapsed.as_secs_f64()
                )));
            }
            tokio::time::sleep(delay.min(timeout - elapsed)).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }

    /// `GET /v1/gov/proposals[?limit=N]`: governance proposals with their state (`open`,
    /// `passed`, `rejected`, `expired`), in id order.
    pub async fn proposals(
        &self,
        limit: Option<usize>,
    ) -> Result<kexin_types::api::ProposalListResponse, ClientError> {
        match limit {
            Some(l) => self.get(&format!("/v1/gov/proposals?limit={l}")).await,
            None => self.get("/v1/gov/proposals").await,
        }
    }

    /// `GET /v1/gov/consortium`: member organisations, parameters and the yes votes a
    /// proposal needs now.
    pub async fn consortium(&self) -> Result<kexin_types::api::ConsortiumResponse, ClientError> {
        self.get("/v1/gov/consortium").await
    }

    /// `GET /v1/state/proposal/{id}`: a proposal's state with its proof.
    pub async fn proposal_state(&self, id: &Hash) -> Result<StateProofResponse, ClientError> {
        self.get(&format!("/v1/state/proposal/{id}")).await
    }

    /// The proposal with id `id` (its proposing transaction's hash), or `None` if the chain
    /// has none.
    pub async fn proposal(
        &self,
        id: &Hash,
    ) -> Result<Option<kexin_types::ProposalState>, ClientError> {
        match self.proposal_state(id).await?.value {
            None => Ok(None),
            Some(StateValue::Proposal(p)) => Ok(Some(p)),
            Some(other) => Err(ClientError::Decode(format!(
                "proposal state of {id} holds a {} value",
                value_kind(&other)
            ))),
        }
    }
}

fn value_kind(v: &StateValue) -> &'static str {
    match v {
        StateValue::Evidence(_) => "evidence",
        StateValue::Nonce(_) => "nonce",
        StateValue::Org(_) => "organisation",
        StateValue::Cert(_) => "certificate",
        StateValue::Proposal(_) => "proposal",
        StateValue::Consortium(_) => "consortium",
        StateValue::Epoch(_) => "epoch",
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for a path segment or a
/// query value.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn http_error(what: &str, base: &str, e: reqwest::Error) -> ClientError {
    // reqwest's own message repeats the URL; the innermost cause says what went wrong.
    let mut cause: &dyn std::error::Error = &e;
    while let Some(s) = cause.source() {
        cause = s;
    }
    let why = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("cannot connect: {cause}")
    } else {
        format!("{e}: {cause}")
    };
    ClientError::Http(format!("{what} at {base}: {why}"))
}

fn api_error(status: u16, body: &[u8]) -> ClientError {
    if let Ok(e) = serde_json::from_slice::<ApiError>(body) {
        return ClientError::Api {
            status,
            code: e.code,
            message: e.message,
        };
    }
    let text = String::from_utf8_lossy(body);
    let mut text: String = text.trim().chars().take(MAX_QUOTED_BODY).collect();
    if text.is_empty() {
        text = "(empty body)".into();
    }
    ClientError::Api {
        status,
        code: format!("http_{status}"),
        message: text,
    }
}

/// Checks that a `/v1/chain` answer is self-consistent: the genesis is valid, hashes to
/// `genesis_hash`, and has the same chain id and suite. (Whether it is the *right* chain is for
/// the caller to decide, e.g. by comparing `genesis_hash` with one obtained out of band.)
pub fn check_chain_info(info: &ChainInfo) -> Result<(), ClientError> {
    info.genesis
        .validate()
        .map_err(|e| ClientError::Decode(format!("the node's genesis is invalid: {e}")))?;
    let computed = info.genesis.hash();
    if computed != info.genesis_hash {
        return Err(ClientError::Decode(format!(
            "the node's genesis hashes to {computed}, not the genesis_hash {} it reports",
            info.genesis_hash
        )));
    }
    if info.genesis.chain_id != info.chain_id || info.genesis.suite != info.suite {
        return Err(ClientError::Decode(format!(
            "the node reports chain {} ({}) but its genesis is for {} ({})",
            info.chain_id, info.suite, info.genesis.chain_id, info.genesis.suite
        )));
    }
    Ok(())
}

/// A contract log (Solidity event) of a committed transaction, as
/// `GET /v1/contracts/{address}/events` and the `log` events of `GET /v1/events` give it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContractLogEntry {
    /// The transaction that emitted it.
    pub tx_hash: Hash,
    /// Its block.
    pub height: u64,
    /// The transaction's index in the block.
    pub tx_index: u32,
    /// The log's index among the transaction's logs.
    pub log_index: u32,
    /// The contract that emitted it.
    pub contract: kexin_types::ContractAddress,
    /// Its topics (0 to 4).
    pub topics: Vec<Hash>,
    /// Its data.
    #[serde(with = "kexin_types::contract::hex0x")]
    pub data: Vec<u8>,
    /// The organisation of the transaction's signer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

impl ContractLogEntry {
    /// The log itself, as a transaction outcome carries it.
    pub fn log(&self) -> kexin_types::ContractLog {
        kexin_types::ContractLog {
            address: self.contract,
            topics: self.topics.clone(),
            data: self.data.clone(),
        }
    }
}

/// One page of [`Client::contract_events`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContractEventsPage {
    /// The contract.
    pub contract: kexin_types::ContractAddress,
    /// The first block scanned.
    pub from_height: u64,
    /// The last block scanned (the head, below `from_height`, when the range starts above
    /// it).
    pub to_height: u64,
    /// The node's committed height.
    pub height: u64,
    /// The logs, in chain order.
    pub logs: Vec<ContractLogEntry>,
    /// Where the next page starts, when the range was not scanned to its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_from_height: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A canned HTTP/1.1 server: answers each request with the next `(status, body)`, and
    /// records the request lines.
    async fn fake_server(answers: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then any body announced by content-length.
                loop {
                    let n = sock.read(&mut buf).await.unwrap();
                    req.extend_from_slice(&buf[..n]);
                    if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&req[..end]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                        while req.len() < end + 4 + len {
                            let n = sock.read(&mut buf).await.unwrap();
                            req.extend_from_slice(&buf[..n]);
                        }
                        break;
                    }
                    if n == 0 {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&req).to_string();
                seen2.lock().unwrap().push(text);
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                sock.shutdown().await.ok();
            }
        });
        (format!("http://{addr}/"), seen)
    }

    #[test]
    fn urls() {
        assert_eq!(
            Client::new("127.0.0.1:8080").unwrap().base_url(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(Client::new("http://h:1/").unwrap().base_url(), "http://h:1");
        assert!(Client::new("ftp://h").is_err());
        assert!(Client::new("http://").is_err());
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("org-1.a_b~"), "org-1.a_b~");
        assert_eq!(encode_component("a b/&?"), "a%20b%2F%26%3F");
        assert_eq!(encode_component("银"), "%E9%93%B6");
    }

    #[tokio::test]
    async fn registry_requests() {
        let id = Hash([7; 32]);
        let absent = r#"{"key_hash":"0000000000000000000000000000000000000000000000000000000000000000","value":null,"value_hex":null,"proof":{"siblings":[],"leaf":null},"state_root":"0000000000000000000000000000000000000000000000000000000000000000","height":3}"#;
        let (url, seen) = fake_server(vec![
            (200, absent.to_string()),
            (200, r#"{"height":3,"certs":[]}"#.into()),
            (200, r#"{"height":3,"orgs":[]}"#.into()),
        ])
        .await;
        let c = Client::new(&url).unwrap();
        assert_eq!(c.cert(&id).await.unwrap(), None);
        assert!(
            c.certs(Some("org 2"), Some(5))
                .await
                .unwrap()
                .certs
                .is_empty()
        );
        assert!(c.orgs().await.unwrap().orgs.is_empty());
        let seen = seen.lock().unwrap();
        assert!(seen[0].starts_with(&format!("GET /v1/state/cert/{id} ")));
        assert!(
            seen[1].starts_with("GET /v1/certs?org=org%202&limit=5 "),
            "{}",
            seen[1]
        );
        assert!(seen[2].starts_with("GET /v1/orgs "));
    }

    #[test]
    fn block_ids() {
        assert_eq!("latest".parse::<BlockId>().unwrap(), BlockId::Latest);
        assert_eq!("12".parse::<BlockId>().unwrap(), BlockId::Height(12));
        let h = Hash([0xab; 32]);
        assert_eq!(h.to_hex().parse::<BlockId>().unwrap(), BlockId::Hash(h));
        assert!("12x".parse::<BlockId>().is_err());
        assert!("".parse::<BlockId>().is_err());
    }

    #[test]
    fn error_bodies() {
        let e = api_error(
            409,
            br#"{"code":"nonce_replayed","message":"nonce 3 <= 5"}"#,
        );
        assert_eq!(e.code(), "nonce_replayed");
        assert_eq!(e.status(), Some(409));
        assert!(!e.is_transient());
        let e = api_error(502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), "http_502");
        assert!(e.is_transient());
        assert!(e.message().contains("bad gateway"));
        assert!(api_error(404, b"").is_not_found());
    }

    #[tokio::test]
    async fn nonce_and_errors_over_http() {
        let key = kexin_crypto::SigningKey::generate(kexin_crypto::Suite::Intl).public_key();
        let absent = r#"{"key_hash":"0000000000000000000000000000000000000000000000000000000000000000","value":null,"value_hex":null,"proof":{"siblings":[],"leaf":null},"state_root":"0000000000000000000000000000000000000000000000000000000000000000","height":0}"#;
        let present = absent.replace(
            r#""value":null"#,
            r#""value":{"kind":"nonce","last_nonce":41,"tx_count":3}"#,
        );
        let (url, seen) = fake_server(vec![
            (200, absent.to_string()),
            (200, present),
            (
                404,
                r#"{"code":"not_found","message":"no such route"}"#.into(),
            ),
            (200, "{not json".into()),
        ])
        .await;
        let c = Client::new(&url).unwrap();
        assert_eq!(c.next_nonce(&key).await.unwrap(), 1);
        assert_eq!(c.next_nonce(&key).await.unwrap(), 42);
        let e = c.health().await.unwrap_err();
        assert_eq!(e.code(), "not_found");
        assert!(e.is_not_found());
        let e = c.chain().await.unwrap_err();
        assert!(matches!(e, ClientError::Decode(_)), "{e:?}");
        let seen = seen.lock().unwrap();
        assert!(seen[0].starts_with(&format!("GET /v1/state/nonce/{key} ")));
        assert!(seen[2].starts_with("GET /v1/health "));
    }

    #[tokio::test]
    async fn requests_are_signed_under_an_identity() {
        use kexin_crypto::Suite;
        let t = tempfile::tempdir().unwrap();
        let suite = Suite::Gm;
        let ca_key = SigningKey::generate(suite);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let terms = kexin_pki::Terms {
            serial: 1,
            not_before_ms: now - 60_000,
            not_after_ms: now + 60_000,
        };
        let ca = kexin_pki::self_signed_ca("bank", &ca_key, &terms).unwrap();
        let key = SigningKey::generate(suite);
        let cert = kexin_pki::issue(
            &ca,
            &ca_key,
            "rita",
            kexin_pki::Role::Reader,
            &key.public_key(),
            &terms,
        )
        .unwrap();
        std::fs::write(t.path().join(crate::IDENTITY_CERT), cert.to_pem()).unwrap();
        crate::save_key(t.path().join(crate::IDENTITY_KEY), &key).unwrap();
        let identity = Identity::load(t.path()).unwrap();

        let (url, seen) = fake_server(vec![
            (200, r#"{"height":3,"orgs":[]}"#.into()),
            (200, r#"{"height":3,"certs":[]}"#.into()),
        ])
        .await;
        let c = Client::new(&url)
            .unwrap()
            .with_identity(&identity, "chain-1");
        assert!(c.signs_requests());
        c.orgs().await.unwrap();
        c.certs(Some("a b"), None).await.unwrap();
        let seen = seen.lock().unwrap();
        for (req, target) in seen.iter().zip(["/v1/orgs", "/v1/certs?org=a%20b"]) {
            let header = |name: &str| {
                req.lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                    })
                    .unwrap_or_else(|| panic!("no {name} in {req}"))
            };
            assert!(req.starts_with(&format!("GET {target} ")), "{req}");
            assert_eq!(
                hex::decode(header("kexin-certificate")).unwrap(),
                cert.der()
            );
            let ts: u64 = header("kexin-timestamp").parse().unwrap();
            assert!(ts.abs_diff(now) < 60_000);
            let sig = kexin_crypto::Signature::from_hex(&header("kexin-signature")).unwrap();
            signed_read::verify(&key.public_key(), "chain-1", "GET", target, ts, &sig)
                .expect("the signature covers the request line's target");
        }
    }

    #[tokio::test]
    async fn submit_posts_hex_json() {
        let key = kexin_crypto::SigningKey::generate(kexin_crypto::Suite::Gm);
        let rec =
            crate::evidence_record(kexin_crypto::Suite::Gm.hash(b"x"), "x", "text/plain").unwrap();
        let tx = crate::sign_evidence("c", &key, 1, vec![rec]);
        let hash = tx.hash();
        let (url, seen) = fake_server(vec![(
            202,
            format!(r#"{{"hash":"{hash}","status":"pending"}}"#),
        )])
        .await;
        let c = Client::new(&url).unwrap();
        let r = c.submit(&tx).await.unwrap();
        assert_eq!(r.hash, hash);
        assert_eq!(r.status, TxState::Pending);
        let req = seen.lock().unwrap()[0].clone();
        assert!(req.starts_with("POST /v1/transactions "));
        let body = &req[req.find("\r\n\r\n").unwrap() + 4..];
        let parsed: SubmitRequest = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.tx, hex::encode(tx.encode()));
    }

    #[tokio::test]
    async fn wait_committed_polls_then_times_out() {
        let (url, _) = fake_server(vec![
            (404, r#"{"code":"not_found","message":"unknown"}"#.into()),
            (404, r#"{"code":"not_found","message":"unknown"}"#.into()),
            (400, r#"{"code":"malformed","message":"bad"}"#.into()),
        ])
        .await;
        let c = Client::new(&url).unwrap();
        let e = c
            .wait_committed(&Hash([1; 32]), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "malformed");

        // Nothing listens: connection refused is retried until the timeout.
        let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = dead.local_addr().unwrap();
        drop(dead);
        let c = Client::new(format!("http://{addr}")).unwrap();
        let e = c
            .wait_committed(&Hash([1; 32]), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "timeout");
    }
}
