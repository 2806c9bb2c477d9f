//! The ledger: prepare a block, commit it with its certificate, read everything back with
//! proofs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use kexin_crypto::{Hash, PublicKey, Suite};
use kexin_merkle::{
    ConsistencyProof, LogAccumulator, LogError, MemoryLog, NodeSource, SMT_EMPTY_HASH,
    SparseMerkleTree, StateProof,
};
use kexin_types::codec::Reader;
use kexin_types::limits::{MAX_BLOCK_BYTES, MAX_BLOCK_TXS};
use kexin_types::state::{Key, RecordLocation, StateKey, namespace, value_hash};
use kexin_types::state_receipt::StateReceipt;
use kexin_types::{
    Block, BlockHeader, CaSetProof, CertState, Checkpoint, CommitCertificate, Decode, Encode,
    EpochLink, Genesis, OrgState, Outcome, Payload, PayloadCommitment, ProvenOutcome, Receipt,
    ReceiptTx, SealedTx, SignerCert, Transaction, TxReceipt, TxSummary, decode_block,
    decode_transaction,
};
use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::schema::*;
use crate::store::{KvStore, Table, WriteBatch};

/// The committed head block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
    /// Its header.
    pub header: BlockHeader,
}

/// Where a transaction is: block height, index in the block, index in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Index of the transaction in its block.
    pub tx_index: u32,
    /// Index of the transaction in the transaction log (its leaf index).
    pub log_index: u64,
}

/// Where an audit note is: its transaction, block height and index in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NoteLocation {
    /// The note's transaction.
    pub tx_hash: Hash,
    /// Block height.
    pub height: u64,
    /// Index of the transaction in its block.
    pub tx_index: u32,
}

/// A state value with its proof against the committed head's state root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateProofResponse {
    /// The key's position in the tree.
    pub key_hash: Hash,
    /// The value, if present.
    pub value: Option<Vec<u8>>,
    /// Its hash, as stored in the tree.
    pub value_hash: Option<Hash>,
    /// Proof of the value or of the key's absence.
    pub proof: StateProof,
    /// The state root it verifies against.
    pub state_root: Hash,
    /// The height whose header holds `state_root` (0 before block 1: the empty state).
    pub height: u64,
}

/// What executing a block's transactions produced, as the ledger needs it: the block's
/// protocol version, its state writes and one outcome per transaction (required from version
/// 4, whose header commits to them).
#[derive(Clone, Debug, Default)]
pub struct BlockEffects {
    /// The block's protocol version.
    pub version: u8,
    /// The state writes.
    pub writes: BTreeMap<Key, Vec<u8>>,
    /// The transactions' outcomes, in block order.
    pub outcomes: Vec<Outcome>,
}

impl From<BTreeMap<Key, Vec<u8>>> for BlockEffects {
    /// A version 3 block's writes (no outcomes).
    fn from(writes: BTreeMap<Key, Vec<u8>>) -> BlockEffects {
        BlockEffects {
            version: kexin_types::protocol::V3,
            writes,
            outcomes: Vec::new(),
        }
    }
}

/// A block computed by [`Ledger::prepare`], ready for [`Ledger::commit`] once certified.
///
/// Everything the commit writes is computed here, so committing is one store write. The
/// public fields are for reading: [`Ledger::commit`] refuses a prepared block whose `block` or
/// `hash` were changed after `prepare`.
#[derive(Clone)]
pub struct PreparedBlock {
    /// The block.
    pub block: Block,
    /// Its hash (the hash validators sign).
    pub hash: Hash,
    sealed_hash: Hash,
    genesis_hash: Hash,
    encoded: Vec<u8>,
    txs: Vec<(Hash, TxLocation)>,
    log: LogAccumulator,
    log_nodes: Vec<(u8, u64, Hash)>,
    smt: SparseMerkleTree,
    state_writes: BTreeMap<Hash, Vec<u8>>,
    evidence: Vec<(Hash, RecordLocation)>,
    /// Audit notes: subject and where the note is.
    notes: Vec<(Hash, NoteLocation)>,
    /// Registry keys written (see [`Table::Registry`]).
    registry: Vec<Vec<u8>>,
    /// Contract index entries (see [`Table::ContractIndex`]).
    contract_txs: Vec<(Vec<u8>, Vec<u8>)>,
    /// The transactions' hashes and outcomes (empty for a version 3 block prepared without
    /// them).
    outcomes: Vec<(Hash, Outcome)>,
}

impl PreparedBlock {
    /// The block's height.
    pub fn height(&self) -> u64 {
        self.block.header.height
    }

    /// The block's header.
    pub fn header(&self) -> &BlockHeader {
        &self.block.header
    }

    /// The transaction hashes, in block order.
    pub fn tx_hashes(&self) -> impl ExactSizeIterator<Item = Hash> + '_ {
        self.txs.iter().map(|(h, _)| *h)
    }

    /// Number of evidence records in the block.
    pub fn record_count(&self) -> usize {
        self.evidence.len()
    }

    /// Size of the block's encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        self.encoded.len()
    }

    /// The value this block writes for the state key with hash `key_hash`, if it writes one.
    pub fn state_write(&self, key_hash: &Hash) -> Option<&[u8]> {
        self.state_writes.get(key_hash).map(Vec::as_slice)
    }

    /// Whether this block writes the state key with hash `key_hash`.
    pub fn writes_key(&self, key_hash: &Hash) -> bool {
        self.state_writes.contains_key(key_hash)
    }
}

impl fmt::Debug for PreparedBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedBlock")
            .field("height", &self.block.header.height)
            .field("hash", &self.hash)
            .field("tx_count", &self.txs.len())
            .field("records", &self.evidence.len())
            .field("state_writes", &self.state_writes.len())
            .finish_non_exhaustive()
    }
}

/// The committed in-memory state, swapped as a whole after each successful store commit.
struct Committed {
    head: Option<Head>,
    log: LogAccumulator,
    smt: SparseMerkleTree,
}

/// Reads log nodes from the store.
struct StoreNodes<'a>(&'a dyn KvStore);

impl NodeSource for StoreNodes<'_> {
    type Error = LedgerError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        match self.0.get(Table::LogNodes, &log_node_key(level, index))? {
            Some(v) => parse_hash(&v, "log node"),
            None => Err(LedgerError::corrupt(format!(
                "log node (level {level}, index {index}) is missing"
            ))),
        }
    }
}

fn log_err(e: LogError<LedgerError>) -> LedgerError {
    match e {
        LogError::Proof(p) => LedgerError::InvalidProofRequest(p),
        LogError::Source(s) => s,
    }
}

