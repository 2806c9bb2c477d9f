//! [`KvStore`] on [redb](https://docs.rs/redb): one redb table per [`Table`], one redb write
//! transaction with [`redb::Durability::Immediate`] per [`WriteBatch`].

use std::fmt;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, StorageBackend, TableDefinition};

use crate::store::{BatchOp, Entry, KvStore, ScanFn, StoreError, Table, WriteBatch};

type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

const fn def(table: Table) -> Def {
    TableDefinition::new(table.name())
}

const DEFS: [Def; Table::ALL.len()] = [
    def(Table::Meta),
    def(Table::Blocks),
    def(Table::BlockHashes),
    def(Table::Certificates),
    def(Table::Txs),
    def(Table::LogNodes),
    def(Table::State),
    def(Table::EvidenceIndex),
    def(Table::Registry),
    def(Table::NoteIndex),
    def(Table::Outcomes),
    def(Table::ContractIndex),
];

/// Default size of redb's page cache: 256 MiB (redb's own default is 1 GiB).
pub const DEFAULT_CACHE_BYTES: usize = 256 * 1024 * 1024;

fn err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(e) => StoreError::Io(e),
        redb::Error::Corrupted(msg) => StoreError::Corrupt(msg),
        other => StoreError::Engine(other.to_string()),
    }
}

/// A [`KvStore`] in a redb database file.
///
/// A redb file can be open in one [`RedbStore`] at a time (redb holds a lock on it).
pub struct RedbStore {
    db: Database,
    path: Option<PathBuf>,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish()
    }
}

impl RedbStore {
    /// Opens the database file at `path`, creating it (and its parent directories) if missing.
    /// Creation is atomic: the file appears at `path` only once initialized.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// [`open`](Self::open) with a page cache of `cache_bytes`.
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        if !path.try_exists()? {
            Self::create_atomically(path)?;
        }
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(err)?;
        Self::init(db, Some(path.to_path_buf()))
    }

    /// Creates the database under a temporary name and renames it into place, so a crash
    /// during creation never leaves a half-initialized file at `path`.
    fn create_atomically(path: &Path) -> Result<(), StoreError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".creating");
        let tmp = PathBuf::from(tmp);
        if tmp.try_exists()? {
            std::fs::remove_file(&tmp)?;
        }
        {
            let db = Database::builder().create(&tmp).map_err(err)?;
            Self::init(db, None)?;
        }
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Make the rename durable (directories can be opened and synced on Unix).
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Opens (or creates) a database on a custom redb storage backend, e.g. an in-memory or
    /// fault-injecting one. [`size_on_disk`](KvStore::size_on_disk) then reports the bytes
    /// stored in the tables.
    pub fn with_backend(backend: impl StorageBackend) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(DEFAULT_CACHE_BYTES)
            .create_with_backend(backend)
            .map_err(err)?;
        Self::init(db, None)
    }

    fn init(db: Database, path: Option<PathBuf>) -> Result<Self, StoreError> {
        // Create every table once so readers never meet a missing one.
        let mut txn = db.begin_write().map_err(err)?;
        txn.set_durability(Durability::Immediate).map_err(err)?;
        for d in DEFS {
            txn.open_table(d).map_err(err)?;
        }
        txn.commit().map_err(err)?;
        Ok(RedbStore { db, path })
    }

    /// The database file, if file-backed.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl KvStore for RedbStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let t = txn.open_table(DEFS[table.index()]).map_err(err)?;
        Ok(t.get(key).map_err(err)?.map(|v| v.value().to_vec()))
    }

    fn scan_prefix_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let t = txn.open_table(DEFS[table.index()]).map_err(err)?;
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for entry in t.range(prefix.max(from)..).map_err(err)? {
            let (k, v) = entry.map_err(err)?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.value().to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn for_each(&self, table: Table, f: &mut ScanFn<'_>) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let t = txn.open_table(DEFS[table.index()]).map_err(err)?;
        for entry in t.range::<&[u8]>(..).map_err(err)? {
            let (k, v) = entry.map_err(err)?;
            f(k.value(), v.value())?;
        }
        Ok(())
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(err)?;
        txn.set_durability(Durability::Immediate).map_err(err)?;
        for (table, ops) in batch.iter() {
            if ops.is_empty() {
                continue;
            }
            let mut t = txn.open_table(DEFS[table.index()]).map_err(err)?;
            // B-tree inserts in key order touch each page once instead of jumping around the
            // tree (evidence digests arrive in random order). The sort is stable, so several
            // operations on one key still apply in batch order.
            let mut ops: Vec<&BatchOp> = ops.iter().collect();
            ops.sort_by(|a, b| a.key().cmp(b.key()));
            for op in ops {
                match op {
                    BatchOp::Put { key, value } => {
                        t.insert(key.as_slice(), value.as_slice()).map_err(err)?;
                    }
                    BatchOp::Delete { key } => {
                        t.remove(key.as_slice()).map_err(err)?;
                    }
                }
            }
        }
        // Dropping an uncommitted transaction aborts it, so an error above writes nothing.
        txn.commit().map_err(err)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        match &self.path {
            Some(p) => Ok(std::fs::metadata(p)?.len()),
            None => {
                let txn = self.db.begin_write().map_err(err)?;
                let stats = txn.stats().map_err(err)?;
                let bytes = stats.stored_bytes() + stats.metadata_bytes();
                txn.abort().map_err(err)?;
                Ok(bytes)
            }
        }
    }
}
