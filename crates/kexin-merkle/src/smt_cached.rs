//! The state tree with its hot part in memory and the rest in a node store: [`CachedTree`].
//!
//! [`SparseMerkleTree`](crate::SparseMerkleTree) keeps every node in memory, so its memory and
//! the time to rebuild it grow with the state. [`PersistedTree`](crate::PersistedTree) keeps none,
//! so every update reads and writes every node on its paths. A `CachedTree` sits between them:
//!
//! - Its nodes are the in-memory tree's (immutable, structurally shared: a tree per block costs
//!   only the paths the block changed), except that a subtree may be a **stored reference**: a
//!   node of a [`SmtNodeSource`] known by its [`Child`] (version, hash, kind) and loaded only when
//!   an update or a proof goes through it. Loaded nodes are checked against the hash their
//!   parent records.
//! - Updates ([`apply`](CachedTree::apply)) build new in-memory nodes, not yet stored (*dirty*),
//!   and list the stored nodes they replaced ([`Applied::stale`]).
//! - [`flush`](CachedTree::flush) hands out every dirty node as a [`StoredNode`] under one
//!   version and marks it stored. Many updates between two flushes rewrite the nodes near the
//!   root many times but store them once; the caller writes them (a ledger, in one atomic
//!   batch) and must not lose them: a failed write leaves nodes marked stored that are not.
//! - [`evict`](CachedTree::evict) replaces stored subtrees below a depth by references, which
//!   bounds memory: what stays is the top of the tree plus the dirty nodes.
//!
//! The key set, the compact shape, the hashes and the proofs are exactly those of
//! [`SparseMerkleTree`](crate::SparseMerkleTree), and the stored nodes those of
//! [`PersistedTree`](crate::PersistedTree) (same [`NodeKey`]s and [`StoredNode`] encoding), so a
//! `PersistedTree` opened at a flushed root reads the same tree.
//!
//! # Stale nodes
//!
//! A stored node is stale once a tree no longer reaches it: an update rewrote its position, or
//! the leaf moved (pushed down by an insert beside it, lifted when its siblings went). Each
//! [`apply`](CachedTree::apply) lists the stored nodes it replaced ([`Applied::stale`]); dirty
//! nodes replaced before any flush were never stored and are simply dropped. A caller that
//! deletes stale nodes must wait until no reader holds a tree that reaches them.
//!
//! Whether a node is stored is a mark that [`flush`](CachedTree::flush) sets on the shared
//! node, so an update computed before (or while) its parent tree was flushed lists too little:
//! apply it again to the flushed parent to get its stale list (a ledger does so for the one
//! block prepared before a flush and committed after it). Flushes and evictions of one chain of
//! trees must not run concurrently with each other.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use kexin_crypto::{Hash, Suite};

use crate::smt::{
    ProofLeaf, SMT_EMPTY_HASH, StateProof, key_bit, merge_leaf, smt_leaf_hash, smt_node_hash,
};
use crate::smt_store::{
    Child, NodeKey, Pos, SmtNodeSource, SmtStoreError, StoredNode, read_internal, read_leaf,
};

type Result<T, S> = std::result::Result<T, SmtStoreError<<S as SmtNodeSource>::Error>>;

#[derive(Clone)]
enum Node {
    Empty,
    /// A stored node, not loaded.
    Stored {
        version: u64,
        hash: Hash,
        leaf: bool,
    },
    Leaf(Arc<Leaf>),
    Internal(Arc<Internal>),
}

struct Leaf {
    key: Hash,
    value: Hash,
    hash: Hash,
    /// The version it is stored under, once stored.
    stored: OnceLock<u64>,
}

