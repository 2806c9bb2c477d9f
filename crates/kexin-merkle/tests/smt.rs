//! The sparse Merkle state tree against a `BTreeMap` model and a naive from-scratch root.

use std::collections::BTreeMap;

use kexin_merkle::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Reference: the root of a key set computed from scratch, straight from the definition.
// ---------------------------------------------------------------------------------------------

fn bit(key: &Hash, i: usize) -> u8 {
    (key.0[i / 8] >> (7 - i % 8)) & 1
}

fn ref_leaf(suite: Suite, k: &Hash, v: &Hash) -> Hash {
    let mut pre = vec![0x02u8];
    pre.extend_from_slice(&k.0);
    pre.extend_from_slice(&v.0);
    suite.hash(&pre)
}

fn ref_internal(suite: Suite, l: &Hash, r: &Hash) -> Hash {
    let mut pre = vec![0x03u8];
    pre.extend_from_slice(&l.0);
    pre.extend_from_slice(&r.0);
    suite.hash(&pre)
}

/// The root of the subtree at `depth` holding `entries` (all sharing the first `depth` bits).
fn ref_root_at(suite: Suite, depth: usize, entries: &[(Hash, Hash)]) -> Hash {
    match entries.len() {
        0 => Hash([0; 32]),
        1 => ref_leaf(suite, &entries[0].0, &entries[0].1),
        _ => {
            let left: Vec<_> = entries
                .iter()
                .filter(|(k, _)| bit(k, depth) == 0)
                .copied()
                .collect();
            let right: Vec<_> = entries
                .iter()
                .filter(|(k, _)| bit(k, depth) == 1)
                .copied()
                .collect();
            ref_internal(
                suite,
                &ref_root_at(suite, depth + 1, &left),
                &ref_root_at(suite, depth + 1, &right),
            )
        }
    }
}

fn ref_root(suite: Suite, model: &BTreeMap<Hash, Hash>) -> Hash {
    let entries: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
    ref_root_at(suite, 0, &entries)
}

// ---------------------------------------------------------------------------------------------
// Strategies: a pool of keys that share long prefixes (so trees get deep), and batches of
// changes referring to pool keys (so updates and deletes hit existing keys).
// ---------------------------------------------------------------------------------------------

fn key_strategy() -> impl Strategy<Value = Hash> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(Hash),
        // Differ only in the last byte: leaves down to depth 256.
        any::<u8>().prop_map(|b| {
            let mut k = [0u8; 32];
            k[31] = b;
            Hash(k)
        }),
        // Share a random-length prefix of ones with everything else in this family.
        (0usize..256, any::<[u8; 32]>()).prop_map(|(prefix, tail)| {
            let mut k = tail;
            for i in 0..prefix {
                k[i / 8] |= 0x80 >> (i % 8);
            }
            Hash(k)
        }),
        // A random single bit set.
        (0usize..256).prop_map(|i| {
            let mut k = [0u8; 32];
            k[i / 8] = 0x80 >> (i % 8);
            Hash(k)
        }),
    ]
}

type Batch = Vec<(usize, Option<u8>)>;

