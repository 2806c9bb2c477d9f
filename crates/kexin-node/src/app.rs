//! The ledger side of ordering: [`LedgerApp`] implements the consensus crate's
//! [`Application`] over the ledger, execution and the mempool.
//!
//! Blocks are prepared speculatively: a block whose parent is notarized but not final is
//! executed on top of the parent's prepared state (an overlay of the uncommitted ancestors'
//! writes over the committed state), so voting never waits for a commit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kexin_consensus::{Application, Pending, Standing};
use kexin_crypto::{Hash, PublicKey, Suite};
use kexin_exec::{ExecError, StateView};
use kexin_ledger::{BlockEffects, Ledger, LedgerError, PreparedBlock};
use kexin_mempool::Mempool;
use kexin_types::state::{Key, NonceState, StateKey};
use kexin_types::{Block, CommitCertificate, Decode as _, SealedTx, TxError, limits};

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
    /// The committed head moved while the block was being prepared: try again.
    #[error("the committed head moved while preparing block {height}; retry")]
    Raced {
        /// The block's height.
        height: u64,
    },
    /// Storage failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Reads committed state through the ledger, under the writes of uncommitted ancestors
/// (newest first).
pub struct LedgerView<'a> {
    ledger: &'a Ledger,
    ancestors: Vec<Arc<PreparedBlock>>,
}

impl<'a> LedgerView<'a> {
    /// The committed state.
    pub fn committed(ledger: &'a Ledger) -> Self {
        LedgerView {
            ledger,
            ancestors: Vec::new(),
        }
    }
}

impl StateView for LedgerView<'_> {
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, ExecError> {
        if !self.ancestors.is_empty() {
            let kh = key.hash(self.ledger.genesis().suite);
            for a in &self.ancestors {
                if let Some(v) = a.state_write(&kh) {
                    return Ok(Some(v.to_vec()));
                }
            }
        }
        self.ledger
            .state_value(key)
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
    /// Whether empty blocks are proposed without need (benchmark chains only).
    empty_blocks: bool,
    /// Blocks prepared here (proposed or verified) above the committed head, by hash.
    prepared: Mutex<BTreeMap<Hash, Arc<PreparedBlock>>>,
    /// Held while a proposal is built, and the last block built: `(parent, block hash)`.
    ///
    /// A view can time out while its leader is still building (the build runs on the blocking
    /// pool and cannot be cancelled). The next view's proposal then waits for that build and
    /// proposes the block it made, rather than starting another build beside it: builds that
    /// pile up compete for the cores, each outlasts its view, and the chain stops.
    building: Mutex<Option<(Hash, Hash)>>,
    /// How long a transaction may wait behind a nonce gap before it is dropped.
    gap_timeout: Duration,
    /// When the mempool was last swept for stalled transactions.
    last_sweep: Mutex<Instant>,
    on_commit: Option<CommitHook>,
}

/// Called after each block commits, with the block (observability: metrics, event feeds).
pub type CommitHook = Arc<dyn Fn(&Block) + Send + Sync>;

/// How far ahead of a validator's clock a block's timestamp may be for it to vote for the block.
pub const MAX_FUTURE_DRIFT_MS: u64 = 30_000;

/// How often, at most, committing a block sweeps the mempool for stalled transactions.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The signer's last committed nonce (0 if none).
pub(crate) fn last_nonce(ledger: &Ledger, signer: &PublicKey) -> Result<u64, LedgerError> {
    Ok(match ledger.state_get(&StateKey::Nonce(*signer))? {
        Some(bytes) => {
            NonceState::decode(&bytes)
                .map_err(|e| LedgerError::Corrupt(format!("nonce state of {signer}: {e}")))?
                .last_nonce
        }
        None => 0,
    })
}

