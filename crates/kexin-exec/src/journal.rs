//! The state a block executes on: a read-only view of the committed state (or of an
//! uncommitted parent chain) under a journal of the block's writes, with checkpoints so a
//! failed transaction's writes can be undone.

use std::collections::BTreeMap;

use kexin_types::state::Key;
use kexin_types::{Decode, Encode};

use crate::ExecError;

/// Read access to the committed state a block executes on.
pub trait StateView {
    /// The committed value of `key`, if any.
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, ExecError>;
}

/// A state view over a map, for tests and tools.
#[derive(Default, Clone, Debug)]
pub struct MemoryState(pub BTreeMap<Key, Vec<u8>>);

impl MemoryState {
    /// Applies a block's writes.
    pub fn commit(&mut self, writes: BTreeMap<Key, Vec<u8>>) {
        self.0.extend(writes);
    }

    /// The value of `key`.
    pub fn value(&self, key: impl Into<Key>) -> Option<&Vec<u8>> {
        self.0.get(&key.into())
    }
}

impl StateView for MemoryState {
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, ExecError> {
        Ok(self.0.get(key).cloned())
    }
}

/// A position in the journal to revert to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint(usize);

/// The writes of a block so far, above a view, with an undo log.
///
/// Modules read and write `(namespace, key) → bytes`; a read sees the block's own earlier
/// writes first. [`Journal::checkpoint`] marks a position and [`Journal::revert`] undoes every
/// write made since, so a failed transaction leaves no trace.
pub struct Journal<'v> {
    view: &'v dyn StateView,
    writes: BTreeMap<Key, Vec<u8>>,
    /// For each write since the oldest live checkpoint: the key and the value it had in
    /// `writes` before (`None`: it was not written in this block yet).
    undo: Vec<(Key, Option<Vec<u8>>)>,
    /// Whether any checkpoint is live (no undo log is kept otherwise).
    recording: usize,
}

impl<'v> Journal<'v> {
    /// An empty journal above `view`.
    pub fn new(view: &'v dyn StateView) -> Journal<'v> {
        Journal {
            view,
            writes: BTreeMap::new(),
            undo: Vec::new(),
            recording: 0,
        }
    }

    /// The view the journal reads through to.
    pub fn view(&self) -> &'v dyn StateView {
        self.view
    }

    /// The value of `key`: written in this block, else committed.
    pub fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, ExecError> {
        match self.writes.get(key) {
            Some(v) => Ok(Some(v.clone())),
            None => self.view.get(key),
        }
    }

    /// The decoded value of `key`; a value that does not decode is a corrupt store.
    pub fn read<T: Decode>(&self, key: impl Into<Key>) -> Result<Option<T>, ExecError> {
        let key = key.into();
        match self.get(&key)? {
            None => Ok(None),
            Some(bytes) => T::decode(&bytes)
                .map(Some)
                .map_err(|source| ExecError::CorruptState { key, source }),
        }
    }

    /// Writes `value` at `key`.
    pub fn put(&mut self, key: Key, value: Vec<u8>) {
        let previous = self.writes.insert(key.clone(), value);
        if self.recording > 0 {
            self.undo.push((key, previous));
        }
    }

    /// Writes the encoding of `value` at `key`.
    pub fn write<T: Encode>(&mut self, key: impl Into<Key>, value: &T) {
        self.put(key.into(), value.encode());
    }

    /// Marks the current position; [`Journal::revert`] returns to it, [`Journal::keep`]
    /// drops the mark.
    pub fn checkpoint(&mut self) -> Checkpoint {
        self.recording += 1;
        Checkpoint(self.undo.len())
    }

    /// Undoes every write since `cp` and drops the mark.
    pub fn revert(&mut self, cp: Checkpoint) {
        while self.undo.len() > cp.0 {
            let Some((key, previous)) = self.undo.pop() else {
                break;
            };
            match previous {
                Some(v) => self.writes.insert(key, v),
                None => self.writes.remove(&key),
            };
        }
        self.release();
    }

    /// Keeps the writes since `cp` and drops the mark.
    pub fn keep(&mut self, cp: Checkpoint) {
        let _ = cp;
        self.release();
    }

    fn release(&mut self) {
        self.recording = self.recording.saturating_sub(1);
        if self.recording == 0 {
            self.undo.clear();
        }
    }

    /// The block's writes.
    pub fn into_writes(self) -> BTreeMap<Key, Vec<u8>> {
        self.writes
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

impl StateView for Journal<'_> {
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, ExecError> {
        Journal::get(self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> Key {
        Key::new(9, vec![b])
    }

    #[test]
    fn reverting_undoes_writes_since_the_checkpoint_only() {
        let mut base = MemoryState::default();
        base.0.insert(k(1), b"committed".to_vec());
        let mut j = Journal::new(&base);
        j.put(k(2), b"kept".to_vec());
        let outer = j.checkpoint();
        j.put(k(1), b"changed".to_vec());
        let inner = j.checkpoint();
        j.put(k(2), b"changed".to_vec());
        j.put(k(3), b"new".to_vec());
        j.revert(inner);
        assert_eq!(j.get(&k(2)).unwrap().unwrap(), b"kept");
        assert_eq!(j.get(&k(3)).unwrap(), None);
        assert_eq!(j.get(&k(1)).unwrap().unwrap(), b"changed");
        j.revert(outer);
        assert_eq!(j.get(&k(1)).unwrap().unwrap(), b"committed");
        let writes = j.into_writes();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[&k(2)], b"kept");
    }

    #[test]
    fn kept_writes_survive_and_the_undo_log_is_dropped() {
        let base = MemoryState::default();
        let mut j = Journal::new(&base);
        let cp = j.checkpoint();
        j.put(k(1), b"a".to_vec());
        j.keep(cp);
        assert!(j.undo.is_empty());
        let cp = j.checkpoint();
        j.put(k(1), b"b".to_vec());
        j.revert(cp);
        assert_eq!(j.get(&k(1)).unwrap().unwrap(), b"a");
    }
}
