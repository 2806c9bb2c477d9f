//! Reading and updating a stored state tree: [`PersistedTree`].

use std::collections::BTreeMap;

use kexin_crypto::{Hash, Suite};

use super::{Child, NodeKey, Pos, SmtNodeSource, SmtStoreError, StoredNode};
use crate::smt::{
    ProofLeaf, SMT_MAX_DEPTH, StateProof, key_bit, merge_leaf, smt_leaf_hash, smt_node_hash,
};

type Result<T, S> = std::result::Result<T, SmtStoreError<<S as SmtNodeSource>::Error>>;

/// What [`PersistedTree::apply`] produces: the new tree's root, the nodes to store, and the
/// nodes of the previous tree that the new one no longer reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeUpdate {
    /// The suite the tree hashes with.
    pub suite: Suite,
    /// The new tree's root (keep it to read this version later).
    pub root: Child,
    /// Every node the new tree adds, all keyed with the update's version.
    pub new_nodes: Vec<(NodeKey, StoredNode)>,
    /// Every node of the previous tree that the new tree does not reach: stale since the
    /// update's version (see [`PersistedTree::apply`]).
    pub stale: Vec<NodeKey>,
}

impl TreeUpdate {
    /// The new tree.
    pub fn tree(&self) -> PersistedTree {
        PersistedTree::new(self.suite, self.root)
    }
}

/// Reads the node stored at `pos` under `version`.
fn read<S: SmtNodeSource>(src: &S, pos: &Pos, version: u64) -> Result<(NodeKey, StoredNode), S> {
    let key = pos.key(version);
    let node = src
        .node(&key)
        .map_err(SmtStoreError::Source)?
        .ok_or(SmtStoreError::MissingNode(key))?;
    Ok((key, node))
}

const LEAF: &str = "a leaf";
const INTERNAL: &str = "an internal node";

/// The node key, key and value hash of the leaf stored at `pos` under `version`, checking that
/// it is a leaf and that its key lies under `pos`.
pub(crate) fn read_leaf<S: SmtNodeSource>(
    src: &S,
    pos: &Pos,
    version: u64,
) -> Result<(NodeKey, Hash, Hash), S> {
    match read(src, pos, version)? {
        (node_key, StoredNode::Leaf { key, value_hash }) => {
            if super::prefix(&key, pos.depth) != pos.path {
                return Err(SmtStoreError::LeafOffPath {
                    key: node_key,
                    leaf_key: key,
                });
            }
            Ok((node_key, key, value_hash))
        }
        (key, StoredNode::Internal { .. }) => Err(SmtStoreError::WrongKind {
            key,
            expected: LEAF,
            found: INTERNAL,
        }),
    }
}

/// The children of the internal node stored at `pos` under `version`, checking that it is an
/// internal node above depth 256.
pub(crate) fn read_internal<S: SmtNodeSource>(
    src: &S,
    pos: &Pos,
    version: u64,
) -> Result<(Child, Child), S> {
    match read(src, pos, version)? {
        (key, StoredNode::Internal { .. }) if usize::from(pos.depth) >= SMT_MAX_DEPTH => {
            Err(SmtStoreError::TooDeep(key))
        }
        (_, StoredNode::Internal { left, right }) => Ok((left, right)),
        (key, StoredNode::Leaf { .. }) => Err(SmtStoreError::WrongKind {
            key,
            expected: INTERNAL,
            found: LEAF,
        }),
    }
}

/// The leaf on `key`'s path, with the sibling hashes above it (from the root down); `None`
/// if the path ends in an empty subtree.
fn walk<S: SmtNodeSource>(
    src: &S,
    root: &Child,
    key: &Hash,
) -> Result<(Vec<Hash>, Option<ProofLeaf>), S> {
    let mut siblings = Vec::new();
    let mut pos = Pos::ROOT;
    let mut child = *root;
    loop {
        match child {
            Child::Empty => return Ok((siblings, None)),
            Child::Node {
                version,
                leaf: true,
                ..
            } => {
                let (_, key, value_hash) = read_leaf(src, &pos, version)?;
                return Ok((siblings, Some(ProofLeaf { key, value_hash })));
            }
            Child::Node {
                version,
                leaf: false,
                ..
            } => {
                let (left, right) = read_internal(src, &pos, version)?;
                let bit = key_bit(key, usize::from(pos.depth));
                let (next, sibling) = if bit { (right, left) } else { (left, right) };
                siblings.push(sibling.hash());
                child = next;
                pos = pos.child(bit);
            }
        }
    }
}

