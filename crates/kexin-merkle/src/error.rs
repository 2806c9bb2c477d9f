//! Errors of proof generation and verification.

use kexin_crypto::Hash;

/// Why a proof could not be produced or did not verify.
///
/// Every variant names the exact check that failed, so a rejected proof can be diagnosed from
/// its message alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A leaf index at or beyond the tree size (this includes every index of the empty tree).
    #[error("leaf index {index} is out of range for a log of size {tree_size}")]
    IndexOutOfRange {
        /// The requested or claimed leaf index.
        index: u64,
        /// The size of the tree it was checked against.
        tree_size: u64,
    },
    /// A consistency proof whose old size exceeds its new size.
    #[error("old tree size {old_size} exceeds new tree size {new_size}")]
    OldSizeExceedsNewSize {
        /// The claimed old size.
        old_size: u64,
        /// The claimed new size.
        new_size: u64,
    },
    /// A proof path with the wrong number of hashes for its sizes (and index).
    #[error("wrong proof path length: expected {expected} hashes, got {actual}")]
    WrongPathLength {
        /// The length the sizes (and index) dictate.
        expected: usize,
        /// The length of the path supplied.
        actual: usize,
    },
    /// An inclusion or state proof leads to a different root than the one trusted.
    #[error("root mismatch: the proof yields {computed}, expected {expected}")]
    RootMismatch {
        /// The trusted root.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// A consistency proof does not reproduce the trusted old root.
    #[error("old root mismatch: the consistency proof yields {computed}, expected {expected}")]
    OldRootMismatch {
        /// The trusted old root.
        expected: Hash,
        /// The old root the proof leads to.
        computed: Hash,
    },
    /// A consistency proof does not reproduce the trusted new root.
    #[error("new root mismatch: the consistency proof yields {computed}, expected {expected}")]
    NewRootMismatch {
        /// The trusted new root.
        expected: Hash,
        /// The new root the proof leads to.
        computed: Hash,
    },
    /// Two trees of the same size claimed consistent although their roots differ.
    #[error("trees of equal size {size} must have equal roots, got {old_root} and {new_root}")]
    EqualSizeRootsDiffer {
        /// The common size.
        size: u64,
        /// The old root.
        old_root: Hash,
        /// The new root.
        new_root: Hash,
    },
    /// A log frontier whose number of peaks is not the popcount of its size.
    #[error("a log of size {size} has {expected} peaks, got {actual}")]
    PeakCountMismatch {
        /// The log size.
        size: u64,
        /// `size.count_ones()`.
        expected: u32,
        /// The number of peaks supplied.
        actual: usize,
    },
    /// A state proof with more siblings than the 256 levels a key has.
    #[error("state proof has {actual} siblings, but a 256-bit key has at most 256 levels")]
    TooManySiblings {
        /// The number of siblings supplied.
        actual: usize,
    },
    /// Membership was claimed, but the proof ends in an empty subtree: the key is absent.
    #[error("membership claimed for key {key}, but the proof shows it absent (empty subtree)")]
    KeyAbsent {
        /// The key whose membership was claimed.
        key: Hash,
    },
    /// Membership was claimed, but the proof ends in another key's leaf: the key is absent.
    #[error("membership claimed for key {key}, but the proof ends in the leaf of key {leaf_key}")]
    LeafKeyMismatch {
        /// The key whose membership was claimed.
        key: Hash,
        /// The key of the leaf the proof ends in.
        leaf_key: Hash,
    },
    /// Absence was claimed, but the proof ends in the key's own leaf: the key is present.
    #[error("absence claimed for key {key}, but the proof holds its leaf")]
    KeyPresent {
        /// The key whose absence was claimed.
        key: Hash,
    },
    /// Membership was claimed with one value hash, but the proof's leaf holds another.
    #[error(
        "value mismatch for key {key}: the proof holds value hash {proven}, expected {expected}"
    )]
    ValueMismatch {
        /// The key.
        key: Hash,
        /// The value hash claimed.
        expected: Hash,
        /// The value hash in the proof's leaf.
        proven: Hash,
    },
    /// An absence proof ending in another key's leaf that does not lie on the key's path.
    #[error("the proof's leaf key {leaf_key} does not share its first {depth} bits with key {key}")]
    LeafPrefixMismatch {
        /// The key whose absence was claimed.
        key: Hash,
        /// The key of the leaf the proof ends in.
        leaf_key: Hash,
        /// The depth of that leaf (the number of siblings).
        depth: usize,
    },
}

/// An error of a proof built from a [`NodeSource`](crate::NodeSource): either the request was
/// invalid or the source failed to produce a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError<E> {
    /// The request itself is invalid (index or sizes out of range).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The node source failed (for example a node that is not stored).
    #[error("log node source failed: {0}")]
    Source(#[source] E),
}

/// A perfect-subtree node that a [`MemoryLog`](crate::MemoryLog) does not hold (the tree size
/// asked for exceeds the log's size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("log node (level {level}, index {index}) is not stored")]
pub struct NodeNotFound {
    /// The node's level (0 = leaves).
    pub level: u8,
    /// The node's index within its level.
    pub index: u64,
}
