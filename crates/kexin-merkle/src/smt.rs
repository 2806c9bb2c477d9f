//! The sparse Merkle state tree: binary, keyed by 256-bit hashes, compact ("shortcut leaves"),
//! persistent (structurally shared, immutable nodes).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use kexin_crypto::{Hash, Suite};
use serde::{Deserialize, Serialize};

use crate::error::ProofError;

/// The domain-separation byte of a state leaf: `H(0x02 || key || value_hash)`.
pub const SMT_LEAF_PREFIX: u8 = 0x02;
/// The domain-separation byte of a state interior node: `H(0x03 || left || right)`.
pub const SMT_NODE_PREFIX: u8 = 0x03;
/// The hash of an empty state subtree (and of the empty state tree): 32 zero bytes.
pub const SMT_EMPTY_HASH: Hash = Hash::ZERO;
/// The greatest depth of a state leaf (and the most siblings a state proof can have).
pub const SMT_MAX_DEPTH: usize = 256;

/// The hash of a state leaf: `H(0x02 || key || value_hash)` (65 bytes hashed).
pub fn smt_leaf_hash(suite: Suite, key: &Hash, value_hash: &Hash) -> Hash {
    suite.hash_parts(&[&[SMT_LEAF_PREFIX], key.as_bytes(), value_hash.as_bytes()])
}

/// The hash of a state interior node: `H(0x03 || left || right)` (65 bytes hashed); an empty
/// child contributes [`SMT_EMPTY_HASH`].
pub fn smt_node_hash(suite: Suite, left: &Hash, right: &Hash) -> Hash {
    suite.hash_parts(&[&[SMT_NODE_PREFIX], left.as_bytes(), right.as_bytes()])
}

/// Bit `depth` of `key`, most significant bit of byte 0 first: `false` = left, `true` = right.
#[inline]
pub fn key_bit(key: &Hash, depth: usize) -> bool {
    (key.0[depth / 8] >> (7 - depth % 8)) & 1 == 1
}

#[derive(Clone)]
enum Node {
    Empty,
    Leaf(Arc<Leaf>),
    Internal(Arc<Internal>),
}

struct Leaf {
    key: Hash,
    value: Hash,
    hash: Hash,
}

