//! What changes as the chain grows: block and transaction lists, throughput, validators
//! online, the Server-Sent Events stream, Prometheus metrics and readiness.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use kexin_crypto::{Hash, PublicKey};
use kexin_node::Node;
use kexin_types::api::*;
use kexin_types::{ContractAddress, ContractLog, Payload, SealedTx};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::error::Error;
use crate::routes::blocking;

type Result<T> = std::result::Result<T, Error>;
type AppState = State<Arc<Node>>;

/// Most blocks or transactions in one page of `GET /v1/blocks` or `GET /v1/transactions`.
pub const MAX_LIST_PAGE: usize = 100;
/// Page size without `limit`.
pub const DEFAULT_LIST_PAGE: usize = 20;
/// Most blocks `GET /v1/transactions` reads for one page (pages of empty blocks end early
/// with a cursor).
pub const MAX_BLOCKS_SCANNED: u64 = 1000;
/// Longest `GET /v1/stats` window, seconds.
pub const MAX_STATS_WINDOW_S: u64 = 3600;
/// Most buckets in one `GET /v1/stats` answer.
pub const MAX_STATS_BUCKETS: u64 = 360;
/// Most blocks `GET /v1/stats` reads; a busier window is reported `truncated`.
pub const MAX_STATS_BLOCKS: u64 = 20_000;
/// Most open `GET /v1/events` streams per node; more are refused with 503
/// `too_many_subscribers`.
pub const MAX_SUBSCRIBERS: usize = 256;
/// Most open `GET /v1/events` streams per client (peer IP address), so one client cannot
/// take every slot; more are refused with 429 `too_many_subscribers`. Behind a reverse proxy
/// every client has the proxy's address.
pub const MAX_SUBSCRIBERS_PER_CLIENT: usize = 8;
/// Most blocks one `GET /v1/contracts/{address}/events` request scans (a longer range is
/// answered in pages: `next_from_height`).
pub const MAX_LOG_BLOCKS: u64 = 10_000;
/// Most logs in one page of `GET /v1/contracts/{address}/events`.
pub const MAX_LOG_PAGE: usize = 1000;
/// Logs per page without `limit`.
pub const DEFAULT_LOG_PAGE: usize = 100;
/// Block summaries kept in memory for lists, stats and events.
const CACHE_BLOCKS: usize = 50_000;

