//! The persistent log: its in-memory frontier ([`LogAccumulator`]), the storage abstraction
//! ([`NodeSource`]) and proofs read from storage.

use kexin_crypto::{Hash, Suite};

use crate::error::{LogError, NodeNotFound, ProofError};
use crate::log::{
    ConsistencyProof, InclusionProof, consistency_path_with, empty_root, inclusion_path_with,
    node_hash,
};

/// Read access to a stored log's perfect-subtree hashes.
///
/// Node `(level, index)` is the root of the perfect subtree over leaves
/// `[index * 2^level, (index + 1) * 2^level)`; level 0 holds the leaf hashes. A node exists once
/// its last leaf has been appended, and never changes afterwards. [`LogAccumulator::append`]
/// returns every node to store.
pub trait NodeSource {
    /// The source's failure (I/O, corruption, a node that is not stored, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The hash of node `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// The positions `(level, index)` of the peaks of a log of `size` leaves, left (largest) to
/// right (smallest): one perfect subtree per set bit of `size`.
pub fn peak_positions(size: u64) -> impl Iterator<Item = (u8, u64)> {
    (0..64u32).rev().filter_map(move |level| {
        if (size >> level) & 1 == 1 {
            // The peak at `level` starts after all larger peaks.
            let start = size.checked_shr(level + 1).map_or(0, |s| s << (level + 1));
            Some((level as u8, start >> level))
        } else {
            None
        }
    })
}

/// `MTH(D[a:b])` for a subtree of the RFC 6962 tree, composed from the stored perfect nodes of
/// the binary decomposition of `b - a` (folded right to left): `popcount(b - a)` reads.
///
/// Requires `a < b` and `a` a multiple of the largest power of two not above `b - a`, which
/// holds for every subtree the RFC 6962 recursion visits.
fn subtree_from_nodes<S: NodeSource>(
    suite: Suite,
    src: &S,
    a: u64,
    b: u64,
) -> Result<Hash, S::Error> {
    debug_assert!(a < b);
    let mut rest = b - a;
    let mut acc: Option<Hash> = None;
    while rest != 0 {
        let low = rest & rest.wrapping_neg();
        let level = low.trailing_zeros();
        let start = a + (rest - low);
        let h = src.node(level as u8, start >> level)?;
        acc = Some(match acc {
            None => h,
            Some(right) => node_hash(suite, &h, &right),
        });
        rest -= low;
    }
    Ok(acc.unwrap_or_else(|| empty_root(suite)))
}

/// The root of the log's first `tree_size` leaves, from stored nodes (`popcount(tree_size)`
/// reads). Size 0 gives [`empty_root`].
pub fn root_at<S: NodeSource>(
    suite: Suite,
    src: &S,
    tree_size: u64,
) -> Result<Hash, LogError<S::Error>> {
    if tree_size == 0 {
        return Ok(empty_root(suite));
    }
    subtree_from_nodes(suite, src, 0, tree_size).map_err(LogError::Source)
}

/// The inclusion proof of leaf `leaf_index` in the log's first `tree_size` leaves, from stored
/// nodes: `O(log tree_size)` reads (one per path element, except a single element that folds
/// at most `popcount(tree_size)` nodes; under `2 * 64` in all).
pub fn prove_inclusion<S: NodeSource>(
    suite: Suite,
    src: &S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<InclusionProof, LogError<S::Error>> {
    if leaf_index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index: leaf_index,
            tree_size,
        }
        .into());
    }
    let path = inclusion_path_with(leaf_index, tree_size, |a, b| {
        subtree_from_nodes(suite, src, a, b)
    })
    .map_err(LogError::Source)?;
    Ok(InclusionProof {
        leaf_index,
        tree_size,
        path,
    })
}

/// The consistency proof between the log's first `old_size` and first `new_size` leaves, from
/// stored nodes: `O(log new_size)` reads (one per path element, except a single element that
/// folds at most `popcount(new_size)` nodes). The path is empty when `old_size` is 0 or equals
/// `new_size`.
pub fn prove_consistency<S: NodeSource>(
    suite: Suite,
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, LogError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::OldSizeExceedsNewSize { old_size, new_size }.into());
    }
    let path = if old_size == 0 || old_size == new_size {
        Vec::new()
    } else {
        consistency_path_with(old_size, new_size, |a, b| {
            subtree_from_nodes(suite, src, a, b)
        })
        .map_err(LogError::Source)?
    };
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path,
    })
}

/// The in-memory frontier of an append-only log: the hashes of its peaks (the maximal perfect
/// subtrees, one per set bit of the size, largest first).
///
/// Enough to append and to compute the current root; everything else lives in a
/// [`NodeSource`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAccumulator {
    suite: Suite,
    size: u64,
    peaks: Vec<Hash>,
}

impl LogAccumulator {
    /// The empty log.
    pub fn new(suite: Suite) -> Self {
        LogAccumulator {
            suite,
            size: 0,
            peaks: Vec::new(),
        }
    }

