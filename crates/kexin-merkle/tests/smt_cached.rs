//! The cached state tree (`CachedTree` over `MemNodes`) against the in-memory
//! `SparseMerkleTree`: same roots, values and proofs after every batch, whatever is flushed or
//! evicted between batches; flushes that store exactly the new tree's nodes; stale lists that
//! leave no stored node behind; and errors, not panics, for missing or corrupt nodes.

use std::collections::{BTreeMap, BTreeSet};

use kexin_merkle::*;
use proptest::prelude::*;

mod common;

use common::*;

/// `tree` over `nodes` answers exactly as `mem` for every key in `keys`.
fn assert_same_answers(tree: &CachedTree, nodes: &MemNodes, mem: &SparseMerkleTree, keys: &[Hash]) {
    assert_eq!(tree.root_hash(), mem.root());
    for key in keys {
        let value = tree.get(nodes, key).unwrap();
        assert_eq!(value, mem.get(key), "get {key}");
        if let Some(cached) = tree.get_cached(key) {
            assert_eq!(cached, value, "get_cached {key}");
        }
        let proof = tree.prove(nodes, key).unwrap();
        assert_eq!(proof, mem.prove(key), "prove {key}");
        verify_state_proof(tree.suite(), &tree.root_hash(), key, value.as_ref(), &proof).unwrap();
    }
}

/// What to do after a batch.
#[derive(Clone, Copy, Debug)]
enum Step {
    Nothing,
    Flush,
    /// Flush, then evict from this depth down.
    FlushEvict(u16),
    /// Flush the previous tree after the next batch was applied to it (a block prepared before
    /// its parent was flushed).
    FlushLate,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            Just(Step::Nothing),
            Just(Step::Flush),
            (0u16..12).prop_map(Step::FlushEvict),
            Just(Step::FlushLate),
        ],
        10,
    )
}

/// The test's store and what it knows about it.
struct Stored {
    suite: Suite,
    nodes: MemNodes,
    /// The last flushed root.
    root: Child,
    /// The stale nodes listed since the last flush.
    stale: BTreeSet<NodeKey>,
}

impl Stored {
    fn add_stale(&mut self, stale: Vec<NodeKey>) {
        for key in stale {
            assert!(
                self.nodes.get(&key).is_some(),
                "{key} listed stale but not stored"
            );
            assert!(self.stale.insert(key), "{key} listed stale twice");
        }
    }