/// Shared state of the live routes (a request extension).
#[derive(Clone)]
pub(crate) struct Live {
    summaries: Arc<Mutex<BTreeMap<u64, BlockSummary>>>,
    subscribers: Arc<AtomicUsize>,
    /// Open streams per peer address (entries at zero are removed).
    per_client: Arc<Mutex<BTreeMap<IpAddr, usize>>>,
    /// Set when the server shuts down: open event streams end, so shutdown need not wait
    /// for their clients.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            summaries: Arc::default(),
            subscribers: Arc::default(),
            per_client: Arc::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

impl Live {
    /// Ends every open event stream, and any opened later.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    /// The summary of committed block `height` (cached: blocks never change).
    fn summary(&self, node: &Node, height: u64) -> Result<Option<BlockSummary>> {
        if let Some(s) = self.cache().get(&height) {
            return Ok(Some(s.clone()));
        }
        let Some((block, _)) = node.ledger().block(height)? else {
            return Ok(None);
        };
        let suite = node.genesis().suite;
        let summary = BlockSummary {
            height,
            hash: block.header.hash(suite),
            timestamp_ms: block.header.timestamp_ms,
            proposer_name: validator_name(node, &block.header.proposer),
            proposer: block.header.proposer,
            tx_count: block.header.tx_count,
            records: block
                .transactions
                .iter()
                .map(|t| match &t.payload {
                    Payload::Evidence { records } => records.len() as u64,
                    _ => 0,
                })
                .sum(),
        };
        let mut cache = self.cache();
        cache.insert(height, summary.clone());
        while cache.len() > CACHE_BLOCKS {
            cache.pop_first();
        }
        Ok(Some(summary))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, BlockSummary>> {
        self.summaries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The name of validator `key`, if it is one of the genesis or of the current epoch.
fn validator_name(node: &Node, key: &PublicKey) -> Option<String> {
    let genesis = node.genesis();
    if let Some(v) = genesis.validators.iter().find(|v| &v.public_key == key) {
        return Some(v.name.clone());
    }
    node.current_validators()
        .ok()?
        .into_iter()
        .find(|v| &v.public_key == key)
        .map(|v| v.name)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

fn list_query(
    query: std::result::Result<Query<ListQuery>, QueryRejection>,
) -> Result<(usize, Option<String>)> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIST_PAGE);
    if limit == 0 || limit > MAX_LIST_PAGE {
        return Err(Error::bad_request(
            "invalid_query",
            format!("limit must be 1..={MAX_LIST_PAGE}, got {limit}"),
        ));
    }
    Ok((limit, q.cursor))
}

fn bad_cursor(cursor: &str) -> Error {
    Error::bad_request(
        "invalid_query",
        format!("cursor {cursor:?} is not one this list returned"),
    )
}

/// `GET /v1/blocks`: committed blocks, newest first; `cursor` is the height to continue
/// below.
pub(crate) async fn blocks(
    State(node): AppState,
    Extension(live): Extension<Live>,
    query: std::result::Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<BlockListResponse>> {
    let (limit, cursor) = list_query(query)?;
    let below = match &cursor {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| bad_cursor(c))?),
    };
    blocking(&node, move |n| {
        let height = n.ledger().height();
        let top = below.map_or(height, |b| b.saturating_sub(1).min(height));
        let mut blocks = Vec::with_capacity(limit);
        let mut h = top;
        while h >= 1 && blocks.len() < limit {
            let s = live.summary(n, h)?.ok_or_else(|| {
                Error::from(kexin_ledger::LedgerError::Corrupt(format!(
                    "block {h} is missing below the head {height}"
                )))
            })?;
            blocks.push(s);
            h -= 1;
        }
        Ok(Json(BlockListResponse {
            height,
            blocks,
            next_cursor: (h >= 1).then(|| (h + 1).to_string()),
        }))
    })
    .await
}

fn tx_entry(
    node: &Node,
    tx: &kexin_types::Transaction,
    hash: Hash,
    height: u64,
    index: u32,
    timestamp_ms: u64,
) -> Result<TxSummaryEntry> {
    let org = match &tx.cert {
        Some(id) => auth::cert_org(node, id)?,
        None => None,
    };
    Ok(TxSummaryEntry {
        hash,
        height,
        index,
        timestamp_ms,
        kind: tx.payload.kind_name().to_owned(),
        signer: tx.signer,
        cert: tx.cert,
        org,
        records: match &tx.payload {
            Payload::Evidence { records } => records.len() as u64,
            _ => 0,
        },
    })
}

/// A transaction list position: before transaction `index` of block `height`.
fn parse_tx_cursor(c: &str) -> Result<(u64, u32)> {
    let (h, i) = c.split_once('.').ok_or_else(|| bad_cursor(c))?;
    Ok((
        h.parse().map_err(|_| bad_cursor(c))?,
        i.parse().map_err(|_| bad_cursor(c))?,
    ))
}

/// `GET /v1/transactions`: committed transactions, newest first; `cursor` is
/// `HEIGHT.INDEX`, the position to continue before.
pub(crate) async fn transactions(
    State(node): AppState,
    query: std::result::Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<TxListResponse>> {
    let (limit, cursor) = list_query(query)?;
    let start = cursor.as_deref().map(parse_tx_cursor).transpose()?;
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let height = ledger.height();
        let (mut h, mut before) = match start {
            None => (height, u32::MAX),
            Some((h, _)) if h > height => (height, u32::MAX),
            Some(pos) => pos,
        };
        let mut out = Vec::with_capacity(limit);
        let mut scanned = 0u64;
        let mut next = None;
        'blocks: while h >= 1 {
            if scanned == MAX_BLOCKS_SCANNED {
                next = Some(format!("{h}.{before}"));
                break;
            }
            scanned += 1;
            let (block, _) = ledger.block(h)?.ok_or_else(|| {
                Error::from(kexin_ledger::LedgerError::Corrupt(format!(
                    "block {h} is missing below the head {height}"
                )))
            })?;
            let end = (block.transactions.len() as u64).min(u64::from(before)) as u32;
            for index in (0..end).rev() {
                if out.len() == limit {
                    next = Some(format!("{h}.{}", index + 1));
                    break 'blocks;
                }
                let tx = &block.transactions[index as usize];
                let hash = SealedTx::new(tx.clone()).hash();
                out.push(tx_entry(n, tx, hash, h, index, block.header.timestamp_ms)?);
            }
            h -= 1;
            before = u32::MAX;
        }
        if next.is_none() && out.len() == limit && h >= 1 {
            next = Some(format!("{h}.{before}"));
        }
        Ok(Json(TxListResponse {
            height,
            transactions: out,
            next_cursor: next,
        }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatsQuery {
    window_s: Option<u64>,
    bucket_s: Option<u64>,
}

/// `GET /v1/stats`: committed work per time bucket over the last minutes (5 by default),
/// by block timestamp.
pub(crate) async fn stats(
    State(node): AppState,
    Extension(live): Extension<Live>,
    query: std::result::Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<StatsResponse>> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let window_s = q.window_s.unwrap_or(300);
    let bucket_s = q.bucket_s.unwrap_or(10);
    if window_s == 0 || window_s > MAX_STATS_WINDOW_S {
        return Err(Error::bad_request(
            "invalid_query",
            format!("window_s must be 1..={MAX_STATS_WINDOW_S}, got {window_s}"),
        ));
    }
    if bucket_s == 0 || window_s % bucket_s != 0 || window_s / bucket_s > MAX_STATS_BUCKETS {
        return Err(Error::bad_request(
            "invalid_query",
            format!(
                "bucket_s must divide window_s ({window_s}) into at most {MAX_STATS_BUCKETS} \
                 buckets, got {bucket_s}"
            ),
        ));
    }
    blocking(&node, move |n| {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let bucket_ms = bucket_s * 1000;
        let count = window_s / bucket_s;
        let first = now_ms.saturating_sub(window_s * 1000);
        let mut buckets: Vec<StatsBucket> = (0..count)
            .map(|i| StatsBucket {
                start_ms: first + i * bucket_ms,
                blocks: 0,
                transactions: 0,
                records: 0,
            })
            .collect();
        let height = n.ledger().height();
        let mut h = height;
        let mut scanned = 0;
        let mut truncated = false;
        while h >= 1 {
            if scanned == MAX_STATS_BLOCKS {
                truncated = true;
                break;
            }
            scanned += 1;
            let Some(s) = live.summary(n, h)? else { break };
            if s.timestamp_ms < first {
                break;
            }
            // A proposer clock ahead of ours counts in the last bucket.
            let i = ((s.timestamp_ms - first) / bucket_ms).min(count - 1) as usize;
            let b = &mut buckets[i];
            b.blocks += 1;
            b.transactions += u64::from(s.tx_count);
            b.records += s.records;
            h -= 1;
        }
        Ok(Json(StatsResponse {
            height,
            now_ms,
            window_s,
            bucket_s,
            transactions: buckets.iter().map(|b| b.transactions).sum(),
            records: buckets.iter().map(|b| b.records).sum(),
            blocks: buckets.iter().map(|b| b.blocks).sum(),
            buckets,
            truncated,
        }))
    })
    .await
}

/// `GET /v1/validators`: the current epoch's validators, and which this node hears from.
pub(crate) async fn validators(State(node): AppState) -> Result<Json<ValidatorsResponse>> {
    blocking(&node, |n| {
        let status = n.validator_status().map_err(|e| Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: e.to_string(),
        })?;
        let (epoch, _) = n.current_epoch();
        let total = status.len() as u64;
        Ok(Json(ValidatorsResponse {
            height: n.ledger().height(),
            epoch,
            online: status.iter().filter(|v| v.online).count() as u64,
            total,
            quorum: kexin_types::quorum_of(status.len()) as u64,
            validators: status
                .into_iter()
                .map(|s| ValidatorEntry {
                    name: s.validator.name,
                    org: s.validator.org,
                    public_key: s.validator.public_key,
                    address: s.validator.address,
                    online: s.online,
                    is_self: s.is_self,
                    last_seen_ms: s.last_seen.map(|d| d.as_millis() as u64),
                })
                .collect(),
        }))
    })
    .await
}

/// `GET /metrics`: Prometheus metrics (OpenMetrics text).
pub(crate) async fn metrics(State(node): AppState) -> Result<Response> {
    let text = blocking(&node, |n| Ok(n.metrics_text()?)).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response())
}

/// `GET /v1/health/ready`: 200 when ready, else 503 `not_ready` with the reasons.
pub(crate) async fn ready(State(node): AppState) -> Result<Json<HealthResponse>> {
    let health = crate::routes::health_response(&node).await?;
    if !health.ready {
        return Err(Error {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "not_ready",
            message: health.reasons.join("; "),
        });
    }
    Ok(Json(health))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    from_height: Option<u64>,
    types: Option<String>,
    module: Option<String>,
    topic: Option<String>,
    org: Option<String>,
    contract: Option<String>,
    topic0: Option<String>,
}

/// A contract log (Solidity event) of a committed transaction: the `log` event of
/// `GET /v1/events` and an entry of `GET /v1/contracts/{address}/events`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LogEvent {
    /// The transaction that emitted it.
    tx_hash: Hash,
    /// Its block.
    height: u64,
    /// The transaction's index in the block.
    tx_index: u32,
    /// The log's index among the transaction's logs (its outcome's `logs[log_index]`).
    log_index: u32,
    /// The contract that emitted it.
    contract: ContractAddress,
    /// Its topics (0 to 4; the first is the event signature's hash for a non-anonymous
    /// Solidity event).
    topics: Vec<Hash>,
    /// Its data, `0x` and hex.
    #[serde(with = "kexin_types::contract::hex0x")]
    data: Vec<u8>,
    /// The organisation of the transaction's signer.
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<String>,
    /// The log decoded with the ABI published with the contract's deployment (pages of
    /// `/v1/contracts/{address}/events` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    decoded: Option<kexin_types::api::DecodedEvent>,
}

/// Which logs a subscriber or a page asked for.
#[derive(Clone, Debug, Default)]
struct LogFilter {
    contract: Option<ContractAddress>,
    topic0: Option<Hash>,
}

impl LogFilter {
    fn wants(&self, log: &ContractLog) -> bool {
        self.contract.is_none_or(|c| c == log.address)
            && self.topic0.is_none_or(|t| log.topics.first() == Some(&t))
    }
}

/// Parses a `contract` query value (`0x` and 40 hex digits).
fn parse_contract_query(s: &str) -> Result<ContractAddress> {
    s.parse().map_err(|e: kexin_types::DecodeError| {
        Error::bad_request(
            "invalid_query",
            format!("contract must be 0x and 40 hex digits (a contract address): {e}"),
        )
    })
}

/// Parses a `topic0` query value: 32 bytes, 64 hex digits with or without `0x`.
fn parse_topic0(s: &str) -> Result<Hash> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    Hash::from_hex(&digits.to_ascii_lowercase()).map_err(|e| {
        Error::bad_request(
            "invalid_query",
            format!(
                "topic0 must be 32 bytes (64 hex digits, 0x optional), the hash of an event \
                 signature; got {s:?}: {e}"
            ),
        )
    })
}

/// Which events a subscriber asked for.
#[derive(Clone, Debug)]
struct Kinds {
    blocks: bool,
    transactions: bool,
    governance: bool,
    /// Module events (`event`), with their filters.
    events: bool,
    module: Option<String>,
    topic: Option<String>,
    org: Option<String>,
    /// Contract logs (`log`), with their filter.
    logs: bool,
    log_filter: LogFilter,
}

impl Kinds {
    /// Whether a module event passes the subscriber's filters.
    fn wants(&self, module: &str, topic: &str, org: Option<&str>) -> bool {
        self.module.as_deref().is_none_or(|m| m == module)
            && self.topic.as_deref().is_none_or(|t| t == topic)
            && self.org.as_deref().is_none_or(|o| Some(o) == org)
    }
}

/// The event types of `types` (default: block, transaction and governance; with a module,
/// topic or org filter and no `types`, module events alone; with a contract or topic0
/// filter and no `types`, contract logs alone).
fn parse_kinds(q: &EventsQuery) -> Result<Kinds> {
    let filtered = q.module.is_some() || q.topic.is_some() || q.org.is_some();
    let log_filtered = q.contract.is_some() || q.topic0.is_some();
    let log_filter = LogFilter {
        contract: q
            .contract
            .as_deref()
            .map(parse_contract_query)
            .transpose()?,
        topic0: q.topic0.as_deref().map(parse_topic0).transpose()?,
    };
    for (name, v) in [("module", &q.module), ("topic", &q.topic), ("org", &q.org)] {
        if let Some(v) = v
            && (v.is_empty() || v.len() > 64)
        {
            return Err(Error::bad_request(
                "invalid_query",
                format!("{name} must be 1..=64 bytes"),
            ));
        }
    }
    let mut k = Kinds {
        blocks: false,
        transactions: false,
        governance: false,
        events: false,
        module: q.module.clone(),
        topic: q.topic.clone(),
        org: q.org.clone(),
        logs: false,
        log_filter,
    };
    let Some(types) = q.types.as_deref() else {
        if filtered || log_filtered {
            k.events = filtered;
            k.logs = log_filtered;
        } else {
            (k.blocks, k.transactions, k.governance) = (true, true, true);
        }
        return Ok(k);
    };
    for t in types.split(',') {
        match t {
            "block" => k.blocks = true,
            "transaction" => k.transactions = true,
            "governance" => k.governance = true,
            "event" => k.events = true,
            "log" => k.logs = true,
            other => {
                return Err(Error::bad_request(
                    "invalid_query",
                    format!(
                        "types lists {other:?}; the event types are block, transaction, \
                         governance, event and log"
                    ),
                ));
            }
        }
    }
    if filtered && !k.events {
        return Err(Error::bad_request(
            "invalid_query",
            "module, topic and org filter module events: add event to types",
        ));
    }
    if log_filtered && !k.logs {
        return Err(Error::bad_request(
            "invalid_query",
            "contract and topic0 filter contract logs: add log to types",
        ));
    }
    Ok(k)
}

/// Counts an open stream; frees its slot when dropped.
/// An open stream's slots: one of the node's, and one of its client's when the peer address
/// is known. Given back when the stream ends.
struct Subscription {
    live: Live,
    client: Option<IpAddr>,
}

impl Subscription {
    /// Takes a slot for a stream of `client`, or says why not: 429 when this client has
    /// [`MAX_SUBSCRIBERS_PER_CLIENT`] streams open, 503 when the node has
    /// [`MAX_SUBSCRIBERS`]. Refusals are logged at WARN: they are load, not faults.
    fn take(live: &Live, client: Option<IpAddr>) -> Result<Subscription> {
        let mut per_client = live
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(ip) = client
            && per_client.get(&ip).copied().unwrap_or(0) >= MAX_SUBSCRIBERS_PER_CLIENT
        {
            tracing::warn!(
                client = %ip,
                limit = MAX_SUBSCRIBERS_PER_CLIENT,
                "event stream refused: this client has its maximum open"
            );
            return Err(Error {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_subscribers",
                message: format!(
                    "this node serves at most {MAX_SUBSCRIBERS_PER_CLIENT} event streams to one \
                     client ({ip}); close one first"
                ),
            });
        }
        if live.subscribers.fetch_add(1, Ordering::AcqRel) >= MAX_SUBSCRIBERS {
            live.subscribers.fetch_sub(1, Ordering::AcqRel);
            // (Logged at WARN with the other refusals of load, by `Error::into_response`.)
            return Err(Error {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "too_many_subscribers",
                message: format!("this node serves at most {MAX_SUBSCRIBERS} event streams"),
            });
        }
        if let Some(ip) = client {
            *per_client.entry(ip).or_default() += 1;
        }
        Ok(Subscription {
            live: live.clone(),
            client,
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(ip) = self.client {
            let mut per_client = self
                .live
                .per_client
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(n) = per_client.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    per_client.remove(&ip);
                }
            }
        }
        self.live.subscribers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The events of committed block `height`, in order: its transactions, its governance
/// transactions, then the block itself (carrying the id a client resumes after).
fn block_events(node: &Node, live: &Live, height: u64, kinds: Kinds) -> Result<Vec<Event>> {
    let outcomes = if kinds.events || kinds.logs {
        node.ledger().block_outcomes(height)?
    } else {
        Vec::new()
    };
    let corrupt = || {
        Error::from(kexin_ledger::LedgerError::Corrupt(format!(
            "block {height} is missing below the head"
        )))
    };
    let summary = live.summary(node, height)?.ok_or_else(corrupt)?;
    let mut events = Vec::new();
    if kinds.transactions || kinds.governance || kinds.events || kinds.logs {
        let (block, _) = node.ledger().block(height)?.ok_or_else(corrupt)?;
        for (index, tx) in block.transactions.iter().enumerate() {
            let hash = SealedTx::new(tx.clone()).hash();
            let entry = tx_entry(node, tx, hash, height, index as u32, summary.timestamp_ms)?;
            let gov = match &tx.payload {
                Payload::Propose { action } => Some((Some(hash), Some(action.kind_name()), None)),
                Payload::Vote { proposal, approve } => {
                    Some((Some(*proposal), None, Some(*approve)))
                }
                Payload::RevokeCert { .. } | Payload::AddCa { .. } => Some((None, None, None)),
                Payload::Evidence { .. }
                | Payload::AuditNote { .. }
                | Payload::ContractDeploy { .. }
                | Payload::ContractCall { .. } => None,
            };
            if let (true, Some((proposal, action, approve))) = (kinds.governance, gov) {
                let g = GovernanceEvent {
                    tx_hash: hash,
                    height,
                    kind: entry.kind.clone(),
                    proposal,
                    action: action.map(str::to_owned),
                    approve,
                    org: entry.org.clone(),
                };
                events.push(json_event("governance", &g)?);
            }
            if kinds.transactions {
                events.push(json_event("transaction", &entry)?);
            }
            if let Some(outcome) = outcomes.get(index) {
                for e in outcome.events.iter().filter(|_| kinds.events) {
                    if !kinds.wants(&e.module, &e.topic, entry.org.as_deref()) {
                        continue;
                    }
                    let m = ModuleEvent {
                        tx_hash: hash,
                        height,
                        tx_index: index as u32,
                        module: e.module.clone(),
                        topic: e.topic.clone(),
                        attributes: e.attributes.clone(),
                        org: entry.org.clone(),
                    };
                    events.push(json_event("event", &m)?);
                }
                if kinds.logs {
                    for l in logs_of(
                        hash,
                        height,
                        index as u32,
                        outcome,
                        &kinds.log_filter,
                        entry.org.as_deref(),
                    ) {
                        events.push(json_event("log", &l)?);
                    }
                }
            }
        }
    }
    if kinds.blocks {
        events.push(json_event("block", &summary)?);
    }
    // The last event of a block carries its height: a client that saw it resumes after it.
    if let Some(last) = events.pop() {
        events.push(last.id(height.to_string()));
    }
    Ok(events)
}

/// The logs of a transaction's outcome that pass `filter`.
fn logs_of(
    tx_hash: Hash,
    height: u64,
    tx_index: u32,
    outcome: &kexin_types::Outcome,
    filter: &LogFilter,
    org: Option<&str>,
) -> Vec<LogEvent> {
    outcome
        .logs
        .iter()
        .enumerate()
        .filter(|(_, l)| filter.wants(l))
        .map(|(i, l)| LogEvent {
            tx_hash,
            height,
            tx_index,
            log_index: i as u32,
            contract: l.address,
            topics: l.topics.clone(),
            data: l.data.clone(),
            org: org.map(str::to_owned),
            decoded: None,
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContractEventsQuery {
    from_height: Option<u64>,
    to_height: Option<u64>,
    topic0: Option<String>,
    limit: Option<usize>,
}

/// One page of `GET /v1/contracts/{address}/events`.
#[derive(Debug, Serialize)]
pub(crate) struct ContractEventsResponse {
    /// The contract.
    contract: ContractAddress,
    /// The first block scanned.
    from_height: u64,
    /// The last block scanned (below `from_height` when the range starts above the head).
    to_height: u64,
    /// The node's committed height.
    height: u64,
    /// The contract's logs in those blocks, in chain order.
    logs: Vec<LogEvent>,
    /// Where the next page starts, when the range was not scanned to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_from_height: Option<u64>,
}

/// `GET /v1/contracts/{address}/events`: the logs a contract emitted in a range of committed
/// blocks (by default from block 1 to the head), in chain order, optionally only those whose
/// first topic is `topic0`. A scan of the blocks' outcomes, not an index: at most
/// [`MAX_LOG_BLOCKS`] blocks and, at block boundaries, [`MAX_LOG_PAGE`] logs per request
/// (`limit`), with `next_from_height` to continue.
pub(crate) async fn contract_events(
    State(node): AppState,
    Path(address): Path<String>,
    query: std::result::Result<Query<ContractEventsQuery>, QueryRejection>,
) -> Result<Json<ContractEventsResponse>> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_LOG_PAGE);
    if limit == 0 || limit > MAX_LOG_PAGE {
        return Err(Error::bad_request(
            "invalid_query",
            format!("limit must be 1..={MAX_LOG_PAGE}, got {limit}"),
        ));
    }
    let from = q.from_height.unwrap_or(1);
    if from == 0 {
        return Err(Error::bad_request(
            "invalid_query",
            "from_height must be at least 1 (the first block)",
        ));
    }
    if let Some(to) = q.to_height
        && to < from
    {
        return Err(Error::bad_request(
            "invalid_query",
            format!("to_height {to} is below from_height {from}"),
        ));
    }
    let topic0 = q.topic0.as_deref().map(parse_topic0).transpose()?;
    let contract: ContractAddress = address.parse().map_err(|e: kexin_types::DecodeError| {
        Error::bad_request("invalid_address", e.to_string())
    })?;
    let filter = LogFilter {
        contract: Some(contract),
        topic0,
    };
    blocking(&node, move |n| {
        let ledger = n.ledger();
        let height = ledger.height();
        let end = q.to_height.map_or(height, |t| t.min(height));
        let last_allowed = from.saturating_add(MAX_LOG_BLOCKS - 1).min(end);
        let mut logs = Vec::new();
        let mut abis = crate::contracts::Abis::default();
        let mut h = from;
        let mut next = None;
        while h <= last_allowed {
            let outcomes = ledger.block_outcomes(h)?;
            let matching: usize = outcomes
                .iter()
                .map(|o| o.logs.iter().filter(|l| filter.wants(l)).count())
                .sum();
            if matching > 0 {
                // Pages end at block boundaries: a block that would pass the limit starts the
                // next page (unless it is the page's first, which is answered whole).
                if !logs.is_empty() && logs.len() + matching > limit {
                    next = Some(h);
                    break;
                }
                let (block, _) = ledger.block(h)?.ok_or_else(|| {
                    Error::from(kexin_ledger::LedgerError::Corrupt(format!(
                        "block {h} is missing below the head {height}"
                    )))
                })?;
                for (index, (tx, outcome)) in block.transactions.iter().zip(&outcomes).enumerate() {
                    if !outcome.logs.iter().any(|l| filter.wants(l)) {
                        continue;
                    }
                    let org = match &tx.cert {
                        Some(id) => auth::cert_org(n, id)?,
                        None => None,
                    };
                    let hash = SealedTx::new(tx.clone()).hash();
                    for mut event in
                        logs_of(hash, h, index as u32, outcome, &filter, org.as_deref())
                    {
                        let log = &outcome.logs[event.log_index as usize];
                        event.decoded = abis.log(n, log)?;
                        logs.push(event);
                    }
                }
            }
            if h == last_allowed {
                break;
            }
            h += 1;
        }
        // (A range starting above the head scans nothing: `to_height` is then the head.)
        let to_height = match next {
            Some(n) => n - 1,
            None => last_allowed,
        };
        if next.is_none() && last_allowed < end {
            next = Some(last_allowed + 1);
        }
        Ok(Json(ContractEventsResponse {
            contract,
            from_height: from,
            to_height,
            height,
            logs,
            next_from_height: next,
        }))
    })
    .await
}

fn json_event<T: serde::Serialize>(kind: &str, value: &T) -> Result<Event> {
    Event::default()
        .event(kind)
        .json_data(value)
        .map_err(|e| Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: format!("cannot encode a {kind} event: {e}"),
        })
}

struct Stream {
    node: Arc<Node>,
    live: Live,
    kinds: Kinds,
    next: u64,
    pending: VecDeque<Event>,
    heights: tokio::sync::watch::Receiver<u64>,
    closing: tokio::sync::watch::Receiver<bool>,
    _slot: Subscription,
}

/// `GET /v1/events`: Server-Sent Events for each committed block from `from_height` (or
/// after the `Last-Event-ID` a reconnecting client sends; by default, from the next block).
pub(crate) async fn events(
    State(node): AppState,
    Extension(live): Extension<Live>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    query: std::result::Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let kinds = parse_kinds(&q)?;
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::bad_request(
                        "invalid_query",
                        "Last-Event-ID must be a block height this stream sent",
                    )
                })?,
        ),
    };
    let next = match (resume, q.from_height) {
        (Some(id), _) => id.saturating_add(1),
        (None, Some(h)) => h.max(1),
        (None, None) => node.ledger().height() + 1,
    };
    // The peer's address, as the server records it for each connection.
    let client = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let slot = Subscription::take(&live, client)?;
    let state = Stream {
        heights: node.watch_height(),
        closing: live.closing.subscribe(),
        _slot: slot,
        node,
        live,
        kinds,
        next,
        pending: VecDeque::new(),
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        loop {
            if *st.closing.borrow() {
                return None;
            }
            if let Some(event) = st.pending.pop_front() {
                return Some((Ok::<_, std::convert::Infallible>(event), st));
            }
            let height = st.node.ledger().height();
            if st.next <= height {
                let (live, kinds, h) = (st.live.clone(), st.kinds.clone(), st.next);
                match blocking(&st.node, move |n| block_events(n, &live, h, kinds)).await {
                    Ok(events) => {
                        st.pending.extend(events);
                        st.next += 1;
                    }
                    Err(e) => {
                        tracing::warn!(height = h, "event stream stopped: {}", e.message);
                        let event = Event::default()
                            .event("error")
                            .data(format!("{}: {}", e.code, e.message));
                        st.next = u64::MAX;
                        return Some((Ok(event), st));
                    }
                }
                continue;
            }
            if st.next == u64::MAX {
                return None;
            }
            // Wake on the next commit; re-check now and then in case a wake-up was missed.
            // The sender goes with the engine: a stopping node ends the stream.
            let wake = async {
                tokio::select! {
                    changed = st.heights.changed() => changed.is_ok(),
                    _ = st.closing.changed() => true,
                }
            };
            if let Ok(false) = tokio::time::timeout(Duration::from_secs(5), wake).await {
                return None;
            }
        }
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Tells reverse proxies (nginx) not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    /// Shutdown ends open event streams: a graceful shutdown waits for every open response,
    /// and a stream would otherwise keep it waiting until its client leaves.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_ends_open_event_streams() {
        let dir = tempfile::tempdir().unwrap();
        kexin_node::init(&kexin_node::InitOptions {
            dir: dir.path().to_owned(),
            suite: kexin_crypto::Suite::Intl,
            chain_id: Some("close-test".into()),
            api_addr: "127.0.0.1:0".parse().unwrap(),
        })
        .unwrap();
        let node = Arc::new(Node::open(dir.path()).unwrap());
        let live = Live::default();
        let app = crate::build(node.clone(), live.clone());
        let resp = app
            .oneshot(Request::get("/v1/events").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let mut body = resp.into_body();
        // Open and idle: nothing within a moment.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), body.frame())
                .await
                .is_err()
        );
        live.close();
        let end = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the stream ends once closing");
        assert!(end.is_none(), "{end:?}");
        assert_eq!(live.subscribers.load(Ordering::Acquire), 0);
        drop(node);
    }
}
