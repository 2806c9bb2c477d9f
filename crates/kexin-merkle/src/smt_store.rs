//! The state tree in a node store: the same sparse Merkle tree as [`SparseMerkleTree`], kept as
//! immutable nodes addressed by position and version, so that it can live on disk and only the
//! paths a block touches are read or written.
//!
//! Nothing here does I/O. A tree is named by its root ([`PersistedTree`]); its nodes are read
//! through [`SmtNodeSource`]; [`PersistedTree::apply`] returns the nodes to write and the nodes
//! that stop being part of the tree ([`TreeUpdate`]), and the caller writes them (a ledger, in
//! the same atomic batch as its block). [`MemNodes`] holds nodes in memory (tests, and a
//! ledger's uncommitted blocks), and [`Overlay`] reads one source over another.
//!
//! # Same tree, same hashes, same proofs
//!
//! The key set, the compact shape (a lone key's leaf sits at the shallowest position where it is
//! alone), the hashes ([`smt_leaf_hash`](crate::smt_leaf_hash),
//! [`smt_node_hash`](crate::smt_node_hash), 32 zero bytes for an empty subtree) and the
//! [`StateProof`](crate::StateProof)s are exactly those of [`SparseMerkleTree`]:
//! [`root_hash`](PersistedTree::root_hash), [`get`](PersistedTree::get) and
//! [`prove`](PersistedTree::prove) return what the in-memory tree returns for the same contents.
//! Only the storage differs.
//!
//! # Node keys: position and version
//!
//! A node's position is its depth `d` (0 for the root, at most 256) and its path: the first `d`
//! bits of every key below it, the other bits zero. A node is written once, under the version (a
//! block height) that created it, and never modified: its [`NodeKey`] is `(version, depth,
//! path)`, encoded big-endian so that byte order is version order. A parent records, for each
//! child, its version, its hash and whether it is a leaf ([`Child`]): enough to hash the parent
//! and to build a proof without reading the children, and to find a child's key (its position
//! is the parent's extended by one bit, 0 left, 1 right). The caller keeps the root [`Child`] of
//! each version it wants to read.
//!
//! # Stored nodes
//!
//! A leaf holds its key and value hash; an internal node its two [`Child`]ren. The byte layouts
//! (node keys; nodes in format 1, a kind byte first) are on [`NodeKey`] and [`StoredNode`];
//! decoding is strict: canonical bytes only, and no internal node that compaction forbids.
//!
//! # Versions and stale nodes
//!
//! [`PersistedTree::apply`] at version `v` (greater than every version in the tree) rewrites the
//! touched paths: every new node is keyed with `v`, and every node of the previous tree that the
//! new root no longer reaches is listed in [`TreeUpdate::stale`]. A node is therefore stale
//! *since* `v`: the trees of the versions before `v` still reach it, no tree from `v` on does. A
//! pruner that keeps the versions `>= p` may delete every node listed stale at a version `<= p`;
//! without pruning, every old version stays readable through its root. When a leaf moves (pushed
//! down by an insert beside it, or lifted up when its subtree loses every other key) it is
//! rewritten at its new position under `v`, and its old node is stale.
//!
//! Keys name positions, not hashes, on purpose: with hash keys, a subtree that a later version
//! recreates identically (a value set back, a key deleted and reinserted) would have the key of a
//! node already listed stale, and a pruner deleting that node would break the newer tree.
//! Position-and-version keys are never reused, so deleting a stale node is always safe.
//!
//! Versions must increase along one chain of trees. Two trees built from the same parent at the
//! same version (competing blocks at one height) may write different nodes under the same key:
//! keep their nodes apart (one [`MemNodes`] per block) until one of them is committed.
//!
//! [`SparseMerkleTree`]: crate::SparseMerkleTree

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;

use kexin_crypto::{Hash, Suite};

use crate::smt::{SMT_EMPTY_HASH, SMT_MAX_DEPTH, smt_leaf_hash, smt_node_hash};