struct Internal {
    left: Node,
    right: Node,
    hash: Hash,
    stored: OnceLock<u64>,
}

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Empty => SMT_EMPTY_HASH,
            Node::Stored { hash, .. } => *hash,
            Node::Leaf(l) => l.hash,
            Node::Internal(n) => n.hash,
        }
    }

    /// The version this node is stored under, if it is.
    fn stored(&self) -> Option<u64> {
        match self {
            Node::Empty => None,
            Node::Stored { version, .. } => Some(*version),
            Node::Leaf(l) => l.stored.get().copied(),
            Node::Internal(n) => n.stored.get().copied(),
        }
    }

    fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Empty, Node::Empty) => true,
            (
                Node::Stored {
                    version: a,
                    hash: ha,
                    ..
                },
                Node::Stored {
                    version: b,
                    hash: hb,
                    ..
                },
            ) => a == b && ha == hb,
            (Node::Leaf(a), Node::Leaf(b)) => Arc::ptr_eq(a, b),
            (Node::Internal(a), Node::Internal(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn from_child(child: Child) -> Node {
        match child {
            Child::Empty => Node::Empty,
            Child::Node {
                version,
                hash,
                leaf,
            } => Node::Stored {
                version,
                hash,
                leaf,
            },
        }
    }

    fn new_leaf(suite: Suite, key: Hash, value: Hash) -> Node {
        Node::Leaf(Arc::new(Leaf {
            key,
            value,
            hash: smt_leaf_hash(suite, &key, &value),
            stored: OnceLock::new(),
        }))
    }

    fn new_internal(suite: Suite, left: Node, right: Node) -> Node {
        Node::Internal(Arc::new(Internal {
            hash: smt_node_hash(suite, &left.hash(), &right.hash()),
            left,
            right,
            stored: OnceLock::new(),
        }))
    }
}

/// A node of `src` at `pos`, loaded: a leaf, or an internal node whose children are stored
/// references. Checked to hash to `hash`, what its parent records.
fn load<S: SmtNodeSource>(
    suite: Suite,
    src: &S,
    pos: &Pos,
    version: u64,
    hash: Hash,
    leaf: bool,
) -> Result<Node, S> {
    let node = if leaf {
        let (_, key, value) = read_leaf(src, pos, version)?;
        Node::Leaf(Arc::new(Leaf {
            key,
            value,
            hash: smt_leaf_hash(suite, &key, &value),
            stored: OnceLock::from(version),
        }))
    } else {
        let (left, right) = read_internal(src, pos, version)?;
        Node::Internal(Arc::new(Internal {
            hash: smt_node_hash(suite, &left.hash(), &right.hash()),
            left: Node::from_child(left),
            right: Node::from_child(right),
            stored: OnceLock::from(version),
        }))
    };
    if node.hash() != hash {
        return Err(SmtStoreError::HashMismatch(pos.key(version)));
    }
    Ok(node)
}

/// `node` itself if it is in memory, else the stored node it references, loaded.
fn resolve<S: SmtNodeSource>(suite: Suite, src: &S, pos: &Pos, node: &Node) -> Result<Node, S> {
    match *node {
        Node::Stored {
            version,
            hash,
            leaf,
        } => load(suite, src, pos, version, hash, leaf),
        _ => Ok(node.clone()),
    }
}

/// What [`CachedTree::apply`] returns.
#[derive(Clone)]
pub struct Applied {
    /// The new tree.
    pub tree: CachedTree,
    /// The stored nodes of the previous tree that the new tree does not reach (stored as of
    /// the update: see the [module docs](self#stale-nodes)).
    pub stale: Vec<NodeKey>,
}

impl fmt::Debug for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Applied")
            .field("tree", &self.tree)
            .field("stale", &self.stale.len())
            .finish()
    }
}

/// Each half of a batch at the root must hold this many changes before the halves are updated
/// on two threads (as [`SparseMerkleTree::apply`](crate::SparseMerkleTree::apply) does).
const PARALLEL_MIN_HALF: usize = 1024;

/// The sparse Merkle state tree, its hot part in memory and the rest in a node store (see the
/// [module docs](self)). Cheap to clone: clones share every node.
#[derive(Clone)]
pub struct CachedTree {
    suite: Suite,
    root: Node,
}

impl fmt::Debug for CachedTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTree")
            .field("suite", &self.suite)
            .field("root", &self.root_hash())
            .field("stored", &self.root.stored())
            .finish()
    }
}

impl CachedTree {
    /// The empty tree.
    pub fn empty(suite: Suite) -> Self {
        CachedTree {
            suite,
            root: Node::Empty,
        }
    }

    /// The stored tree whose root is `root` (nothing is read until an update or proof needs it).
    pub fn stored(suite: Suite, root: Child) -> Self {
        CachedTree {
            suite,
            root: Node::from_child(root),
        }
    }