/// A stored state tree: its suite and its root; the nodes live in an [`SmtNodeSource`].
///
/// Cheap to copy; one value per version (keep the roots of the versions to read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersistedTree {
    /// The suite the tree hashes with.
    pub suite: Suite,
    /// The root: [`Child::Empty`] for the empty tree, else the root node (at depth 0).
    pub root: Child,
}

impl PersistedTree {
    /// The empty tree.
    pub fn empty(suite: Suite) -> Self {
        PersistedTree {
            suite,
            root: Child::Empty,
        }
    }

    /// The tree whose root is `root`.
    pub fn new(suite: Suite, root: Child) -> Self {
        PersistedTree { suite, root }
    }

    /// The root hash: the root node's, or 32 zero bytes for the empty tree (as
    /// [`SparseMerkleTree::root`](crate::SparseMerkleTree::root)).
    pub fn root_hash(&self) -> Hash {
        self.root.hash()
    }

    /// The value hash stored under `key`, as
    /// [`SparseMerkleTree::get`](crate::SparseMerkleTree::get) returns it. Reads the nodes on
    /// `key`'s path.
    pub fn get<S: SmtNodeSource>(&self, src: &S, key: &Hash) -> Result<Option<Hash>, S> {
        let (_, leaf) = walk(src, &self.root, key)?;
        Ok(leaf.filter(|l| l.key == *key).map(|l| l.value_hash))
    }

    /// A proof of `key`'s value or of its absence: exactly the [`StateProof`] that
    /// [`SparseMerkleTree::prove`](crate::SparseMerkleTree::prove) returns. Reads the nodes on
    /// `key`'s path.
    pub fn prove<S: SmtNodeSource>(&self, src: &S, key: &Hash) -> Result<StateProof, S> {
        let (siblings, leaf) = walk(src, &self.root, key)?;
        Ok(StateProof { siblings, leaf })
    }

    /// Applies a batch of changes (`Some(value_hash)` inserts or updates, `None` deletes;
    /// deleting an absent key or setting a key to its value changes nothing), writing at
    /// `version`, which must exceed the version of the root node.
    ///
    /// Reads only the nodes on the changed keys' paths (and a leaf that moves up beside them);
    /// the new tree has the root [`SparseMerkleTree::apply`](crate::SparseMerkleTree::apply)
    /// gives. Nothing is written: store [`TreeUpdate::new_nodes`] to read the new tree, whose
    /// root is [`TreeUpdate::root`] ([`TreeUpdate::tree`]).
    ///
    /// Every new node is keyed with `version`; every node of this tree that the new one does not
    /// reach is listed in [`TreeUpdate::stale`], stale *since* `version`: the trees of earlier
    /// versions still reach it, no tree from `version` on does. A pruner that keeps the versions
    /// `>= p` may delete every node listed stale at a version `<= p`; without pruning, every
    /// old version stays readable through its root. A leaf that moves (pushed down by an insert
    /// beside it, or lifted up when its subtree loses every other key) is rewritten at its new
    /// position, and its old node is stale.
    ///
    /// Versions must increase along one chain of trees: two trees applied to one parent at the
    /// same version (competing blocks at one height) may write different nodes under one key, so
    /// keep their nodes apart (one [`MemNodes`](super::MemNodes) per block).
    pub fn apply<S: SmtNodeSource + Sync>(
        &self,
        src: &S,
        version: u64,
        changes: &BTreeMap<Hash, Option<Hash>>,
    ) -> Result<TreeUpdate, S> {
        if let Child::Node {
            version: current, ..
        } = self.root
            && version <= current
        {
            return Err(SmtStoreError::VersionNotIncreasing { version, current });
        }
        let batch: Vec<(Hash, Option<Hash>)> = changes.iter().map(|(k, v)| (*k, *v)).collect();
        let mut up = Updater {
            suite: self.suite,
            src,
            version,
            new_nodes: Vec::new(),
            stale: Vec::new(),
        };
        let sub = up.update(Pos::ROOT, &self.root, &batch)?;
        let root = up.place(Pos::ROOT, sub);
        Ok(TreeUpdate {
            suite: self.suite,
            root,
            new_nodes: up.new_nodes,
            stale: up.stale,
        })
    }
}