mod tree;

pub use tree::{PersistedTree, TreeUpdate};
pub(crate) use tree::{read_internal, read_leaf};

/// The position and version of a stored state tree node.
///
/// The position is a depth `d` (0 for the root, at most 256) and a path: the first `d` bits of
/// every key below the node, every bit at and beyond `d` zeroed. The version is the one that
/// wrote the node (see [`PersistedTree::apply`] for versions and stale nodes). Encoded
/// ([`encode`](Self::encode)) big-endian, so that byte order is version order:
///
/// | bytes | field |
/// |---|---|
/// | 8 | `version`, big-endian |
/// | 2 | `depth`, big-endian, `0..=256` |
/// | `ceil(depth / 8)` | the first bytes of `path` (bits beyond `depth` zero) |
///
/// Keys name positions, not hashes, on purpose: with hash keys, a subtree that a later version
/// recreates identically (a value set back, a key deleted and reinserted) would have the key of
/// a node already listed stale, and a pruner deleting that node would break the newer tree.
/// Position-and-version keys are never reused, so deleting a stale node is always safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeKey {
    /// The version (block height) that wrote the node.
    pub version: u64,
    /// The node's depth: 0 for the root, at most 256.
    pub depth: u16,
    /// The first `depth` bits of every key below the node, the other bits zero.
    pub path: Hash,
}

/// Fixed part of an encoded [`NodeKey`]: version and depth.
const KEY_HEADER_LEN: usize = 8 + 2;

impl NodeKey {
    /// The key of the node at `depth` on `key`'s path, written at `version` (the bits of `key` at
    /// and beyond `depth` are dropped).
    ///
    /// # Panics
    /// If `depth` exceeds 256.
    pub fn on_path(version: u64, depth: u16, key: &Hash) -> NodeKey {
        assert!(usize::from(depth) <= SMT_MAX_DEPTH, "depth {depth} > 256");
        NodeKey {
            version,
            depth,
            path: prefix(key, depth),
        }
    }

    /// The key of the root node written at `version`.
    pub fn root(version: u64) -> NodeKey {
        NodeKey {
            version,
            depth: 0,
            path: Hash::ZERO,
        }
    }

    /// The canonical encoding: `version (8, BE) || depth (2, BE) || path[..ceil(depth / 8)]`.
    ///
    /// The fields are public, so a key can be built outside its invariants: path bits beyond the
    /// depth are not encoded, and a depth beyond 256 is encoded with 32 path bytes (which
    /// [`decode`](Self::decode) rejects) rather than panicking.
    pub fn encode(&self) -> Vec<u8> {
        let depth = self.depth.min(SMT_MAX_DEPTH as u16);
        let n = usize::from(depth).div_ceil(8);
        let mut out = Vec::with_capacity(KEY_HEADER_LEN + n);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.depth.to_be_bytes());
        out.extend_from_slice(&prefix(&self.path, depth).0[..n]);
        out
    }

    /// Decodes [`encode`](Self::encode)'s output; any other byte string is an error.
    pub fn decode(bytes: &[u8]) -> Result<NodeKey, SmtDecodeError> {
        const WHAT: &str = "state node key";
        if bytes.len() < KEY_HEADER_LEN {
            return Err(SmtDecodeError::Truncated {
                what: WHAT,
                needed: KEY_HEADER_LEN,
                actual: bytes.len(),
            });
        }
        let (version, rest) = bytes.split_at(8);
        let (depth, path_bytes) = rest.split_at(2);
        let version = u64::from_be_bytes(version.try_into().expect("8 bytes"));
        let depth = u16::from_be_bytes(depth.try_into().expect("2 bytes"));
        if usize::from(depth) > SMT_MAX_DEPTH {
            return Err(SmtDecodeError::DepthOutOfRange { depth });
        }
        let n = usize::from(depth).div_ceil(8);
        if path_bytes.len() != n {
            return Err(SmtDecodeError::WrongLength {
                what: WHAT,
                expected: KEY_HEADER_LEN + n,
                actual: bytes.len(),
            });
        }
        let mut path = Hash::ZERO;
        path.0[..n].copy_from_slice(path_bytes);
        if prefix(&path, depth) != path {
            return Err(SmtDecodeError::PathNotCanonical { depth });
        }
        Ok(NodeKey {
            version,
            depth,
            path,
        })
    }
}

