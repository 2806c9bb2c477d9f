//! What the state tree tests share: a strategy of key pools and batches (many keys sharing long
//! prefixes), and a walk over the stored nodes a root reaches.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use kexin_merkle::*;
use proptest::prelude::*;

pub type Changes = BTreeMap<Hash, Option<Hash>>;

pub fn value(suite: Suite, v: u8) -> Hash {
    suite.hash(&[b'v', v])
}

/// Every node reachable from `root`, checking on the way that each node hashes to what its
/// parent records.
pub fn reachable(suite: Suite, nodes: &MemNodes, root: &Child) -> BTreeSet<NodeKey> {
    let mut out = BTreeSet::new();
    let mut stack = vec![(0u16, Hash::ZERO, *root)];
    while let Some((depth, path, child)) = stack.pop() {
        let Child::Node {
            version,
            hash,
            leaf,
        } = child
        else {
            continue;
        };
        let key = NodeKey {
            version,
            depth,
            path,
        };
        let node = nodes
            .get(&key)
            .unwrap_or_else(|| panic!("node {key} is missing"));
        assert_eq!(node.hash(suite), hash, "node {key}");
        assert!(out.insert(key), "node {key} reached twice");
        match node {
            StoredNode::Leaf { .. } => assert!(leaf),
            StoredNode::Internal { left, right } => {
                assert!(!leaf);
                let d = usize::from(depth);
                let mut right_path = path;
                right_path.0[d / 8] |= 0x80 >> (d % 8);
                stack.push((depth + 1, path, *left));
                stack.push((depth + 1, right_path, *right));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Strategies: a pool of keys, many of which share long prefixes with a base key (a few low bits
// mutated, or one bit flipped anywhere), and batches of changes referring to pool keys.
// ---------------------------------------------------------------------------------------------

pub fn pool_strategy() -> impl Strategy<Value = Vec<Hash>> {
    any::<[u8; 32]>().prop_flat_map(|base| {
        let key = prop_oneof![
            any::<[u8; 32]>().prop_map(Hash),
            // A few low bits of the base mutated: leaves deep down, near depth 256.
            (any::<u8>(), 0u8..4).prop_map(move |(mask, byte)| {
                let mut k = base;
                k[31 - usize::from(byte / 3)] ^= mask >> byte;
                Hash(k)
            }),
            // One bit of the base flipped: shares exactly that many leading bits.
            (0usize..256).prop_map(move |i| {
                let mut k = base;
                k[i / 8] ^= 0x80 >> (i % 8);
                Hash(k)
            }),
            Just(Hash(base)),
        ];
        prop::collection::vec(key, 1..40)
    })
}

pub type Batch = Vec<(usize, Option<u8>)>;

pub fn scenario() -> impl Strategy<Value = (Suite, Vec<Hash>, Vec<Batch>)> {
    (
        prop_oneof![Just(Suite::Intl), Just(Suite::Gm)],
        pool_strategy(),
        prop::collection::vec(
            prop::collection::vec((any::<usize>(), prop::option::weighted(0.6, 0u8..4)), 0..30),
            1..10,
        ),
    )
        .prop_map(|(suite, pool, batches)| {
            let batches = batches
                .into_iter()
                .map(|b| b.into_iter().map(|(i, v)| (i % pool.len(), v)).collect())
                .collect();
            (suite, pool, batches)
        })
}

pub fn changes(suite: Suite, pool: &[Hash], batch: &Batch) -> Changes {
    batch
        .iter()
        .map(|(i, v)| (pool[*i], v.map(|v| value(suite, v))))
        .collect()
}
