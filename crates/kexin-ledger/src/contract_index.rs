//! The contract index: for each contract, the transactions that deployed or called it, newest
//! first ([`Table::ContractIndex`]), so a contract's page lists its deployment and calls
//! without scanning blocks.
//!
//! Key: `address (20) || u64 (MAX − height) || u32 (MAX − tx_index)` (big-endian, so a prefix
//! scan runs newest first); value: `tx hash (32) || u8 payload kind`. A deployment is indexed
//! under the contract it created (only when it succeeded: a failed one created nothing); a call
//! under the contract it names, whatever its outcome. A deployment is also kept under
//! `address || 12 zero bytes` (a height no block reaches), so it is found in one read.

use kexin_crypto::Hash;
use kexin_types::{ContractAddress, Outcome, Payload, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::schema::parse_hash;
use crate::store::{KvStore, Table, WriteBatch};

/// Meta key: present once the contract index covers every committed block (written at
/// creation, or after indexing the blocks a ledger held before the index existed).
pub const META_CONTRACT_INDEX: &[u8] = b"contract_index";

/// Most entries one [`Ledger::contract_txs`] call returns.
pub const MAX_CONTRACT_TXS_PAGE: usize = 1000;

/// A transaction that deployed or called a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractTx {
    /// The transaction.
    pub tx_hash: Hash,
    /// Its block.
    pub height: u64,
    /// Its index in the block.
    pub tx_index: u32,
    /// Its payload kind: 7 or 9 a deployment (9 with an ABI), 8 a call.
    pub kind: u8,
}

/// The index entries of the transaction at `(height, tx_index)`, if it deployed or called a
/// contract.
pub(crate) fn entries(
    height: u64,
    tx_index: u32,
    tx_hash: Hash,
    tx: &Transaction,
    outcome: Option<&Outcome>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Some((address, value)) = entry(tx_hash, tx, outcome) else {
        return Vec::new();
    };
    let mut out = vec![(key(&address, height, tx_index), value.clone())];
    if tx.payload.kind() != 8 {
        out.push((deployment_key(&address), value));
    }
    out
}

fn deployment_key(address: &ContractAddress) -> Vec<u8> {
    key(address, u64::MAX, u32::MAX)
}

fn entry(
    tx_hash: Hash,
    tx: &Transaction,
    outcome: Option<&Outcome>,
) -> Option<(ContractAddress, Vec<u8>)> {
    let address = match &tx.payload {
        Payload::ContractCall { contract, .. } => *contract,
        Payload::ContractDeploy { .. } => {
            let o = outcome.filter(|o| o.is_success())?;
            ContractAddress(<[u8; 20]>::try_from(o.return_data.as_slice()).ok()?)
        }
        _ => return None,
    };
    let mut value = Vec::with_capacity(33);
    value.extend_from_slice(tx_hash.as_bytes());
    value.push(tx.payload.kind());
    Some((address, value))
}

fn key(address: &ContractAddress, height: u64, tx_index: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(32);
    k.extend_from_slice(&address.0);
    k.extend_from_slice(&(u64::MAX - height).to_be_bytes());
    k.extend_from_slice(&(u32::MAX - tx_index).to_be_bytes());
    k
}

fn parse(k: &[u8], v: &[u8]) -> Result<ContractTx, LedgerError> {
    if k.len() != 32 || v.len() != 33 {
        return Err(LedgerError::corrupt(format!(
            "contract index entry: key of {} bytes and value of {}, expected 32 and 33",
            k.len(),
            v.len()
        )));
    }
    let height = u64::MAX - u64::from_be_bytes(k[20..28].try_into().expect("8 bytes"));
    let tx_index = u32::MAX - u32::from_be_bytes(k[28..32].try_into().expect("4 bytes"));
    Ok(ContractTx {
        tx_hash: parse_hash(&v[..32], "contract index transaction hash")?,
        height,
        tx_index,
        kind: v[32],
    })
}

/// Indexes the contract transactions of every committed block up to `head` (a ledger written
/// before the index existed), in one batch with the marker. Blocks without contract
/// transactions cost one read and decode each.
pub(crate) fn backfill(store: &dyn KvStore, head: u64) -> Result<usize, LedgerError> {
    let mut batch = WriteBatch::new();
    let mut n = 0;
    for height in 1..=head {
        let bytes = store
            .get(Table::Blocks, &crate::schema::height_key(height))?
            .ok_or_else(|| LedgerError::corrupt(format!("block {height} is missing")))?;
        let block = kexin_types::decode_block(&bytes)
            .map_err(|e| LedgerError::corrupt(format!("block {height}: {e}")))?;
        if !block
            .transactions
            .iter()
            .any(|t| matches!(t.payload.kind(), 7..=9))
        {
            continue;
        }
        let outcomes = match store.get(Table::Outcomes, &crate::schema::height_key(height))? {
            Some(b) => crate::schema::decode_outcomes(&b)?,
            None => Vec::new(),
        };
        for (i, tx) in block.transactions.iter().enumerate() {
            let hash = tx.hash();
            let outcome = outcomes.get(i).map(|(_, o)| o);
            for (k, v) in entries(height, i as u32, hash, tx, outcome) {
                batch.put(Table::ContractIndex, k, v);
                n += 1;
            }
        }
    }
    batch.put(Table::Meta, META_CONTRACT_INDEX, vec![1]);
    store.commit(batch)?;
    Ok(n)
}

impl Ledger {
    /// Up to `limit` (at most [`MAX_CONTRACT_TXS_PAGE`]) transactions that deployed or called
    /// `address`, newest first, from blocks below `before` (all blocks when `None`).
    pub fn contract_txs(
        &self,
        address: &ContractAddress,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ContractTx>, LedgerError> {
        let limit = limit.min(MAX_CONTRACT_TXS_PAGE);
        let from = match before {
            // Past the deployment's own entry (`address || zeros`).
            None => key(address, u64::MAX - 1, u32::MAX),
            Some(0) => return Ok(Vec::new()),
            Some(h) => key(address, h - 1, u32::MAX),
        };
        self.store
            .scan_prefix_from(Table::ContractIndex, &address.0, &from, limit)?
            .iter()
            .map(|(k, v)| parse(k, v))
            .collect()
    }

    /// The transaction that deployed `address`, if a transaction (not another contract)
    /// created it.
    pub fn contract_deployment(
        &self,
        address: &ContractAddress,
    ) -> Result<Option<ContractTx>, LedgerError> {
        let k = deployment_key(address);
        match self.store.get(Table::ContractIndex, &k)? {
            None => Ok(None),
            Some(v) => {
                let mut t = parse(&k, &v)?;
                let loc = self.tx_location(&t.tx_hash)?.ok_or_else(|| {
                    LedgerError::corrupt(format!(
                        "the deployment {} of {address} is indexed but not stored",
                        t.tx_hash
                    ))
                })?;
                t.height = loc.height;
                t.tx_index = loc.tx_index;
                Ok(Some(t))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_newest_first_and_parse_back() {
        let a = ContractAddress([5; 20]);
        let older = key(&a, 7, 3);
        let newer_same_block = key(&a, 7, 4);
        let newer = key(&a, 8, 0);
        assert!(newer < newer_same_block && newer_same_block < older);
        let mut v = vec![9u8; 32];
        v.push(8);
        let t = parse(&older, &v).unwrap();
        assert_eq!((t.height, t.tx_index, t.kind), (7, 3, 8));
        assert!(parse(&older[..31], &v).is_err());
    }
}