impl fmt::Display for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(version {}, depth {}, path ", self.version, self.depth)?;
        let n = usize::from(self.depth.min(SMT_MAX_DEPTH as u16)).div_ceil(8);
        if n == 0 {
            f.write_str("-")?;
        }
        for b in &self.path.0[..n] {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A node's position: its depth and the first `depth` bits of the keys below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) depth: u16,
    pub(crate) path: Hash,
}

impl Pos {
    pub(crate) const ROOT: Pos = Pos {
        depth: 0,
        path: Hash::ZERO,
    };

    /// The position of the left (`right = false`) or right child. Callers never go below 256.
    pub(crate) fn child(&self, right: bool) -> Pos {
        let d = usize::from(self.depth);
        let mut path = self.path;
        if right {
            path.0[d / 8] |= 0x80 >> (d % 8);
        }
        Pos {
            depth: self.depth + 1,
            path,
        }
    }

    pub(crate) fn key(&self, version: u64) -> NodeKey {
        NodeKey {
            version,
            depth: self.depth,
            path: self.path,
        }
    }
}

/// `key` with every bit at and beyond `depth` zeroed (`depth <= 256`).
pub(crate) fn prefix(key: &Hash, depth: u16) -> Hash {
    let depth = usize::from(depth);
    let mut out = Hash::ZERO;
    let full = depth / 8;
    out.0[..full].copy_from_slice(&key.0[..full]);
    if depth % 8 != 0 {
        out.0[full] = key.0[full] & (0xffu8 << (8 - depth % 8));
    }
    out
}

/// What a stored internal node (or the caller, for the root) knows about a subtree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    /// An empty subtree (hash [`SMT_EMPTY_HASH`]).
    Empty,
    /// A stored node at the child's position.
    Node {
        /// The version under which the node is stored.
        version: u64,
        /// The node's hash.
        hash: Hash,
        /// Whether the node is a leaf (else an internal node).
        leaf: bool,
    },
}

const TAG_EMPTY: u8 = 0x00;
const TAG_LEAF: u8 = 0x01;
const TAG_INTERNAL: u8 = 0x02;
/// Length of an encoded non-empty [`Child`]: tag, version, hash.
const CHILD_NODE_LEN: usize = 1 + 8 + 32;

impl Child {
    /// The subtree's hash: the node's, or [`SMT_EMPTY_HASH`].
    pub fn hash(&self) -> Hash {
        match self {
            Child::Empty => SMT_EMPTY_HASH,
            Child::Node { hash, .. } => *hash,
        }
    }

