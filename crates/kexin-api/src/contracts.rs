//! The `/v1/contracts` handlers: contract accounts, their transactions, storage proofs and
//! read-only calls; and the decoding of contract calls and logs with the ABIs published with
//! deployments (payload kind 9).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use kexin_crypto::{Hash, PublicKey};
use kexin_evm::abi::{self, JsonAbi};
use kexin_ledger::LedgerError;
use kexin_node::Node;
use kexin_types::api::*;
use kexin_types::{ContractAddress, ContractLog, Outcome, Payload, Transaction};
use serde::Deserialize;

use crate::auth;
use crate::error::Error;
use crate::routes::blocking;

type Result<T> = std::result::Result<T, Error>;
type AppState = State<Arc<Node>>;

/// Transactions in a page of `GET /v1/contracts/{address}/transactions` without `limit`.
pub const DEFAULT_CONTRACT_TXS_PAGE: usize = 50;
/// Most transactions in such a page.
pub const MAX_CONTRACT_TXS_PAGE: usize = 200;

fn parse_contract(s: &str) -> Result<kexin_types::ContractAddress> {
    s.parse()
        .map_err(|e: kexin_types::DecodeError| Error::bad_request("invalid_address", e.to_string()))
}

/// The committed height and timestamp a read of the state answers at.
fn head_of(node: &Node) -> (u64, u64) {
    node.ledger()
        .head()
        .map_or((0, node.genesis().timestamp_ms), |h| {
            (h.height, h.header.timestamp_ms)
        })
}

pub(crate) async fn contract(
    State(node): AppState,
    Path(address): Path<String>,
) -> Result<Json<ContractResponse>> {
    let address = parse_contract(&address)?;
    blocking(&node, move |n| {
        let (height, _) = head_of(n);
        let view = kexin_node::LedgerView::committed(n.ledger());
        let (acc, code_size) = kexin_exec::contract::contract_info(&view, &address)
            .map_err(|e| Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string())))?
            .ok_or_else(|| Error::not_found(format!("no contract account at {address}")))?;
        let deployment = deployment(n, &address)?;
        Ok(Json(ContractResponse {
            address,
            code_hash: acc.code_hash,
            code_size: code_size as u64,
            nonce: acc.nonce,
            frozen: acc.frozen,
            created_at: acc.created_at,
            creator_org: acc.creator_org,
            deploy_tx: deployment.as_ref().map(|(h, _)| *h),
            deployer: deployment
                .as_ref()
                .map(|(_, tx)| signer_address(n, &tx.signer)),
            deployer_cert: deployment.as_ref().and_then(|(_, tx)| tx.cert),
            abi: deployment.and_then(|(_, tx)| match tx.payload {
                Payload::ContractDeploy { abi: Some(abi), .. } => serde_json::from_str(&abi).ok(),
                _ => None,
            }),
            height,
        }))
    })
    .await
}

/// `GET /v1/contracts/{address}/storage/{slot}`: the slot's word (or its absence) at the
/// head, as a state proof document that verifies offline from the genesis alone.
pub(crate) async fn contract_storage(
    State(node): AppState,
    Path((address, slot)): Path<(String, String)>,
) -> Result<Json<kexin_types::state_receipt::StateReceipt>> {
    let address = parse_contract(&address)?;
    let slot = kexin_types::state_receipt::parse_slot(&slot)
        .map_err(|e| Error::bad_request("invalid_slot", e.to_string()))?;
    let key = kexin_types::state_receipt::contract_storage_key(&address, &slot);
    state_receipt(node, key).await
}

/// The state proof document of `key` at the head (404 before the first block).
async fn state_receipt(
    node: Arc<Node>,
    key: kexin_types::state::Key,
) -> Result<Json<kexin_types::state_receipt::StateReceipt>> {
    blocking(&node, move |n| {
        let doc = n
            .ledger()
            .state_receipt(&key)?
            .ok_or_else(|| Error::not_found("no block has been committed yet"))?;
        Ok(Json(doc))
    })
    .await
}

