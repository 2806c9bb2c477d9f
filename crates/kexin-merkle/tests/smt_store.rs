//! The stored state tree (`PersistedTree` over `MemNodes`) against the in-memory
//! `SparseMerkleTree`: same roots, values and proofs after every batch, exact stale lists, old
//! versions readable, and strict decoding of stored nodes and node keys.

use std::collections::{BTreeMap, BTreeSet};

use kexin_merkle::*;
use proptest::prelude::*;

mod common;

use common::*;

/// `tree` over `nodes` answers exactly as `mem` for every key in `keys`.
fn assert_same_answers(
    tree: &PersistedTree,
    nodes: &MemNodes,
    mem: &SparseMerkleTree,
    keys: &[Hash],
) {
    assert_eq!(tree.root_hash(), mem.root());
    for key in keys {
        let value = tree.get(nodes, key).unwrap();
        assert_eq!(value, mem.get(key), "get {key}");
        let proof = tree.prove(nodes, key).unwrap();
        assert_eq!(proof, mem.prove(key), "prove {key}");
        verify_state_proof(tree.suite, &tree.root_hash(), key, value.as_ref(), &proof).unwrap();
    }
}

/// One version of the tree as the test saw it.
struct Version {
    tree: PersistedTree,
    mem: SparseMerkleTree,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn stored_tree_matches_the_memory_tree((suite, pool, batches) in scenario()) {
        // Probe keys: the pool, plus absent neighbours of pool keys.
        let mut probes = pool.clone();
        probes.extend(pool.iter().map(|k| { let mut k = *k; k.0[31] ^= 0x10; k }));
        let mut nodes = MemNodes::new();
        let mut versions = vec![Version {
            tree: PersistedTree::empty(suite),
            mem: SparseMerkleTree::new(suite),
        }];
        let mut all_stale: BTreeSet<NodeKey> = BTreeSet::new();
        let mut stale_since: Vec<(u64, NodeKey)> = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            let version = i as u64 + 1;
            let changes = changes(suite, &pool, batch);
            let prev = versions.last().unwrap();
            let mem = prev.mem.apply(&changes);
            let update = prev.tree.apply(&nodes, version, &changes).unwrap();
            let before = reachable(suite, &nodes, &prev.tree.root);
            nodes.write(&update);
            let tree = update.tree();
            let after = reachable(suite, &nodes, &tree.root);

            // New nodes are exactly what the new tree adds, stale ones exactly what it drops.
            let new: BTreeSet<NodeKey> = update.new_nodes.iter().map(|(k, _)| *k).collect();
            prop_assert_eq!(new.len(), update.new_nodes.len());
            prop_assert!(new.iter().all(|k| k.version == version));
            prop_assert_eq!(&new, &after.difference(&before).copied().collect());
            let stale: BTreeSet<NodeKey> = update.stale.iter().copied().collect();
            prop_assert_eq!(stale.len(), update.stale.len());
            prop_assert_eq!(&stale, &before.difference(&after).copied().collect());
            for key in &stale {
                prop_assert!(all_stale.insert(*key), "{} listed stale twice", key);
                stale_since.push((version, *key));
            }
            // A batch that changes no value writes nothing and keeps the root node.
            if mem.root() == prev.mem.root() {
                prop_assert!(update.new_nodes.is_empty() && update.stale.is_empty());
                prop_assert_eq!(tree.root, prev.tree.root);
            }

            assert_same_answers(&tree, &nodes, &mem, &probes);
            versions.push(Version { tree, mem });
            // No pruning yet: every older version still gives its own answers.
            for old in &versions {
                assert_same_answers(&old.tree, &nodes, &old.mem, &pool);
            }
            // Every node ever written, minus every node listed stale, is the latest tree.
            let live: BTreeSet<NodeKey> =
                nodes.iter().map(|(k, _)| *k).filter(|k| !all_stale.contains(k)).collect();
            prop_assert_eq!(&live, &after);
        }