/// The durable ledger of one chain.
///
/// One writer ([`prepare`](Self::prepare) + [`commit`](Self::commit), from the block
/// pipeline) and any number of concurrent readers. Readers never block on a commit's disk
/// write; they see the state before or after it. Open at most one `Ledger` per store.
pub struct Ledger {
    pub(crate) store: Arc<dyn KvStore>,
    genesis: Genesis,
    genesis_hash: Hash,
    suite: Suite,
    committed: RwLock<Arc<Committed>>,
    /// Serializes commits. Holds `Some(reason)` once a store commit failed.
    writer: Mutex<Option<String>>,
    /// Epoch links read so far (epochs 1..=len; immutable once committed).
    epoch_links: Mutex<Vec<EpochLink>>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("chain_id", &self.genesis.chain_id)
            .field("height", &self.height())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the ledger of `genesis` in `store`: writes the genesis hash into an empty store,
    /// refuses a store of another genesis, and restores the head, the log frontier and the
    /// state tree, checking them against the head header.
    pub fn open(store: Arc<dyn KvStore>, genesis: Genesis) -> Result<Ledger, LedgerError> {
        genesis
            .validate()
            .map_err(|e| LedgerError::InvalidGenesis(e.to_string()))?;
        let genesis_hash = genesis.hash();
        let suite = genesis.suite;
        match store.get(Table::Meta, META_GENESIS_HASH)? {
            Some(bytes) => {
                let stored = parse_hash(&bytes, "genesis hash")?;
                if stored != genesis_hash {
                    return Err(LedgerError::GenesisMismatch {
                        stored,
                        given: genesis_hash,
                    });
                }
                match store.get(Table::Meta, META_SCHEMA)?.as_deref() {
                    Some([SCHEMA_VERSION]) => {}
                    other => {
                        return Err(LedgerError::corrupt(format!(
                            "unsupported ledger schema {other:?}, expected [{SCHEMA_VERSION}]"
                        )));
                    }
                }
            }
            None => {
                if store.get(Table::Meta, META_HEAD)?.is_some() {
                    return Err(LedgerError::corrupt("a head block but no genesis hash"));
                }
                let mut batch = WriteBatch::new();
                batch.put(
                    Table::Meta,
                    META_GENESIS_HASH,
                    genesis_hash.as_bytes().to_vec(),
                );
                batch.put(Table::Meta, META_GENESIS, genesis.encode());
                batch.put(Table::Meta, META_SCHEMA, vec![SCHEMA_VERSION]);
                batch.put(
                    Table::Meta,
                    crate::contract_index::META_CONTRACT_INDEX,
                    vec![1],
                );
                store.commit(batch)?;
            }
        }
        let committed = Self::load(store.as_ref(), suite)?;
        if store
            .get(Table::Meta, crate::contract_index::META_CONTRACT_INDEX)?
            .is_none()
        {
            // A ledger written before the contract index existed: index its blocks once.
            let head = committed.head.as_ref().map_or(0, |h| h.height);
            crate::contract_index::backfill(store.as_ref(), head)?;
        }
        Ok(Ledger {
            store,
            genesis,
            genesis_hash,
            suite,
            committed: RwLock::new(Arc::new(committed)),
            writer: Mutex::new(None),
            epoch_links: Mutex::new(Vec::new()),
        })
    }

    fn load(store: &dyn KvStore, suite: Suite) -> Result<Committed, LedgerError> {
        let head = match store.get(Table::Meta, META_HEAD)? {
            None => None,
            Some(bytes) => {
                let header = BlockHeader::decode(&bytes)
                    .map_err(|e| LedgerError::corrupt(format!("head header: {e}")))?;
                let hash = header.hash(suite);
                Some(Head {
                    height: header.height,
                    hash,
                    header,
                })
            }
        };
        let log = match store.get(Table::Meta, META_LOG)? {
            None => LogAccumulator::new(suite),
            Some(bytes) => decode_log(suite, &bytes)?,
        };
        let (log_size, log_root, state_root) = match &head {
            Some(h) => (h.header.log_size, h.header.log_root, h.header.state_root),
            None => (0, kexin_merkle::empty_root(suite), SMT_EMPTY_HASH),
        };
        if log.size() != log_size || log.root() != log_root {
            return Err(LedgerError::corrupt(format!(
                "log frontier (size {}, root {}) disagrees with the head (size {log_size}, root {log_root})",
                log.size(),
                log.root()
            )));
        }
        if let Some(h) = &head {
            let stored = store
                .get(Table::BlockHashes, h.hash.as_bytes())?
                .ok_or_else(|| LedgerError::corrupt("the head block's hash is not indexed"))?;
            if parse_u64(&stored, "block height")? != h.height {
                return Err(LedgerError::corrupt(
                    "the head block's hash is indexed at another height",
                ));
            }
        }
        let mut changes: BTreeMap<Hash, Option<Hash>> = BTreeMap::new();
        store.for_each(Table::State, &mut |k, v| {
            let key = parse_hash(k, "state key")
                .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
            changes.insert(key, Some(value_hash(suite, v)));
            Ok(())
        })?;
        let smt = SparseMerkleTree::new(suite).apply(&changes);
        if smt.root() != state_root {
            return Err(LedgerError::corrupt(format!(
                "state tree root {} disagrees with the head's state root {state_root}",
                smt.root()
            )));
        }
        Ok(Committed { head, log, smt })
    }

    fn snapshot(&self) -> Arc<Committed> {
        self.committed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn lock_writer(&self) -> MutexGuard<'_, Option<String>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The chain's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The genesis hash (the parent of block 1).
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }

    /// The committed head, `None` before block 1.
    pub fn head(&self) -> Option<Head> {
        self.snapshot().head.clone()
    }

    /// The committed height, 0 before block 1.
    pub fn height(&self) -> u64 {
        self.snapshot().head.as_ref().map_or(0, |h| h.height)
    }

    /// The committed transaction log's size and root.
    pub fn log_head(&self) -> (u64, Hash) {
        let s = self.snapshot();
        (s.log.size(), s.log.root())
    }

    /// The committed state root.
    pub fn state_root(&self) -> Hash {
        self.snapshot().smt.root()
    }

    /// The committed value of `key`.
    pub fn state_get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, LedgerError> {
        self.state_value(&key.to_key())
    }

    /// The committed value of a key in its generic form.
    pub fn state_value(&self, key: &Key) -> Result<Option<Vec<u8>>, LedgerError> {
        let key_hash = key.hash(self.suite);
        // The in-memory tree knows every committed key: most evidence digests are new, and
        // answering their absence from memory saves a store lookup per record.
        if self.snapshot().smt.get(&key_hash).is_none() {
            return Ok(None);
        }
        Ok(self.store.get(Table::State, key_hash.as_bytes())?)
    }

    /// Computes the block that `txs`, with these state writes, would make on top of the
    /// current head. Pure: writes nothing.
    ///
    /// Checks the proposer is a validator, that the timestamp is after the parent's (the
    /// genesis timestamp for height 1), each transaction's chain id, suite and format limits
    /// (not its signature: admission checked that), that no transaction is repeated or already
    /// committed, and the block limits. Refused with [`LedgerError::NeedsReopen`] after a
    /// failed commit.
    pub fn prepare(
        &self,
        txs: Vec<SealedTx>,
        effects: impl Into<BlockEffects>,
        timestamp_ms: u64,
        proposer: PublicKey,
    ) -> Result<PreparedBlock, LedgerError> {
        self.prepare_on(None, &|_| false, txs, effects, timestamp_ms, proposer)
    }

