//! Shared fixtures: a chain, signed evidence transactions, an executor stand-in, receipt and
//! proof checks, and storage wrappers that inject faults.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_ledger::{
    Entry, KvStore, Ledger, LedgerError, PreparedBlock, ScanFn, StoreError, Table, WriteBatch,
};
use kexin_types::state::{EvidenceState, Key, NonceState, RecordLocation, StateKey};
use kexin_types::{
    CommitCertificate, Decode, Encode, EvidenceRecord, Genesis, Payload, SealedTx, Transaction,
    Validator,
};

pub const CHAIN: &str = "kexin-test";
pub const T0: u64 = 1_700_000_000_000;

/// A chain with one validator and a few clients, all from fixed seeds.
pub struct Chain {
    pub suite: Suite,
    pub validator: SigningKey,
    pub genesis: Genesis,
    pub clients: Vec<SigningKey>,
}

impl Chain {
    pub fn new(suite: Suite) -> Chain {
        Self::with_chain_id(suite, CHAIN)
    }

    pub fn with_chain_id(suite: Suite, chain_id: &str) -> Chain {
        let key = |i: u8| SigningKey::from_seed(suite, &[i; 32]).expect("seed is a valid key");
        let validator = key(1);
        // Version 3: `prepare` below passes the executor's writes alone, as a version 3 block
        // does (version 4 tests set the version and pass outcomes).
        let genesis = Genesis {
            version: kexin_types::protocol::V3,
            epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
            chain_id: chain_id.into(),
            suite,
            timestamp_ms: T0,
            organisations: vec![],
            validators: vec![Validator {
                name: "node0".into(),
                org: String::new(),
                public_key: validator.public_key(),
                address: String::new(),
            }],
        };
        Chain {
            suite,
            validator,
            genesis,
            clients: (10..14).map(key).collect(),
        }
    }

    pub fn digest(&self, n: u64) -> Hash {
        self.suite.hash(&n.to_be_bytes())
    }

    /// An evidence transaction of client `client` with one record per digest number.
    pub fn tx(&self, client: usize, nonce: u64, digests: &[u64]) -> SealedTx {
        let records = digests
            .iter()
            .enumerate()
            .map(|(i, d)| EvidenceRecord {
                digest: self.digest(*d),
                metadata: kexin_types::RecordMetadata {
                    salt: kexin_types::Salt([7; 16]),
                    content_type: "application/octet-stream".into(),
                    label: format!("file-{d}-{i}"),
                    external_ref: (i % 3 == 0).then(|| format!("s3://bucket/{d}")),
                },
            })
            .collect();
        SealedTx::new(Transaction::sign_versioned(
            self.genesis.version,
            &self.genesis.chain_id,
            &self.clients[client],
            None,
            nonce,
            Payload::Evidence { records },
        ))
    }

    pub fn certify(&self, prepared: &PreparedBlock) -> CommitCertificate {
        CommitCertificate::sign_single(&self.genesis.chain_id, 0, &self.validator, &prepared.hash)
    }

    /// Prepares a block of `txs` at `timestamp_ms` with the executor's state writes.
    pub fn prepare(
        &self,
        ledger: &Ledger,
        txs: &[SealedTx],
        timestamp_ms: u64,
    ) -> Result<PreparedBlock, LedgerError> {
        let writes = exec_writes(ledger, txs)?;
        ledger.prepare(
            txs.to_vec(),
            writes,
            timestamp_ms,
            self.validator.public_key(),
        )
    }

    /// Prepares, certifies and commits.
    pub fn commit(
        &self,
        ledger: &Ledger,
        txs: &[SealedTx],
        timestamp_ms: u64,
    ) -> Result<PreparedBlock, LedgerError> {
        let prepared = self.prepare(ledger, txs, timestamp_ms)?;
        let cert = self.certify(&prepared);
        ledger.commit(prepared.clone(), &cert)?;
        Ok(prepared)
    }
}