    /// Whether the subtree is empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Child::Empty)
    }

    /// Whether the subtree is a single leaf.
    pub fn is_leaf(&self) -> bool {
        matches!(self, Child::Node { leaf: true, .. })
    }

    /// The canonical encoding (the child layout of [`StoredNode`]); a ledger stores its root
    /// this way.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CHILD_NODE_LEN);
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Child::Empty => out.push(TAG_EMPTY),
            Child::Node {
                version,
                hash,
                leaf,
            } => {
                out.push(if *leaf { TAG_LEAF } else { TAG_INTERNAL });
                out.extend_from_slice(&version.to_be_bytes());
                out.extend_from_slice(hash.as_bytes());
            }
        }
    }

    /// Decodes [`encode`](Self::encode)'s output; any other byte string is an error.
    pub fn decode(bytes: &[u8]) -> Result<Child, SmtDecodeError> {
        const WHAT: &str = "state tree child";
        let (child, used) = Child::decode_prefix(bytes, WHAT)?;
        if used != bytes.len() {
            return Err(SmtDecodeError::WrongLength {
                what: WHAT,
                expected: used,
                actual: bytes.len(),
            });
        }
        Ok(child)
    }

    /// Decodes one child at the start of `bytes`; returns it and the bytes it took.
    fn decode_prefix(bytes: &[u8], what: &'static str) -> Result<(Child, usize), SmtDecodeError> {
        let Some(&tag) = bytes.first() else {
            return Err(SmtDecodeError::Truncated {
                what,
                needed: 1,
                actual: 0,
            });
        };
        let leaf = match tag {
            TAG_EMPTY => return Ok((Child::Empty, 1)),
            TAG_LEAF => true,
            TAG_INTERNAL => false,
            tag => return Err(SmtDecodeError::UnknownTag { what, tag }),
        };
        let Some(body) = bytes.get(1..CHILD_NODE_LEN) else {
            return Err(SmtDecodeError::Truncated {
                what,
                needed: CHILD_NODE_LEN,
                actual: bytes.len(),
            });
        };
        let (version, hash) = body.split_at(8);
        let child = Child::Node {
            version: u64::from_be_bytes(version.try_into().expect("8 bytes")),
            hash: Hash(hash.try_into().expect("32 bytes")),
            leaf,
        };
        Ok((child, CHILD_NODE_LEN))
    }
}

/// A stored state tree node.
///
/// Encoded ([`encode`](Self::encode)), format 1; the first byte tells the kind:
///
/// | kind | bytes |
/// |---|---|
/// | leaf | `0x01 \|\| key (32) \|\| value_hash (32)`: 65 bytes |
/// | internal | `0x02 \|\| child(left) \|\| child(right)`: 3 to 83 bytes |
/// | child: empty | `0x00` |
/// | child: leaf | `0x01 \|\| version (8, big-endian) \|\| hash (32)` |
/// | child: internal | `0x02 \|\| version (8, big-endian) \|\| hash (32)` |
///
/// Decoding rejects every other byte string, and an internal node that compaction forbids (two
/// empty children, or an empty child beside a leaf): an internal node holds two keys or more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredNode {
    /// A key's leaf.
    Leaf {
        /// The key.
        key: Hash,
        /// Its value hash.
        value_hash: Hash,
    },
    /// An internal node (its subtree holds two keys or more).
    Internal {
        /// The subtree of keys whose bit at this depth is 0.
        left: Child,
        /// The subtree of keys whose bit at this depth is 1.
        right: Child,
    },
}

/// Length of an encoded [`StoredNode::Leaf`].
const LEAF_LEN: usize = 1 + 32 + 32;

impl StoredNode {
    /// The node's hash: [`smt_leaf_hash`] or [`smt_node_hash`] of its children's hashes.
    pub fn hash(&self, suite: Suite) -> Hash {
        match self {
            StoredNode::Leaf { key, value_hash } => smt_leaf_hash(suite, key, value_hash),
            StoredNode::Internal { left, right } => {
                smt_node_hash(suite, &left.hash(), &right.hash())
            }
        }
    }