fn scenario() -> impl Strategy<Value = (Suite, Vec<Hash>, Vec<Batch>)> {
    (
        prop_oneof![Just(Suite::Intl), Just(Suite::Gm)],
        prop::collection::vec(key_strategy(), 1..40),
        prop::collection::vec(
            prop::collection::vec(
                (any::<usize>(), prop::option::weighted(0.7, any::<u8>())),
                0..30,
            ),
            1..8,
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

fn value(suite: Suite, v: u8) -> Hash {
    suite.hash(&[b'v', v])
}

fn changes(suite: Suite, pool: &[Hash], batch: &Batch) -> BTreeMap<Hash, Option<Hash>> {
    // Later entries for the same key win, as in a block.
    batch
        .iter()
        .map(|(i, v)| (pool[*i], v.map(|v| value(suite, v))))
        .collect()
}

fn flip(h: &Hash, byte: usize, mask: u8) -> Hash {
    let mut h = *h;
    h.0[byte] ^= mask;
    h
}

/// Every pool key's proof verifies as what the model says, and every false claim fails.
fn check_proofs(tree: &SparseMerkleTree, model: &BTreeMap<Hash, Hash>, pool: &[Hash]) {
    let suite = tree.suite();
    let root = tree.root();
    for key in pool {
        let proof = tree.prove(key);
        assert!(proof.siblings.len() <= SMT_MAX_DEPTH);
        match model.get(key) {
            Some(v) => {
                verify_state_proof(suite, &root, key, Some(v), &proof).unwrap();
                assert_eq!(proof.leaf.as_ref().map(|l| l.key), Some(*key));
                assert!(matches!(
                    verify_state_proof(suite, &root, key, Some(&flip(v, 3, 1)), &proof),
                    Err(ProofError::ValueMismatch { .. })
                ));
                assert!(matches!(
                    verify_state_proof(suite, &root, key, None, &proof),
                    Err(ProofError::KeyPresent { .. })
                ));
            }
            None => {
                verify_state_proof(suite, &root, key, None, &proof).unwrap();
                let claimed = value(suite, 0);
                assert!(verify_state_proof(suite, &root, key, Some(&claimed), &proof).is_err());
                if let Some(leaf) = &proof.leaf {
                    // Absence by another leaf on the key's path: a real entry of the model.
                    assert_ne!(leaf.key, *key);
                    assert_eq!(model.get(&leaf.key), Some(&leaf.value_hash));
                }
            }
        }
        let claim = model.get(key);
        // Every sibling of short paths; a spread (always including the first and last) of long
        // ones, which are mostly empty-subtree siblings.
        let n = proof.siblings.len();
        let step = n.div_ceil(24).max(1);
        for i in (0..n).filter(|i| i % step == 0 || *i + 1 == n) {
            let mut bad = proof.clone();
            bad.siblings[i] = flip(&bad.siblings[i], i % 32, 0x40);
            assert!(matches!(
                verify_state_proof(suite, &root, key, claim, &bad),
                Err(ProofError::RootMismatch { .. })
            ));
        }
        if let Some(leaf) = &proof.leaf {
            let mut bad = proof.clone();
            bad.leaf = Some(ProofLeaf {
                key: leaf.key,
                value_hash: flip(&leaf.value_hash, 0, 1),
            });
            let bad_claim = claim.map(|_| flip(&leaf.value_hash, 0, 1));
            assert!(verify_state_proof(suite, &root, key, bad_claim.as_ref(), &bad).is_err());
        }
        assert!(verify_state_proof(suite, &flip(&root, 31, 1), key, claim, &proof).is_err());
        // Dropping or adding a level breaks the path.
        if !proof.siblings.is_empty() {
            let mut bad = proof.clone();
            bad.siblings.pop();
            assert!(verify_state_proof(suite, &root, key, claim, &bad).is_err());
        }
        if proof.siblings.len() < SMT_MAX_DEPTH {
            let mut bad = proof.clone();
            bad.siblings.push(Hash::ZERO);
            assert!(verify_state_proof(suite, &root, key, claim, &bad).is_err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn tree_matches_the_model((suite, pool, batches) in scenario()) {
        let mut tree = SparseMerkleTree::new(suite);
        let mut model: BTreeMap<Hash, Hash> = BTreeMap::new();
        prop_assert_eq!(tree.root(), Hash::ZERO);
        for batch in &batches {
            let changes = changes(suite, &pool, batch);
            let (old_tree, old_model, old_root) = (tree.clone(), model.clone(), tree.root());
            let old_proofs: Vec<StateProof> = pool.iter().map(|k| tree.prove(k)).collect();

            tree = tree.apply(&changes);
            for (k, v) in &changes {
                match v {
                    Some(v) => { model.insert(*k, *v); }
                    None => { model.remove(k); }
                }
            }

            prop_assert_eq!(tree.root(), ref_root(suite, &model));
            prop_assert_eq!(tree.len(), model.len() as u64);
            prop_assert_eq!(tree.is_empty(), model.is_empty());
            for k in &pool {
                prop_assert_eq!(tree.get(k), model.get(k).copied());
            }
            prop_assert_eq!(tree.iter().collect::<Vec<_>>(), model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
            check_proofs(&tree, &model, &pool);

            // The old tree is untouched: same root, same contents, old proofs still verify.
            prop_assert_eq!(old_tree.root(), old_root);
            prop_assert_eq!(old_root, ref_root(suite, &old_model));
            for (k, proof) in pool.iter().zip(&old_proofs) {
                prop_assert_eq!(old_tree.get(k), old_model.get(k).copied());
                prop_assert_eq!(&old_tree.prove(k), proof);
                prop_assert!(verify_state_proof(suite, &old_root, k, old_model.get(k), proof).is_ok());
            }
        }

        // Order independence: the final set built in one batch, one key at a time in reverse,
        // and by inserting everything in the pool then deleting what is absent.
        let all: BTreeMap<Hash, Option<Hash>> = model.iter().map(|(k, v)| (*k, Some(*v))).collect();
        let at_once = SparseMerkleTree::new(suite).apply(&all);
        prop_assert_eq!(at_once.root(), tree.root());
        let mut one_by_one = SparseMerkleTree::new(suite);
        for (k, v) in model.iter().rev() {
            one_by_one = one_by_one.apply(&BTreeMap::from([(*k, Some(*v))]));
        }
        prop_assert_eq!(one_by_one.root(), tree.root());
        let everything: BTreeMap<Hash, Option<Hash>> = pool.iter().map(|k| (*k, Some(value(suite, 9)))).collect();
        let fix: BTreeMap<Hash, Option<Hash>> = pool.iter().map(|k| (*k, model.get(k).copied())).collect();
        let detour = SparseMerkleTree::new(suite).apply(&everything).apply(&fix);
        prop_assert_eq!(detour.root(), tree.root());

        // Deleting everything returns to the empty root.
        let delete_all: BTreeMap<Hash, Option<Hash>> = pool.iter().map(|k| (*k, None)).collect();
        let empty = tree.apply(&delete_all);
        prop_assert_eq!(empty.root(), Hash::ZERO);
        prop_assert_eq!(empty.len(), 0);
        prop_assert!(empty.is_empty());
        prop_assert_eq!(tree.root(), ref_root(suite, &model));
    }

    #[test]
    fn batch_splits_do_not_matter(
        suite in prop_oneof![Just(Suite::Intl), Just(Suite::Gm)],
        entries in prop::collection::btree_map(key_strategy(), any::<u8>(), 0..60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let items: Vec<(Hash, Option<Hash>)> = entries.iter().map(|(k, v)| (*k, Some(value(suite, *v)))).collect();
        let whole = SparseMerkleTree::new(suite).apply(&items.iter().copied().collect());
        // Split the (key-ordered) items at random points and apply the pieces last-first.
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(items.len() + 1)).collect();
        points.extend([0, items.len()]);
        points.sort_unstable();
        let mut tree = SparseMerkleTree::new(suite);
        for w in points.windows(2).rev() {
            tree = tree.apply(&items[w[0]..w[1]].iter().copied().collect());
        }
        prop_assert_eq!(tree.root(), whole.root());
        let model: BTreeMap<Hash, Hash> = items.iter().map(|(k, v)| (*k, v.unwrap())).collect();
        prop_assert_eq!(whole.root(), ref_root(suite, &model));
    }
}

#[test]
fn empty_and_single_key_trees() {
    let suite = Suite::Intl;
    let tree = SparseMerkleTree::new(suite);
    let key = suite.hash(b"k");
    assert_eq!(tree.root(), SMT_EMPTY_HASH);
    assert!(tree.is_empty());
    assert_eq!(tree.len(), 0);
    assert_eq!(tree.get(&key), None);
    let proof = tree.prove(&key);
    assert_eq!(
        proof,
        StateProof {
            siblings: vec![],
            leaf: None
        }
    );
    verify_state_proof(suite, &tree.root(), &key, None, &proof).unwrap();
    assert_eq!(
        verify_state_proof(suite, &tree.root(), &key, Some(&key), &proof),
        Err(ProofError::KeyAbsent { key })
    );

    // One key: the root is its leaf, whatever the key's bits.
    let v = suite.hash(b"v");
    let one = tree.apply(&BTreeMap::from([(key, Some(v))]));
    assert_eq!(one.root(), smt_leaf_hash(suite, &key, &v));
    assert_eq!(one.root(), ref_leaf(suite, &key, &v));
    let proof = one.prove(&key);
    assert!(proof.siblings.is_empty());
    verify_state_proof(suite, &one.root(), &key, Some(&v), &proof).unwrap();
    // Any other key is absent by that leaf (zero shared bits needed at depth 0).
    let other = suite.hash(b"other");
    let absent = one.prove(&other);
    verify_state_proof(suite, &one.root(), &other, None, &absent).unwrap();
    assert_eq!(
        verify_state_proof(suite, &one.root(), &other, Some(&v), &absent),
        Err(ProofError::LeafKeyMismatch {
            key: other,
            leaf_key: key
        })
    );
    // Deleting an absent key changes nothing (and shares the root node).
    let same = one.apply(&BTreeMap::from([(other, None)]));
    assert_eq!(same.root(), one.root());
    assert_eq!(same.len(), 1);
}

#[test]
fn keys_differing_only_in_the_last_bit_sit_at_depth_256() {
    let suite = Suite::Gm;
    let a = Hash([0u8; 32]);
    let mut b = a;
    b.0[31] = 1;
    let mut c = a;
    c.0[31] = 2;
    let (va, vb) = (suite.hash(b"a"), suite.hash(b"b"));
    let tree = SparseMerkleTree::new(suite).apply(&BTreeMap::from([(a, Some(va)), (b, Some(vb))]));
    let pa = tree.prove(&a);
    assert_eq!(pa.siblings.len(), 256);
    assert_eq!(pa.siblings[255], smt_leaf_hash(suite, &b, &vb));
    assert!(pa.siblings[..255].iter().all(|s| *s == SMT_EMPTY_HASH));
    verify_state_proof(suite, &tree.root(), &a, Some(&va), &pa).unwrap();
    verify_state_proof(suite, &tree.root(), &b, Some(&vb), &tree.prove(&b)).unwrap();
    // c = ...10 diverges from a and b at bit 254: absent by an empty subtree at depth 255.
    let pc = tree.prove(&c);
    assert_eq!(pc.siblings.len(), 255);
    assert_eq!(pc.leaf, None);
    verify_state_proof(suite, &tree.root(), &c, None, &pc).unwrap();

    let mut too_long = pa.clone();
    too_long.siblings.push(Hash::ZERO);
    assert_eq!(
        verify_state_proof(suite, &tree.root(), &a, Some(&va), &too_long),
        Err(ProofError::TooManySiblings { actual: 257 })
    );
    // Removing b lifts a back to the root.
    let only_a = tree.apply(&BTreeMap::from([(b, None)]));
    assert_eq!(only_a.root(), smt_leaf_hash(suite, &a, &va));
    assert!(only_a.prove(&a).siblings.is_empty());
}

#[test]
fn absence_by_a_leaf_off_the_key_path_is_rejected() {
    let suite = Suite::Intl;
    let k1 = Hash([0x00; 32]); // path starts 0...
    let k2 = Hash([0xff; 32]); // path starts 1...
    let k3 = {
        let mut k = [0xff; 32];
        k[0] = 0xbf; // 10111111...: shares bit 0 with k2, not bit 1
        Hash(k)
    };
    let v = suite.hash(b"v");
    let tree = SparseMerkleTree::new(suite).apply(&BTreeMap::from([
        (k1, Some(v)),
        (k2, Some(v)),
        (k3, Some(v)),
    ]));
    let root = tree.root();
    // An honest proof for k2 ends at depth 2; reusing k1's leaf (depth 1) for an absent key
    // starting with 1 must fail the prefix check.
    let mut absent = Hash([0xff; 32]);
    absent.0[31] = 0xfe;
    let honest = tree.prove(&absent);
    verify_state_proof(suite, &root, &absent, None, &honest).unwrap();
    let forged = StateProof {
        siblings: vec![tree.prove(&k1).siblings[0]],
        leaf: Some(ProofLeaf {
            key: k1,
            value_hash: v,
        }),
    };
    assert_eq!(
        verify_state_proof(suite, &root, &absent, None, &forged),
        Err(ProofError::LeafPrefixMismatch {
            key: absent,
            leaf_key: k1,
            depth: 1
        })
    );
}

#[test]
fn pinned_roots_for_outside_verifiers() {
    // Independently computed with Python hashlib (SHA-256 / OpenSSL SM3) from the documented
    // preimages: keys H("k0")..H("k4"), values H("v0")..H("v4").
    for (suite, expected) in [
        (
            Suite::Intl,
            "9b85f3e5fac00e6a09447f83ad1c7997f11684081d1b1f9c58ff7bee77613fa5",
        ),
        (
            Suite::Gm,
            "70a7c244faec8fa9cdecaca520ecd02bffaeacc4e22f3ae2a93f2b0056728078",
        ),
    ] {
        let changes: BTreeMap<Hash, Option<Hash>> = (0..5)
            .map(|i| {
                (
                    suite.hash(format!("k{i}").as_bytes()),
                    Some(suite.hash(format!("v{i}").as_bytes())),
                )
            })
            .collect();
        let tree = SparseMerkleTree::new(suite).apply(&changes);
        assert_eq!(tree.root().to_hex(), expected, "{suite}");
    }
}

#[test]
fn state_proofs_serialize_as_hex_json() {
    let suite = Suite::Intl;
    let key = Hash([0x11; 32]);
    let v = Hash([0x22; 32]);
    let tree = SparseMerkleTree::new(suite).apply(&BTreeMap::from([
        (key, Some(v)),
        (Hash([0x91; 32]), Some(v)),
    ]));
    let proof = tree.prove(&key);
    let json = serde_json::to_string(&proof).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"siblings":["{}"],"leaf":{{"key":"{}","value_hash":"{}"}}}}"#,
            smt_leaf_hash(suite, &Hash([0x91; 32]), &v),
            "11".repeat(32),
            "22".repeat(32)
        )
    );
    assert_eq!(serde_json::from_str::<StateProof>(&json).unwrap(), proof);
    // 0x11.. and 0x31.. share bits 00, so 0x55.. (bits 01) ends in an empty subtree.
    let three = tree.apply(&BTreeMap::from([(Hash([0x31; 32]), Some(v))]));
    let absent = three.prove(&Hash([0x55; 32]));
    assert_eq!(absent.leaf, None);
    assert_eq!(absent.siblings.len(), 2);
    let json = serde_json::to_string(&absent).unwrap();
    assert!(json.ends_with(r#"],"leaf":null}"#), "{json}");
    verify_state_proof(suite, &three.root(), &Hash([0x55; 32]), None, &absent).unwrap();
}

#[test]
fn trees_are_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<SparseMerkleTree>();
    check::<MemoryLog>();
    check::<LogAccumulator>();
}

#[test]
fn large_batches_on_large_trees() {
    let suite = Suite::Intl;
    let base: BTreeMap<Hash, Option<Hash>> = (0u32..20_000)
        .map(|i| {
            (
                suite.hash(&i.to_le_bytes()),
                Some(suite.hash(&i.to_be_bytes())),
            )
        })
        .collect();
    let tree = SparseMerkleTree::new(suite).apply(&base);
    assert_eq!(tree.len(), 20_000);
    let mut model: BTreeMap<Hash, Hash> = base.iter().map(|(k, v)| (*k, v.unwrap())).collect();
    // Mixed batch: updates, deletes, inserts, deletes of absent keys.
    let batch: BTreeMap<Hash, Option<Hash>> = (10_000u32..14_096)
        .map(|i| {
            let k = suite.hash(&i.to_le_bytes());
            match i % 4 {
                0 => (k, None),
                1 => (k, Some(Hash([1; 32]))),
                2 => (
                    suite.hash(&(i + 1_000_000).to_le_bytes()),
                    Some(Hash([2; 32])),
                ),
                _ => (suite.hash(&(i + 2_000_000).to_le_bytes()), None),
            }
        })
        .collect();
    let next = tree.apply(&batch);
    for (k, v) in &batch {
        match v {
            Some(v) => {
                model.insert(*k, *v);
            }
            None => {
                model.remove(k);
            }
        }
    }
    assert_eq!(next.len(), model.len() as u64);
    assert_eq!(next.root(), ref_root(suite, &model));
    assert_eq!(tree.len(), 20_000);
    for (k, v) in batch.iter().take(200) {
        let p = next.prove(k);
        verify_state_proof(suite, &next.root(), k, v.as_ref(), &p).unwrap();
    }
}