/// A subtree's new state while [`PersistedTree::apply`] climbs back up, before its position is
/// final.
enum Sub {
    /// A subtree stored at the position just processed: unchanged, newly written, or empty.
    Placed(Child),
    /// A lone leaf not yet written: it settles (and is written) at the highest position where it
    /// is alone, which may be above where it came from.
    Leaf {
        key: Hash,
        value_hash: Hash,
        hash: Hash,
    },
}

/// Each half of a batch at the root must hold this many changes before the halves are updated
/// on two threads (as [`SparseMerkleTree::apply`](crate::SparseMerkleTree::apply) does).
const PARALLEL_MIN_HALF: usize = 1024;

/// The state of one [`PersistedTree::apply`].
struct Updater<'a, S> {
    suite: Suite,
    src: &'a S,
    version: u64,
    new_nodes: Vec<(NodeKey, StoredNode)>,
    stale: Vec<NodeKey>,
}

impl<S: SmtNodeSource + Sync> Updater<'_, S> {
    /// The new state of the subtree `child` at `pos` after the sorted `batch` (whose keys all
    /// lie under `pos`).
    fn update(
        &mut self,
        pos: Pos,
        child: &Child,
        batch: &[(Hash, Option<Hash>)],
    ) -> Result<Sub, S> {
        if batch.is_empty() {
            return Ok(Sub::Placed(*child));
        }
        match *child {
            Child::Empty => {
                let inserts: Vec<(Hash, Hash)> = batch
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| (*k, v)))
                    .collect();
                Ok(self.build(pos, &inserts))
            }
            Child::Node {
                version,
                leaf: true,
                ..
            } => self.update_leaf(pos, child, version, batch),
            Child::Node {
                version,
                leaf: false,
                ..
            } => self.update_internal(pos, child, version, batch),
        }
    }

    /// Merges the leaf `child` at `pos` into `batch` (a change to its key overrides it) and
    /// builds the subtree of the result.
    fn update_leaf(
        &mut self,
        pos: Pos,
        child: &Child,
        version: u64,
        batch: &[(Hash, Option<Hash>)],
    ) -> Result<Sub, S> {
        let (node_key, leaf_key, leaf_value) = read_leaf(self.src, &pos, version)?;
        let entries = merge_leaf(leaf_key, leaf_value, batch);
        if entries == [(leaf_key, leaf_value)] {
            return Ok(Sub::Placed(*child));
        }
        self.stale.push(node_key);
        Ok(self.build(pos, &entries))
    }

    /// Applies `batch` to both children of the internal node `child` (stored under `version`)
    /// at `pos`.
    fn update_internal(
        &mut self,
        pos: Pos,
        child: &Child,
        version: u64,
        batch: &[(Hash, Option<Hash>)],
    ) -> Result<Sub, S> {
        let (left, right) = read_internal(self.src, &pos, version)?;
        let split = batch.partition_point(|(k, _)| !key_bit(k, usize::from(pos.depth)));
        let (lb, rb) = batch.split_at(split);
        let (l, r) = self.update_children(pos, (left, right), lb, rb)?;
        if matches!(l, Sub::Placed(c) if c == left) && matches!(r, Sub::Placed(c) if c == right) {
            return Ok(Sub::Placed(*child));
        }
        self.stale.push(pos.key(version));
        // A stored leaf left alone beside an emptied subtree moves up: read it.
        let (l, r) = match (l, r) {
            (
                Sub::Placed(Child::Node {
                    version,
                    hash,
                    leaf: true,
                }),
                r @ Sub::Placed(Child::Empty),
            ) => (self.lift(pos.child(false), version, hash)?, r),
            (
                l @ Sub::Placed(Child::Empty),
                Sub::Placed(Child::Node {
                    version,
                    hash,
                    leaf: true,
                }),
            ) => (l, self.lift(pos.child(true), version, hash)?),
            other => other,
        };
        Ok(self.join(pos, l, r))
    }

    /// Applies `lb` to the left child and `rb` to the right child of the internal node at
    /// `pos`. A large batch splits into two large halves at the root: they are updated on two
    /// threads, and the result (nodes in the same order) is the sequential one.
    fn update_children(
        &mut self,
        pos: Pos,
        (left, right): (Child, Child),
        lb: &[(Hash, Option<Hash>)],
        rb: &[(Hash, Option<Hash>)],
    ) -> Result<(Sub, Sub), S> {
        if pos.depth != 0 || lb.len().min(rb.len()) < PARALLEL_MIN_HALF {
            let l = self.update(pos.child(false), &left, lb)?;
            let r = self.update(pos.child(true), &right, rb)?;
            return Ok((l, r));
        }
        debug_assert!(self.new_nodes.is_empty() && self.stale.is_empty());
        let mut worker = Updater {
            suite: self.suite,
            src: self.src,
            version: self.version,
            new_nodes: Vec::new(),
            stale: Vec::new(),
        };
        let (l, r) = std::thread::scope(|s| {
            let l = s.spawn(|| worker.update(pos.child(false), &left, lb));
            let r = self.update(pos.child(true), &right, rb);
            (l.join().expect("state tree worker panicked"), r)
        });
        let (l, r) = (l?, r?);
        // The left subtree's nodes first, as the sequential order has them.
        worker.new_nodes.append(&mut self.new_nodes);
        worker.stale.append(&mut self.stale);
        self.new_nodes = worker.new_nodes;
        self.stale = worker.stale;
        Ok((l, r))
    }

    /// The subtree at `pos` holding `entries` (sorted, distinct, all under `pos`), all new.
    fn build(&mut self, pos: Pos, entries: &[(Hash, Hash)]) -> Sub {
        match entries {
            [] => Sub::Placed(Child::Empty),
            [(key, value_hash)] => Sub::Leaf {
                key: *key,
                value_hash: *value_hash,
                hash: smt_leaf_hash(self.suite, key, value_hash),
            },
            _ => {
                let split = entries.partition_point(|(k, _)| !key_bit(k, usize::from(pos.depth)));
                let (l, r) = entries.split_at(split);
                let l = self.build(pos.child(false), l);
                let r = self.build(pos.child(true), r);
                self.join(pos, l, r)
            }
        }
    }

    /// The canonical parent at `pos` of two new subtrees: empty if both are, the lone leaf
    /// (moving up) if one is empty and the other a leaf not yet written, a new internal node
    /// otherwise. (A stored leaf beside an empty subtree has been lifted by the caller.)
    fn join(&mut self, pos: Pos, l: Sub, r: Sub) -> Sub {
        match (l, r) {
            (Sub::Placed(Child::Empty), Sub::Placed(Child::Empty)) => Sub::Placed(Child::Empty),
            (leaf @ Sub::Leaf { .. }, Sub::Placed(Child::Empty))
            | (Sub::Placed(Child::Empty), leaf @ Sub::Leaf { .. }) => leaf,
            (l, r) => {
                let left = self.place(pos.child(false), l);
                let right = self.place(pos.child(true), r);
                debug_assert!(!(left.is_empty() && right.is_leaf()));
                debug_assert!(!(right.is_empty() && left.is_leaf()));
                let hash = smt_node_hash(self.suite, &left.hash(), &right.hash());
                self.new_nodes
                    .push((pos.key(self.version), StoredNode::Internal { left, right }));
                Sub::Placed(Child::Node {
                    version: self.version,
                    hash,
                    leaf: false,
                })
            }
        }
    }

    /// The stored leaf at `from` under `version`, moving up: read it; its node becomes stale.
    fn lift(&mut self, from: Pos, version: u64, hash: Hash) -> Result<Sub, S> {
        let (node_key, key, value_hash) = read_leaf(self.src, &from, version)?;
        self.stale.push(node_key);
        Ok(Sub::Leaf {
            key,
            value_hash,
            hash,
        })
    }

    /// The child that `sub` is once settled at `pos`: a leaf not yet written is written there.
    fn place(&mut self, pos: Pos, sub: Sub) -> Child {
        match sub {
            Sub::Placed(child) => child,
            Sub::Leaf {
                key,
                value_hash,
                hash,
            } => {
                self.new_nodes
                    .push((pos.key(self.version), StoredNode::Leaf { key, value_hash }));
                Child::Node {
                    version: self.version,
                    hash,
                    leaf: true,
                }
            }
        }
    }
}