/// The uncommitted chain a block builds on.
struct Base {
    /// The parent, if it is not the committed head.
    parent: Option<Arc<PreparedBlock>>,
    /// Uncommitted ancestors, newest first (starting with `parent`).
    ancestors: Vec<Arc<PreparedBlock>>,
    /// Their transactions.
    pending_txs: BTreeSet<Hash>,
    /// Height and timestamp of the parent.
    height: u64,
    timestamp_ms: u64,
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
            empty_blocks: false,
            prepared: Mutex::new(BTreeMap::new()),
            building: Mutex::new(None),
            gap_timeout: Duration::from_secs(600),
            last_sweep: Mutex::new(Instant::now()),
            on_commit: None,
        }
    }

    /// Calls `hook` after each block commits.
    pub fn with_commit_hook(mut self, hook: CommitHook) -> Self {
        self.on_commit = Some(hook);
        self
    }

    /// How long a transaction may wait behind a gap in its signer's nonces (default 600 s).
    pub fn with_gap_timeout(mut self, gap_timeout: Duration) -> Self {
        self.gap_timeout = gap_timeout;
        self
    }

    /// Drops pending transactions that became replays or wait behind a gap for too long; at
    /// most every [`SWEEP_INTERVAL`].
    fn sweep_mempool(&self) {
        {
            let mut last = self
                .last_sweep
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.elapsed() < SWEEP_INTERVAL {
                return;
            }
            *last = Instant::now();
        }
        let ledger = &self.ledger;
        let dropped = self
            .mempool
            .evict_stalled(self.gap_timeout, &|s| last_nonce(ledger, s).ok());
        if !dropped.is_empty() {
            tracing::info!(
                dropped = dropped.len(),
                "dropped pending transactions that are replays or wait behind a nonce gap for over {:?}",
                self.gap_timeout
            );
        }
    }

    /// Proposes empty blocks even with nothing to finalize (benchmark chains measuring
    /// consensus alone).
    pub fn with_empty_blocks(mut self, empty_blocks: bool) -> Self {
        self.empty_blocks = empty_blocks;
        self
    }

    fn prepared(&self) -> std::sync::MutexGuard<'_, BTreeMap<Hash, Arc<PreparedBlock>>> {
        self.prepared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Builds a block on `parent` from the mempool (see [`Application::propose`]).
    fn build(
        &self,
        parent: &Hash,
        now_ms: u64,
        allow_empty: bool,
    ) -> Result<Option<Block>, BlockError> {
        let base = self.base(parent)?;
        // Leave room for the header and length prefixes.
        let max_bytes = limits::MAX_BLOCK_BYTES - 64 * 1024;
        // Transactions of the uncommitted ancestors stay pending until their block commits:
        // pass over them, or a leader following a full block would find nothing new to pick.
        let candidates = self.mempool.select(
            self.limits.max_txs,
            self.limits.max_records,
            max_bytes,
            &|h| base.pending_txs.contains(h),
        );
        let view = LedgerView {
            ledger: &self.ledger,
            ancestors: base.ancestors.clone(),
        };
        // An empty block is worth proposing only to finalize transactions above the committed
        // head (or on a benchmark chain measuring consensus alone).
        let height = base.height + 1;
        // ... or to reach the epoch boundary where a validator change takes effect.
        let empty_ok = self.empty_blocks
            || (allow_empty
                && (base.ancestors.iter().any(|a| a.block.header.tx_count > 0)
                    || kexin_exec::validator_change_pending(
                        &view,
                        self.ledger.genesis(),
                        height,
                    )?));
        if candidates.is_empty() && !empty_ok {
            return Ok(None);
        }
        // Certificates are checked at the block's timestamp, so it is fixed before building.
        let timestamp = now_ms.max(base.timestamp_ms + 1);
        let ctx = kexin_exec::BlockContext {
            genesis: self.ledger.genesis(),
            height,
            timestamp_ms: timestamp,
        };
        let built = kexin_exec::build_block(&view, &ctx, candidates)?;
        if !built.rejected.is_empty() && base.parent.is_none() {
            // Refused against final state only: against a speculative parent a refusal may
            // be undone if that parent is never finalized.
            for (hash, reason) in &built.rejected {
                tracing::debug!(tx = %hash, code = reason.code(), "dropping pending transaction: {reason}");
            }
            let refused: Vec<(Hash, kexin_mempool::Rejected)> = built
                .rejected
                .iter()
                .map(|(h, r)| {
                    (
                        *h,
                        kexin_mempool::Rejected {
                            code: r.code().to_owned(),
                            message: r.to_string(),
                        },
                    )
                })
                .collect();
            self.mempool.reject(&refused);
        }
        if built.included.is_empty() && !empty_ok {
            return Ok(None);
        }
        let pending = &base.pending_txs;
        let prepared = self.ledger.prepare_on(
            base.parent.as_deref(),
            &|h| pending.contains(h),
            built.included,
            BlockEffects {
                version: built.version,
                writes: built.writes,
                outcomes: built.outcomes,
            },
            timestamp,
            self.proposer,
        )?;
        if prepared.block.header.parent_hash != *parent {
            // The head moved while building: never propose on anything but `parent`.
            return Err(BlockError::Raced { height });
        }
        let block = prepared.block.clone();
        self.prepared().insert(prepared.hash, Arc::new(prepared));
        Ok(Some(block))
    }

    /// The chain from the committed head to `parent`.
    fn base(&self, parent: &Hash) -> Result<Base, BlockError> {
        let head = self.ledger.head();
        let (head_height, head_hash, head_ts) = match &head {
            Some(h) => (h.height, h.hash, h.header.timestamp_ms),
            None => (
                0,
                self.ledger.genesis_hash(),
                self.ledger.genesis().timestamp_ms,
            ),
        };
        if *parent == head_hash {
            return Ok(Base {
                parent: None,
                ancestors: Vec::new(),
                pending_txs: BTreeSet::new(),
                height: head_height,
                timestamp_ms: head_ts,
            });
        }
        let prepared = self.prepared();
        let mut ancestors = Vec::new();
        let mut cursor = *parent;
        loop {
            let Some(p) = prepared.get(&cursor) else {
                return Err(BlockError::NotNext {
                    height: 0,
                    reason: format!("parent {parent} is neither committed nor prepared here"),
                });
            };
            ancestors.push(p.clone());
            let up = p.block.header.parent_hash;
            if up == head_hash {
                break;
            }
            if p.height() <= head_height + 1 {
                return Err(BlockError::NotNext {
                    height: p.height(),
                    reason: "parent chain does not reach the committed head".into(),
                });
            }
            cursor = up;
        }
        drop(prepared);
        let pending_txs = ancestors.iter().flat_map(|a| a.tx_hashes()).collect();
        let first = ancestors[0].clone();
        Ok(Base {
            height: first.height(),
            timestamp_ms: first.block.header.timestamp_ms,
            parent: Some(first),
            ancestors,
            pending_txs,
        })
    }

    fn check_shape(&self, block: &Block, base: &Base) -> Result<(), BlockError> {
        let h = &block.header;
        if h.height != base.height + 1 {
            return Err(BlockError::NotNext {
                height: h.height,
                reason: format!("the parent is at height {}", base.height),
            });
        }
        if h.timestamp_ms <= base.timestamp_ms {
            return Err(BlockError::BadHeader(format!(
                "timestamp {} is not after the parent's {}",
                h.timestamp_ms, base.timestamp_ms
            )));
        }
        // Certificates are checked at the block's timestamp: a leader must not move the chain's
        // clock ahead (which would expire certificates early for every later block).
        let now = now_ms();
        if h.timestamp_ms > now.saturating_add(MAX_FUTURE_DRIFT_MS) {
            return Err(BlockError::BadHeader(format!(
                "timestamp {} is more than {} ms ahead of this node's clock ({now})",
                h.timestamp_ms, MAX_FUTURE_DRIFT_MS
            )));
        }
        // Empty blocks are valid: honest leaders propose them only to finalize a quiet chain's
        // tip, and refusing them would not stop a faulty leader from padding the chain (it
        // could as well fill its blocks with its own transactions).
        if h.tx_count as usize != block.transactions.len() {
            return Err(BlockError::BadHeader(format!(
                "tx_count {} but the block has {} transactions",
                h.tx_count,
                block.transactions.len()
            )));
        }
        if block.transactions.len() > limits::MAX_BLOCK_TXS as usize {
            return Err(BlockError::BadHeader("too many transactions".into()));
        }
        Ok(())
    }

    /// Full follower verification on the chain ending at the block's parent.
    fn verify_and_prepare(&self, block: &Block) -> Result<PreparedBlock, BlockError> {
        let base = self.base(&block.header.parent_hash)?;
        self.check_shape(block, &base)?;
        let genesis = self.ledger.genesis();
        let mut txs = Vec::with_capacity(block.transactions.len());
        for (index, tx) in block.transactions.iter().enumerate() {
            let sealed = SealedTx::new(tx.clone());
            // A transaction admitted here had its signature checked: skip it if the bytes
            // signed and the signature are the ones admitted.
            let known = self
                .mempool
                .get(&sealed.hash())
                .is_some_and(|m| m.tx().signature == tx.signature && m.tx().signer == tx.signer);
            if !known {
                sealed
                    .verify(&genesis.chain_id, genesis.suite)
                    .map_err(|source| BlockError::BadTransaction { index, source })?;
            }
            txs.push(sealed);
        }
        let view = LedgerView {
            ledger: &self.ledger,
            ancestors: base.ancestors.clone(),
        };
        // The proposer must be a validator of the block's epoch (fixed by the state at the
        // end of the epoch before).
        let epoch = genesis.epoch_of(block.header.height);
        let validators = kexin_exec::epoch_validators(&view, genesis, epoch)?.ok_or_else(|| {
            BlockError::BadHeader(format!(
                "the validators of epoch {epoch} are not known on this block's parent chain"
            ))
        })?;
        if !validators
            .iter()
            .any(|v| v.public_key == block.header.proposer)
        {
            return Err(BlockError::BadHeader(format!(
                "proposer {} is not a validator of epoch {epoch}",
                block.header.proposer
            )));
        }
        let ctx = kexin_exec::BlockContext {
            genesis,
            height: block.header.height,
            timestamp_ms: block.header.timestamp_ms,
        };
        let executed = kexin_exec::execute_block(&view, &ctx, &txs)?;
        let pending = &base.pending_txs;
        let prepared = self.ledger.prepare_on(
            base.parent.as_deref(),
            &|h| pending.contains(h),
            txs,
            BlockEffects {
                version: executed.version,
                writes: executed.writes,
                outcomes: executed.outcomes,
            },
            block.header.timestamp_ms,
            block.header.proposer,
        )?;
        if prepared.block.header.parent_hash != block.header.parent_hash {
            // Prepared on a head committed meanwhile, not on the block's parent.
            return Err(BlockError::Raced {
                height: block.header.height,
            });
        }
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

    /// Drops prepared blocks at or below the committed height.
    fn prune(&self, height: u64) {
        self.prepared().retain(|_, p| p.height() > height);
    }
}