struct Internal {
    left: Node,
    right: Node,
    hash: Hash,
    len: u64,
}

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Empty => SMT_EMPTY_HASH,
            Node::Leaf(l) => l.hash,
            Node::Internal(n) => n.hash,
        }
    }

    fn len(&self) -> u64 {
        match self {
            Node::Empty => 0,
            Node::Leaf(_) => 1,
            Node::Internal(n) => n.len,
        }
    }

    fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Empty, Node::Empty) => true,
            (Node::Leaf(a), Node::Leaf(b)) => Arc::ptr_eq(a, b),
            (Node::Internal(a), Node::Internal(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn leaf(suite: Suite, key: Hash, value: Hash) -> Node {
        Node::Leaf(Arc::new(Leaf {
            key,
            value,
            hash: smt_leaf_hash(suite, &key, &value),
        }))
    }

    /// The canonical parent of two subtrees: empty if both are empty, the lone leaf if one is
    /// empty and the other a leaf (compaction), an interior node otherwise.
    fn join(suite: Suite, left: Node, right: Node) -> Node {
        match (&left, &right) {
            (Node::Empty, Node::Empty) => Node::Empty,
            (Node::Leaf(_), Node::Empty) => left,
            (Node::Empty, Node::Leaf(_)) => right,
            _ => Node::Internal(Arc::new(Internal {
                hash: smt_node_hash(suite, &left.hash(), &right.hash()),
                len: left.len() + right.len(),
                left,
                right,
            })),
        }
    }
}

/// The canonical subtree at `depth` holding `entries` (sorted, distinct keys sharing their first
/// `depth` bits).
fn build(suite: Suite, depth: usize, entries: &[(Hash, Hash)]) -> Node {
    match entries {
        [] => Node::Empty,
        [(k, v)] => Node::leaf(suite, *k, *v),
        _ => {
            let split = entries.partition_point(|(k, _)| !key_bit(k, depth));
            let (l, r) = entries.split_at(split);
            Node::join(
                suite,
                build(suite, depth + 1, l),
                build(suite, depth + 1, r),
            )
        }
    }
}

/// The entries of a subtree holding one leaf (`key`, `value`) after the sorted `batch` (whose
/// keys lie under the leaf's position): the batch's values, and the leaf unless the batch
/// changes or deletes its key. Sorted by key.
pub(crate) fn merge_leaf(
    key: Hash,
    value: Hash,
    batch: &[(Hash, Option<Hash>)],
) -> Vec<(Hash, Hash)> {
    let mut entries = Vec::with_capacity(batch.len() + 1);
    let mut pending = Some((key, value));
    for (k, v) in batch {
        if let Some((lk, lv)) = pending {
            if lk < *k {
                entries.push((lk, lv));
                pending = None;
            } else if lk == *k {
                pending = None;
            }
        }
        if let Some(v) = v {
            entries.push((*k, *v));
        }
    }
    entries.extend(pending);
    entries
}

/// Each half of a batch at the root must hold this many changes before the halves are
/// hashed on two threads (below it, a thread costs more than it saves).
const PARALLEL_MIN_HALF: usize = 1024;

/// Applies a sorted batch (distinct keys sharing their first `depth` bits with `node`'s
/// position) to the subtree `node` at `depth`; untouched subtrees are shared, not copied.
fn apply_node(suite: Suite, node: &Node, depth: usize, batch: &[(Hash, Option<Hash>)]) -> Node {
    if batch.is_empty() {
        return node.clone();
    }
    match node {
        Node::Empty => {
            let inserts: Vec<(Hash, Hash)> = batch
                .iter()
                .filter_map(|(k, v)| v.map(|v| (*k, v)))
                .collect();
            build(suite, depth, &inserts)
        }
        Node::Leaf(leaf) => {
            let entries = merge_leaf(leaf.key, leaf.value, batch);
            if entries == [(leaf.key, leaf.value)] {
                return node.clone();
            }
            build(suite, depth, &entries)
        }
        Node::Internal(n) => {
            let split = batch.partition_point(|(k, _)| !key_bit(k, depth));
            let (lb, rb) = batch.split_at(split);
            let (left, right) = if depth == 0 && lb.len().min(rb.len()) >= PARALLEL_MIN_HALF {
                // A large batch splits into two independent halves at the root: hash them on
                // two threads. The result is the same as the sequential computation.
                std::thread::scope(|s| {
                    let left = s.spawn(|| apply_node(suite, &n.left, 1, lb));
                    let right = apply_node(suite, &n.right, 1, rb);
                    (left.join().expect("tree worker panicked"), right)
                })
            } else {
                (
                    apply_node(suite, &n.left, depth + 1, lb),
                    apply_node(suite, &n.right, depth + 1, rb),
                )
            };
            if left.same(&n.left) && right.same(&n.right) {
                return node.clone();
            }
            Node::join(suite, left, right)
        }
    }
}

/// The sparse Merkle state tree.
///
/// A map from 256-bit keys to value hashes, committed to by a single root (see the crate docs
/// for the exact hashing). It is persistent: nodes are immutable and `Arc`-shared, so
/// [`apply`](Self::apply) returns a new tree that shares every untouched subtree with the old
/// one, the old tree stays valid, and `clone` is O(1). Trees are `Send + Sync`.
#[derive(Clone)]
pub struct SparseMerkleTree {
    suite: Suite,
    root: Node,
}

impl fmt::Debug for SparseMerkleTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseMerkleTree")
            .field("suite", &self.suite)
            .field("len", &self.len())
            .field("root", &self.root())
            .finish()
    }
}

impl SparseMerkleTree {
    /// The empty tree (root [`SMT_EMPTY_HASH`]).
    pub fn new(suite: Suite) -> Self {
        SparseMerkleTree {
            suite,
            root: Node::Empty,
        }
    }

    /// The suite the tree hashes with.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root.hash()
    }

    /// The number of keys.
    pub fn len(&self) -> u64 {
        self.root.len()
    }

    /// Whether the tree holds no key.
    pub fn is_empty(&self) -> bool {
        matches!(self.root, Node::Empty)
    }

    /// The value hash stored under `key`.
    pub fn get(&self, key: &Hash) -> Option<Hash> {
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => return None,
                Node::Leaf(l) => return (l.key == *key).then_some(l.value),
                Node::Internal(n) => {
                    node = if key_bit(key, depth) {
                        &n.right
                    } else {
                        &n.left
                    };
                    depth += 1;
                }
            }
        }
    }

    /// Applies a batch of changes: `Some(value_hash)` inserts or updates, `None` deletes
    /// (deleting an absent key is a no-op). Returns the new tree; `self` is unchanged.
    ///
    /// The sorted batch is split by key bit while descending, so each touched node is rebuilt
    /// and hashed once: `O(k * log n)` hashes for `k` changes on `n` keys.
    pub fn apply(&self, changes: &BTreeMap<Hash, Option<Hash>>) -> SparseMerkleTree {
        let batch: Vec<(Hash, Option<Hash>)> = changes.iter().map(|(k, v)| (*k, *v)).collect();
        SparseMerkleTree {
            suite: self.suite,
            root: apply_node(self.suite, &self.root, 0, &batch),
        }
    }

    /// A proof of `key`'s value or of its absence, checked by [`verify_state_proof`].
    pub fn prove(&self, key: &Hash) -> StateProof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        loop {
            match node {
                Node::Empty => {
                    return StateProof {
                        siblings,
                        leaf: None,
                    };
                }
                Node::Leaf(l) => {
                    return StateProof {
                        siblings,
                        leaf: Some(ProofLeaf {
                            key: l.key,
                            value_hash: l.value,
                        }),
                    };
                }
                Node::Internal(n) => {
                    let (next, sibling) = if key_bit(key, siblings.len()) {
                        (&n.right, &n.left)
                    } else {
                        (&n.left, &n.right)
                    };
                    siblings.push(sibling.hash());
                    node = next;
                }
            }
        }
    }

    /// Every `(key, value_hash)`, in increasing key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            stack: vec![&self.root],
        }
    }
}