    /// Like [`Ledger::prepare`], but on top of `parent` when it is given: a prepared block not
    /// yet committed (a notarized block awaiting finality). `pending_tx` tells whether a
    /// transaction is already in one of the uncommitted ancestors; such a transaction is a
    /// duplicate. The result commits only after `parent` has.
    pub fn prepare_on(
        &self,
        parent: Option<&PreparedBlock>,
        pending_tx: &dyn Fn(&Hash) -> bool,
        txs: Vec<SealedTx>,
        effects: impl Into<BlockEffects>,
        timestamp_ms: u64,
        proposer: PublicKey,
    ) -> Result<PreparedBlock, LedgerError> {
        let BlockEffects {
            version,
            writes: state_writes,
            outcomes,
        } = effects.into();
        if let Some(reason) = self.lock_writer().as_ref() {
            return Err(LedgerError::NeedsReopen(reason.clone()));
        }
        let suite = self.suite;
        let snap = self.snapshot();
        let (base_log, base_smt) = match parent {
            Some(p) => (&p.log, &p.smt),
            None => (&snap.log, &snap.smt),
        };
        let (height, parent_hash, parent_ms) =
            match (parent, &snap.head) {
                (Some(p), _) => (
                    p.block.header.height.checked_add(1).ok_or_else(|| {
                        LedgerError::corrupt("the parent is at the maximum height")
                    })?,
                    p.hash,
                    p.block.header.timestamp_ms,
                ),
                (None, Some(h)) => (
                    h.height
                        .checked_add(1)
                        .ok_or_else(|| LedgerError::corrupt("the head is at the maximum height"))?,
                    h.hash,
                    h.header.timestamp_ms,
                ),
                (None, None) => (1, self.genesis_hash, self.genesis.timestamp_ms),
            };
        if timestamp_ms <= parent_ms {
            return Err(LedgerError::TimestampNotMonotonic {
                parent_ms,
                proposed_ms: timestamp_ms,
            });
        }
        // The proposer must be a validator of the block's epoch: genesis's in epoch 0, else
        // the set stored at the end of the epoch before (committed, or written by the parent;
        // a set further up an uncommitted chain is checked by the consensus application).
        let epoch = self.genesis.epoch_of(height);
        let set = if epoch == 0 {
            Some(self.genesis.validators.clone())
        } else {
            let key = StateKey::Epoch(epoch);
            let bytes = match parent.and_then(|p| p.state_write(&key.hash(suite))) {
                Some(b) => Some(b.to_vec()),
                None => self.state_get(&key)?,
            };
            bytes
                .map(|b| {
                    kexin_types::EpochSet::decode(&b)
                        .map(|s| s.validators)
                        .map_err(|e| LedgerError::corrupt(format!("epoch {epoch} set: {e}")))
                })
                .transpose()?
        };
        if let Some(set) = set
            && !set.iter().any(|v| v.public_key == proposer)
        {
            return Err(LedgerError::InvalidProposer(format!(
                "{proposer} is not a validator of epoch {epoch} of chain {}",
                self.genesis.chain_id
            )));
        }
        if !kexin_types::protocol::supported(version) || version < self.genesis.version {
            return Err(LedgerError::InvalidPreparedBlock(format!(
                "protocol version {version} on a chain that started at version {}",
                self.genesis.version
            )));
        }
        // From version 4 every transaction has an outcome; a version 3 block may come
        // without them.
        let v4 = version >= kexin_types::protocol::V4;
        if (v4 || !outcomes.is_empty()) && outcomes.len() != txs.len() {
            return Err(LedgerError::InvalidPreparedBlock(format!(
                "a version {version} block needs one outcome per transaction: {} for {}",
                outcomes.len(),
                txs.len()
            )));
        }
        // A version 5 block's outcomes are of version 5 (gas, return data, logs), a version 4
        // block's of version 4: receipts check it.
        let outcome_version = if version >= kexin_types::protocol::V5 {
            kexin_types::outcome::OUTCOME_VERSION_CONTRACTS
        } else {
            kexin_types::outcome::OUTCOME_VERSION
        };
        if let Some((i, o)) = outcomes
            .iter()
            .enumerate()
            .find(|(_, o)| o.version != outcome_version || o.validate().is_err())
        {
            return Err(LedgerError::InvalidPreparedBlock(format!(
                "outcome {i} is of version {} (a version {version} block's are {outcome_version}) or over its limits",
                o.version
            )));
        }
        let outcomes: Vec<(Hash, Outcome)> = txs.iter().map(|t| t.hash()).zip(outcomes).collect();
        let outcomes_root = v4.then(|| kexin_types::outcomes_root(suite, &outcomes));
        if txs.len() > MAX_BLOCK_TXS as usize {
            return Err(LedgerError::BlockTooLarge(format!(
                "{} transactions, the limit is {MAX_BLOCK_TXS}",
                txs.len()
            )));
        }

        let mut log = base_log.clone();
        let mut log_nodes = Vec::with_capacity(txs.len() * 2);
        let mut seen = BTreeSet::new();
        let mut tx_entries = Vec::with_capacity(txs.len());
        let mut evidence = Vec::new();
        let mut notes = Vec::new();
        let mut contract_txs = Vec::new();
        let mut transactions = Vec::with_capacity(txs.len());
        for (i, stx) in txs.into_iter().enumerate() {
            let tx = stx.tx();
            if tx.chain_id != self.genesis.chain_id {
                return Err(LedgerError::InvalidTransaction {
                    index: i,
                    reason: format!(
                        "chain id {:?}, this chain is {:?}",
                        tx.chain_id, self.genesis.chain_id
                    ),
                });
            }
            if tx.version > version {
                return Err(LedgerError::InvalidTransaction {
                    index: i,
                    reason: format!(
                        "unsupported_version: a version {} transaction in a block of protocol version {version}",
                        tx.version
                    ),
                });
            }
            if tx.signer.suite() != suite {
                return Err(LedgerError::InvalidTransaction {
                    index: i,
                    reason: format!("signed with {}, this chain uses {suite}", tx.signer.suite()),
                });
            }
            // Everything committed must decode again: check the format limits the decoder
            // enforces (record count, metadata sizes, ...).
            if let Err(e) = tx.validate() {
                return Err(LedgerError::InvalidTransaction {
                    index: i,
                    reason: e.to_string(),
                });
            }
            let hash = stx.hash();
            if !seen.insert(hash)
                || pending_tx(&hash)
                || self.store.get(Table::Txs, hash.as_bytes())?.is_some()
            {
                return Err(LedgerError::DuplicateTransaction(hash));
            }
            let tx_index = i as u32;
            let loc = TxLocation {
                height,
                tx_index,
                log_index: log.size(),
            };
            log_nodes.extend(log.append(stx.log_leaf_hash()));
            // A failed transaction (version 4) attested nothing: its records and note are not
            // indexed.
            let took_effect = outcomes.get(i).is_none_or(|(_, o)| o.is_success());
            let records = if took_effect { tx.records() } else { &[] };
            for (j, rec) in records.iter().enumerate() {
                evidence.push((
                    rec.digest,
                    RecordLocation {
                        height,
                        tx_index,
                        record_index: j as u32,
                    },
                ));
            }
            if let (true, Payload::AuditNote { subject, .. }) = (took_effect, &tx.payload) {
                notes.push((
                    *subject,
                    NoteLocation {
                        tx_hash: hash,
                        height,
                        tx_index,
                    },
                ));
            }
            contract_txs.extend(crate::contract_index::entries(
                height,
                tx_index,
                hash,
                tx,
                outcomes.get(i).map(|(_, o)| o),
            ));
            tx_entries.push((hash, loc));
            transactions.push(stx.into_tx());
        }

        let mut changes = BTreeMap::new();
        let mut writes = BTreeMap::new();
        let mut registry = Vec::new();
        let mut next_validators = Hash::ZERO;
        for (key, value) in state_writes {
            if key.namespace == namespace::EPOCH {
                next_validators = kexin_types::EpochSet::value_hash(suite, &value);
            }
            if REGISTRY_NAMESPACES.contains(&key.namespace) {
                registry.push(registry_key(key.namespace, &key.bytes));
            }
            let kh = key.hash(suite);
            changes.insert(kh, Some(value_hash(suite, &value)));
            writes.insert(kh, value);
        }
        let smt = base_smt.apply(&changes);

        let header = BlockHeader {
            version,
            outcomes_root,
            height,
            parent_hash,
            timestamp_ms,
            proposer,
            tx_count: tx_entries.len() as u32,
            log_size: log.size(),
            log_root: log.root(),
            state_root: smt.root(),
            next_validators,
        };
        let block = Block {
            header,
            transactions,
        };
        let encoded = block.encode();
        if encoded.len() > MAX_BLOCK_BYTES {
            return Err(LedgerError::BlockTooLarge(format!(
                "{} bytes, the limit is {MAX_BLOCK_BYTES}",
                encoded.len()
            )));
        }
        let hash = block.header.hash(suite);
        Ok(PreparedBlock {
            block,
            hash,
            sealed_hash: hash,
            genesis_hash: self.genesis_hash,
            encoded,
            txs: tx_entries,
            log,
            log_nodes,
            smt,
            state_writes: writes,
            registry,
            evidence,
            notes,
            contract_txs,
            outcomes,
        })
    }