    /// The canonical encoding (format 1, above).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            StoredNode::Leaf { key, value_hash } => {
                let mut out = Vec::with_capacity(LEAF_LEN);
                out.push(TAG_LEAF);
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(value_hash.as_bytes());
                out
            }
            StoredNode::Internal { left, right } => {
                let mut out = Vec::with_capacity(1 + 2 * CHILD_NODE_LEN);
                out.push(TAG_INTERNAL);
                left.encode_into(&mut out);
                right.encode_into(&mut out);
                out
            }
        }
    }

    /// Decodes [`encode`](Self::encode)'s output; any other byte string, or an internal node
    /// that compaction forbids, is an error.
    pub fn decode(bytes: &[u8]) -> Result<StoredNode, SmtDecodeError> {
        const WHAT: &str = "state tree node";
        match bytes.first() {
            None => Err(SmtDecodeError::Truncated {
                what: WHAT,
                needed: 1,
                actual: 0,
            }),
            Some(&TAG_LEAF) => {
                if bytes.len() != LEAF_LEN {
                    return Err(SmtDecodeError::WrongLength {
                        what: WHAT,
                        expected: LEAF_LEN,
                        actual: bytes.len(),
                    });
                }
                Ok(StoredNode::Leaf {
                    key: Hash(bytes[1..33].try_into().expect("32 bytes")),
                    value_hash: Hash(bytes[33..].try_into().expect("32 bytes")),
                })
            }
            Some(&TAG_INTERNAL) => {
                let (left, a) = Child::decode_prefix(&bytes[1..], WHAT)?;
                let (right, b) = Child::decode_prefix(&bytes[1 + a..], WHAT)?;
                if 1 + a + b != bytes.len() {
                    return Err(SmtDecodeError::WrongLength {
                        what: WHAT,
                        expected: 1 + a + b,
                        actual: bytes.len(),
                    });
                }
                let lone = |c: &Child| c.is_empty() || c.is_leaf();
                if (left.is_empty() && lone(&right)) || (right.is_empty() && lone(&left)) {
                    return Err(SmtDecodeError::NotCompact);
                }
                Ok(StoredNode::Internal { left, right })
            }
            Some(&tag) => Err(SmtDecodeError::UnknownTag { what: WHAT, tag }),
        }
    }
}

/// Why bytes are not a valid [`NodeKey`], [`Child`] or [`StoredNode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmtDecodeError {
    /// The bytes end before the value does.
    #[error("{what}: needs at least {needed} bytes, got {actual}")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// The bytes needed so far.
        needed: usize,
        /// The bytes supplied.
        actual: usize,
    },
    /// The bytes hold a value followed by more bytes, or fewer than its fields need.
    #[error("{what}: must be {expected} bytes, got {actual}")]
    WrongLength {
        /// What was being decoded.
        what: &'static str,
        /// The length the value's header dictates.
        expected: usize,
        /// The bytes supplied.
        actual: usize,
    },
    /// A kind byte that no format defines.
    #[error("{what}: unknown kind byte 0x{tag:02x}")]
    UnknownTag {
        /// What was being decoded.
        what: &'static str,
        /// The byte found.
        tag: u8,
    },
    /// A node key deeper than a 256-bit key goes.
    #[error("state node key: depth {depth} exceeds 256")]
    DepthOutOfRange {
        /// The depth found.
        depth: u16,
    },
    /// A node key whose path has a bit set at or beyond its depth.
    #[error("state node key: the path has bits set at or beyond depth {depth}")]
    PathNotCanonical {
        /// The key's depth.
        depth: u16,
    },
    /// An internal node with fewer than two keys below it (two empty children, or an empty
    /// child beside a leaf), which compaction never writes.
    #[error("state tree node: an internal node must hold two keys or more")]
    NotCompact,
}

/// Why a stored state tree could not be read or updated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmtStoreError<E> {
    /// The node source failed.
    #[error("state tree node source failed: {0}")]
    Source(#[source] E),
    /// A node the tree references is not in the source (pruned, or never written).
    #[error("missing state tree node at {0}")]
    MissingNode(NodeKey),
    /// The stored node's kind is not the one its parent records.
    #[error("state tree node at {key} is {found}, its parent references {expected}")]
    WrongKind {
        /// The node's key.
        key: NodeKey,
        /// What the parent records: "a leaf" or "an internal node".
        expected: &'static str,
        /// What the source holds.
        found: &'static str,
    },
    /// A stored leaf whose key does not lie under its position.
    #[error("state tree leaf at {key} holds key {leaf_key}, which is not on its path")]
    LeafOffPath {
        /// The node's key.
        key: NodeKey,
        /// The key the leaf holds.
        leaf_key: Hash,
    },
    /// An internal node at depth 256, where only leaves can be.
    #[error("state tree node at {0} is internal, but depth 256 holds only leaves")]
    TooDeep(NodeKey),
    /// A loaded node does not hash to what its parent records.
    #[error("state tree node at {0} does not hash to what its parent records")]
    HashMismatch(NodeKey),
    /// An update whose version does not exceed the tree's.
    #[error("state tree version {version} must exceed the tree's version {current}")]
    VersionNotIncreasing {
        /// The version asked for.
        version: u64,
        /// The version of the tree's root node.
        current: u64,
    },
}