    /// A log of `size` leaves from its peaks, largest (leftmost) first, as returned by
    /// [`peaks`](Self::peaks). Fails unless there are exactly `size.count_ones()` peaks.
    pub fn from_peaks(suite: Suite, size: u64, peaks: Vec<Hash>) -> Result<Self, ProofError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(ProofError::PeakCountMismatch {
                size,
                expected: size.count_ones(),
                actual: peaks.len(),
            });
        }
        Ok(LogAccumulator { suite, size, peaks })
    }

    /// The frontier of the log's first `size` leaves, read from stored nodes
    /// (`popcount(size)` reads, at the positions [`peak_positions`] gives).
    pub fn load<S: NodeSource>(suite: Suite, src: &S, size: u64) -> Result<Self, S::Error> {
        let peaks = peak_positions(size)
            .map(|(level, index)| src.node(level, index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LogAccumulator { suite, size, peaks })
    }

    /// The suite the log hashes with.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The peaks, largest (leftmost) first; `peaks()[i]` is at `peak_positions(size)`'s `i`-th
    /// position.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root: the peaks folded right to left with [`node_hash`], or
    /// [`empty_root`] for the empty log.
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else {
            return empty_root(self.suite);
        };
        it.fold(*last, |acc, peak| node_hash(self.suite, peak, &acc))
    }

    /// Appends a leaf hash (see [`leaf_hash`](crate::leaf_hash)) and returns every perfect
    /// subtree node it completes, as `(level, index, hash)` in increasing level: the leaf itself
    /// at `(0, old_size)`, then one merged node per trailing one bit of `old_size`. The caller
    /// must persist them all for [`NodeSource`]-based proofs.
    ///
    /// # Panics
    /// If the log already holds `u64::MAX` leaves.
    pub fn append(&mut self, leaf_hash: Hash) -> Vec<(u8, u64, Hash)> {
        let index = self.size;
        let new_size = index
            .checked_add(1)
            .expect("the log is full (2^64 - 1 leaves)");
        let mut out = Vec::with_capacity(1 + index.trailing_ones() as usize);
        out.push((0, index, leaf_hash));
        let mut h = leaf_hash;
        let mut level = 0u32;
        while (index >> level) & 1 == 1 {
            let left = self
                .peaks
                .pop()
                .expect("a log of size n has popcount(n) peaks");
            h = node_hash(self.suite, &left, &h);
            level += 1;
            out.push((level as u8, index >> level, h));
        }
        self.peaks.push(h);
        self.size = new_size;
        out
    }
}

/// An in-memory log: a [`LogAccumulator`] plus every perfect-subtree node in a `Vec` per level.
/// For tests, benchmarks, light clients and small logs; a ledger keeps the nodes in its store.
#[derive(Clone, Debug)]
pub struct MemoryLog {
    acc: LogAccumulator,
    levels: Vec<Vec<Hash>>,
}

impl MemoryLog {
    /// The empty log.
    pub fn new(suite: Suite) -> Self {
        MemoryLog {
            acc: LogAccumulator::new(suite),
            levels: Vec::new(),
        }
    }

    /// Appends a leaf hash and returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.acc.size();
        for (level, idx, h) in self.acc.append(leaf_hash) {
            let level = usize::from(level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(self.levels[level].len() as u64, idx);
            self.levels[level].push(h);
        }
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.acc.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.acc.root()
    }

    /// The frontier.
    pub fn accumulator(&self) -> &LogAccumulator {
        &self.acc
    }

    /// Leaf hash `index`, if appended.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.node(0, index).ok()
    }

    /// [`root_at`] on this log.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, LogError<NodeNotFound>> {
        root_at(self.acc.suite(), self, tree_size)
    }

    /// [`prove_inclusion`] on this log.
    pub fn prove_inclusion(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, LogError<NodeNotFound>> {
        prove_inclusion(self.acc.suite(), self, leaf_index, tree_size)
    }

    /// [`prove_consistency`] on this log.
    pub fn prove_consistency(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, LogError<NodeNotFound>> {
        prove_consistency(self.acc.suite(), self, old_size, new_size)
    }
}

impl NodeSource for MemoryLog {
    type Error = NodeNotFound;

    fn node(&self, level: u8, index: u64) -> Result<Hash, NodeNotFound> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(NodeNotFound { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_positions_cover_the_leaves_left_to_right() {
        for size in 0u64..300 {
            let mut next = 0u64;
            for (level, index) in peak_positions(size) {
                assert_eq!(index << level, next, "size {size}");
                next += 1 << level;
            }
            assert_eq!(next, size);
        }
        let top: Vec<_> = peak_positions(u64::MAX).collect();
        assert_eq!(top.len(), 64);
        assert_eq!(top[0], (63, 0));
        assert_eq!(top[63], (0, u64::MAX - 1));
    }

    #[test]
    fn appended_nodes_are_perfect_subtrees() {
        let suite = Suite::Intl;
        let mut acc = LogAccumulator::new(suite);
        let leaves: Vec<Hash> = (0u32..70)
            .map(|i| crate::leaf_hash(suite, &i.to_be_bytes()))
            .collect();
        for (i, leaf) in leaves.iter().enumerate() {
            for (level, index, h) in acc.append(*leaf) {
                let a = (index << level) as usize;
                let b = ((index + 1) << level) as usize;
                assert!(b <= i + 1);
                assert_eq!(h, crate::root_from_leaves(suite, &leaves[a..b]));
            }
        }
    }
}