        // Pruning what became stale at versions <= p keeps every version from p on readable.
        for p in 1..=batches.len() as u64 {
            let mut pruned = nodes.clone();
            for (_, key) in stale_since.iter().filter(|(since, _)| *since <= p) {
                prop_assert!(pruned.remove(key).is_some());
            }
            for kept in &versions[p as usize..] {
                assert_same_answers(&kept.tree, &pruned, &kept.mem, &pool);
            }
        }

        // Pruning every stale node keeps the latest tree whole.
        for key in &all_stale {
            prop_assert!(nodes.remove(key).is_some());
        }
        let latest = versions.last().unwrap();
        assert_same_answers(&latest.tree, &nodes, &latest.mem, &probes);
        // The same contents in one batch from empty: same root and same node shapes.
        let all: Changes = latest.mem.iter().map(|(k, v)| (k, Some(v))).collect();
        let fresh = PersistedTree::empty(suite).apply(&MemNodes::new(), 1, &all).unwrap();
        prop_assert_eq!(fresh.root.hash(), latest.mem.root());
        prop_assert_eq!(fresh.new_nodes.len(), reachable(suite, &nodes, &latest.tree.root).len());
    }

    #[test]
    fn decoding_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..90)) {
        // Whatever decodes re-encodes to the very same bytes.
        if let Ok(node) = StoredNode::decode(&bytes) {
            prop_assert_eq!(node.encode(), bytes.clone());
        }
        if let Ok(key) = NodeKey::decode(&bytes) {
            prop_assert_eq!(key.encode(), bytes.clone());
        }
        if let Ok(child) = Child::decode(&bytes) {
            prop_assert_eq!(child.encode(), bytes);
        }
    }

    #[test]
    fn garbled_encodings_never_decode_to_the_original(
        (suite, pool, batches) in scenario(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let mut nodes = MemNodes::new();
        let mut tree = PersistedTree::empty(suite);
        for (i, batch) in batches.iter().enumerate() {
            let update = tree.apply(&nodes, i as u64 + 1, &changes(suite, &pool, batch)).unwrap();
            nodes.write(&update);
            tree = update.tree();
        }
        for (key, node) in nodes.iter() {
            check_garbled(&key.encode(), at, xor, |b| NodeKey::decode(b).map(|k| k.encode()));
            check_garbled(&node.encode(), at, xor, |b| StoredNode::decode(b).map(|n| n.encode()));
        }
        check_garbled(&tree.root.encode(), at, xor, |b| Child::decode(b).map(|c| c.encode()));
    }
}