/// Read access to stored state tree nodes.
pub trait SmtNodeSource {
    /// The source's failure (I/O, corruption, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The node stored under `key`, if any.
    fn node(&self, key: &NodeKey) -> Result<Option<StoredNode>, Self::Error>;
}

impl<S: SmtNodeSource + ?Sized> SmtNodeSource for &S {
    type Error = S::Error;

    fn node(&self, key: &NodeKey) -> Result<Option<StoredNode>, Self::Error> {
        (**self).node(key)
    }
}

/// State tree nodes in memory, in key order: for tests, and for a ledger's nodes of blocks not
/// yet committed (read over the store through an [`Overlay`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemNodes {
    nodes: BTreeMap<NodeKey, StoredNode>,
}

impl MemNodes {
    /// No nodes.
    pub fn new() -> Self {
        MemNodes::default()
    }

    /// Stores `node` under `key`; returns the node it replaces.
    pub fn insert(&mut self, key: NodeKey, node: StoredNode) -> Option<StoredNode> {
        self.nodes.insert(key, node)
    }

    /// Stores every new node of `update`.
    pub fn write(&mut self, update: &TreeUpdate) {
        for (key, node) in &update.new_nodes {
            self.nodes.insert(*key, node.clone());
        }
    }

    /// Removes the node under `key`; returns it.
    pub fn remove(&mut self, key: &NodeKey) -> Option<StoredNode> {
        self.nodes.remove(key)
    }

    /// The node under `key`.
    pub fn get(&self, key: &NodeKey) -> Option<&StoredNode> {
        self.nodes.get(key)
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&NodeKey, &StoredNode)> {
        self.nodes.iter()
    }
}

impl SmtNodeSource for MemNodes {
    type Error = Infallible;

    fn node(&self, key: &NodeKey) -> Result<Option<StoredNode>, Infallible> {
        Ok(self.nodes.get(key).cloned())
    }
}

/// Reads `upper` first, then `lower` for the nodes `upper` does not hold: a ledger's
/// uncommitted nodes over its store.
#[derive(Clone, Copy, Debug)]
pub struct Overlay<'a, A: ?Sized, B: ?Sized> {
    /// The source read first.
    pub upper: &'a A,
    /// The source read for nodes `upper` does not hold.
    pub lower: &'a B,
}

impl<'a, A: ?Sized, B: ?Sized> Overlay<'a, A, B> {
    /// `upper` over `lower`.
    pub fn new(upper: &'a A, lower: &'a B) -> Self {
        Overlay { upper, lower }
    }
}

/// The failure of one of an [`Overlay`]'s sources.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlayError<A, B> {
    /// The upper source failed.
    #[error("upper node source: {0}")]
    Upper(#[source] A),
    /// The lower source failed.
    #[error("lower node source: {0}")]
    Lower(#[source] B),
}

impl<A: SmtNodeSource + ?Sized, B: SmtNodeSource + ?Sized> SmtNodeSource for Overlay<'_, A, B> {
    type Error = OverlayError<A::Error, B::Error>;

    fn node(&self, key: &NodeKey) -> Result<Option<StoredNode>, Self::Error> {
        match self.upper.node(key).map_err(OverlayError::Upper)? {
            Some(node) => Ok(Some(node)),
            None => self.lower.node(key).map_err(OverlayError::Lower),
        }
    }
}