/// What the executor would write for `txs` as the next block: each signer's nonce record and
/// each digest's evidence entry.
pub fn exec_writes(
    ledger: &Ledger,
    txs: &[SealedTx],
) -> Result<BTreeMap<Key, Vec<u8>>, LedgerError> {
    let height = ledger.height() + 1;
    let mut nonces: BTreeMap<StateKey, NonceState> = BTreeMap::new();
    let mut evidence: BTreeMap<StateKey, EvidenceState> = BTreeMap::new();
    for (i, stx) in txs.iter().enumerate() {
        let tx = stx.tx();
        let key = StateKey::Nonce(tx.signer);
        let prev = match nonces.get(&key) {
            Some(n) => Some(*n),
            None => ledger
                .state_get(&key)?
                .map(|b| NonceState::decode(&b).expect("nonce state decodes")),
        };
        let tx_count = prev.map_or(0, |p| p.tx_count) + 1;
        nonces.insert(
            key,
            NonceState {
                last_nonce: tx.nonce,
                tx_count,
            },
        );
        for (j, rec) in tx.records().iter().enumerate() {
            let loc = RecordLocation {
                height,
                tx_index: i as u32,
                record_index: j as u32,
            };
            let key = StateKey::Evidence(rec.digest);
            let prev = match evidence.get(&key) {
                Some(e) => Some(e.clone()),
                None => ledger
                    .state_get(&key)?
                    .map(|b| EvidenceState::decode(&b).expect("evidence state decodes")),
            };
            let next = match prev {
                None => EvidenceState {
                    count: 1,
                    first: loc,
                    last: loc,
                    first_org: None,
                },
                Some(p) => EvidenceState {
                    count: p.count + 1,
                    last: loc,
                    ..p
                },
            };
            evidence.insert(key, next);
        }
    }
    let mut out = BTreeMap::new();
    out.extend(nonces.into_iter().map(|(k, v)| (k.to_key(), v.encode())));
    out.extend(evidence.into_iter().map(|(k, v)| (k.to_key(), v.encode())));
    Ok(out)
}

/// The roots a reference run reached at one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roots {
    pub height: u64,
    pub hash: Hash,
    pub log_size: u64,
    pub log_root: Hash,
    pub state_root: Hash,
}

pub fn roots(ledger: &Ledger) -> Roots {
    let head = ledger.head();
    let (log_size, log_root) = ledger.log_head();
    Roots {
        height: ledger.height(),
        hash: head.as_ref().map_or(ledger.genesis_hash(), |h| h.hash),
        log_size,
        log_root,
        state_root: ledger.state_root(),
    }
}

/// A fixed scenario: per block, its transactions and timestamp.
pub fn scenario(chain: &Chain) -> Vec<(Vec<SealedTx>, u64)> {
    vec![
        (
            vec![chain.tx(0, 1, &[1, 2, 3]), chain.tx(1, 1, &[4])],
            T0 + 1_000,
        ),
        // Digest 1 again, twice in one transaction, and digest 4 again.
        (vec![chain.tx(0, 2, &[1, 5, 1, 6, 4])], T0 + 2_000),
        // An empty block.
        (vec![], T0 + 3_000),
        (
            vec![
                chain.tx(2, 7, &[7]),
                chain.tx(1, 2, &[8, 9, 10, 11, 12, 13, 14]),
                chain.tx(0, 3, &[1]),
            ],
            T0 + 4_000,
        ),
        (
            vec![chain.tx(3, 1, &(20..37).collect::<Vec<_>>())],
            T0 + 5_000,
        ),
    ]
}

/// Checks every committed transaction's receipts against the genesis.
pub fn check_receipts(ledger: &Ledger, txs: &[SealedTx]) {
    let genesis = ledger.genesis().clone();
    for stx in txs {
        let receipts = ledger
            .receipts(&stx.hash())
            .unwrap()
            .expect("committed transaction has receipts");
        assert_eq!(receipts.len(), stx.tx().records().len());
        for (j, r) in receipts.iter().enumerate() {
            let v = r
                .verify(&genesis)
                .unwrap_or_else(|e| panic!("receipt {j}: {e}"));
            assert_eq!(v.tx_hash, stx.hash());
            assert_eq!(v.digest, stx.tx().records()[j].digest);
            assert_eq!(r.record_proof.leaf_index, j as u64);
        }
    }
}