    /// Flushes `tree` under `version`, checks what it wrote and what went stale, and deletes
    /// the stale nodes.
    fn flush(&mut self, tree: &CachedTree, version: u64) {
        let suite = self.suite;
        let before = reachable(suite, &self.nodes, &self.root);
        let written = tree.flush(version);
        assert!(written.iter().all(|(k, _)| k.version == version));
        for (key, node) in &written {
            assert!(
                self.nodes.insert(*key, node.clone()).is_none(),
                "{key} written twice"
            );
        }
        assert!(
            tree.flush(version + 1_000).is_empty(),
            "a second flush writes nothing"
        );
        let root = tree.stored_root().expect("flushed");
        assert_eq!(root.hash(), tree.root_hash());
        let after = reachable(suite, &self.nodes, &root);
        // Stale: exactly what the previous stored tree had and the new one lacks.
        let dropped: BTreeSet<NodeKey> = before.difference(&after).copied().collect();
        assert_eq!(self.stale, dropped);
        // Written: exactly what the new stored tree adds.
        let added: BTreeSet<NodeKey> = after.difference(&before).copied().collect();
        let written: BTreeSet<NodeKey> = written.iter().map(|(k, _)| *k).collect();
        assert_eq!(written, added);
        // Deleting the stale nodes leaves exactly the new tree: nothing leaks.
        for key in std::mem::take(&mut self.stale) {
            assert!(self.nodes.remove(&key).is_some());
        }
        assert_eq!(self.nodes.len(), after.len());
        self.root = root;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn cached_tree_matches_the_memory_tree(
        (suite, pool, batches) in scenario(),
        steps in steps(),
    ) {
        let mut probes = pool.clone();
        probes.extend(pool.iter().map(|k| { let mut k = *k; k.0[31] ^= 0x10; k }));
        let mut store = Stored {
            suite,
            nodes: MemNodes::new(),
            root: Child::Empty,
            stale: BTreeSet::new(),
        };
        let mut tree = CachedTree::empty(suite);
        let mut mem = SparseMerkleTree::new(suite);
        let mut late = false;
        for (i, batch) in batches.iter().enumerate() {
            let version = i as u64 + 1;
            let changes = changes(suite, &pool, batch);
            let prev_mem = mem.clone();
            mem = mem.apply(&changes);
            let mut applied = tree.apply(&store.nodes, &changes).unwrap();
            if late {
                // The parent is flushed only now, after the batch was applied to it: the
                // update is applied again to the flushed parent for its stale list, and both
                // give the same tree.
                store.flush(&tree, version * 2 - 1);
                assert_same_answers(&tree, &store.nodes, &prev_mem, &probes);
                let again = tree.apply(&store.nodes, &changes).unwrap();
                prop_assert_eq!(again.tree.root_hash(), applied.tree.root_hash());
                applied = again;
            }
            store.add_stale(applied.stale);
            tree = applied.tree;
            assert_same_answers(&tree, &store.nodes, &mem, &probes);

            let step = steps[i % steps.len()];
            late = matches!(step, Step::FlushLate);
            if matches!(step, Step::Nothing | Step::FlushLate) {
                continue;
            }
            store.flush(&tree, version * 2);
            if let Step::FlushEvict(depth) = step {
                tree = tree.evict(depth);
            }
            assert_same_answers(&tree, &store.nodes, &mem, &probes);
            // Reopened from its root, and read as a PersistedTree: the same answers.
            let reopened = CachedTree::stored(suite, store.root);
            prop_assert_eq!(reopened.nodes_in_memory(), 0);
            assert_same_answers(&reopened, &store.nodes, &mem, &probes);
            let persisted = PersistedTree::new(suite, store.root);
            for key in &probes {
                prop_assert_eq!(persisted.prove(&store.nodes, key).unwrap(), mem.prove(key));
            }
        }
    }
}

fn keys(suite: Suite, n: u32) -> Vec<Hash> {
    (0..n).map(|i| suite.hash(&i.to_be_bytes())).collect()
}

fn set(suite: Suite, keys: &[Hash], v: u8) -> Changes {
    keys.iter().map(|k| (*k, Some(value(suite, v)))).collect()
}

#[test]
fn many_updates_between_flushes_store_each_node_once() {
    let suite = Suite::Intl;
    let mut nodes = MemNodes::new();
    let ks = keys(suite, 64);
    let mut tree = CachedTree::empty(suite);
    let mut mem = SparseMerkleTree::new(suite);
    // 64 blocks of one insert each: the root is rewritten 64 times, stored once.
    for k in &ks {
        let changes: Changes = BTreeMap::from([(*k, Some(value(suite, 1)))]);
        let applied = tree.apply(&nodes, &changes).unwrap();
        assert!(
            applied.stale.is_empty(),
            "nothing stored yet, nothing stale"
        );
        tree = applied.tree;
        mem = mem.apply(&changes);
    }
    let written = tree.flush(64);
    for (key, node) in &written {
        nodes.insert(*key, node.clone());
    }
    let root = tree.stored_root().unwrap();
    assert_eq!(
        written.len(),
        reachable(suite, &nodes, &root).len(),
        "one write per node of the final tree"
    );
    let all = set(suite, &ks, 1);
    let fresh = PersistedTree::empty(suite)
        .apply(&MemNodes::new(), 1, &all)
        .unwrap();
    assert_eq!(
        written.len(),
        fresh.new_nodes.len(),
        "as the tree built at once"
    );
    // Evicting everything leaves nothing in memory and the same answers.
    let evicted = tree.evict(0);
    assert_eq!(evicted.nodes_in_memory(), 0);
    assert_eq!(evicted.get_cached(&ks[0]), None, "memory cannot tell");
    assert_eq!(tree.get_cached(&ks[0]), Some(Some(value(suite, 1))));
    assert_eq!(
        tree.nodes_in_memory(),
        written.len() as u64,
        "the old tree keeps its nodes"
    );
    assert_same_answers(&evicted, &nodes, &mem, &ks);
    // Evicting below depth 3 keeps the nodes above it.
    let above = reachable(suite, &nodes, &root)
        .iter()
        .filter(|k| k.depth < 3)
        .count();
    assert_eq!(tree.evict(3).nodes_in_memory(), above as u64);
    // An update through evicted subtrees loads what it needs and lists what it replaces.
    let applied = evicted.apply(&nodes, &set(suite, &ks[..1], 2)).unwrap();
    let stale = applied.stale;
    assert!(!stale.is_empty());
    assert!(stale.iter().all(|k| nodes.get(k).is_some()));
}

#[test]
fn missing_and_corrupt_nodes_are_errors() {
    let suite = Suite::Gm;
    let ks = keys(suite, 8);
    let mut nodes = MemNodes::new();
    let tree = CachedTree::empty(suite)
        .apply(&nodes, &set(suite, &ks, 1))
        .unwrap()
        .tree;
    for (key, node) in tree.flush(1) {
        nodes.insert(key, node);
    }
    let root = tree.stored_root().unwrap();
    let leaf = *nodes
        .iter()
        .find(|(_, n)| matches!(n, StoredNode::Leaf { .. }))
        .unwrap()
        .0;

    // A leaf whose value was changed on disk: its parent's hash no longer matches.
    let mut corrupt = nodes.clone();
    let Some(StoredNode::Leaf { key, .. }) = corrupt.get(&leaf).cloned() else {
        unreachable!()
    };
    corrupt.insert(
        leaf,
        StoredNode::Leaf {
            key,
            value_hash: value(suite, 9),
        },
    );
    let reopened = CachedTree::stored(suite, root);
    let err = reopened.get(&corrupt, &key).unwrap_err();
    assert!(
        matches!(err, SmtStoreError::HashMismatch(k) if k == leaf),
        "{err}"
    );
    let err = reopened
        .apply(&corrupt, &set(suite, &[key], 3))
        .unwrap_err();
    assert!(matches!(err, SmtStoreError::HashMismatch(_)), "{err}");

    // A missing node.
    let mut missing = nodes.clone();
    missing.remove(&leaf);
    let err = reopened.prove(&missing, &key).unwrap_err();
    assert!(
        matches!(err, SmtStoreError::MissingNode(k) if k == leaf),
        "{err}"
    );
    // The intact store still answers.
    assert!(reopened.get(&nodes, &key).unwrap().is_some());
}

#[test]
fn deleting_every_key_stales_every_stored_node() {
    for suite in [Suite::Intl, Suite::Gm] {
        let ks = keys(suite, 20);
        let mut nodes = MemNodes::new();
        let tree = CachedTree::empty(suite)
            .apply(&nodes, &set(suite, &ks, 1))
            .unwrap()
            .tree;
        for (key, node) in tree.flush(1) {
            nodes.insert(key, node);
        }
        let delete: Changes = ks.iter().map(|k| (*k, None)).collect();
        let applied = CachedTree::stored(suite, tree.stored_root().unwrap())
            .apply(&nodes, &delete)
            .unwrap();
        assert_eq!(applied.tree.root_hash(), SMT_EMPTY_HASH);
        assert_eq!(applied.tree.stored_root(), Some(Child::Empty));
        let stale: BTreeSet<NodeKey> = applied.stale.into_iter().collect();
        let all: BTreeSet<NodeKey> = nodes.iter().map(|(k, _)| *k).collect();
        assert_eq!(stale, all);
    }
}
