//! The narrow storage interface the ledger needs from an embedded key-value engine, and an
//! in-memory implementation of it.
//!
//! The ledger only ever needs point reads, ordered prefix scans, a full scan at start-up and one
//! atomic, durable multi-table write per block. Anything that offers those (redb, fjall, LMDB,
//! RocksDB, ...) can stand behind [`KvStore`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::RwLock;

/// The ledger's tables. Keys and values are raw bytes; their layouts are fixed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Ledger metadata: genesis hash, schema version, head header, log frontier.
    Meta,
    /// `u64 height (BE)` -> block encoding.
    Blocks,
    /// `block hash (32)` -> `u64 height (BE)`.
    BlockHashes,
    /// `u64 height (BE)` -> commit certificate encoding.
    Certificates,
    /// `tx hash (32)` -> `u64 height || u32 tx_index || u64 log_index` (BE).
    Txs,
    /// `u8 level || u64 index (BE)` -> 32-byte perfect-subtree hash of the transaction log.
    LogNodes,
    /// `state key hash (32)` -> value bytes.
    State,
    /// `digest (32) || u64 height || u32 tx_index || u32 record_index` (BE) -> empty.
    EvidenceIndex,
    /// `u8 state key kind || key bytes` -> empty: the registry's state keys (organisations,
    /// certificates, governance proposals), so they can be listed.
    Registry,
    /// `subject (32) || u64 height || u32 tx_index` (BE) -> `tx hash (32)`: audit notes by
    /// the hash they are about.
    NoteIndex,
    /// `u64 height (BE)` -> the block's transaction outcomes: `u32 n || n × (u32 length ||
    /// Outcome)` (absent for blocks committed before outcomes existed).
    Outcomes,
    /// `contract address (20) || u64 (MAX - height) || u32 (MAX - tx_index)` (BE) -> `tx hash
    /// (32) || u8 payload kind`: the transactions that deployed or called each contract,
    /// newest first (see `contract_index`).
    ContractIndex,
}

impl Table {
    /// Every table, in declaration order.
    pub const ALL: [Table; 12] = [
        Table::Meta,
        Table::Blocks,
        Table::BlockHashes,
        Table::Certificates,
        Table::Txs,
        Table::LogNodes,
        Table::State,
        Table::EvidenceIndex,
        Table::Registry,
        Table::NoteIndex,
        Table::Outcomes,
        Table::ContractIndex,
    ];

    /// The table's name, stable on disk.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Blocks => "blocks",
            Table::BlockHashes => "block_hashes",
            Table::Certificates => "certificates",
            Table::Txs => "txs",
            Table::LogNodes => "log_nodes",
            Table::State => "state",
            Table::EvidenceIndex => "evidence_index",
            Table::Registry => "registry",
            Table::NoteIndex => "note_index",
            Table::Outcomes => "outcomes",
            Table::ContractIndex => "contract_index",
        }
    }

    /// Position in [`Table::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One write of a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOp {
    /// Insert or overwrite `key` with `value`.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key` (a no-op if absent).
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

impl BatchOp {
    /// The key the operation is on.
    pub fn key(&self) -> &[u8] {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } => key,
        }
    }
}

/// Writes to several tables that are applied together or not at all. Within a table the
/// operations are applied in the order they were added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    tables: [Vec<BatchOp>; Table::ALL.len()],
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, table: Table, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.tables[table.index()].push(BatchOp::Put {
            key: key.into(),
            value: value.into(),
        });
    }

    /// Adds a delete.
    pub fn delete(&mut self, table: Table, key: impl Into<Vec<u8>>) {
        self.tables[table.index()].push(BatchOp::Delete { key: key.into() });
    }

    /// The operations on `table`, in order.
    pub fn ops(&self, table: Table) -> &[BatchOp] {
        &self.tables[table.index()]
    }

    /// Every table with its operations (tables without operations included).
    pub fn iter(&self) -> impl Iterator<Item = (Table, &[BatchOp])> {
        Table::ALL.iter().map(|t| (*t, self.ops(*t)))
    }

    /// Total number of operations.
    pub fn len(&self) -> usize {
        self.tables.iter().map(Vec::len).sum()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(Vec::is_empty)
    }

    /// Bytes of keys and values in the batch.
    pub fn payload_bytes(&self) -> usize {
        self.tables
            .iter()
            .flatten()
            .map(|op| match op {
                BatchOp::Put { key, value } => key.len() + value.len(),
                BatchOp::Delete { key } => key.len(),
            })
            .sum()
    }
}

