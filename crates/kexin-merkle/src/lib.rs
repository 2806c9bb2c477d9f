//! Merkle structures of the Kexin ledger: the append-only transaction log (RFC 6962) and the
//! sparse Merkle state tree, with their proofs.
//!
//! Everything here is pure computation: no I/O (the log's nodes are read through the
//! [`NodeSource`] trait, the state tree's through [`SmtNodeSource`] or it lives in memory), no
//! clocks, no floats, no hash maps.
//! Every hash is the chain's [`Suite`] hash (`H` below: SHA-256 for `intl`, SM3 for `gm`), whose
//! output is 32 bytes. `||` is byte concatenation; hashes are raw 32-byte strings inside
//! preimages and lowercase hex in serialized proofs.
//!
//! # The transaction log (RFC 6962 / RFC 9162 §2.1)
//!
//! | what | preimage |
//! |---|---|
//! | leaf hash of entry bytes `d` | `H(0x00 \|\| d)` ([`leaf_hash`]) |
//! | interior node | `H(0x01 \|\| left \|\| right)` ([`node_hash`]) |
//! | root of the empty log | `H("")`, the hash of the empty string ([`empty_root`]) |
//!
//! The root of `n >= 1` leaf hashes `D[0:n]` is RFC 6962's `MTH`: one leaf is its own root;
//! otherwise, with `k` the largest power of two strictly less than `n`,
//! `MTH(D[0:n]) = H(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`. With `Suite::Intl` this is exactly
//! Certificate Transparency's tree (the crate's tests check the published CT vectors).
//!
//! * [`InclusionProof`] `{ leaf_index, tree_size, path }`: `path` is RFC 6962
//!   `PATH(leaf_index, D[0:tree_size])`, ordered from the leaf upward, and verifies with the
//!   RFC 9162 §2.1.3.2 algorithm ([`verify_inclusion`]).
//! * [`ConsistencyProof`] `{ old_size, new_size, path }`: `path` is RFC 6962
//!   `PROOF(old_size, D[0:new_size])` in RFC order, verified with RFC 9162 §2.1.4.2
//!   ([`verify_consistency`]). Edge cases decided by Kexin: `old_size > new_size` is rejected;
//!   `old_size == new_size` needs an empty path and equal roots; `old_size == 0` needs an empty
//!   path and `old_root == H("")` (and says nothing about the new root).
//!
//! A verifier must first check that the path length is the one the sizes (and index) dictate;
//! [`verify_inclusion`] and [`verify_consistency`] do, and report
//! [`ProofError::WrongPathLength`].
//!
//! ## Storage
//!
//! A stored log keeps the hash of every *perfect* subtree: node `(level, index)` covers leaves
//! `[index * 2^level, (index + 1) * 2^level)`, level 0 being the leaf hashes. A node is complete
//! (and immutable) once its last leaf is appended; [`LogAccumulator::append`] returns exactly the
//! nodes it completes. The in-memory [`LogAccumulator`] keeps only the peaks (one perfect subtree
//! per set bit of the size, largest first; the root is the peaks folded right to left with
//! `node_hash`). Any `MTH(D[a:b])` the RFC recursion needs is the fold of `popcount(b - a)`
//! stored nodes, and all but one of the subtrees a proof needs are perfect, so [`root_at`],
//! [`prove_inclusion`] and [`prove_consistency`] read `O(log n)` nodes for any historical size.
//!
//! # The state tree (sparse Merkle tree)
//!
//! A binary tree over 256-bit keys (themselves hashes), holding a 32-byte value hash per key.
//! The path of a key follows its bits most significant first: bit `i` is
//! `(key[i / 8] >> (7 - i % 8)) & 1` ([`key_bit`]); 0 goes left, 1 right; the root is at depth 0.
//! The tree is *compact*: a subtree holding no key is empty, a subtree holding exactly one key is
//! represented by that key's leaf at the subtree's root position (not at depth 256), and only a
//! subtree holding two or more keys is an interior node. The representation of a key set is
//! therefore unique, and so is its root.
//!
//! | what | hash |
//! |---|---|
//! | empty subtree (and empty tree) | 32 zero bytes ([`SMT_EMPTY_HASH`], `Hash::ZERO`) |
//! | leaf | `H(0x02 \|\| key \|\| value_hash)` ([`smt_leaf_hash`]) |
//! | interior node | `H(0x03 \|\| left \|\| right)` ([`smt_node_hash`]) |
//!
//! The prefixes 0x02 and 0x03 keep state hashes apart from log hashes (0x00, 0x01).
//!
//! A [`StateProof`] `{ siblings, leaf }` lists the sibling hashes from the root downward
//! (`siblings[0]` is the sibling at depth 1) down to depth `d = siblings.len() <= 256`, where the
//! key's position holds `leaf` (its own leaf: membership; another key's leaf, which must share
//! the key's first `d` bits: absence) or nothing (`leaf: None`, an empty subtree: absence). To
//! verify ([`verify_state_proof`]): start from the leaf's hash (or 32 zero bytes), and for
//! `i = d - 1` down to `0` set `acc = H(0x03 || acc || siblings[i])` if bit `i` of the key is
//! 0, else `H(0x03 || siblings[i] || acc)`; the result must equal the root.
//!
//! ## Storage
//!
//! [`SparseMerkleTree`] holds the whole tree in memory. [`PersistedTree`] is the same tree (same
//! shape, hashes and proofs) kept as immutable nodes in a store: each node is written once under
//! its position and the version that created it ([`NodeKey`], [`StoredNode`]), read through
//! [`SmtNodeSource`]; [`PersistedTree::apply`] reads only the changed keys' paths and returns the
//! nodes to write and the nodes that became stale ([`TreeUpdate`]), for a later pruner.
//!
//! # Serialized forms
//!
//! Proofs derive serde; [`Hash`](struct@Hash) serializes as 64 lowercase hex characters. In JSON:
//! `{"leaf_index":5,"tree_size":8,"path":["<hex>",...]}`,
//! `{"old_size":6,"new_size":8,"path":[...]}` and
//! `{"siblings":[...],"leaf":{"key":"<hex>","value_hash":"<hex>"}}` (or `"leaf":null`).
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use kexin_merkle::*;
//!
//! let suite = Suite::Intl;
//! let mut log = MemoryLog::new(suite);
//! for tx in [&b"tx0"[..], b"tx1", b"tx2"] {
//!     log.append(leaf_hash(suite, tx));
//! }
//! let root = log.root();
//! let proof = log.prove_inclusion(1, 3).unwrap();
//! verify_inclusion(suite, &leaf_hash(suite, b"tx1"), &proof, &root).unwrap();
//!
//! let state = SparseMerkleTree::new(suite);
//! let key = suite.hash(b"account/alice");
//! let value = suite.hash(b"balance=10");
//! let next = state.apply(&BTreeMap::from([(key, Some(value))]));
//! verify_state_proof(suite, &next.root(), &key, Some(&value), &next.prove(&key)).unwrap();
//! verify_state_proof(suite, &state.root(), &key, None, &state.prove(&key)).unwrap();
//! ```