pub(crate) async fn contract_query(
    State(node): AppState,
    Path(address): Path<String>,
    body: std::result::Result<Json<ContractQueryRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ContractQueryResponse>> {
    let address = parse_contract(&address)?;
    let Json(mut req) = body.map_err(|e| Error::bad_request("invalid_request", e.body_text()))?;
    if req.function.is_some() && !req.input.is_empty() {
        return Err(Error::bad_request(
            "invalid_request",
            "give either input (calldata) or function (with args), not both",
        ));
    }
    if req.function.is_none() && !req.args.is_empty() {
        return Err(Error::bad_request(
            "invalid_request",
            "args are the arguments of a function: name it with function",
        ));
    }
    if req.input.len() > kexin_types::contract::MAX_CALLDATA_BYTES {
        return Err(Error::bad_request(
            "too_large",
            format!(
                "the input is {} bytes, at most {}",
                req.input.len(),
                kexin_types::contract::MAX_CALLDATA_BYTES
            ),
        ));
    }
    blocking(&node, move |n| {
        let function = match req.function.take() {
            Some(name) => {
                let function = abi_function(n, &address, &name)?;
                req.input = abi::encode_call(&function, &req.args)
                    .map_err(|e| Error::bad_request(e.code(), e.to_string()))?;
                Some(function)
            }
            None => None,
        };
        let (height, timestamp_ms) = head_of(n);
        let view = kexin_node::LedgerView::committed(n.ledger());
        let out = kexin_exec::contract::query(
            &view,
            n.genesis(),
            height,
            timestamp_ms,
            req.from,
            address,
            &req.input,
            req.gas_limit,
        )
        .map_err(|e| Error::from(kexin_ledger::LedgerError::Corrupt(e.to_string())))?;
        let q = match out {
            Ok(q) => q,
            Err(r) if r.code() == "no_contract" => return Err(Error::not_found(r.to_string())),
            Err(r) => return Err(Error::bad_request(r.code(), r.to_string())),
        };
        let decoded = match (&function, &q.failure) {
            (Some(f), None) => Some(
                abi::decode_output_json(f, &q.return_data)
                    .map_err(|e| Error::bad_request(e.code(), e.to_string()))?,
            ),
            _ => None,
        };
        let (status, code, message) = match q.failure {
            None => (kexin_types::Status::Success, None, None),
            Some((code, message)) => (
                kexin_types::Status::Failed,
                Some(code.to_owned()),
                Some(message),
            ),
        };
        Ok(Json(ContractQueryResponse {
            status,
            code,
            message,
            gas_used: q.gas_used,
            return_data: q.return_data,
            decoded,
            height,
        }))
    })
    .await
}

/// `GET /v1/names/{name}`: the contract the consortium named `name`.
pub(crate) async fn contract_name(
    State(node): AppState,
    Path(name): Path<String>,
) -> Result<Json<ContractNameResponse>> {
    kexin_types::gov::validate_contract_name(&name)
        .map_err(|e| Error::bad_request("invalid_name", e.to_string()))?;
    blocking(&node, move |n| {
        let (height, _) = head_of(n);
        let view = kexin_node::LedgerView::committed(n.ledger());
        let contract = kexin_exec::contract::named(&view, &name)
            .map_err(|e| Error::from(LedgerError::Corrupt(e.to_string())))?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no contract is named {name:?} (a name is given by a passed name_contract proposal)"
                ))
            })?;
        Ok(Json(ContractNameResponse {
            name,
            contract,
            height,
        }))
    })
    .await
}