    /// The suite the tree hashes with.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The root hash.
    pub fn root_hash(&self) -> Hash {
        self.root.hash()
    }

    /// The root as a stored [`Child`], once [`flush`](Self::flush) stored it (`None` while the
    /// root is dirty). [`Child::Empty`] for the empty tree.
    pub fn stored_root(&self) -> Option<Child> {
        match &self.root {
            Node::Empty => Some(Child::Empty),
            root => root.stored().map(|version| Child::Node {
                version,
                hash: root.hash(),
                leaf: matches!(root, Node::Leaf(_) | Node::Stored { leaf: true, .. }),
            }),
        }
    }

    /// The value hash of `key`, if present.
    pub fn get<S: SmtNodeSource>(&self, src: &S, key: &Hash) -> Result<Option<Hash>, S> {
        let (_, leaf) = self.walk(src, key, false)?;
        Ok(leaf.filter(|l| l.key == *key).map(|l| l.value_hash))
    }

    /// The value hash of `key` if memory alone can tell (`Some(answer)`), `None` if its path
    /// goes through a stored reference (ask [`get`](Self::get)). Cheap: no store read.
    pub fn get_cached(&self, key: &Hash) -> Option<Option<Hash>> {
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => return Some(None),
                Node::Stored { .. } => return None,
                Node::Leaf(l) => return Some((l.key == *key).then_some(l.value)),
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

    /// A proof of `key`'s value or of its absence, as
    /// [`SparseMerkleTree::prove`](crate::SparseMerkleTree::prove) returns it.
    pub fn prove<S: SmtNodeSource>(&self, src: &S, key: &Hash) -> Result<StateProof, S> {
        let (siblings, leaf) = self.walk(src, key, true)?;
        Ok(StateProof { siblings, leaf })
    }

    /// The leaf on `key`'s path and (if `siblings`) the sibling hashes above it.
    fn walk<S: SmtNodeSource>(
        &self,
        src: &S,
        key: &Hash,
        siblings: bool,
    ) -> Result<(Vec<Hash>, Option<ProofLeaf>), S> {
        let mut out = Vec::new();
        let mut pos = Pos::ROOT;
        let mut node = self.root.clone();
        loop {
            match resolve(self.suite, src, &pos, &node)? {
                Node::Empty => return Ok((out, None)),
                Node::Leaf(l) => {
                    let leaf = ProofLeaf {
                        key: l.key,
                        value_hash: l.value,
                    };
                    return Ok((out, Some(leaf)));
                }
                Node::Internal(n) => {
                    let bit = key_bit(key, usize::from(pos.depth));
                    let (next, sibling) = if bit {
                        (&n.right, &n.left)
                    } else {
                        (&n.left, &n.right)
                    };
                    if siblings {
                        out.push(sibling.hash());
                    }
                    node = next.clone();
                    pos = pos.child(bit);
                }
                Node::Stored { .. } => unreachable!("resolve loads stored nodes"),
            }
        }
    }

    /// The tree after `changes` (`Some(value hash)` sets a key, `None` deletes it), and the
    /// stored nodes it stops reaching. Reads the stored nodes on the changed paths from `src`.
    pub fn apply<S: SmtNodeSource + Sync>(
        &self,
        src: &S,
        changes: &BTreeMap<Hash, Option<Hash>>,
    ) -> Result<Applied, S> {
        let batch: Vec<(Hash, Option<Hash>)> = changes.iter().map(|(k, v)| (*k, *v)).collect();
        let mut stale = Vec::new();
        let up = Updater {
            suite: self.suite,
            src,
        };
        let root = up.apply(&self.root, Pos::ROOT, &batch, &mut stale)?;
        Ok(Applied {
            tree: CachedTree {
                suite: self.suite,
                root,
            },
            stale,
        })
    }

    /// Every dirty node, as the [`StoredNode`] to write under `version`, in no particular
    /// order; each is marked stored, so a later flush does not hand it out again and a later
    /// update lists it stale when it replaces it. `version` must exceed every version stored
    /// so far (a [`NodeKey`] is never reused); the root is then [`stored_root`](Self::stored_root).
    pub fn flush(&self, version: u64) -> Vec<(NodeKey, StoredNode)> {
        let mut out = Vec::new();
        self.flush_each(version, &mut |key, node| out.push((key, node)));
        out
    }

    /// [`flush`](Self::flush), handing each node to `write` (children before parents) instead
    /// of collecting them. Returns how many nodes it handed out.
    pub fn flush_each(&self, version: u64, write: &mut dyn FnMut(NodeKey, StoredNode)) -> u64 {
        let mut count = 0;
        flush_node(&self.root, Pos::ROOT, version, &mut |key, node| {
            count += 1;
            write(key, node)
        });
        count
    }

    /// This tree with every stored subtree at depth `depth` or deeper replaced by a reference,
    /// so that it holds at most the nodes above `depth` plus the dirty ones. Clones of the
    /// previous tree keep what they hold.
    pub fn evict(&self, depth: u16) -> CachedTree {
        CachedTree {
            suite: self.suite,
            root: evict_node(&self.root, 0, depth),
        }
    }

    /// How many nodes are in memory (loaded or dirty), a measure of what the tree holds.
    pub fn nodes_in_memory(&self) -> u64 {
        fn count(node: &Node) -> u64 {
            match node {
                Node::Empty | Node::Stored { .. } => 0,
                Node::Leaf(_) => 1,
                Node::Internal(n) => 1 + count(&n.left) + count(&n.right),
            }
        }
        count(&self.root)
    }
}

fn flush_node(
    node: &Node,
    pos: Pos,
    version: u64,
    out: &mut dyn FnMut(NodeKey, StoredNode),
) -> Child {
    let (hash, leaf, stored) = match node {
        Node::Empty => return Child::Empty,
        Node::Stored {
            version,
            hash,
            leaf,
        } => {
            return Child::Node {
                version: *version,
                hash: *hash,
                leaf: *leaf,
            };
        }
        Node::Leaf(l) => (l.hash, true, &l.stored),
        Node::Internal(n) => (n.hash, false, &n.stored),
    };
    if let Some(&v) = stored.get() {
        return Child::Node {
            version: v,
            hash,
            leaf,
        };
    }
    let stored_node = match node {
        Node::Leaf(l) => StoredNode::Leaf {
            key: l.key,
            value_hash: l.value,
        },
        Node::Internal(n) => StoredNode::Internal {
            left: flush_node(&n.left, pos.child(false), version, out),
            right: flush_node(&n.right, pos.child(true), version, out),
        },
        Node::Empty | Node::Stored { .. } => unreachable!("returned above"),
    };
    out(pos.key(version), stored_node);
    // A node is only ever flushed once: the mark was empty above, and flushes are serialized.
    let _ = stored.set(version);
    Child::Node {
        version,
        hash,
        leaf,
    }
}

fn evict_node(node: &Node, depth: u16, limit: u16) -> Node {
    match node {
        Node::Empty | Node::Stored { .. } => node.clone(),
        Node::Leaf(l) => match l.stored.get() {
            Some(&version) if depth >= limit => Node::Stored {
                version,
                hash: l.hash,
                leaf: true,
            },
            _ => node.clone(),
        },
        Node::Internal(n) => {
            if let Some(&version) = n.stored.get()
                && depth >= limit
            {
                return Node::Stored {
                    version,
                    hash: n.hash,
                    leaf: false,
                };
            }
            let left = evict_node(&n.left, depth + 1, limit);
            let right = evict_node(&n.right, depth + 1, limit);
            if left.same(&n.left) && right.same(&n.right) {
                return node.clone();
            }
            // The same node (same position, hash and storage), holding less.
            Node::Internal(Arc::new(Internal {
                left,
                right,
                hash: n.hash,
                stored: n.stored.clone(),
            }))
        }
    }
}

/// One [`CachedTree::apply`].
struct Updater<'a, S> {
    suite: Suite,
    src: &'a S,
}

