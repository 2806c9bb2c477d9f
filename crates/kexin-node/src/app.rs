//! The ledger side of ordering: [`LedgerApp`] implements the consensus crate's
//! [`Application`] over the ledger, execution and the mempool.

use std::collections::BTreeMap;
use std::sync::Arc;

use kexin_consensus::{Application, Pending};
use kexin_crypto::{Hash, PublicKey};
use kexin_exec::{ExecError, StateView};
use kexin_ledger::{Ledger, LedgerError, PreparedBlock};
use kexin_mempool::Mempool;
use kexin_types::state::StateKey;
use kexin_types::{Block, CommitCertificate, SealedTx, TxError, limits};

/// Why a block was refused or could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The block does not extend the head.
    #[error("block at height {height} does not extend the head: {reason}")]
    NotNext {
        /// The block's height.
        height: u64,
        /// Why.
        reason: String,
    },
    /// The header disagrees with its contents or its parent.
    #[error("invalid block header: {0}")]
    BadHeader(String),
    /// A transaction's signature, chain or suite is wrong.
    #[error("transaction {index} is invalid: {source}")]
    BadTransaction {
        /// Index in the block.
        index: usize,
        /// Why.
        source: TxError,
    },
    /// Execution refused the block.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// Storage failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Reads committed state through the ledger.
pub struct LedgerView<'a>(pub &'a Ledger);

impl StateView for LedgerView<'_> {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, ExecError> {
        self.0
            .state_get(key)
            .map_err(|e| ExecError::Read(e.to_string()))
    }
}

/// Limits on what one proposal may take from the mempool.
#[derive(Clone, Copy, Debug)]
pub struct ProposalLimits {
    /// Most transactions.
    pub max_txs: usize,
    /// Most evidence records.
    pub max_records: usize,
}

/// The application: builds, verifies and commits blocks.
pub struct LedgerApp {
    ledger: Arc<Ledger>,
    mempool: Arc<Mempool>,
    proposer: PublicKey,
    limits: ProposalLimits,
    /// Blocks this node prepared (proposed or verified), by hash, awaiting finalization.
    prepared: BTreeMap<Hash, PreparedBlock>,
}

impl LedgerApp {
    /// An application proposing as `proposer`.
    pub fn new(
        ledger: Arc<Ledger>,
        mempool: Arc<Mempool>,
        proposer: PublicKey,
        limits: ProposalLimits,
    ) -> Self {
        LedgerApp {
            ledger,
            mempool,
            proposer,
            limits,
            prepared: BTreeMap::new(),
        }
    }

    fn check_next(&self, block: &Block) -> Result<(), BlockError> {
        let h = &block.header;
        let genesis = self.ledger.genesis();
        let (height, parent_hash, parent_ts) = match self.ledger.head() {
            Some(head) => (head.height, head.hash, head.header.timestamp_ms),
            None => (0, genesis.hash(), genesis.timestamp_ms),
        };
        if h.height != height + 1 {
            return Err(BlockError::NotNext {
                height: h.height,
                reason: format!("the head is at height {height}"),
            });
        }
        if h.parent_hash != parent_hash {
            return Err(BlockError::NotNext {
                height: h.height,
                reason: format!("parent {} is not the head {parent_hash}", h.parent_hash),
            });
        }
        if h.timestamp_ms <= parent_ts {
            return Err(BlockError::BadHeader(format!(
                "timestamp {} is not after the parent's {parent_ts}",
                h.timestamp_ms
            )));
        }
        if genesis.validator_index(&h.proposer).is_none() {
            return Err(BlockError::BadHeader(format!(
                "proposer {} is not a validator",
                h.proposer
            )));
        }
        if h.tx_count as usize != block.transactions.len() || block.transactions.is_empty() {
            return Err(BlockError::BadHeader(format!(
                "tx_count {} but the block has {} transactions (empty blocks are not allowed)",
                h.tx_count,
                block.transactions.len()
            )));
        }
        if block.transactions.len() > limits::MAX_BLOCK_TXS as usize {
            return Err(BlockError::BadHeader("too many transactions".into()));
        }
        Ok(())
    }