/// `GET /v1/names/{name}/proof`: which contract `name` stands for (or that it stands for
/// none) at the head, as a state proof document (namespace 13, the name's bytes; the value is
/// the 20-byte address) that verifies offline from the genesis alone.
pub(crate) async fn contract_name_proof(
    State(node): AppState,
    Path(name): Path<String>,
) -> Result<Json<kexin_types::state_receipt::StateReceipt>> {
    kexin_types::gov::validate_contract_name(&name)
        .map_err(|e| Error::bad_request("invalid_name", e.to_string()))?;
    let key = kexin_types::state::Key::new(
        kexin_types::state::namespace::CONTRACT_NAME,
        name.into_bytes(),
    );
    state_receipt(node, key).await
}

/// The deployment transaction of `address`, if a transaction deployed it.
fn deployment(n: &Node, address: &ContractAddress) -> Result<Option<(Hash, Transaction)>> {
    let Some(t) = n.ledger().contract_deployment(address)? else {
        return Ok(None);
    };
    let (tx, _) = n.ledger().transaction(&t.tx_hash)?.ok_or_else(|| {
        Error::from(LedgerError::Corrupt(format!(
            "the deployment {} of {address} is indexed but missing",
            t.tx_hash
        )))
    })?;
    Ok(Some((t.tx_hash, tx)))
}

/// The ABI published with the deployment of `address`, if any (and if it parses).
fn published_abi(n: &Node, address: &ContractAddress) -> Result<Option<JsonAbi>> {
    Ok(match deployment(n, address)? {
        Some((
            _,
            Transaction {
                payload: Payload::ContractDeploy { abi: Some(abi), .. },
                ..
            },
        )) => serde_json::from_str(&abi).ok(),
        _ => None,
    })
}

/// The function `name` of the ABI published with `address`.
fn abi_function(n: &Node, address: &ContractAddress, name: &str) -> Result<abi::Function> {
    if n.ledger().contract_deployment(address)?.is_none() {
        return Err(Error::not_found(format!(
            "no contract account at {address}"
        )));
    }
    let abi = published_abi(n, address)?.ok_or_else(|| {
        Error::bad_request(
            "no_abi",
            format!("{address} was deployed without an ABI: call it with input (calldata)"),
        )
    })?;
    abi::find_function(&abi, name)
        .cloned()
        .map_err(|e| Error::bad_request(e.code(), e.to_string()))
}

/// The ABIs of contracts, looked up once each per request.
#[derive(Default)]
pub(crate) struct Abis(BTreeMap<ContractAddress, Option<JsonAbi>>);

impl Abis {
    fn get(&mut self, n: &Node, address: &ContractAddress) -> Result<Option<&JsonAbi>> {
        if !self.0.contains_key(address) {
            let abi = published_abi(n, address)?;
            self.0.insert(*address, abi);
        }
        Ok(self.0.get(address).and_then(Option::as_ref))
    }

    /// `input` decoded as a call of `contract`.
    pub(crate) fn call(
        &mut self,
        n: &Node,
        contract: &ContractAddress,
        input: &[u8],
    ) -> Result<Option<DecodedCall>> {
        Ok(self.get(n, contract)?.and_then(|abi| {
            abi::decode_call(abi, input).map(|d| DecodedCall {
                function: d.name,
                signature: d.signature,
                args: fields(d.fields, d.types),
            })
        }))
    }

    /// `log` decoded with its emitting contract's ABI.
    pub(crate) fn log(&mut self, n: &Node, log: &ContractLog) -> Result<Option<DecodedEvent>> {
        let Some(abi) = self.get(n, &log.address)? else {
            return Ok(None);
        };
        let evm_log = kexin_evm::Log::new_unchecked(
            kexin_evm::Address::from(log.address.0),
            log.topics
                .iter()
                .map(|t| kexin_evm::B256::from(t.0))
                .collect(),
            log.data.clone().into(),
        );
        Ok(abi::decode_log(abi, &evm_log).map(|d| DecodedEvent {
            event: d.name,
            signature: d.signature,
            fields: fields(d.fields, d.types),
        }))
    }

