//! The RFC 6962 Merkle tree hash, its inclusion and consistency proofs, and their verification
//! (RFC 9162 §2.1.3.2 and §2.1.4.2).

use kexin_crypto::{Hash, Suite};
use serde::{Deserialize, Serialize};

use crate::error::ProofError;

/// The domain-separation byte prefixed to a log leaf's data: `leaf_hash = H(0x00 || data)`.
pub const LOG_LEAF_PREFIX: u8 = 0x00;
/// The domain-separation byte prefixed to a log node's children: `H(0x01 || left || right)`.
pub const LOG_NODE_PREFIX: u8 = 0x01;

/// The hash of a log leaf: `H(0x00 || data)` (RFC 6962 §2.1).
pub fn leaf_hash(suite: Suite, data: &[u8]) -> Hash {
    suite.hash_parts(&[&[LOG_LEAF_PREFIX], data])
}

/// The hash of an interior log node: `H(0x01 || left || right)` (RFC 6962 §2.1).
pub fn node_hash(suite: Suite, left: &Hash, right: &Hash) -> Hash {
    suite.hash_parts(&[&[LOG_NODE_PREFIX], left.as_bytes(), right.as_bytes()])
}

/// The root of the empty log: `H("")`, the hash of the empty string (RFC 6962 `MTH({})`).
pub fn empty_root(suite: Suite) -> Hash {
    suite.hash(&[])
}

/// The RFC 6962 split point of a (sub)tree of `size >= 2` leaves: the largest power of two
/// strictly smaller than `size`.
pub(crate) fn split_point(size: u64) -> u64 {
    debug_assert!(size >= 2);
    1u64 << (63 - (size - 1).leading_zeros())
}

/// The Merkle tree hash (RFC 6962 `MTH`) of a list of **leaf hashes** (see [`leaf_hash`]).
///
/// The empty list has root [`empty_root`]; one leaf is its own root; otherwise the list is split
/// at the largest power of two `k < n` and the root is `node_hash(MTH(D[0:k]), MTH(D[k:n]))`.
pub fn root_from_leaves(suite: Suite, leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        empty_root(suite)
    } else {
        mth(suite, leaves)
    }
}

fn mth(suite: Suite, leaves: &[Hash]) -> Hash {
    if leaves.len() == 1 {
        return leaves[0];
    }
    // Lengths of in-memory slices fit in u64 and back.
    let k = split_point(leaves.len() as u64) as usize;
    node_hash(suite, &mth(suite, &leaves[..k]), &mth(suite, &leaves[k..]))
}

/// A proof that a leaf is in a log of a given size (RFC 9162 §2.1.3, "audit path").
///
/// `path` is ordered from the leaf upward: `path[0]` is the sibling of the leaf, the last element
/// the sibling of the root's child on the leaf's side. This is exactly RFC 6962's
/// `PATH(leaf_index, D[0:tree_size])`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The zero-based index of the leaf.
    pub leaf_index: u64,
    /// The size of the log the proof is for.
    pub tree_size: u64,
    /// The audit path, from the leaf upward.
    pub path: Vec<Hash>,
}

/// A proof that a log of `old_size` leaves is a prefix of a log of `new_size` leaves
/// (RFC 9162 §2.1.4). `path` is exactly RFC 6962's `PROOF(old_size, D[0:new_size])`, in that
/// order; it is empty when `old_size == 0` or `old_size == new_size`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The size of the older log.
    pub old_size: u64,
    /// The size of the newer log.
    pub new_size: u64,
    /// The consistency path.
    pub path: Vec<Hash>,
}

