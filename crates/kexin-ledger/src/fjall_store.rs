//! [`KvStore`] on [fjall](https://docs.rs/fjall) 3: one keyspace per [`Table`], one
//! cross-keyspace atomic write batch persisted with `PersistMode::SyncAll` per [`WriteBatch`].

use std::fmt;
use std::path::{Path, PathBuf};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable as _};

use crate::store::{BatchOp, Entry, KvStore, ScanFn, StoreError, Table, WriteBatch};

fn err(e: fjall::Error) -> StoreError {
    match e {
        fjall::Error::Io(e) => StoreError::Io(e),
        other => StoreError::Engine(other.to_string()),
    }
}

/// A [`KvStore`] in a fjall database directory.
pub struct FjallStore {
    db: Database,
    keyspaces: Vec<Keyspace>,
    path: PathBuf,
}

impl fmt::Debug for FjallStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FjallStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Default block cache: 32 MiB (fjall's own default).
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Default bound on open table files (fjall's own default is most of the process's limit,
/// which leaves no room for the API's and the consensus engine's descriptors).
pub const DEFAULT_MAX_OPEN_FILES: usize = 256;

impl FjallStore {
    /// Opens (or creates) the database directory at `path`, with a block cache of
    /// [`DEFAULT_CACHE_BYTES`] and at most [`DEFAULT_MAX_OPEN_FILES`] table files open.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, DEFAULT_CACHE_BYTES, DEFAULT_MAX_OPEN_FILES)
    }

    /// [`open`](Self::open) with a block cache of `cache_bytes` and at most `max_open_files`
    /// table files open at once (fjall reopens others on use).
    pub fn open_with(
        path: &Path,
        cache_bytes: u64,
        max_open_files: usize,
    ) -> Result<Self, StoreError> {
        let db = Database::builder(path)
            .cache_size(cache_bytes)
            .max_cached_files(Some(max_open_files))
            .open()
            .map_err(err)?;
        let keyspaces = Table::ALL
            .iter()
            .map(|t| {
                db.keyspace(t.name(), KeyspaceCreateOptions::default)
                    .map_err(err)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FjallStore {
            db,
            keyspaces,
            path: path.to_path_buf(),
        })
    }

    fn ks(&self, table: Table) -> &Keyspace {
        &self.keyspaces[table.index()]
    }
}

impl KvStore for FjallStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        // Every read goes through a snapshot: a keyspace's own `get` reads at the newest
        // sequence number and can see a batch that is still being applied to other keyspaces.
        Ok(self
            .db
            .snapshot()
            .get(self.ks(table), key)
            .map_err(err)?
            .map(|v| v.to_vec()))
    }

    fn scan_prefix_from(
        &self,
        table: Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for guard in self.db.snapshot().range(self.ks(table), prefix.max(from)..) {
            let (k, v) = guard.into_inner().map_err(err)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn for_each(&self, table: Table, f: &mut ScanFn<'_>) -> Result<(), StoreError> {
        for guard in self.db.snapshot().iter(self.ks(table)) {
            let (k, v) = guard.into_inner().map_err(err)?;
            f(&k, &v)?;
        }
        Ok(())
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut b = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (table, ops) in batch.iter() {
            let ks = self.ks(table);
            for op in ops {
                match op {
                    BatchOp::Put { key, value } => b.insert(ks, key.as_slice(), value.as_slice()),
                    BatchOp::Delete { key } => b.remove(ks, key.as_slice()),
                }
            }
        }
        b.commit().map_err(err)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.disk_space().map_err(err)
    }
}