/// `bytes` round-trips; every truncation and every extension fails; a flipped byte fails or
/// decodes to another value (which re-encodes to the flipped bytes).
fn check_garbled(
    bytes: &[u8],
    at: prop::sample::Index,
    xor: u8,
    roundtrip: impl Fn(&[u8]) -> Result<Vec<u8>, SmtDecodeError>,
) {
    assert_eq!(roundtrip(bytes).unwrap(), bytes);
    for n in 0..bytes.len() {
        assert!(
            roundtrip(&bytes[..n]).is_err(),
            "{n}-byte prefix of {bytes:02x?}"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(roundtrip(&longer).is_err());
    let mut flipped = bytes.to_vec();
    flipped[at.index(bytes.len())] ^= xor;
    if let Ok(again) = roundtrip(&flipped) {
        assert_eq!(again, flipped);
    }
}

// ---------------------------------------------------------------------------------------------
// Examples.
// ---------------------------------------------------------------------------------------------

fn suites() -> [Suite; 2] {
    [Suite::Intl, Suite::Gm]
}

/// Keys `base` with its last byte set to each of `lows`.
fn family(lows: &[u8]) -> Vec<Hash> {
    lows.iter()
        .map(|b| {
            let mut k = [0x5a; 32];
            k[31] = *b;
            Hash(k)
        })
        .collect()
}

fn inserts(suite: Suite, keys: &[Hash]) -> Changes {
    keys.iter()
        .enumerate()
        .map(|(i, k)| (*k, Some(value(suite, i as u8))))
        .collect()
}

#[test]
fn no_op_batches_write_nothing() {
    for suite in suites() {
        let keys = family(&[0b0000_0000, 0b0000_0001, 0b1000_0000]);
        let mut nodes = MemNodes::new();
        let update = PersistedTree::empty(suite)
            .apply(&nodes, 1, &inserts(suite, &keys))
            .unwrap();
        nodes.write(&update);
        let tree = update.tree();
        let absent = family(&[0b0000_0010, 0b1100_0000, 0b1000_0001]);
        let mut no_op: Changes = absent.iter().map(|k| (*k, None)).collect();
        no_op.extend(inserts(suite, &keys));
        no_op.insert(Hash([0xff; 32]), None);
        let again = tree.apply(&nodes, 2, &no_op).unwrap();
        assert_eq!(again.root, tree.root);
        assert!(again.new_nodes.is_empty());
        assert!(again.stale.is_empty());
        // The empty tree too.
        let empty = PersistedTree::empty(suite)
            .apply(&nodes, 1, &no_op.keys().map(|k| (*k, None)).collect())
            .unwrap();
        assert_eq!(empty.root, Child::Empty);
        assert!(empty.new_nodes.is_empty() && empty.stale.is_empty());
    }
}

#[test]
fn a_leaf_left_alone_moves_up_and_its_old_node_is_stale() {
    for suite in suites() {
        // a = ..00, b = ..01 sit at depth 256 below an internal node at 255; c = 1.. elsewhere.
        let [a, b] = family(&[0, 1])[..] else {
            unreachable!()
        };
        let c = Hash([0xa5; 32]);
        let mut nodes = MemNodes::new();
        let first = PersistedTree::empty(suite)
            .apply(&nodes, 1, &inserts(suite, &[a, b, c]))
            .unwrap();
        nodes.write(&first);
        let tree = first.tree();
        let a_deep = NodeKey::on_path(1, 256, &a);
        assert!(matches!(nodes.get(&a_deep), Some(StoredNode::Leaf { key, .. }) if *key == a));

        let second = tree.apply(&nodes, 2, &BTreeMap::from([(b, None)])).unwrap();
        // a is rewritten at depth 1 (beside c), its old node and b's are stale, as are the
        // internal nodes from depth 1 to 255 and the root.
        let a_up = NodeKey::on_path(2, 1, &a);
        let written: Vec<NodeKey> = second.new_nodes.iter().map(|(k, _)| *k).collect();
        assert_eq!(written.len(), 2);
        assert!(written.contains(&a_up) && written.contains(&NodeKey::root(2)));
        assert!(second.stale.contains(&a_deep));
        assert!(second.stale.contains(&NodeKey::on_path(1, 256, &b)));
        assert_eq!(second.stale.len(), 2 + 255 + 1);
        nodes.write(&second);
        let mem = SparseMerkleTree::new(suite)
            .apply(&inserts(suite, &[a, b, c]))
            .apply(&BTreeMap::from([(b, None)]));
        assert_same_answers(&second.tree(), &nodes, &mem, &[a, b, c]);

        // Inserting b again pushes a back down, under version 3.
        let third = second
            .tree()
            .apply(&nodes, 3, &BTreeMap::from([(b, Some(value(suite, 1)))]))
            .unwrap();
        assert!(third.stale.contains(&a_up));
        assert!(
            third
                .new_nodes
                .iter()
                .any(|(k, _)| *k == NodeKey::on_path(3, 256, &a))
        );
        assert_eq!(third.root.hash(), tree.root_hash());
        assert_ne!(third.root, tree.root);
    }
}

#[test]
fn versions_must_increase() {
    let suite = Suite::Intl;
    let nodes = MemNodes::new();
    let update = PersistedTree::empty(suite)
        .apply(&nodes, 7, &inserts(suite, &family(&[1])))
        .unwrap();
    for version in [0, 6, 7] {
        assert_eq!(
            update.tree().apply(&nodes, version, &Changes::new()),
            Err(SmtStoreError::VersionNotIncreasing {
                version,
                current: 7
            })
        );
    }
}

/// A tree of `keys` (version 1) in `nodes`.
fn stored(suite: Suite, keys: &[Hash]) -> (PersistedTree, MemNodes) {
    let mut nodes = MemNodes::new();
    let update = PersistedTree::empty(suite)
        .apply(&nodes, 1, &inserts(suite, keys))
        .unwrap();
    nodes.write(&update);
    (update.tree(), nodes)
}

#[test]
fn every_missing_node_is_reported_not_a_panic() {
    for suite in suites() {
        let keys: Vec<Hash> = (0u8..12)
            .map(|i| suite.hash(&[i]))
            .chain(family(&[0, 1, 3]))
            .collect();
        let (tree, full) = stored(suite, &keys);
        for (gone, _) in full.iter() {
            let mut nodes = full.clone();
            nodes.remove(gone);
            let missing = SmtStoreError::MissingNode(*gone);
            let mut hit = false;
            for key in &keys {
                let got = tree.get(&nodes, key);
                assert!(
                    got.as_ref().err() == Some(&missing)
                        || got == Ok(tree.get(&full, key).unwrap())
                );
                hit |= got.is_err();
                let proof = tree.prove(&nodes, key);
                assert!(
                    proof.as_ref().err() == Some(&missing)
                        || proof == Ok(tree.prove(&full, key).unwrap())
                );
                // Deleting reads the key's path, and the leaf beside it if that one moves up.
                let update = tree.apply(&nodes, 2, &BTreeMap::from([(*key, None)]));
                let update = update.map(|u| u.root.hash());
                let ok = tree
                    .apply(&full, 2, &BTreeMap::from([(*key, None)]))
                    .unwrap();
                if got.as_ref().err() == Some(&missing) {
                    assert_eq!(update, Err(SmtStoreError::MissingNode(*gone)));
                } else {
                    assert!(
                        update == Ok(ok.root.hash())
                            || update == Err(SmtStoreError::MissingNode(*gone))
                    );
                }
            }
            assert!(hit, "no key's path goes through {gone}");
        }
    }
}

#[test]
fn corrupt_nodes_are_reported() {
    let suite = Suite::Gm;
    let [a, b] = family(&[0, 1])[..] else {
        unreachable!()
    };
    let (tree, nodes) = stored(suite, &[a, b]);
    let root_key = NodeKey::root(1);

    // A leaf where the parent records an internal node.
    let mut bad = nodes.clone();
    let leaf = StoredNode::Leaf {
        key: a,
        value_hash: value(suite, 0),
    };
    bad.insert(root_key, leaf.clone());
    let wrong_kind = tree.get(&bad, &a).unwrap_err();
    assert!(matches!(wrong_kind, SmtStoreError::WrongKind { key, .. } if key == root_key));
    assert!(
        wrong_kind
            .to_string()
            .contains("is a leaf, its parent references an internal node")
    );

    // A leaf whose key is not under its position.
    let deep_a = NodeKey::on_path(1, 256, &a);
    let mut bad = nodes.clone();
    bad.insert(
        deep_a,
        StoredNode::Leaf {
            key: b,
            value_hash: value(suite, 0),
        },
    );
    assert_eq!(
        tree.prove(&bad, &a),
        Err(SmtStoreError::LeafOffPath {
            key: deep_a,
            leaf_key: b
        })
    );

    // An internal node at depth 256.
    let parent = NodeKey::on_path(1, 255, &a);
    let mut bad = nodes.clone();
    let Some(StoredNode::Internal { right, .. }) = nodes.get(&parent).cloned() else {
        panic!("a and b split at depth 255");
    };
    let fake = Child::Node {
        version: 1,
        hash: Hash([7; 32]),
        leaf: false,
    };
    bad.insert(parent, StoredNode::Internal { left: fake, right });
    bad.insert(deep_a, StoredNode::Internal { left: right, right });
    assert_eq!(tree.get(&bad, &a), Err(SmtStoreError::TooDeep(deep_a)));
    assert_eq!(tree.get(&nodes, &a), Ok(Some(value(suite, 0))));
}

#[test]
fn large_batches_split_at_the_root_give_the_same_tree() {
    for suite in suites() {
        let keys: Vec<Hash> = (0u32..6000).map(|i| suite.hash(&i.to_be_bytes())).collect();
        let (tree, mut nodes) = stored(suite, &keys[..3000]);
        // 2,000 updates, 1,000 deletes (half of them absent keys), 2,500 inserts: both halves
        // of the batch at the root exceed the threshold for two threads.
        let batch: Changes = keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| match i {
                0..2000 => Some((*k, Some(value(suite, 7)))),
                2500..3500 => Some((*k, None)),
                3500.. => Some((*k, Some(value(suite, 8)))),
                _ => None,
            })
            .collect();
        let mem = SparseMerkleTree::new(suite)
            .apply(&inserts(suite, &keys[..3000]))
            .apply(&batch);
        let update = tree.apply(&nodes, 2, &batch).unwrap();
        let before = reachable(suite, &nodes, &tree.root);
        nodes.write(&update);
        let after = reachable(suite, &nodes, &update.root);
        let new: BTreeSet<NodeKey> = update.new_nodes.iter().map(|(k, _)| *k).collect();
        let stale: BTreeSet<NodeKey> = update.stale.iter().copied().collect();
        assert_eq!(
            (new.len(), stale.len()),
            (update.new_nodes.len(), update.stale.len())
        );
        assert_eq!(new, after.difference(&before).copied().collect());
        assert_eq!(stale, before.difference(&after).copied().collect());
        let sample: Vec<Hash> = keys.iter().step_by(37).copied().collect();
        assert_same_answers(&update.tree(), &nodes, &mem, &sample);

        // A node missing on either side of the root fails the update, on either thread.
        let Some(StoredNode::Internal { left, right }) = nodes.get(&NodeKey::root(1)).cloned()
        else {
            panic!("the root holds 3,000 keys");
        };
        for (child, bit) in [(left, false), (right, true)] {
            let Child::Node { version, .. } = child else {
                panic!("3,000 random keys fill both halves");
            };
            let mut first = Hash::ZERO;
            first.0[0] = if bit { 0x80 } else { 0 };
            let gone = NodeKey::on_path(version, 1, &first);
            let mut broken = nodes.clone();
            broken.remove(&gone);
            assert_eq!(
                tree.apply(&broken, 2, &batch),
                Err(SmtStoreError::MissingNode(gone))
            );
        }
    }
}

/// A source that fails for one key and holds nothing else.
struct Failing(NodeKey);

#[derive(Debug, thiserror::Error)]
#[error("disk on fire")]
struct Broken;

impl SmtNodeSource for Failing {
    type Error = Broken;

    fn node(&self, key: &NodeKey) -> Result<Option<StoredNode>, Broken> {
        if *key == self.0 {
            Err(Broken)
        } else {
            Ok(None)
        }
    }
}

#[test]
fn overlays_read_upper_then_lower_and_pass_errors_on() {
    for suite in suites() {
        let keys: Vec<Hash> = (0u8..40).map(|i| suite.hash(&[i])).collect();
        // Version 1 committed to the "store"; versions 2 and 3 pending in memory.
        let (v1, store) = stored(suite, &keys[..20]);
        let mut pending = MemNodes::new();
        let batch2 = inserts(suite, &keys[10..30]);
        let v2 = v1
            .apply(&Overlay::new(&pending, &store), 2, &batch2)
            .unwrap();
        pending.write(&v2);
        let batch3: Changes = keys[..15].iter().map(|k| (*k, None)).collect();
        let v3 = v2
            .tree()
            .apply(&Overlay::new(&pending, &store), 3, &batch3)
            .unwrap();
        pending.write(&v3);
        let mem = SparseMerkleTree::new(suite)
            .apply(&inserts(suite, &keys[..20]))
            .apply(&batch2)
            .apply(&batch3);
        let overlay = Overlay::new(&pending, &store);
        let tree = v3.tree();
        assert_eq!(tree.root_hash(), mem.root());
        for key in &keys {
            assert_eq!(tree.get(&overlay, key).unwrap(), mem.get(key));
            assert_eq!(tree.prove(&overlay, key).unwrap(), mem.prove(key));
        }
        // The store alone lacks the pending nodes.
        let pending_root = SmtStoreError::MissingNode(NodeKey::root(3));
        assert_eq!(tree.get(&store, &keys[0]), Err(pending_root));

        // A failing lower source surfaces as the source's error.
        let failing = Failing(NodeKey::root(1));
        let empty = MemNodes::new();
        let err = v1
            .get(&Overlay::new(&empty, &failing), &keys[0])
            .unwrap_err();
        assert!(matches!(
            err,
            SmtStoreError::Source(OverlayError::Lower(Broken))
        ));
        assert_eq!(
            err.to_string(),
            "state tree node source failed: lower node source: disk on fire"
        );
        // A failing upper source is not skipped for the lower one.
        let upper = Failing(NodeKey::root(1));
        let err = v1.get(&Overlay::new(&upper, &store), &keys[0]).unwrap_err();
        assert!(matches!(
            err,
            SmtStoreError::Source(OverlayError::Upper(Broken))
        ));
    }
}

#[test]
fn node_key_layout_is_frozen() {
    let mut path = Hash::ZERO;
    path.0[0] = 0xab;
    path.0[1] = 0xc0;
    let key = NodeKey {
        version: 0x0102,
        depth: 11,
        path,
    };
    assert_eq!(hex::encode(key.encode()), "0000000000000102000babc0");
    assert_eq!(NodeKey::decode(&key.encode()), Ok(key));
    assert_eq!(
        hex::encode(NodeKey::root(5).encode()),
        "00000000000000050000"
    );
    let deep = NodeKey::on_path(u64::MAX, 256, &Hash([0xee; 32]));
    assert_eq!(deep.encode().len(), 8 + 2 + 32);
    assert_eq!(NodeKey::decode(&deep.encode()), Ok(deep));
    assert_eq!(key.to_string(), "(version 258, depth 11, path abc0)");
    assert_eq!(NodeKey::root(5).to_string(), "(version 5, depth 0, path -)");
    // on_path drops the bits beyond the depth.
    assert_eq!(
        NodeKey::on_path(0x0102, 11, &Hash([0xab; 32])).path.0[..2],
        [0xab, 0xa0]
    );

    // Keys built outside the invariants encode without panicking: bits beyond the depth are
    // dropped, and a depth beyond 256 does not decode.
    let sloppy = NodeKey {
        version: 1,
        depth: 3,
        path: Hash([0xff; 32]),
    };
    assert_eq!(hex::encode(sloppy.encode()), "00000000000000010003e0");
    let too_deep = NodeKey {
        version: 1,
        depth: 300,
        path: Hash([0xff; 32]),
    };
    assert_eq!(too_deep.encode().len(), 8 + 2 + 32);
    assert_eq!(
        NodeKey::decode(&too_deep.encode()),
        Err(SmtDecodeError::DepthOutOfRange { depth: 300 })
    );
    assert!(
        too_deep
            .to_string()
            .starts_with("(version 1, depth 300, path ffff")
    );

    // Depth beyond 256, bits beyond the depth, wrong lengths.
    assert_eq!(
        NodeKey::decode(&hex::decode("00000000000000000101").unwrap()),
        Err(SmtDecodeError::DepthOutOfRange { depth: 257 })
    );
    assert_eq!(
        NodeKey::decode(&hex::decode("0000000000000102000babf0").unwrap()),
        Err(SmtDecodeError::PathNotCanonical { depth: 11 })
    );
    assert_eq!(
        NodeKey::decode(&hex::decode("0000000000000102000bab").unwrap()),
        Err(SmtDecodeError::WrongLength {
            what: "state node key",
            expected: 12,
            actual: 11
        })
    );
    assert_eq!(
        NodeKey::decode(&[0; 9]),
        Err(SmtDecodeError::Truncated {
            what: "state node key",
            needed: 10,
            actual: 9
        })
    );
}

#[test]
fn stored_node_layout_is_frozen() {
    let leaf = StoredNode::Leaf {
        key: Hash([0x11; 32]),
        value_hash: Hash([0x22; 32]),
    };
    assert_eq!(
        hex::encode(leaf.encode()),
        format!("01{}{}", "11".repeat(32), "22".repeat(32))
    );
    let internal = StoredNode::Internal {
        left: Child::Node {
            version: 3,
            hash: Hash([0x33; 32]),
            leaf: true,
        },
        right: Child::Node {
            version: 0x0405,
            hash: Hash([0x44; 32]),
            leaf: false,
        },
    };
    assert_eq!(
        hex::encode(internal.encode()),
        format!(
            "02010000000000000003{}020000000000000405{}",
            "33".repeat(32),
            "44".repeat(32)
        )
    );
    let half = StoredNode::Internal {
        left: Child::Empty,
        right: Child::Node {
            version: 9,
            hash: Hash([0x55; 32]),
            leaf: false,
        },
    };
    assert_eq!(
        hex::encode(half.encode()),
        format!("0200020000000000000009{}", "55".repeat(32))
    );
    for node in [&leaf, &internal, &half] {
        assert_eq!(StoredNode::decode(&node.encode()).as_ref(), Ok(node));
    }
    assert_eq!(Child::decode(&[0]), Ok(Child::Empty));
    assert_eq!(hex::encode(Child::Empty.encode()), "00");

    // Internal nodes that compaction never writes, unknown kinds, lengths.
    for (left, right) in [("00", "00"), ("00", "01"), ("01", "00")] {
        let full = |c: &str| {
            if c == "00" {
                c.to_string()
            } else {
                format!("{c}{}{}", "00".repeat(8), "66".repeat(32))
            }
        };
        let bytes = hex::decode(format!("02{}{}", full(left), full(right))).unwrap();
        assert_eq!(StoredNode::decode(&bytes), Err(SmtDecodeError::NotCompact));
    }
    assert_eq!(
        StoredNode::decode(&[0x03]),
        Err(SmtDecodeError::UnknownTag {
            what: "state tree node",
            tag: 0x03
        })
    );
    assert_eq!(
        StoredNode::decode(&[0x02, 0x00, 0x07]),
        Err(SmtDecodeError::UnknownTag {
            what: "state tree node",
            tag: 0x07
        })
    );
    assert_eq!(
        StoredNode::decode(&[]),
        Err(SmtDecodeError::Truncated {
            what: "state tree node",
            needed: 1,
            actual: 0
        })
    );
    assert_eq!(
        Child::decode(&[0x00, 0x00]),
        Err(SmtDecodeError::WrongLength {
            what: "state tree child",
            expected: 1,
            actual: 2
        })
    );
    assert_eq!(
        StoredNode::decode(&leaf.encode()[..64]),
        Err(SmtDecodeError::WrongLength {
            what: "state tree node",
            expected: 65,
            actual: 64
        })
    );
}