impl<S: SmtNodeSource + Sync> Updater<'_, S> {
    /// The subtree `node` at `pos` after the sorted `batch` (whose keys all lie under `pos`);
    /// the stored nodes it replaces go to `stale`.
    fn apply(
        &self,
        node: &Node,
        pos: Pos,
        batch: &[(Hash, Option<Hash>)],
        stale: &mut Vec<NodeKey>,
    ) -> Result<Node, S> {
        if batch.is_empty() {
            return Ok(node.clone());
        }
        let new = match resolve(self.suite, self.src, &pos, node)? {
            Node::Empty => {
                let inserts: Vec<(Hash, Hash)> = batch
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| (*k, v)))
                    .collect();
                self.build(pos, &inserts)
            }
            Node::Leaf(leaf) => {
                let entries = merge_leaf(leaf.key, leaf.value, batch);
                if entries == [(leaf.key, leaf.value)] {
                    return Ok(node.clone());
                }
                self.build(pos, &entries)
            }
            Node::Internal(n) => {
                let split = batch.partition_point(|(k, _)| !key_bit(k, usize::from(pos.depth)));
                let (lb, rb) = batch.split_at(split);
                let (lpos, rpos) = (pos.child(false), pos.child(true));
                let (left, right) = if pos.depth == 0 && lb.len().min(rb.len()) >= PARALLEL_MIN_HALF
                {
                    // Two independent halves at the root: update them on two threads.
                    std::thread::scope(|s| {
                        let left = s.spawn(|| {
                            let mut stale = Vec::new();
                            self.apply(&n.left, lpos, lb, &mut stale)
                                .map(|node| (node, stale))
                        });
                        let right = self.apply(&n.right, rpos, rb, stale);
                        let (left, left_stale) = left.join().expect("tree worker panicked")?;
                        stale.extend(left_stale);
                        Ok::<_, SmtStoreError<S::Error>>((left, right?))
                    })?
                } else {
                    (
                        self.apply(&n.left, lpos, lb, stale)?,
                        self.apply(&n.right, rpos, rb, stale)?,
                    )
                };
                if left.same(&n.left) && right.same(&n.right) {
                    return Ok(node.clone());
                }
                self.join(pos, left, right, stale)?
            }
            Node::Stored { .. } => unreachable!("resolve loads stored nodes"),
        };
        if let Some(version) = node.stored() {
            stale.push(pos.key(version));
        }
        Ok(new)
    }

    /// The canonical subtree at `pos` holding `entries` (sorted, distinct, under `pos`): all new.
    fn build(&self, pos: Pos, entries: &[(Hash, Hash)]) -> Node {
        match entries {
            [] => Node::Empty,
            [(k, v)] => Node::new_leaf(self.suite, *k, *v),
            _ => {
                let split = entries.partition_point(|(k, _)| !key_bit(k, usize::from(pos.depth)));
                let (l, r) = entries.split_at(split);
                let left = self.build(pos.child(false), l);
                let right = self.build(pos.child(true), r);
                match (&left, &right) {
                    // Compaction: a lone leaf sits where it is alone (its node is new: no
                    // position to leave).
                    (Node::Empty, Node::Leaf(_)) => right,
                    (Node::Leaf(_), Node::Empty) => left,
                    _ => Node::new_internal(self.suite, left, right),
                }
            }
        }
    }

    /// The canonical node at `pos` over two updated children: empty, a lone leaf lifted from
    /// its child position (always a new node: the old one may be stored there, or be stored
    /// there by a flush running beside this update; stale if stored), or internal.
    fn join(&self, pos: Pos, left: Node, right: Node, stale: &mut Vec<NodeKey>) -> Result<Node, S> {
        let (lone, from) = match (&left, &right) {
            (Node::Empty, Node::Empty) => return Ok(Node::Empty),
            (Node::Empty, other) => (other, pos.child(true)),
            (other, Node::Empty) => (other, pos.child(false)),
            _ => return Ok(Node::new_internal(self.suite, left, right)),
        };
        let is_leaf = matches!(lone, Node::Leaf(_) | Node::Stored { leaf: true, .. });
        if !is_leaf {
            return Ok(Node::new_internal(self.suite, left, right));
        }
        let Node::Leaf(leaf) = resolve(self.suite, self.src, &from, lone)? else {
            unreachable!("a leaf resolves to a leaf");
        };
        if let Some(version) = lone.stored() {
            stale.push(from.key(version));
        }
        Ok(Node::new_leaf(self.suite, leaf.key, leaf.value))
    }
}