/// The entries of a [`SparseMerkleTree`] in key order; see [`SparseMerkleTree::iter`].
pub struct Iter<'a> {
    stack: Vec<&'a Node>,
}

impl Iterator for Iter<'_> {
    type Item = (Hash, Hash);

    fn next(&mut self) -> Option<(Hash, Hash)> {
        while let Some(node) = self.stack.pop() {
            match node {
                Node::Empty => {}
                Node::Leaf(l) => return Some((l.key, l.value)),
                Node::Internal(n) => {
                    self.stack.push(&n.right);
                    self.stack.push(&n.left);
                }
            }
        }
        None
    }
}

/// A proof about one key of a [`SparseMerkleTree`].
///
/// `siblings[i]` is the hash of the sibling of the key's path node at depth `i + 1` (index 0 is
/// the root's child on the other side of the key's bit 0). The path ends at depth
/// `siblings.len()`, where the key's position holds either
/// * `leaf = Some(l)` with `l.key == key`: the key's own leaf (membership),
/// * `leaf = Some(l)` with `l.key != key`: another key's leaf sharing the first
///   `siblings.len()` bits with `key` (absence), or
/// * `leaf = None`: an empty subtree (absence).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateProof {
    /// Sibling hashes from the root downward.
    pub siblings: Vec<Hash>,
    /// The leaf at the end of the path, if any.
    pub leaf: Option<ProofLeaf>,
}

/// The leaf a [`StateProof`] ends in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofLeaf {
    /// The leaf's key.
    pub key: Hash,
    /// The leaf's value hash.
    pub value_hash: Hash,
}

/// Verifies a [`StateProof`] against `root`: with `value_hash = Some(v)` that `key` maps to `v`,
/// with `None` that `key` is absent.
///
/// The hash at the end of the path (the leaf's [`smt_leaf_hash`], or [`SMT_EMPTY_HASH`]) is
/// combined with the siblings from the deepest up: at depth `d = i + 1` the sibling
/// `siblings[i]` goes right of the running hash if `key_bit(key, i)` is 0, left if it is 1.
pub fn verify_state_proof(
    suite: Suite,
    root: &Hash,
    key: &Hash,
    value_hash: Option<&Hash>,
    proof: &StateProof,
) -> Result<(), ProofError> {
    let depth = proof.siblings.len();
    if depth > SMT_MAX_DEPTH {
        return Err(ProofError::TooManySiblings { actual: depth });
    }
    let bottom = match (&proof.leaf, value_hash) {
        (None, Some(_)) => return Err(ProofError::KeyAbsent { key: *key }),
        (None, None) => SMT_EMPTY_HASH,
        (Some(leaf), Some(value)) => {
            if leaf.key != *key {
                return Err(ProofError::LeafKeyMismatch {
                    key: *key,
                    leaf_key: leaf.key,
                });
            }
            if leaf.value_hash != *value {
                return Err(ProofError::ValueMismatch {
                    key: *key,
                    expected: *value,
                    proven: leaf.value_hash,
                });
            }
            smt_leaf_hash(suite, &leaf.key, &leaf.value_hash)
        }
        (Some(leaf), None) => {
            if leaf.key == *key {
                return Err(ProofError::KeyPresent { key: *key });
            }
            if (0..depth).any(|i| key_bit(key, i) != key_bit(&leaf.key, i)) {
                return Err(ProofError::LeafPrefixMismatch {
                    key: *key,
                    leaf_key: leaf.key,
                    depth,
                });
            }
            smt_leaf_hash(suite, &leaf.key, &leaf.value_hash)
        }
    };
    let computed = proof
        .siblings
        .iter()
        .enumerate()
        .rev()
        .fold(bottom, |acc, (i, sibling)| {
            if key_bit(key, i) {
                smt_node_hash(suite, sibling, &acc)
            } else {
                smt_node_hash(suite, &acc, sibling)
            }
        });
    if computed != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}