    /// Full follower verification: returns the prepared block for commit.
    fn verify_and_prepare(&self, block: &Block) -> Result<PreparedBlock, BlockError> {
        self.check_next(block)?;
        let genesis = self.ledger.genesis();
        let mut txs = Vec::with_capacity(block.transactions.len());
        for (index, tx) in block.transactions.iter().enumerate() {
            let sealed = SealedTx::new(tx.clone());
            sealed
                .verify(&genesis.chain_id, genesis.suite)
                .map_err(|source| BlockError::BadTransaction { index, source })?;
            txs.push(sealed);
        }
        let writes =
            kexin_exec::execute_block(&LedgerView(&self.ledger), block.header.height, &txs)?;
        let prepared = self.ledger.prepare(
            txs,
            writes,
            block.header.timestamp_ms,
            block.header.proposer,
        )?;
        if prepared.block.header != block.header {
            let mine = &prepared.block.header;
            let what = if mine.state_root != block.header.state_root {
                "state_root"
            } else if mine.log_root != block.header.log_root
                || mine.log_size != block.header.log_size
            {
                "log root or size"
            } else {
                "header fields"
            };
            return Err(BlockError::BadHeader(format!(
                "re-execution gives a different {what}"
            )));
        }
        Ok(prepared)
    }
}

impl Application for LedgerApp {
    type Error = BlockError;

    fn pending(&self) -> Pending {
        Pending {
            txs: self.mempool.len(),
            records: self.mempool.records(),
        }
    }

    fn propose(&mut self, now_ms: u64) -> Result<Option<Block>, BlockError> {
        // Leave room for the header and length prefixes.
        let max_bytes = limits::MAX_BLOCK_BYTES - 64 * 1024;
        let candidates =
            self.mempool
                .select(self.limits.max_txs, self.limits.max_records, max_bytes);
        if candidates.is_empty() {
            return Ok(None);
        }
        let height = self.ledger.height() + 1;
        let built = kexin_exec::build_block(&LedgerView(&self.ledger), height, candidates)?;
        if !built.rejected.is_empty() {
            for (hash, reason) in &built.rejected {
                tracing::info!(tx = %hash, code = reason.code(), "dropping pending transaction: {reason}");
            }
            let hashes: Vec<Hash> = built.rejected.iter().map(|(h, _)| *h).collect();
            self.mempool.remove(&hashes);
        }
        if built.included.is_empty() {
            return Ok(None);
        }
        let parent_ts = match self.ledger.head() {
            Some(head) => head.header.timestamp_ms,
            None => self.ledger.genesis().timestamp_ms,
        };
        let timestamp = now_ms.max(parent_ts + 1);
        let prepared =
            self.ledger
                .prepare(built.included, built.writes, timestamp, self.proposer)?;
        let block = prepared.block.clone();
        self.prepared.clear();
        self.prepared.insert(prepared.hash, prepared);
        Ok(Some(block))
    }

    fn verify(&mut self, block: &Block) -> Result<(), BlockError> {
        let hash = block.header.hash(self.ledger.genesis().suite);
        if self.prepared.contains_key(&hash) {
            // Built (or verified) here already. The header hash commits to every transaction
            // through the log root, so an equal hash is the same block.
            return Ok(());
        }
        let prepared = self.verify_and_prepare(block)?;
        self.prepared.insert(hash, prepared);
        Ok(())
    }

    fn finalized(
        &mut self,
        block: Block,
        certificate: CommitCertificate,
    ) -> Result<(), BlockError> {
        let suite = self.ledger.genesis().suite;
        let hash = block.header.hash(suite);
        if block.header.height <= self.ledger.height() {
            // Already committed (replayed after a restart): idempotent if it is the same block.
            return match self.ledger.header(block.header.height)? {
                Some((h, _)) if h.hash(suite) == hash => Ok(()),
                _ => Err(BlockError::NotNext {
                    height: block.header.height,
                    reason: "a different block is already committed at this height".into(),
                }),
            };
        }
        let prepared = match self.prepared.remove(&hash) {
            Some(p) => p,
            None => self.verify_and_prepare(&block)?,
        };
        let tx_hashes: Vec<Hash> = prepared.tx_hashes().collect();
        self.ledger.commit(prepared, &certificate)?;
        self.prepared.clear();
        self.mempool.remove(&tx_hashes);
        Ok(())
    }
}