mod error;
mod log;
mod smt;
mod smt_cached;
mod smt_store;
mod store;

pub use error::{LogError, NodeNotFound, ProofError};
pub use kexin_crypto::{Hash, Suite};
pub use log::{
    ConsistencyProof, InclusionProof, LOG_LEAF_PREFIX, LOG_NODE_PREFIX,
    consistency_proof_from_leaves, empty_root, inclusion_proof_from_leaves, leaf_hash, node_hash,
    root_from_inclusion_proof, root_from_leaves, verify_consistency, verify_inclusion,
};
pub use smt::{
    Iter, ProofLeaf, SMT_EMPTY_HASH, SMT_LEAF_PREFIX, SMT_MAX_DEPTH, SMT_NODE_PREFIX,
    SparseMerkleTree, StateProof, key_bit, smt_leaf_hash, smt_node_hash, verify_state_proof,
};
pub use smt_cached::{Applied, CachedTree};
pub use smt_store::{
    Child, MemNodes, NodeKey, Overlay, OverlayError, PersistedTree, SmtDecodeError, SmtNodeSource,
    SmtStoreError, StoredNode, TreeUpdate,
};
pub use store::{
    LogAccumulator, MemoryLog, NodeSource, peak_positions, prove_consistency, prove_inclusion,
    root_at,
};