/// A failure of the storage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O error.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The engine refused or failed an operation.
    #[error("storage engine error: {0}")]
    Engine(String),
    /// The engine found its own files corrupt.
    #[error("storage is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io(_) => "storage_io",
            StoreError::Engine(_) => "storage_engine",
            StoreError::Corrupt(_) => "storage_corrupt",
        }
    }
}

/// A key-value pair read from a table.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A callback for [`KvStore::for_each`].
pub type ScanFn<'a> = dyn FnMut(&[u8], &[u8]) -> Result<(), StoreError> + 'a;

/// An ordered, transactional key-value store with one keyspace per [`Table`].
///
/// Reads see only committed data; a reader running during a commit sees the data before or
/// after it, never part of it. There is at most one writer at a time (the ledger serializes
/// commits); readers may run on any number of threads.
pub trait KvStore: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` entries whose key starts with `prefix`, in ascending key order.
    fn scan_prefix(
        &self,
        table: Table,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.scan_prefix_from(table, prefix, prefix, limit)
    }

    /// Up to `limit` entries whose key starts with `prefix` and is at least `from`, in
    /// ascending key order (a page of a prefix scan that goes on after a key).
    fn scan_prefix_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError>;

    /// Calls `f` on every entry of `table` in ascending key order, stopping at its first error.
    fn for_each(&self, table: Table, f: &mut ScanFn<'_>) -> Result<(), StoreError>;

    /// Applies `batch` atomically, and durably (synced to stable storage) before returning `Ok`.
    /// On `Err` the batch may or may not have been applied, but never partly.
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// Bytes the store occupies on disk (or in memory for an in-memory store).
    fn size_on_disk(&self) -> Result<u64, StoreError>;
}

type MemTables = [BTreeMap<Vec<u8>, Vec<u8>>; Table::ALL.len()];

/// A [`KvStore`] in memory, backed by `BTreeMap`s: for tests, model checking and tools.
/// Commits are atomic (applied under one lock); nothing is durable.
#[derive(Debug, Default)]
pub struct MemStore {
    tables: RwLock<MemTables>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A deep copy of the current contents, as a new store (a "disk image" for crash tests).
    pub fn snapshot(&self) -> Result<MemStore, StoreError> {
        let tables = self.read()?.clone();
        Ok(MemStore {
            tables: RwLock::new(tables),
        })
    }

    /// Number of entries in `table`.
    pub fn table_len(&self, table: Table) -> Result<usize, StoreError> {
        Ok(self.read()?[table.index()].len())
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, MemTables>, StoreError> {
        self.tables
            .read()
            .map_err(|_| StoreError::Engine("memory store lock poisoned".into()))
    }
}

impl KvStore for MemStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read()?[table.index()].get(key).cloned())
    }

    fn scan_prefix_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let tables = self.read()?;
        Ok(tables[table.index()]
            .range(prefix.max(from).to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn for_each(&self, table: Table, f: &mut ScanFn<'_>) -> Result<(), StoreError> {
        // Copy first so `f` may call back into the store without deadlocking.
        let entries: Vec<Entry> = self.read()?[table.index()]
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in &entries {
            f(k, v)?;
        }
        Ok(())
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut tables = self
            .tables
            .write()
            .map_err(|_| StoreError::Engine("memory store lock poisoned".into()))?;
        for (table, ops) in batch.tables.into_iter().enumerate() {
            let t = &mut tables[table];
            for op in ops {
                match op {
                    BatchOp::Put { key, value } => {
                        t.insert(key, value);
                    }
                    BatchOp::Delete { key } => {
                        t.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        let tables = self.read()?;
        Ok(tables
            .iter()
            .flatten()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum())
    }
}

impl<S: KvStore + ?Sized> KvStore for std::sync::Arc<S> {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(table, key)
    }

    fn scan_prefix_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        (**self).scan_prefix_from(table, prefix, from, limit)
    }

    fn for_each(&self, table: Table, f: &mut ScanFn<'_>) -> Result<(), StoreError> {
        (**self).for_each(table, f)
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        (**self).commit(batch)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        (**self).size_on_disk()
    }
}