    /// Writes a prepared block and its certificate in one atomic, durable store commit, then
    /// makes it the head.
    ///
    /// Idempotent by height: a block at or below the head whose hash is the committed one is
    /// `Ok(())` and writes nothing. A different block at a committed height, a height gap, a
    /// parent that is not the head, or a certificate that does not verify against the genesis
    /// is an error. If the store commit fails, the ledger refuses further commits
    /// ([`LedgerError::NeedsReopen`]) until reopened, since the store may hold the block.
    pub fn commit(
        &self,
        prepared: PreparedBlock,
        certificate: &CommitCertificate,
    ) -> Result<(), LedgerError> {
        let mut writer = self.lock_writer();
        if let Some(reason) = writer.as_ref() {
            return Err(LedgerError::NeedsReopen(reason.clone()));
        }
        let suite = self.suite;
        if prepared.genesis_hash != self.genesis_hash {
            return Err(LedgerError::InvalidPreparedBlock(
                "prepared by a ledger of another chain".into(),
            ));
        }
        let hash = prepared.block.header.hash(suite);
        if hash != prepared.sealed_hash || prepared.hash != prepared.sealed_hash {
            return Err(LedgerError::InvalidPreparedBlock(
                "the header or hash was changed after prepare".into(),
            ));
        }
        if prepared.block.encode() != prepared.encoded {
            return Err(LedgerError::InvalidPreparedBlock(
                "the transactions were changed after prepare".into(),
            ));
        }

        let snap = self.snapshot();
        let height = prepared.block.header.height;
        let head_height = snap.head.as_ref().map_or(0, |h| h.height);
        if height <= head_height {
            let committed = self.block_hash_at(height)?.ok_or_else(|| {
                LedgerError::corrupt(format!("block {height} is below the head but missing"))
            })?;
            if committed == hash {
                return Ok(());
            }
            return Err(LedgerError::ConflictingBlock {
                height,
                committed,
                proposed: hash,
            });
        }
        if height - 1 != head_height {
            return Err(LedgerError::HeightGap {
                expected: head_height.saturating_add(1),
                got: height,
            });
        }
        let expected_parent = snap.head.as_ref().map_or(self.genesis_hash, |h| h.hash);
        if prepared.block.header.parent_hash != expected_parent {
            return Err(LedgerError::ParentMismatch {
                height,
                expected: expected_parent,
                got: prepared.block.header.parent_hash,
            });
        }
        // Same parent hash means same parent header, hence same log and state it built on.
        certificate.check_epoch(&self.genesis, height)?;
        certificate.verify_in(&self.genesis, &CommittedSets(self), &hash)?;

        let PreparedBlock {
            block,
            encoded,
            txs,
            log,
            log_nodes,
            smt,
            state_writes,
            evidence,
            notes,
            registry,
            contract_txs,
            outcomes,
            ..
        } = prepared;
        let mut batch = WriteBatch::new();
        let hkey = height_key(height);
        batch.put(Table::Blocks, hkey, encoded);
        batch.put(Table::BlockHashes, hash.as_bytes().to_vec(), hkey);
        batch.put(Table::Certificates, hkey, certificate.encode());
        for (tx_hash, loc) in &txs {
            batch.put(
                Table::Txs,
                tx_hash.as_bytes().to_vec(),
                encode_tx_location(loc),
            );
        }
        for (level, index, node) in &log_nodes {
            batch.put(
                Table::LogNodes,
                log_node_key(*level, *index),
                node.as_bytes().to_vec(),
            );
        }
        for (key, value) in state_writes {
            batch.put(Table::State, key.as_bytes().to_vec(), value);
        }
        for (digest, loc) in &evidence {
            batch.put(Table::EvidenceIndex, evidence_key(digest, loc), Vec::new());
        }
        for key in registry {
            batch.put(Table::Registry, key, Vec::new());
        }
        for (subject, n) in &notes {
            batch.put(
                Table::NoteIndex,
                note_key(subject, n.height, n.tx_index),
                n.tx_hash.as_bytes().to_vec(),
            );
        }
        for (k, v) in contract_txs {
            batch.put(Table::ContractIndex, k, v);
        }
        if !outcomes.is_empty() {
            batch.put(Table::Outcomes, hkey, encode_outcomes(&outcomes));
        }
        batch.put(Table::Meta, META_HEAD, block.header.encode());
        batch.put(Table::Meta, META_LOG, encode_log(&log));

        if let Err(e) = self.store.commit(batch) {
            *writer = Some(format!("committing block {height} failed: {e}"));
            return Err(e.into());
        }
        let next = Arc::new(Committed {
            head: Some(Head {
                height,
                hash,
                header: block.header,
            }),
            log,
            smt,
        });
        *self
            .committed
            .write()
            .unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.store.get(Table::Blocks, &height_key(height))?)
    }

    fn certificate_at(&self, height: u64) -> Result<CommitCertificate, LedgerError> {
        let bytes = self
            .store
            .get(Table::Certificates, &height_key(height))?
            .ok_or_else(|| LedgerError::corrupt(format!("block {height} has no certificate")))?;
        CommitCertificate::decode(&bytes)
            .map_err(|e| LedgerError::corrupt(format!("certificate of block {height}: {e}")))
    }

    fn header_from_bytes(height: u64, bytes: &[u8]) -> Result<BlockHeader, LedgerError> {
        let mut r = Reader::new(bytes);
        let header = BlockHeader::decode_from(&mut r)
            .map_err(|e| LedgerError::corrupt(format!("header of block {height}: {e}")))?;
        if header.height != height {
            return Err(LedgerError::corrupt(format!(
                "block stored at height {height} claims height {}",
                header.height
            )));
        }
        Ok(header)
    }

    /// The hash of the committed block at `height`.
    pub fn block_hash_at(&self, height: u64) -> Result<Option<Hash>, LedgerError> {
        match self.block_bytes(height)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(
                Self::header_from_bytes(height, &bytes)?.hash(self.suite),
            )),
        }
    }

    /// The block at `height` with its certificate.
    pub fn block(&self, height: u64) -> Result<Option<(Block, CommitCertificate)>, LedgerError> {
        let Some(bytes) = self.block_bytes(height)? else {
            return Ok(None);
        };
        let block = decode_block(&bytes)
            .map_err(|e| LedgerError::corrupt(format!("block {height}: {e}")))?;
        if block.header.height != height {
            return Err(LedgerError::corrupt(format!(
                "block stored at height {height} claims height {}",
                block.header.height
            )));
        }
        Ok(Some((block, self.certificate_at(height)?)))
    }

    fn height_of(&self, hash: &Hash) -> Result<Option<u64>, LedgerError> {
        match self.store.get(Table::BlockHashes, hash.as_bytes())? {
            None => Ok(None),
            Some(v) => Ok(Some(parse_u64(&v, "block height")?)),
        }
    }

    /// The block with header hash `hash`, with its certificate.
    pub fn block_by_hash(
        &self,
        hash: &Hash,
    ) -> Result<Option<(Block, CommitCertificate)>, LedgerError> {
        let Some(height) = self.height_of(hash)? else {
            return Ok(None);
        };
        let (block, cert) = self
            .block(height)?
            .ok_or_else(|| LedgerError::corrupt(format!("block {hash} indexed but missing")))?;
        if block.header.hash(self.suite) != *hash {
            return Err(LedgerError::corrupt(format!(
                "block {hash} indexed at height {height}, which holds another block"
            )));
        }
        Ok(Some((block, cert)))
    }

    /// The header at `height` with its certificate.
    pub fn header(
        &self,
        height: u64,
    ) -> Result<Option<(BlockHeader, CommitCertificate)>, LedgerError> {
        let Some(bytes) = self.block_bytes(height)? else {
            return Ok(None);
        };
        let header = Self::header_from_bytes(height, &bytes)?;
        Ok(Some((header, self.certificate_at(height)?)))
    }

    /// The outcomes of the transactions of committed block `height`, in block order (empty
    /// when the block was committed without them: a version 3 block stored by a build before
    /// outcomes existed).
    pub fn block_outcomes(&self, height: u64) -> Result<Vec<Outcome>, LedgerError> {
        Ok(self
            .stored_outcomes(height)?
            .into_iter()
            .map(|(_, o)| o)
            .collect())
    }

    fn stored_outcomes(&self, height: u64) -> Result<Vec<(Hash, Outcome)>, LedgerError> {
        match self.store.get(Table::Outcomes, &height_key(height))? {
            None => Ok(Vec::new()),
            Some(bytes) => decode_outcomes(&bytes),
        }
    }

    /// The outcome of the transaction at `loc` with its proof against `header`'s outcomes
    /// root, for a version 5 receipt (`None` for a version 3 block).
    fn proven_outcome(
        &self,
        tx_hash: &Hash,
        loc: &TxLocation,
        header: &BlockHeader,
    ) -> Result<Option<ProvenOutcome>, LedgerError> {
        if header.outcomes_root.is_none() {
            return Ok(None);
        }
        let outcomes = self.stored_outcomes(loc.height)?;
        let leaves: Vec<Hash> = outcomes
            .iter()
            .map(|(tx, o)| o.leaf_hash(self.suite, tx))
            .collect();
        let Some((tx, outcome)) = outcomes.get(loc.tx_index as usize) else {
            return Err(LedgerError::corrupt(format!(
                "block {} has no stored outcome for its transaction {}",
                loc.height, loc.tx_index
            )));
        };
        if tx != tx_hash {
            return Err(LedgerError::corrupt(format!(
                "the stored outcome {} of block {} is for another transaction",
                loc.tx_index, loc.height
            )));
        }
        let proof =
            kexin_merkle::inclusion_proof_from_leaves(self.suite, &leaves, loc.tx_index as u64)
                .map_err(|e| LedgerError::corrupt(format!("outcome proof: {e}")))?;
        Ok(Some(ProvenOutcome {
            outcome: outcome.clone(),
            proof,
        }))
    }

    /// The outcome of a committed transaction, with whether its block's header commits to it
    /// (protocol version 4); `None` for an unknown transaction or one whose block was stored
    /// without outcomes.
    pub fn tx_outcome(&self, tx_hash: &Hash) -> Result<Option<(Outcome, bool)>, LedgerError> {
        let Some(loc) = self.tx_location(tx_hash)? else {
            return Ok(None);
        };
        let outcomes = self.block_outcomes(loc.height)?;
        let Some(outcome) = outcomes.into_iter().nth(loc.tx_index as usize) else {
            return Ok(None);
        };
        let committed = match self.header(loc.height)? {
            Some((h, _)) => h.outcomes_root.is_some(),
            None => false,
        };
        Ok(Some((outcome, committed)))
    }

    /// Where the transaction `tx_hash` is.
    pub fn tx_location(&self, tx_hash: &Hash) -> Result<Option<TxLocation>, LedgerError> {
        match self.store.get(Table::Txs, tx_hash.as_bytes())? {
            None => Ok(None),
            Some(v) => Ok(Some(decode_tx_location(&v)?)),
        }
    }

    /// Reads one transaction out of a stored block without decoding the others.
    fn tx_in_block(
        &self,
        tx_hash: &Hash,
        loc: &TxLocation,
    ) -> Result<(BlockHeader, Transaction), LedgerError> {
        let height = loc.height;
        let bytes = self.block_bytes(height)?.ok_or_else(|| {
            LedgerError::corrupt(format!(
                "transaction {tx_hash} is in missing block {height}"
            ))
        })?;
        let mut r = Reader::new(&bytes);
        let header = BlockHeader::decode_from(&mut r)
            .map_err(|e| LedgerError::corrupt(format!("header of block {height}: {e}")))?;
        if header.height != height || loc.tx_index >= header.tx_count {
            return Err(LedgerError::corrupt(format!(
                "transaction {tx_hash} is indexed at {loc:?}, outside block {}",
                header.height
            )));
        }
        let first = header.log_size - u64::from(header.tx_count);
        if loc.log_index != first + u64::from(loc.tx_index) {
            return Err(LedgerError::corrupt(format!(
                "transaction {tx_hash} has log index {}, its block puts it at {}",
                loc.log_index,
                first + u64::from(loc.tx_index)
            )));
        }
        let bad = |e: kexin_types::DecodeError| {
            LedgerError::corrupt(format!("transactions of block {height}: {e}"))
        };
        for i in 0..=loc.tx_index {
            let len = r.u32("transaction length").map_err(bad)? as usize;
            let body = r.take("transaction", len).map_err(bad)?;
            if i == loc.tx_index {
                let tx = decode_transaction(body).map_err(bad)?;
                return Ok((header, tx));
            }
        }
        Err(LedgerError::corrupt(format!(
            "transaction {tx_hash} not found in block {height}"
        )))
    }

    /// The transaction `tx_hash` and where it is.
    pub fn transaction(
        &self,
        tx_hash: &Hash,
    ) -> Result<Option<(Transaction, TxLocation)>, LedgerError> {
        let Some(loc) = self.tx_location(tx_hash)? else {
            return Ok(None);
        };
        let (_, tx) = self.tx_in_block(tx_hash, &loc)?;
        if tx.hash() != *tx_hash {
            return Err(LedgerError::corrupt(format!(
                "transaction {tx_hash} is indexed at {loc:?}, which holds another transaction"
            )));
        }
        Ok(Some((tx, loc)))
    }

    /// What proves a committed transaction final, for its receipts: its log proof, its block's
    /// certificate and the epoch links; after checking that `summary` (rebuilt from the
    /// stored transaction) hashes to `tx_hash`.
    fn finality(
        &self,
        tx_hash: &Hash,
        summary: &TxSummary,
        loc: &TxLocation,
        header: &BlockHeader,
    ) -> Result<
        (
            kexin_merkle::InclusionProof,
            CommitCertificate,
            Vec<EpochLink>,
        ),
        LedgerError,
    > {
        if summary.hash() != *tx_hash {
            return Err(LedgerError::corrupt(format!(
                "transaction {tx_hash} is indexed at {loc:?}, which holds another transaction"
            )));
        }
        let log_proof = kexin_merkle::prove_inclusion(
            self.suite,
            &StoreNodes(self.store.as_ref()),
            loc.log_index,
            header.log_size,
        )
        .map_err(log_err)?;
        let certificate = self.certificate_at(loc.height)?;
        let epochs = self.epoch_links(self.genesis.epoch_of(loc.height))?;
        Ok((log_proof, certificate, epochs))
    }

    /// The receipt of transaction `tx_hash` itself, of any payload kind: the transaction, its
    /// log proof, the header, the certificate and the epoch links. It carries the payload:
    /// whoever serves it decides who may see it ([`TxReceipt::withheld`] drops it). `None` if
    /// no such transaction is committed.
    pub fn tx_receipt(&self, tx_hash: &Hash) -> Result<Option<TxReceipt>, LedgerError> {
        let suite = self.suite;
        let Some(loc) = self.tx_location(tx_hash)? else {
            return Ok(None);
        };
        let (header, tx) = self.tx_in_block(tx_hash, &loc)?;
        let summary = tx.summary();
        let (log_proof, certificate, mut epochs) =
            self.finality(tx_hash, &summary, &loc, &header)?;
        let signer_cert = self.signer_cert(&tx, &mut epochs)?;
        let outcome = self.proven_outcome(tx_hash, &loc, &header)?;
        Ok(Some(TxReceipt {
            version: kexin_types::receipt_version_for(header.version),
            outcome,
            chain_id: self.genesis.chain_id.clone(),
            suite,
            transaction: ReceiptTx {
                hash: *tx_hash,
                summary,
                signature: tx.signature,
            },
            payload: Some(tx.payload),
            log_proof,
            block_hash: header.hash(suite),
            header,
            certificate,
            epochs,
            signer_cert,
        }))
    }

    /// The signer's certificate of `tx` for its version 4 receipts (`None` on a chain without
    /// organisations): the DER, read from the transaction that registered it, and, when the
    /// genesis does not list the CA that issued it, the organisation's CA set proven against
    /// the head's state root (the ledger keeps only its newest state), with the head's header
    /// and certificate. `epochs` is extended to the proof header's epoch.
    fn signer_cert(
        &self,
        tx: &Transaction,
        epochs: &mut Vec<EpochLink>,
    ) -> Result<Option<SignerCert>, LedgerError> {
        let suite = self.suite;
        let (true, Some(id)) = (self.genesis.is_permissioned(), tx.cert) else {
            return Ok(None);
        };
        let state = self
            .state_get(&StateKey::Cert(id))?
            .ok_or_else(|| {
                LedgerError::corrupt(format!("certificate {id} is named but not registered"))
            })
            .and_then(|b| {
                CertState::decode(&b)
                    .map_err(|e| LedgerError::corrupt(format!("certificate {id}: {e}")))
            })?;
        let cert = match &tx.attached_cert {
            Some(der) if der.id(suite) == id => der.clone(),
            _ => self.registered_der(&id, state.registered_at)?,
        };
        let in_genesis = self
            .genesis
            .organisation(&state.org)
            .is_some_and(|o| o.ca_certs.iter().any(|c| c.id(suite) == state.issuer));
        if in_genesis {
            return Ok(Some(SignerCert { cert, ca_set: None }));
        }
        let resp = self.state_proof(&StateKey::Org(state.org.clone()))?;
        let value = resp.value.ok_or_else(|| {
            LedgerError::corrupt(format!(
                "organisation {} has no CA-set entry but certificate {id} names a CA outside the genesis",
                state.org
            ))
        })?;
        let org_state = OrgState::decode(&value)
            .map_err(|e| LedgerError::corrupt(format!("organisation {}: {e}", state.org)))?;
        let (header, certificate) = self.header(resp.height)?.ok_or_else(|| {
            LedgerError::corrupt(format!("head block {} is not stored", resp.height))
        })?;
        if header.state_root != resp.state_root {
            return Err(LedgerError::corrupt(format!(
                "block {}'s state root differs from the state tree's",
                resp.height
            )));
        }
        let need = self.genesis.epoch_of(resp.height);
        if (epochs.len() as u64) < need {
            *epochs = self.epoch_links(need)?;
        }
        Ok(Some(SignerCert {
            cert,
            ca_set: Some(CaSetProof {
                org_state,
                proof: resp.proof,
                header,
                certificate,
            }),
        }))
    }

    /// The DER of certificate `id`, from the transaction of block `height` that registered it
    /// (attached it).
    fn registered_der(&self, id: &Hash, height: u64) -> Result<kexin_types::CertDer, LedgerError> {
        let (block, _) = self.block(height)?.ok_or_else(|| {
            LedgerError::corrupt(format!(
                "certificate {id} was registered at missing block {height}"
            ))
        })?;
        block
            .transactions
            .iter()
            .filter_map(|t| t.attached_cert.as_ref())
            .find(|der| der.id(self.suite) == *id)
            .cloned()
            .ok_or_else(|| {
                LedgerError::corrupt(format!(
                    "no transaction of block {height} carries certificate {id}, registered there"
                ))
            })
    }

    /// The receipts of every evidence record of transaction `tx_hash`, in record order
    /// (`O(n log n)` for `n` records). Each verifies with [`Receipt::verify`] against the
    /// genesis alone. They carry the records' metadata: whoever serves them decides who may
    /// see it ([`Receipt::withheld`] drops it).
    pub fn receipts(&self, tx_hash: &Hash) -> Result<Option<Vec<Receipt>>, LedgerError> {
        self.build_receipts(tx_hash, None)
    }

    /// The receipt of record `record_index` of transaction `tx_hash`; `None` if there is no
    /// such transaction or record.
    pub fn receipt(
        &self,
        tx_hash: &Hash,
        record_index: u32,
    ) -> Result<Option<Receipt>, LedgerError> {
        Ok(self
            .build_receipts(tx_hash, Some(record_index))?
            .and_then(|mut v| v.pop()))
    }

    fn build_receipts(
        &self,
        tx_hash: &Hash,
        only: Option<u32>,
    ) -> Result<Option<Vec<Receipt>>, LedgerError> {
        let suite = self.suite;
        let Some(loc) = self.tx_location(tx_hash)? else {
            return Ok(None);
        };
        let (header, tx) = self.tx_in_block(tx_hash, &loc)?;
        if !matches!(tx.payload, Payload::Evidence { .. }) {
            // Record receipts exist for evidence only.
            return Ok(Some(Vec::new()));
        }
        let records = tx.records();
        if let Some(j) = only
            && j as usize >= records.len()
        {
            return Ok(None);
        }
        let mut record_tree = MemoryLog::new(suite);
        for rec in records {
            record_tree.append(rec.leaf_hash(suite));
        }
        let summary = TxSummary {
            version: tx.version,
            chain_id: tx.chain_id.clone(),
            signer: tx.signer,
            nonce: tx.nonce,
            cert: tx.cert,
            payload: PayloadCommitment::Evidence {
                record_count: records.len() as u32,
                records_root: record_tree.root(),
            },
        };
        let (log_proof, certificate, mut epochs) =
            self.finality(tx_hash, &summary, &loc, &header)?;
        let signer_cert = self.signer_cert(&tx, &mut epochs)?;
        let outcome = self.proven_outcome(tx_hash, &loc, &header)?;
        if outcome.as_ref().is_some_and(|o| !o.outcome.is_success()) {
            // A failed transaction attested nothing: no record receipts.
            return Ok(Some(Vec::new()));
        }
        let block_hash = header.hash(suite);
        let transaction = ReceiptTx {
            hash: *tx_hash,
            summary,
            signature: tx.signature,
        };
        let size = record_tree.size();
        let range = match only {
            Some(j) => j as usize..j as usize + 1,
            None => 0..records.len(),
        };
        let mut out = Vec::with_capacity(range.len());
        for j in range {
            let record_proof = record_tree
                .prove_inclusion(j as u64, size)
                .map_err(|e| LedgerError::corrupt(format!("record proof: {e}")))?;
            out.push(Receipt {
                version: kexin_types::receipt_version_for(header.version),
                outcome: outcome.clone(),
                chain_id: self.genesis.chain_id.clone(),
                suite,
                record: records[j].disclosed(suite),
                record_proof,
                transaction: transaction.clone(),
                log_proof: log_proof.clone(),
                block_hash,
                header: header.clone(),
                certificate: certificate.clone(),
                epochs: epochs.clone(),
                signer_cert: signer_cert.clone(),
            });
        }
        Ok(Some(out))
    }

    /// The links of epochs `1 ..= epoch`, which prove their validator sets from the genesis.
    /// Fails if one of them is not committed yet.
    pub fn epoch_links(&self, epoch: u64) -> Result<Vec<EpochLink>, LedgerError> {
        let mut cache = self
            .epoch_links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while (cache.len() as u64) < epoch {
            let e = cache.len() as u64 + 1;
            let link = self.read_epoch_link(e)?.ok_or_else(|| {
                LedgerError::corrupt(format!("the validator set of epoch {e} is not committed"))
            })?;
            cache.push(link);
        }
        Ok(cache[..epoch as usize].to_vec())
    }

    /// The link of `epoch` (≥ 1), if committed.
    pub fn epoch_link(&self, epoch: u64) -> Result<Option<EpochLink>, LedgerError> {
        if epoch == 0 || self.state_get(&StateKey::Epoch(epoch))?.is_none() {
            return Ok(None);
        }
        Ok(self.epoch_links(epoch)?.pop())
    }

    fn read_epoch_link(&self, epoch: u64) -> Result<Option<EpochLink>, LedgerError> {
        let Some(bytes) = self.state_get(&StateKey::Epoch(epoch))? else {
            return Ok(None);
        };
        let set = kexin_types::EpochSet::decode(&bytes)
            .map_err(|e| LedgerError::corrupt(format!("epoch {epoch} set: {e}")))?;
        let boundary = self.genesis.epoch_last(epoch - 1);
        let Some((header, certificate)) = self.header(boundary)? else {
            return Err(LedgerError::corrupt(format!(
                "epoch {epoch}'s set is stored but block {boundary} is not"
            )));
        };
        Ok(Some(EpochLink {
            set,
            header,
            certificate,
        }))
    }

    /// Up to `limit` locations of records with `digest`, ascending.
    pub fn evidence(
        &self,
        digest: &Hash,
        limit: usize,
    ) -> Result<Vec<RecordLocation>, LedgerError> {
        self.store
            .scan_prefix(Table::EvidenceIndex, digest.as_bytes(), limit)?
            .into_iter()
            .map(|(k, _)| parse_evidence_key(&k).map(|(_, loc)| loc))
            .collect()
    }

    /// Up to `limit` audit notes about `subject`, oldest first.
    pub fn audit_notes(
        &self,
        subject: &Hash,
        limit: usize,
    ) -> Result<Vec<NoteLocation>, LedgerError> {
        self.store
            .scan_prefix(Table::NoteIndex, subject.as_bytes(), limit)?
            .into_iter()
            .map(|(k, v)| parse_note_entry(&k, &v))
            .collect()
    }

    /// Up to `limit` registry keys of state key kind `kind` (3: organisations changed since
    /// genesis, 4: certificates, 5: governance proposals), in key order.
    pub fn registry_keys(&self, kind: u8, limit: usize) -> Result<Vec<StateKey>, LedgerError> {
        self.store
            .scan_prefix(Table::Registry, &[kind], limit)?
            .into_iter()
            .map(|(k, _)| {
                let body = &k[1..];
                match kind {
                    3 => String::from_utf8(body.to_vec())
                        .map(StateKey::Org)
                        .map_err(|_| {
                            LedgerError::corrupt("registry organisation name is not UTF-8")
                        }),
                    7 => <[u8; 8]>::try_from(body)
                        .map(|b| StateKey::Epoch(u64::from_be_bytes(b)))
                        .map_err(|_| LedgerError::corrupt("registry epoch is not 8 bytes")),
                    5 => <[u8; 32]>::try_from(body)
                        .map(|b| StateKey::Proposal(Hash(b)))
                        .map_err(|_| LedgerError::corrupt("registry proposal id is not 32 bytes")),
                    _ => <[u8; 32]>::try_from(body)
                        .map(|b| StateKey::Cert(Hash(b)))
                        .map_err(|_| {
                            LedgerError::corrupt("registry certificate id is not 32 bytes")
                        }),
                }
            })
            .collect()
    }

    /// The head header with its certificate (a signed tree head); `None` before block 1.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, LedgerError> {
        let snap = self.snapshot();
        let Some(head) = &snap.head else {
            return Ok(None);
        };
        Ok(Some(Checkpoint {
            header: head.header.clone(),
            certificate: self.certificate_at(head.height)?,
        }))
    }

    /// A consistency proof between the log's first `old_size` and `new_size` transactions;
    /// `new_size` must not exceed the committed log size.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, LedgerError> {
        let log_size = self.snapshot().log.size();
        if new_size > log_size {
            return Err(LedgerError::LogSizeOutOfRange {
                requested: new_size,
                log_size,
            });
        }
        kexin_merkle::prove_consistency(
            self.suite,
            &StoreNodes(self.store.as_ref()),
            old_size,
            new_size,
        )
        .map_err(log_err)
    }

    /// The root of the log's first `size` transactions; `size` must not exceed the committed
    /// log size.
    pub fn log_root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        let snap = self.snapshot();
        let log_size = snap.log.size();
        if size > log_size {
            return Err(LedgerError::LogSizeOutOfRange {
                requested: size,
                log_size,
            });
        }
        if size == log_size {
            return Ok(snap.log.root());
        }
        kexin_merkle::root_at(self.suite, &StoreNodes(self.store.as_ref()), size).map_err(log_err)
    }

    /// `key`'s committed value with a proof against the head's state root.
    pub fn state_proof(&self, key: &StateKey) -> Result<StateProofResponse, LedgerError> {
        Ok(self.proof_at_head(key.hash(self.suite))?.0)
    }

    /// The committed value of a key in its generic form (any namespace: a contract storage
    /// slot, ...) with a proof against the head's state root; the same as
    /// [`state_proof`](Self::state_proof) for a key of a [`StateKey`].
    pub fn key_state_proof(&self, key: &Key) -> Result<StateProofResponse, LedgerError> {
        Ok(self.proof_at_head(key.hash(self.suite))?.0)
    }

    /// `key`'s committed value (or its absence) at the head, as a state proof document that
    /// verifies offline from the genesis alone ([`StateReceipt::verify`]): the proof against
    /// the head's state root, the head header with its certificate, and the epoch links up to
    /// the head's epoch. `None` before block 1 (no header to prove against).
    ///
    /// The proof and the header are of the same height: both come from one snapshot of the
    /// committed head (a commit swaps the head and the state tree together), so a concurrent
    /// commit makes this answer at the previous head, never a mix of the two.
    pub fn state_receipt(&self, key: &Key) -> Result<Option<StateReceipt>, LedgerError> {
        let (resp, head) = self.proof_at_head(key.hash(self.suite))?;
        let Some(head) = head else {
            return Ok(None);
        };
        if head.header.state_root != resp.state_root || head.height != resp.height {
            return Err(LedgerError::corrupt(format!(
                "block {}'s state root differs from the state tree's",
                head.height
            )));
        }
        // Written with the block (the same store commit as the head), never changed after.
        let certificate = self.certificate_at(head.height)?;
        let epochs = self.epoch_links(self.genesis.epoch_of(head.height))?;
        Ok(Some(StateReceipt::new(
            &self.genesis,
            key,
            resp.value,
            resp.proof,
            head.header,
            certificate,
            epochs,
        )))
    }

    /// The proof of `key_hash` at the head, with the head it is against (both from one
    /// snapshot).
    fn proof_at_head(
        &self,
        key_hash: Hash,
    ) -> Result<(StateProofResponse, Option<Head>), LedgerError> {
        if let Some(resp) = self.try_state_proof(key_hash)? {
            return Ok(resp);
        }
        // The store and the in-memory tree disagree: a commit is between its store write and
        // its swap. Wait for it (commits hold the writer lock across both) and retry.
        let writer = self.lock_writer();
        if let Some(reason) = writer.as_ref() {
            return Err(LedgerError::NeedsReopen(reason.clone()));
        }
        let resp = self.try_state_proof(key_hash)?;
        drop(writer);
        resp.ok_or_else(|| {
            LedgerError::corrupt(format!(
                "stored value of state key {key_hash} disagrees with the state tree"
            ))
        })
    }

    fn try_state_proof(
        &self,
        key_hash: Hash,
    ) -> Result<Option<(StateProofResponse, Option<Head>)>, LedgerError> {
        let snap = self.snapshot();
        let value = self.store.get(Table::State, key_hash.as_bytes())?;
        let value_hash = value.as_ref().map(|v| value_hash(self.suite, v));
        if value_hash != snap.smt.get(&key_hash) {
            return Ok(None);
        }
        let resp = StateProofResponse {
            key_hash,
            value,
            value_hash,
            proof: snap.smt.prove(&key_hash),
            state_root: snap.smt.root(),
            height: snap.head.as_ref().map_or(0, |h| h.height),
        };
        Ok(Some((resp, snap.head.clone())))
    }

    /// Bytes the store occupies (0 if the store cannot tell).
    pub fn storage_bytes(&self) -> u64 {
        self.store.size_on_disk().unwrap_or(0)
    }
}

/// The validator sets of the epochs whose sets this ledger has committed.
pub struct CommittedSets<'a>(pub &'a Ledger);

impl kexin_types::ValidatorSets for CommittedSets<'_> {
    fn epoch_keys(&self, epoch: u64) -> Option<Vec<PublicKey>> {
        if epoch == 0 {
            return Some(self.0.genesis.consensus_order());
        }
        let bytes = self.0.state_get(&StateKey::Epoch(epoch)).ok()??;
        let set = kexin_types::EpochSet::decode(&bytes).ok()?;
        Some(kexin_types::consensus_order(&set.validators))
    }
}