    /// What the published ABIs decode of a committed transaction (`None` when nothing).
    pub(crate) fn tx(
        &mut self,
        n: &Node,
        tx: &Transaction,
        outcome: &Outcome,
    ) -> Result<Option<DecodedContractTx>> {
        let call = match &tx.payload {
            Payload::ContractCall {
                contract, input, ..
            } => self.call(n, contract, input)?,
            _ => None,
        };
        let logs = outcome
            .logs
            .iter()
            .map(|l| self.log(n, l))
            .collect::<Result<Vec<_>>>()?;
        if call.is_none() && logs.iter().all(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(DecodedContractTx { call, logs }))
    }
}

fn fields(named: Vec<(String, String)>, types: Vec<String>) -> Vec<DecodedField> {
    named
        .into_iter()
        .zip(types)
        .map(|((name, value), ty)| DecodedField { name, ty, value })
        .collect()
}

fn signer_address(n: &Node, key: &PublicKey) -> ContractAddress {
    ContractAddress(kexin_evm::address_of(n.genesis().suite, key).0.0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContractTxsQuery {
    before: Option<u64>,
    limit: Option<usize>,
}

/// `GET /v1/contracts/{address}/transactions?before=H&limit=N`: the transactions that
/// deployed or called the contract, newest first, from blocks below `before`. A page ends at a
/// block boundary (unless one block alone holds more than `limit`, whose rest is then
/// skipped).
pub(crate) async fn contract_txs(
    State(node): AppState,
    Path(address): Path<String>,
    query: std::result::Result<Query<ContractTxsQuery>, QueryRejection>,
) -> Result<Json<ContractTxsResponse>> {
    let Query(q) = query.map_err(|e| Error::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_CONTRACT_TXS_PAGE);
    if limit == 0 || limit > MAX_CONTRACT_TXS_PAGE {
        return Err(Error::bad_request(
            "invalid_query",
            format!("limit must be 1..={MAX_CONTRACT_TXS_PAGE}, got {limit}"),
        ));
    }
    let address = parse_contract(&address)?;
    blocking(&node, move |n| {
        let (height, _) = head_of(n);
        let mut page = n.ledger().contract_txs(&address, q.before, limit)?;
        let mut next_before = None;
        if page.len() == limit
            && let Some(last) = page.last().map(|t| t.height)
        {
            next_before = if page.iter().any(|t| t.height != last) {
                page.retain(|t| t.height != last);
                Some(last + 1)
            } else {
                Some(last)
            }
            // Nothing lies below block 1.
            .filter(|b| *b > 1);
        }
        let mut abis = Abis::default();
        let mut transactions = Vec::with_capacity(page.len());
        for t in page {
            let (tx, _) = n.ledger().transaction(&t.tx_hash)?.ok_or_else(|| {
                Error::from(LedgerError::Corrupt(format!(
                    "contract transaction {} is indexed but missing",
                    t.tx_hash
                )))
            })?;
            let (outcome, _) = n.ledger().tx_outcome(&t.tx_hash)?.ok_or_else(|| {
                Error::from(LedgerError::Corrupt(format!(
                    "contract transaction {} has no outcome",
                    t.tx_hash
                )))
            })?;
            let org = match &tx.cert {
                Some(id) => auth::cert_org(n, id)?,
                None => None,
            };
            let (selector, call) = match &tx.payload {
                Payload::ContractCall { input, .. } => (
                    input.get(..4).map(|s| format!("0x{}", hex::encode(s))),
                    abis.call(n, &address, input)?,
                ),
                _ => (None, None),
            };
            transactions.push(ContractTxEntry {
                tx_hash: t.tx_hash,
                height: t.height,
                tx_index: t.tx_index,
                kind: tx.payload.kind_name().to_owned(),
                from: signer_address(n, &tx.signer),
                org,
                status: outcome.status,
                code: outcome.code.clone(),
                gas_used: outcome.gas_used,
                selector,
                call,
            });
        }
        Ok(Json(ContractTxsResponse {
            contract: address,
            transactions,
            next_before,
            height,
        }))
    })
    .await
}