/// A `KvStore` wrapper whose `commit` number `fail_at` (1-based, counting every commit
/// including the genesis write) fails: before touching the inner store, or after committing
/// to it (an ambiguous failure: written but reported failed).
pub struct FaultyStore {
    pub inner: Arc<dyn KvStore>,
    pub commits: AtomicU64,
    pub fail_at: u64,
    pub after: bool,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn KvStore>, fail_at: u64, after: bool) -> FaultyStore {
        FaultyStore {
            inner,
            commits: AtomicU64::new(0),
            fail_at,
            after,
        }
    }
}

impl KvStore for FaultyStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(table, key)
    }

    fn scan_prefix_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.inner.scan_prefix_from(table, prefix, from, limit)
    }

    fn for_each(&self, table: Table, f: &mut ScanFn<'_>) -> Result<(), StoreError> {
        self.inner.for_each(table, f)
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let n = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        if n != self.fail_at {
            return self.inner.commit(batch);
        }
        if self.after {
            self.inner.commit(batch)?;
        }
        Err(StoreError::Io(std::io::Error::other(format!(
            "injected failure of commit {n}"
        ))))
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.inner.size_on_disk()
    }
}

#[derive(Debug, Default)]
struct DiskState {
    live: Vec<u8>,
    durable: Vec<u8>,
    ops: u64,
    fail_from: Option<u64>,
}

/// A redb storage backend that simulates a disk: writes go to `live`, a completed sync copies
/// `live` to `durable`; from I/O operation `fail_from` on (1-based, counting writes, syncs and
/// resizes) every operation fails, as if the machine had lost power.
#[derive(Clone, Debug, Default)]
pub struct CrashDisk {
    state: Arc<Mutex<DiskState>>,
}

impl CrashDisk {
    pub fn new(fail_from: Option<u64>) -> CrashDisk {
        let disk = CrashDisk::default();
        disk.state.lock().unwrap().fail_from = fail_from;
        disk
    }

    /// A disk holding `image` (already durable) that never fails.
    pub fn from_image(image: Vec<u8>) -> CrashDisk {
        let disk = CrashDisk::default();
        {
            let mut s = disk.state.lock().unwrap();
            s.live = image.clone();
            s.durable = image;
        }
        disk
    }

    pub fn ops(&self) -> u64 {
        self.state.lock().unwrap().ops
    }

    /// What survives the crash if only synced data reached the platter.
    pub fn durable_image(&self) -> Vec<u8> {
        self.state.lock().unwrap().durable.clone()
    }

    /// What survives if every write issued before the crash reached the platter.
    pub fn live_image(&self) -> Vec<u8> {
        self.state.lock().unwrap().live.clone()
    }

    fn op(&self) -> Result<std::sync::MutexGuard<'_, DiskState>, std::io::Error> {
        let mut s = self.state.lock().unwrap();
        s.ops += 1;
        if s.fail_from.is_some_and(|f| s.ops >= f) {
            return Err(std::io::Error::other("simulated power loss"));
        }
        Ok(s)
    }
}

impl redb::StorageBackend for CrashDisk {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.state.lock().unwrap().live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let s = self.state.lock().unwrap();
        let offset = offset as usize;
        if offset + out.len() > s.live.len() {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        }
        out.copy_from_slice(&s.live[offset..offset + out.len()]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let mut s = self.op()?;
        s.live.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        let mut s = self.op()?;
        s.durable = s.live.clone();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let mut s = self.op()?;
        let offset = offset as usize;
        if offset + data.len() > s.live.len() {
            s.live.resize(offset + data.len(), 0);
        }
        s.live[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }
}