/// RFC 6962 `PATH(index, D[0:size])`, built from a `subtree(a, b) = MTH(D[a:b])` oracle.
///
/// Every range asked for is a subtree of the RFC 6962 tree: all are perfect (size a power of two,
/// aligned) except at most one, which ends at `size`. Requires `index < size`.
pub(crate) fn inclusion_path_with<E>(
    index: u64,
    size: u64,
    mut subtree: impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    debug_assert!(index < size);
    let (mut lo, mut hi) = (0u64, size);
    let mut path = Vec::with_capacity(64);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            path.push(subtree(mid, hi)?);
            hi = mid;
        } else {
            path.push(subtree(lo, mid)?);
            lo = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// RFC 6962 `PROOF(old, D[0:new])` (`SUBPROOF(old, D[0:new], true)`), from the same oracle.
/// Requires `0 < old <= new`; every range asked for is perfect except at most one ending at
/// `new`.
pub(crate) fn consistency_path_with<E>(
    old: u64,
    new: u64,
    mut subtree: impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    debug_assert!(0 < old && old <= new);
    let (mut lo, mut hi, mut complete) = (0u64, new, true);
    let mut path = Vec::with_capacity(64);
    loop {
        let (size, m) = (hi - lo, old - lo);
        if m == size {
            if !complete {
                path.push(subtree(lo, hi)?);
            }
            break;
        }
        let k = split_point(size);
        if m <= k {
            path.push(subtree(lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(subtree(lo, lo + k)?);
            lo += k;
            complete = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// The length of `PATH(index, D[0:size])`; requires `index < size`.
pub(crate) fn inclusion_path_len(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut len) = (0u64, size, 0usize);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            hi = mid;
        } else {
            lo = mid;
        }
        len += 1;
    }
    len
}

/// The length of `PROOF(old, D[0:new])`; requires `0 < old < new`.
pub(crate) fn consistency_path_len(old: u64, new: u64) -> usize {
    let (mut lo, mut hi, mut complete, mut len) = (0u64, new, true, 0usize);
    loop {
        let (size, m) = (hi - lo, old - lo);
        if m == size {
            return len + usize::from(!complete);
        }
        let k = split_point(size);
        if m <= k {
            hi = lo + k;
        } else {
            lo += k;
            complete = false;
        }
        len += 1;
    }
}

/// The RFC 6962 inclusion proof of leaf `index` among `leaves` (leaf hashes), computed in memory.
///
/// Costs `O(n)` hashes; for a stored log use [`prove_inclusion`](crate::prove_inclusion).
pub fn inclusion_proof_from_leaves(
    suite: Suite,
    leaves: &[Hash],
    index: u64,
) -> Result<InclusionProof, ProofError> {
    let tree_size = leaves.len() as u64;
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let path = inclusion_path_with(index, tree_size, |a, b| {
        Ok::<_, std::convert::Infallible>(mth(suite, &leaves[a as usize..b as usize]))
    })
    .unwrap_or_else(|never| match never {});
    Ok(InclusionProof {
        leaf_index: index,
        tree_size,
        path,
    })
}

/// The RFC 6962 consistency proof between the first `old_size` leaves and all of `leaves`,
/// computed in memory.
///
/// Costs `O(n)` hashes; for a stored log use [`prove_consistency`](crate::prove_consistency).
pub fn consistency_proof_from_leaves(
    suite: Suite,
    leaves: &[Hash],
    old_size: u64,
) -> Result<ConsistencyProof, ProofError> {
    let new_size = leaves.len() as u64;
    if old_size > new_size {
        return Err(ProofError::OldSizeExceedsNewSize { old_size, new_size });
    }
    let path = if old_size == 0 || old_size == new_size {
        Vec::new()
    } else {
        consistency_path_with(old_size, new_size, |a, b| {
            Ok::<_, std::convert::Infallible>(mth(suite, &leaves[a as usize..b as usize]))
        })
        .unwrap_or_else(|never| match never {})
    };
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path,
    })
}

/// The root an inclusion proof leads to from `leaf_hash` (RFC 9162 §2.1.3.2, steps 1–4 without
/// the final comparison). Fails if the index is out of range or the path has the wrong length.
pub fn root_from_inclusion_proof(
    suite: Suite,
    leaf_hash: &Hash,
    proof: &InclusionProof,
) -> Result<Hash, ProofError> {
    let (index, size) = (proof.leaf_index, proof.tree_size);
    if index >= size {
        return Err(ProofError::IndexOutOfRange {
            index,
            tree_size: size,
        });
    }
    let expected = inclusion_path_len(index, size);
    if proof.path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: proof.path.len(),
        });
    }
    // RFC 9162 §2.1.3.2.
    let (mut fn_, mut sn, mut r) = (index, size - 1, *leaf_hash);
    for p in &proof.path {
        if sn == 0 {
            return Err(ProofError::WrongPathLength {
                expected,
                actual: proof.path.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(suite, p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(suite, &r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: proof.path.len(),
        });
    }
    Ok(r)
}

/// Verifies that `leaf_hash` is leaf `proof.leaf_index` of the log of `proof.tree_size` leaves
/// whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    suite: Suite,
    leaf_hash: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(suite, leaf_hash, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Verifies that the log of `proof.old_size` leaves with root `old_root` is a prefix of the log
/// of `proof.new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Edge cases (decided here, not by the RFC):
/// * `old_size > new_size` is rejected;
/// * `old_size == new_size` requires an empty path and `old_root == new_root`;
/// * `old_size == 0` requires an empty path and `old_root == empty_root(suite)`; every log
///   extends the empty log, so `new_root` is then not checked (it cannot be).
pub fn verify_consistency(
    suite: Suite,
    old_root: &Hash,
    new_root: &Hash,
    proof: &ConsistencyProof,
) -> Result<(), ProofError> {
    let (old, new, path) = (proof.old_size, proof.new_size, &proof.path);
    if old > new {
        return Err(ProofError::OldSizeExceedsNewSize {
            old_size: old,
            new_size: new,
        });
    }
    let expected = if old == 0 || old == new {
        0
    } else {
        consistency_path_len(old, new)
    };
    if path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: path.len(),
        });
    }
    if old == 0 {
        let empty = empty_root(suite);
        if *old_root != empty {
            return Err(ProofError::OldRootMismatch {
                expected: *old_root,
                computed: empty,
            });
        }
        return Ok(());
    }
    if old == new {
        if old_root != new_root {
            return Err(ProofError::EqualSizeRootsDiffer {
                size: old,
                old_root: *old_root,
                new_root: *new_root,
            });
        }
        return Ok(());
    }
    // RFC 9162 §2.1.4.2. Step 2: a power-of-two old tree is a node of the new one and its root
    // is not repeated in the path.
    let (first, rest) = if old.is_power_of_two() {
        (*old_root, &path[..])
    } else {
        (path[0], &path[1..])
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongPathLength {
                expected,
                actual: path.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(suite, c, &fr);
            sr = node_hash(suite, c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(suite, &sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: path.len(),
        });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            expected: *old_root,
            computed: fr,
        });
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch {
            expected: *new_root,
            computed: sr,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for n in 2u64..2000 {
            let k = split_point(n);
            assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n={n} k={k}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn path_lengths_match_generated_paths() {
        for n in 1u64..130 {
            for m in 0..n {
                let p = inclusion_path_with(m, n, |_, _| Ok::<_, ()>(Hash::ZERO)).unwrap();
                assert_eq!(p.len(), inclusion_path_len(m, n));
            }
            for m in 1..n {
                let p = consistency_path_with(m, n, |_, _| Ok::<_, ()>(Hash::ZERO)).unwrap();
                assert_eq!(p.len(), consistency_path_len(m, n));
            }
        }
    }
}