impl Application for LedgerApp {
    type Error = BlockError;

    fn suite(&self) -> Suite {
        self.ledger.genesis().suite
    }

    fn genesis_hash(&self) -> Hash {
        self.ledger.genesis_hash()
    }

    fn pending(&self) -> Pending {
        Pending {
            txs: self.mempool.len(),
            records: self.mempool.records(),
        }
    }

    fn committed_height(&self) -> u64 {
        self.ledger.height()
    }

    fn standing(&self, hash: &Hash, height: u64) -> Standing {
        if height == 0 {
            return if *hash == self.ledger.genesis_hash() {
                Standing::Committed
            } else {
                Standing::Conflicting
            };
        }
        if height <= self.ledger.height() {
            return match self.ledger.block_hash_at(height) {
                Ok(Some(h)) if h == *hash => Standing::Committed,
                Ok(Some(_)) => Standing::Conflicting,
                _ => Standing::Unknown,
            };
        }
        if self.prepared().contains_key(hash) {
            Standing::Prepared
        } else {
            Standing::Unknown
        }
    }

    fn epoch_length(&self) -> u64 {
        self.ledger.genesis().epoch_length
    }

    fn epoch_validators(&self, epoch: u64) -> Option<Vec<kexin_types::Validator>> {
        match kexin_exec::epoch_validators(
            &LedgerView::committed(&self.ledger),
            self.ledger.genesis(),
            epoch,
        ) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(epoch, "cannot read the epoch's validators: {e}");
                None
            }
        }
    }

    fn epoch_change_pending(&self) -> bool {
        kexin_exec::validator_change_pending(
            &LedgerView::committed(&self.ledger),
            self.ledger.genesis(),
            self.ledger.height() + 1,
        )
        .unwrap_or(false)
    }

    fn propose(
        &self,
        parent: &Hash,
        now_ms: u64,
        allow_empty: bool,
    ) -> Result<Option<Block>, BlockError> {
        let mut building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((built_on, hash)) = *building
            && built_on == *parent
            && let Some(block) = self.prepared().get(&hash).map(|p| p.block.clone())
        {
            // Built for a view that timed out: still a valid child of `parent`.
            return Ok(Some(block));
        }
        let built = self.build(parent, now_ms, allow_empty)?;
        if let Some(block) = &built {
            *building = Some((*parent, block.header.hash(self.ledger.genesis().suite)));
        }
        Ok(built)
    }

    fn verify(&self, block: &Block) -> Result<(), BlockError> {
        let hash = block.header.hash(self.ledger.genesis().suite);
        if self.prepared().contains_key(&hash) {
            // The header hash commits to every transaction through the log root.
            return Ok(());
        }
        match self.standing(&hash, block.header.height) {
            Standing::Committed => return Ok(()),
            Standing::Conflicting => {
                return Err(BlockError::NotNext {
                    height: block.header.height,
                    reason: "another block is committed at this height".into(),
                });
            }
            Standing::Prepared | Standing::Unknown => {}
        }
        match self.verify_and_prepare(block) {
            Ok(prepared) => {
                self.prepared().insert(hash, Arc::new(prepared));
                Ok(())
            }
            // The chain moved under us: a block committed meanwhile is fine.
            Err(e) if self.standing(&hash, block.header.height) == Standing::Committed => {
                tracing::debug!("block committed while verifying it: {e}");
                Ok(())
            }
            Err(BlockError::NotNext { height, .. })
                if block.header.height <= self.ledger.height() + 1 && height == 0 =>
            {
                // Its parent was pruned by a concurrent commit: a race, not a verdict.
                Err(BlockError::Raced {
                    height: block.header.height,
                })
            }
            Err(e) => Err(e),
        }
    }

    fn is_internal(error: &BlockError) -> bool {
        matches!(error, BlockError::Raced { .. })
            || matches!(error, BlockError::Ledger(e) if !matches!(e, LedgerError::DuplicateTransaction(_) | LedgerError::InvalidTransaction { .. } | LedgerError::TimestampNotMonotonic { .. } | LedgerError::InvalidProposer(_) | LedgerError::BlockTooLarge(_)))
    }

    fn halt_reason(&self) -> Option<String> {
        protocol_halt(&self.ledger)
    }

    fn finalized(&self, block: &Block, certificate: CommitCertificate) -> Result<(), BlockError> {
        let suite = self.ledger.genesis().suite;
        let hash = block.header.hash(suite);
        let height = block.header.height;
        if height <= self.ledger.height() {
            // Already committed (replayed after a restart): idempotent if it is the same block.
            return match self.ledger.block_hash_at(height)? {
                Some(h) if h == hash => Ok(()),
                _ => Err(BlockError::NotNext {
                    height,
                    reason: "a different block is already committed at this height".into(),
                }),
            };
        }
        let cached = self.prepared().get(&hash).cloned();
        let prepared = match cached {
            Some(p)
                if p.block.header.parent_hash
                    == self
                        .ledger
                        .head()
                        .map_or(self.ledger.genesis_hash(), |h| h.hash) =>
            {
                Arc::unwrap_or_clone(p)
            }
            _ => self.verify_and_prepare(block)?,
        };
        let tx_hashes: Vec<Hash> = prepared.tx_hashes().collect();
        self.ledger.commit(prepared, &certificate)?;
        if let Some(hook) = &self.on_commit {
            hook(block);
        }
        self.prune(height);
        self.mempool.remove(&tx_hashes);
        self.sweep_mempool();
        Ok(())
    }
}

/// Wall-clock milliseconds since the Unix epoch: the time admission checks certificates at
/// (never used inside execution, which takes the block's timestamp).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Why a node on `ledger` cannot go on: the block after the committed head follows a protocol
/// version this build does not run. Logs, once per call site, an upgrade that is scheduled
/// but not yet in force and that this build cannot run.
pub fn protocol_halt(ledger: &Ledger) -> Option<String> {
    let genesis = ledger.genesis();
    let next = ledger.height() + 1;
    let view = LedgerView::committed(ledger);
    let schedule = match kexin_exec::protocol::schedule(&view) {
        Ok(s) => s,
        Err(e) => return Some(format!("cannot read the protocol upgrade schedule: {e}")),
    };
    let version = schedule.version_at(genesis.version, next);
    if !kexin_types::protocol::supported(version) {
        return Some(format!(
            "the chain follows protocol version {version} from height {} on, but this build of \
             kexin runs protocol versions {} to {}: replace the node's binary with one that runs \
             version {version} and start it again (docs/operations.md, protocol upgrades)",
            schedule
                .upgrades
                .iter()
                .rev()
                .find(|u| u.height <= next)
                .map_or(1, |u| u.height),
            kexin_types::protocol::V3,
            kexin_types::protocol::CURRENT,
        ));
    }
    // Said when the vote passes, and every 100 blocks until the height.
    if let Some(u) = schedule.next_after(next)
        && !kexin_types::protocol::supported(u.version)
        && (u.voted_at == ledger.height() || ledger.height().is_multiple_of(100))
    {
        tracing::error!(
            version = u.version,
            height = u.height,
            "the organisations voted protocol version {} from height {}; this build runs up to {}: \
             replace the binary before that height or the node stops there",
            u.version,
            u.height,
            kexin_types::protocol::CURRENT
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kexin_crypto::SigningKey;
    use kexin_ledger::MemStore;
    use kexin_types::protocol::{ProtocolSchedule, Upgrade};
    use kexin_types::{CommitCertificate, Encode, Genesis, Validator};

    use super::*;

    /// An open chain (no organisations) of one validator, `validator`.
    fn one_validator_genesis(chain_id: &str, version: u8, validator: &SigningKey) -> Genesis {
        Genesis {
            version,
            epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
            chain_id: chain_id.into(),
            suite: validator.suite(),
            timestamp_ms: 0,
            organisations: vec![],
            validators: vec![Validator {
                name: "node0".into(),
                org: String::new(),
                public_key: validator.public_key(),
                address: String::new(),
            }],
        }
    }

    #[test]
    fn a_node_halts_before_a_protocol_version_it_does_not_run() {
        let validator = SigningKey::generate(Suite::Intl);
        let genesis = one_validator_genesis("halt", kexin_types::protocol::V3, &validator);
        let ledger = Ledger::open(Arc::new(MemStore::new()), genesis).unwrap();
        let commit = |writes: BTreeMap<Key, Vec<u8>>, ts: u64| {
            let prepared = ledger
                .prepare(Vec::new(), writes, ts, validator.public_key())
                .unwrap();
            let cert = CommitCertificate::sign_single("halt", 0, &validator, &prepared.hash);
            ledger.commit(prepared, &cert).unwrap();
        };
        assert_eq!(protocol_halt(&ledger), None);
        // Block 1 schedules version 4 at height 3 (runs) and version 9 at height 4 (does not).
        let schedule = ProtocolSchedule {
            upgrades: vec![
                Upgrade {
                    version: 4,
                    height: 3,
                    voted_at: 1,
                },
                Upgrade {
                    version: 9,
                    height: 4,
                    voted_at: 1,
                },
            ],
        };
        let mut writes = BTreeMap::new();
        writes.insert(kexin_exec::protocol::schedule_key(), schedule.encode());
        commit(writes, 1);
        assert_eq!(protocol_halt(&ledger), None, "block 2 is version 3");
        commit(BTreeMap::new(), 2);
        assert_eq!(protocol_halt(&ledger), None, "block 3 is version 4");
        commit(BTreeMap::new(), 3);
        let reason = protocol_halt(&ledger).expect("block 4 is version 9");
        assert!(
            reason.contains("protocol version 9 from height 4"),
            "{reason}"
        );
        assert!(
            reason.contains(&format!("versions 3 to {}", kexin_types::protocol::CURRENT)),
            "{reason}"
        );
    }

    /// An open chain of one validator and its app, with nothing pending.
    fn one_validator_app(chain_id: &str) -> (Arc<LedgerApp>, Arc<Mempool>, SigningKey, Genesis) {
        let suite = Suite::Intl;
        let validator = SigningKey::generate(suite);
        let genesis = one_validator_genesis(chain_id, kexin_types::protocol::V4, &validator);
        let ledger = Arc::new(Ledger::open(Arc::new(MemStore::new()), genesis.clone()).unwrap());
        let mempool = Arc::new(Mempool::new(
            kexin_mempool::MempoolConfig::default(),
            chain_id,
            suite,
        ));
        let app = LedgerApp::new(
            ledger,
            mempool.clone(),
            validator.public_key(),
            ProposalLimits {
                max_txs: 100,
                max_records: 10_000,
            },
        );
        (Arc::new(app), mempool, validator, genesis)
    }

    fn evidence_tx(genesis: &Genesis, key: &SigningKey, nonce: u64) -> SealedTx {
        let digest = genesis.suite.hash(&nonce.to_be_bytes());
        SealedTx::new(kexin_types::Transaction::sign_versioned(
            genesis.version,
            &genesis.chain_id,
            key,
            None,
            nonce,
            kexin_types::Payload::Evidence {
                records: vec![kexin_types::EvidenceRecord {
                    digest,
                    metadata: kexin_types::RecordMetadata {
                        salt: kexin_types::Salt([1; 16]),
                        content_type: "text/plain".into(),
                        label: format!("r{nonce}"),
                        external_ref: None,
                    },
                }],
            },
        ))
    }

    #[test]
    fn a_block_built_for_a_timed_out_view_is_proposed_again_not_rebuilt() {
        let (app, mempool, _validator, genesis) = one_validator_app("reuse");
        let client = SigningKey::generate(genesis.suite);
        mempool.admit(evidence_tx(&genesis, &client, 1), 0).unwrap();
        let parent = genesis.hash();
        let first = app
            .propose(&parent, 1_000, false)
            .unwrap()
            .expect("a block");
        assert_eq!(first.transactions.len(), 1);
        // More arrives; the next view asks again on the same parent.
        mempool.admit(evidence_tx(&genesis, &client, 2), 0).unwrap();
        let again = app
            .propose(&parent, 2_000, false)
            .unwrap()
            .expect("a block");
        assert_eq!(
            again.header.hash(genesis.suite),
            first.header.hash(genesis.suite)
        );
        assert_eq!(app.prepared().len(), 1, "no second build");
        // On top of it, the next block takes what is new.
        let child = app
            .propose(&first.header.hash(genesis.suite), 3_000, false)
            .unwrap()
            .expect("a child");
        assert_eq!(child.header.height, 2);
        assert_eq!(child.transactions.len(), 1);
        assert_eq!(child.transactions[0].nonce, 2);
    }

    #[test]
    fn proposals_asked_at_once_share_one_build() {
        let (app, mempool, _validator, genesis) = one_validator_app("single-flight");
        let client = SigningKey::generate(genesis.suite);
        for nonce in 1..=50 {
            mempool
                .admit(evidence_tx(&genesis, &client, nonce), 0)
                .unwrap();
        }
        let parent = genesis.hash();
        let hashes: Vec<Hash> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let app = &app;
                    s.spawn(move || {
                        app.propose(&parent, 1_000 + i, false)
                            .unwrap()
                            .expect("a block")
                            .header
                            .hash(genesis.suite)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
        assert_eq!(app.prepared().len(), 1);
    }
}
