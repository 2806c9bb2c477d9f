//! The RFC 6962 log against a naive reference written straight from RFC 6962 §2.1, against the
//! Certificate Transparency test vectors, and against tampering.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use kexin_merkle::*;
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------------------------
// Reference: RFC 6962 §2.1 definitions, recursive, over leaf hashes.
// ---------------------------------------------------------------------------------------------

fn largest_pow2_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn largest_pow2_below_u64(n: u64) -> u64 {
    let mut k = 1u64;
    while k.checked_mul(2).is_some_and(|d| d < n) {
        k *= 2;
    }
    k
}

fn ref_node(suite: Suite, l: &Hash, r: &Hash) -> Hash {
    let mut pre = vec![0x01u8];
    pre.extend_from_slice(&l.0);
    pre.extend_from_slice(&r.0);
    suite.hash(&pre)
}

fn ref_mth(suite: Suite, d: &[Hash]) -> Hash {
    match d.len() {
        0 => suite.hash(b""),
        1 => d[0],
        n => {
            let k = largest_pow2_below(n);
            ref_node(suite, &ref_mth(suite, &d[..k]), &ref_mth(suite, &d[k..]))
        }
    }
}

fn ref_path(suite: Suite, m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = largest_pow2_below(n);
    if m < k {
        let mut p = ref_path(suite, m, &d[..k]);
        p.push(ref_mth(suite, &d[k..]));
        p
    } else {
        let mut p = ref_path(suite, m - k, &d[k..]);
        p.push(ref_mth(suite, &d[..k]));
        p
    }
}

fn ref_subproof(suite: Suite, m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![ref_mth(suite, d)] };
    }
    let k = largest_pow2_below(n);
    if m <= k {
        let mut p = ref_subproof(suite, m, &d[..k], b);
        p.push(ref_mth(suite, &d[k..]));
        p
    } else {
        let mut p = ref_subproof(suite, m - k, &d[k..], false);
        p.push(ref_mth(suite, &d[..k]));
        p
    }
}

/// PROOF(m, D[n]) for 0 < m < n; empty for m == 0 or m == n (Kexin's convention).
fn ref_proof(suite: Suite, m: usize, d: &[Hash]) -> Vec<Hash> {
    if m == 0 || m == d.len() {
        vec![]
    } else {
        ref_subproof(suite, m, d, true)
    }
}

/// The left/right decisions of the PATH recursion: the combining function an inclusion
/// verifier applies depends on these alone.
fn path_trace(m: u64, n: u64) -> Vec<bool> {
    let (mut m, mut n, mut t) = (m, n, vec![]);
    while n > 1 {
        let k = largest_pow2_below_u64(n);
        if m < k {
            t.push(false);
            n = k;
        } else {
            t.push(true);
            m -= k;
            n -= k;
        }
    }
    t
}

/// The decisions of the SUBPROOF recursion plus the final `b` flag (0 < m < n).
fn proof_trace(m: u64, n: u64) -> (Vec<bool>, bool) {
    let (mut m, mut n, mut b, mut t) = (m, n, true, vec![]);
    while m != n {
        let k = largest_pow2_below_u64(n);
        if m <= k {
            t.push(false);
            n = k;
        } else {
            t.push(true);
            m -= k;
            n -= k;
            b = false;
        }
    }
    (t, b)
}

// ---------------------------------------------------------------------------------------------
// A node store filled from `LogAccumulator::append`, counting reads.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Missing(u8, u64);

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing node ({}, {})", self.0, self.1)
    }
}

impl std::error::Error for Missing {}

#[derive(Default)]
struct Store {
    nodes: BTreeMap<(u8, u64), Hash>,
    reads: Cell<usize>,
}

impl NodeSource for Store {
    type Error = Missing;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Missing> {
        self.reads.set(self.reads.get() + 1);
        self.nodes
            .get(&(level, index))
            .copied()
            .ok_or(Missing(level, index))
    }
}

impl Store {
    fn take_reads(&self) -> usize {
        self.reads.replace(0)
    }
}

/// Leaves, the store, and the reference root of every prefix.
fn build(suite: Suite, seed: u64, n: usize) -> (Vec<Hash>, Store, Vec<Hash>) {
    let leaves: Vec<Hash> = (0..n as u64)
        .map(|i| leaf_hash(suite, &[seed.to_be_bytes(), i.to_be_bytes()].concat()))
        .collect();
    let mut acc = LogAccumulator::new(suite);
    let mut store = Store::default();
    let mut roots = vec![ref_mth(suite, &[])];
    assert_eq!(acc.root(), roots[0]);
    for (i, leaf) in leaves.iter().enumerate() {
        for (level, index, h) in acc.append(*leaf) {
            assert!(
                store.nodes.insert((level, index), h).is_none(),
                "node emitted twice"
            );
        }
        let r = ref_mth(suite, &leaves[..=i]);
        assert_eq!(acc.root(), r, "accumulator root at size {}", i + 1);
        assert_eq!(acc.size(), i as u64 + 1);
        roots.push(r);
    }
    (leaves, store, roots)
}

fn bit_len(n: u64) -> usize {
    (64 - n.leading_zeros()) as usize
}

fn flip(h: &Hash, byte: usize, mask: u8) -> Hash {
    let mut h = *h;
    h.0[byte] ^= mask;
    h
}

/// Checks one inclusion proof every way: generation against the reference, verification,
/// tampering with every byte, the leaf, the root, and the index and size.
fn check_inclusion(suite: Suite, leaves: &[Hash], store: &Store, roots: &[Hash], m: u64, n: u64) {
    let d = &leaves[..n as usize];
    store.take_reads();
    let proof = prove_inclusion(suite, store, m, n).unwrap();
    let reads = store.take_reads();
    assert!(reads <= 2 * bit_len(n) + 1, "{reads} reads for ({m}, {n})");
    assert_eq!(
        proof.path,
        ref_path(suite, m as usize, d),
        "path ({m}, {n})"
    );
    assert_eq!(proof.leaf_index, m);
    assert_eq!(proof.tree_size, n);
    assert_eq!(proof, inclusion_proof_from_leaves(suite, d, m).unwrap());
    let leaf = &leaves[m as usize];
    let root = &roots[n as usize];
    verify_inclusion(suite, leaf, &proof, root).unwrap();

    for (i, _) in proof.path.iter().enumerate() {
        for byte in 0..32 {
            let mut bad = proof.clone();
            bad.path[i] = flip(&bad.path[i], byte, 1 << (byte % 8));
            assert!(matches!(
                verify_inclusion(suite, leaf, &bad, root),
                Err(ProofError::RootMismatch { .. })
            ));
        }
    }
    for byte in [0, 13, 31] {
        assert!(verify_inclusion(suite, &flip(leaf, byte, 0x80), &proof, root).is_err());
        assert!(verify_inclusion(suite, leaf, &proof, &flip(root, byte, 0x01)).is_err());
    }
    let mut longer = proof.clone();
    longer.path.push(*root);
    assert!(matches!(
        verify_inclusion(suite, leaf, &longer, root),
        Err(ProofError::WrongPathLength { .. })
    ));
    if !proof.path.is_empty() {
        let mut shorter = proof.clone();
        shorter.path.pop();
        assert!(verify_inclusion(suite, leaf, &shorter, root).is_err());
        let mut prepended = proof.clone();
        prepended.path.insert(0, *root);
        assert!(verify_inclusion(suite, leaf, &prepended, root).is_err());
    }

    let mut alternatives = vec![
        (m.wrapping_sub(1), n),
        (m + 1, n),
        (m ^ 1, n),
        (m ^ 2, n),
        (m, n - 1),
        (m, n + 1),
        (m, n * 2),
        (m, n / 2),
        (m, n + 7),
        (m + n, 2 * n),
        (m, u64::MAX),
    ];
    alternatives.retain(|alt| *alt != (m, n));
    for (m2, n2) in alternatives {
        let bad = InclusionProof {
            leaf_index: m2,
            tree_size: n2,
            path: proof.path.clone(),
        };
        let result = verify_inclusion(suite, leaf, &bad, root);
        // Only an index and size whose tree has the same left/right shape along the path can
        // reuse the proof (RFC 6962 roots do not commit to the size; signed tree heads do).
        let same_shape = m2 < n2 && path_trace(m2, n2) == path_trace(m, n);
        assert_eq!(
            result.is_ok(),
            same_shape,
            "({m}, {n}) claimed as ({m2}, {n2})"
        );
        if m2 >= n2 {
            assert!(matches!(result, Err(ProofError::IndexOutOfRange { .. })));
        }
    }
}

/// Checks one consistency proof every way.
fn check_consistency(suite: Suite, leaves: &[Hash], store: &Store, roots: &[Hash], m: u64, n: u64) {
    let d = &leaves[..n as usize];
    store.take_reads();
    let proof = prove_consistency(suite, store, m, n).unwrap();
    let reads = store.take_reads();
    assert!(reads <= 3 * bit_len(n) + 2, "{reads} reads for ({m}, {n})");
    assert_eq!(
        proof.path,
        ref_proof(suite, m as usize, d),
        "proof ({m}, {n})"
    );
    assert_eq!((proof.old_size, proof.new_size), (m, n));
    assert_eq!(proof, consistency_proof_from_leaves(suite, d, m).unwrap());
    let (old_root, new_root) = (&roots[m as usize], &roots[n as usize]);
    verify_consistency(suite, old_root, new_root, &proof).unwrap();

    for (i, _) in proof.path.iter().enumerate() {
        for byte in 0..32 {
            let mut bad = proof.clone();
            bad.path[i] = flip(&bad.path[i], byte, 0x10);
            assert!(
                verify_consistency(suite, old_root, new_root, &bad).is_err(),
                "({m}, {n}) element {i} byte {byte}"
            );
        }
    }
    for byte in [0, 31] {
        let bad_old = flip(old_root, byte, 4);
        let bad_new = flip(new_root, byte, 4);
        assert!(verify_consistency(suite, &bad_old, new_root, &proof).is_err());
        if m > 0 {
            assert!(verify_consistency(suite, old_root, &bad_new, &proof).is_err());
        }
    }
    if m != n && m > 0 {
        assert!(verify_consistency(suite, new_root, old_root, &proof).is_err());
    }
    let mut longer = proof.clone();
    longer.path.push(*new_root);
    assert!(verify_consistency(suite, old_root, new_root, &longer).is_err());
    if !proof.path.is_empty() {
        let mut shorter = proof.clone();
        shorter.path.pop();
        assert!(verify_consistency(suite, old_root, new_root, &shorter).is_err());
        let mut prepended = proof.clone();
        prepended.path.insert(0, proof.path[0]);
        assert!(verify_consistency(suite, old_root, new_root, &prepended).is_err());
    }

    let mut alternatives = vec![
        (m.wrapping_sub(1), n),
        (m + 1, n),
        (m ^ 2, n),
        (m, n - 1),
        (m, n + 1),
        (m, n * 2),
        (m, n / 2),
        (0, n),
        (n, n),
        (m + n, 2 * n),
    ];
    alternatives.retain(|alt| *alt != (m, n));
    for (m2, n2) in alternatives {
        let bad = ConsistencyProof {
            old_size: m2,
            new_size: n2,
            path: proof.path.clone(),
        };
        let result = verify_consistency(suite, old_root, new_root, &bad);
        let expected_ok = if m == 0 || m == n {
            // An empty path: only other trivial claims can pass, and they need their own roots.
            (m2 == 0 && m == 0 && m2 <= n2) || (m2 == n2 && m2 > 0 && old_root == new_root)
        } else {
            0 < m2 && m2 < n2 && proof_trace(m2, n2) == proof_trace(m, n)
        };
        assert_eq!(
            result.is_ok(),
            expected_ok,
            "({m}, {n}) claimed as ({m2}, {n2}): {result:?}"
        );
    }
}

fn suite_strategy() -> impl Strategy<Value = Suite> {
    prop_oneof![Just(Suite::Intl), Just(Suite::Gm)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn log_matches_the_rfc_6962_reference(
        suite in suite_strategy(),
        seed in any::<u64>(),
        n in 1usize..300,
        picks in prop::collection::vec((any::<Index>(), any::<Index>()), 1..6),
    ) {
        let (leaves, store, roots) = build(suite, seed, n);
        prop_assert_eq!(root_from_leaves(suite, &leaves), roots[n]);
        for (size, root) in roots.iter().enumerate() {
            store.take_reads();
            prop_assert_eq!(&root_at(suite, &store, size as u64).unwrap(), root);
            prop_assert_eq!(store.take_reads(), (size as u64).count_ones() as usize);
        }
        for (a, b) in picks {
            let size = 1 + a.index(n) as u64;
            let m = b.index(size as usize) as u64;
            check_inclusion(suite, &leaves, &store, &roots, m, size);
            let old = b.index(size as usize + 1) as u64;
            check_consistency(suite, &leaves, &store, &roots, old, size);
        }
    }

    #[test]
    fn accumulator_round_trips_through_peaks(seed in any::<u64>(), n in 0usize..200) {
        let suite = Suite::Intl;
        let (_, store, roots) = build(suite, seed, n);
        for size in 0..=n as u64 {
            let acc = LogAccumulator::load(suite, &store, size).unwrap();
            prop_assert_eq!(acc.root(), roots[size as usize]);
            prop_assert_eq!(acc.peaks().len(), size.count_ones() as usize);
            let again = LogAccumulator::from_peaks(suite, size, acc.peaks().to_vec()).unwrap();
            prop_assert_eq!(&again, &acc);
        }
    }
}

#[test]
fn every_proof_of_small_logs_matches_the_reference() {
    for suite in [Suite::Intl, Suite::Gm] {
        let (leaves, store, roots) = build(suite, 7, 40);
        for n in 1..=40u64 {
            for m in 0..n {
                check_inclusion(suite, &leaves, &store, &roots, m, n);
            }
            for m in 0..=n {
                check_consistency(suite, &leaves, &store, &roots, m, n);
            }
        }
    }
}

#[test]
fn large_log_proofs_read_logarithmically_many_nodes() {
    let suite = Suite::Intl;
    let mut log = MemoryLog::new(suite);
    let mut acc = LogAccumulator::new(suite);
    let mut store = Store::default();
    let n: u64 = 100_003;
    for i in 0..n {
        let leaf = leaf_hash(suite, &i.to_le_bytes());
        assert_eq!(log.append(leaf), i);
        for (level, index, h) in acc.append(leaf) {
            store.nodes.insert((level, index), h);
        }
    }
    assert_eq!(log.root(), acc.root());
    for size in [1, 2, 3, 65_536, 65_537, 99_999, 100_000, n] {
        let root = root_at(suite, &store, size).unwrap();
        assert_eq!(log.root_at(size).unwrap(), root);
        for m in [0, size / 3, size / 2, size.saturating_sub(2), size - 1] {
            store.take_reads();
            let proof = prove_inclusion(suite, &store, m, size).unwrap();
            let reads = store.take_reads();
            assert!(reads <= 2 * bit_len(size) + 1, "{reads} reads");
            assert_eq!(proof, log.prove_inclusion(m, size).unwrap());
            let leaf = log.leaf(m).unwrap();
            verify_inclusion(suite, &leaf, &proof, &root).unwrap();
        }
        for old in [0, 1, size / 3, size / 2, size - 1, size] {
            store.take_reads();
            let proof = prove_consistency(suite, &store, old, size).unwrap();
            let reads = store.take_reads();
            assert!(reads <= 3 * bit_len(size) + 2, "{reads} reads");
            let old_root = root_at(suite, &store, old).unwrap();
            verify_consistency(suite, &old_root, &root, &proof).unwrap();
            assert_eq!(proof, log.prove_consistency(old, size).unwrap());
        }
    }
    // Asking beyond what is stored is a source error, not a wrong proof.
    assert!(matches!(
        log.prove_inclusion(0, n + 1),
        Err(LogError::Source(NodeNotFound { .. }))
    ));
    assert!(matches!(
        prove_consistency(suite, &store, 5, n + 1),
        Err(LogError::Source(Missing(..)))
    ));
}

// ---------------------------------------------------------------------------------------------
// Certificate Transparency test vectors (transparency-dev/merkle proof/verify_test.go), SHA-256.
// ---------------------------------------------------------------------------------------------

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

const CT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn ct_log() -> (Vec<Hash>, MemoryLog) {
    let suite = Suite::Intl;
    let leaves: Vec<Hash> = CT_LEAVES
        .iter()
        .map(|d| leaf_hash(suite, &hex::decode(d).unwrap()))
        .collect();
    let mut log = MemoryLog::new(suite);
    for l in &leaves {
        log.append(*l);
    }
    (leaves, log)
}

#[test]
fn ct_roots() {
    let suite = Suite::Intl;
    let (leaves, log) = ct_log();
    let empty = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(empty_root(suite), empty);
    assert_eq!(root_from_leaves(suite, &[]), empty);
    assert_eq!(log.root_at(0).unwrap(), empty);
    for n in 1..=8 {
        assert_eq!(
            root_from_leaves(suite, &leaves[..n]),
            h(CT_ROOTS[n - 1]),
            "size {n}"
        );
        assert_eq!(
            log.root_at(n as u64).unwrap(),
            h(CT_ROOTS[n - 1]),
            "size {n}"
        );
    }
    assert_eq!(log.root(), h(CT_ROOTS[7]));
}

#[test]
fn ct_inclusion_proofs() {
    let suite = Suite::Intl;
    let (leaves, log) = ct_log();
    let vectors: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, path) in vectors {
        let expected = InclusionProof {
            leaf_index: index,
            tree_size: size,
            path: path.iter().map(|s| h(s)).collect(),
        };
        assert_eq!(log.prove_inclusion(index, size).unwrap(), expected);
        let root = h(CT_ROOTS[size as usize - 1]);
        verify_inclusion(suite, &leaves[index as usize], &expected, &root).unwrap();
    }
    // One leaf: empty path, the root is the leaf hash.
    let single = log.prove_inclusion(0, 1).unwrap();
    assert!(single.path.is_empty());
    verify_inclusion(suite, &leaves[0], &single, &h(CT_ROOTS[0])).unwrap();
}

#[test]
fn ct_consistency_proofs() {
    let suite = Suite::Intl;
    let (_, log) = ct_log();
    let vectors: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, path) in vectors {
        let expected = ConsistencyProof {
            old_size: old,
            new_size: new,
            path: path.iter().map(|s| h(s)).collect(),
        };
        assert_eq!(log.prove_consistency(old, new).unwrap(), expected);
        let (r1, r2) = (h(CT_ROOTS[old as usize - 1]), h(CT_ROOTS[new as usize - 1]));
        verify_consistency(suite, &r1, &r2, &expected).unwrap();
    }
}

#[test]
fn consistency_edge_cases() {
    let suite = Suite::Intl;
    let (_, log) = ct_log();
    let empty = empty_root(suite);
    let r3 = log.root_at(3).unwrap();
    let r8 = log.root();
    let proof = |old_size, new_size, path: Vec<Hash>| ConsistencyProof {
        old_size,
        new_size,
        path,
    };
    // From the empty log: empty path, old root must be H("").
    assert_eq!(log.prove_consistency(0, 8).unwrap(), proof(0, 8, vec![]));
    verify_consistency(suite, &empty, &r8, &proof(0, 8, vec![])).unwrap();
    verify_consistency(suite, &empty, &empty, &proof(0, 0, vec![])).unwrap();
    assert!(matches!(
        verify_consistency(suite, &r3, &r8, &proof(0, 8, vec![])),
        Err(ProofError::OldRootMismatch { .. })
    ));
    assert!(matches!(
        verify_consistency(suite, &empty, &r8, &proof(0, 8, vec![empty])),
        Err(ProofError::WrongPathLength {
            expected: 0,
            actual: 1
        })
    ));
    // Equal sizes: empty path, equal roots.
    verify_consistency(suite, &r3, &r3, &proof(3, 3, vec![])).unwrap();
    assert!(matches!(
        verify_consistency(suite, &r3, &r8, &proof(3, 3, vec![])),
        Err(ProofError::EqualSizeRootsDiffer { size: 3, .. })
    ));
    assert!(matches!(
        verify_consistency(suite, &r3, &r3, &proof(3, 3, vec![r3])),
        Err(ProofError::WrongPathLength { .. })
    ));
    // Shrinking is never consistent.
    assert!(matches!(
        verify_consistency(suite, &r8, &r3, &proof(8, 3, vec![])),
        Err(ProofError::OldSizeExceedsNewSize {
            old_size: 8,
            new_size: 3
        })
    ));
    assert!(matches!(
        log.prove_consistency(8, 3),
        Err(LogError::Proof(ProofError::OldSizeExceedsNewSize { .. }))
    ));
    // A non-trivial proof cannot be empty.
    assert!(matches!(
        verify_consistency(suite, &r3, &r8, &proof(3, 8, vec![])),
        Err(ProofError::WrongPathLength { .. })
    ));
}

#[test]
fn inclusion_errors_are_precise() {
    let suite = Suite::Intl;
    let (leaves, log) = ct_log();
    assert!(matches!(
        log.prove_inclusion(8, 8),
        Err(LogError::Proof(ProofError::IndexOutOfRange {
            index: 8,
            tree_size: 8
        }))
    ));
    assert!(matches!(
        log.prove_inclusion(0, 0),
        Err(LogError::Proof(ProofError::IndexOutOfRange { .. }))
    ));
    assert_eq!(
        inclusion_proof_from_leaves(suite, &leaves, 9),
        Err(ProofError::IndexOutOfRange {
            index: 9,
            tree_size: 8
        })
    );
    let mut p = log.prove_inclusion(5, 8).unwrap();
    p.path.pop();
    assert_eq!(
        verify_inclusion(suite, &leaves[5], &p, &log.root()),
        Err(ProofError::WrongPathLength {
            expected: 3,
            actual: 2
        })
    );
    let p = log.prove_inclusion(5, 8).unwrap();
    let err = verify_inclusion(suite, &leaves[4], &p, &log.root()).unwrap_err();
    assert!(matches!(err, ProofError::RootMismatch { .. }));
    assert!(
        err.to_string()
            .starts_with("root mismatch: the proof yields ")
    );
    assert_eq!(
        LogAccumulator::from_peaks(suite, 5, vec![Hash::ZERO]),
        Err(ProofError::PeakCountMismatch {
            size: 5,
            expected: 2,
            actual: 1
        })
    );
}

#[test]
fn proofs_serialize_as_hex_json() {
    let (_, log) = ct_log();
    let p = log.prove_inclusion(2, 3).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"leaf_index":2,"tree_size":3,"path":["{}"]}}"#,
            CT_ROOTS[1]
        )
    );
    assert_eq!(serde_json::from_str::<InclusionProof>(&json).unwrap(), p);
    let c = log.prove_consistency(6, 8).unwrap();
    let json = serde_json::to_string(&c).unwrap();
    assert!(json.starts_with(r#"{"old_size":6,"new_size":8,"path":["0ebc5d34"#));
    assert_eq!(serde_json::from_str::<ConsistencyProof>(&json).unwrap(), c);
}

#[test]
fn gm_suite_uses_sm3_with_the_same_preimages() {
    let suite = Suite::Gm;
    // Independently computed: SM3("") and SM3(0x00) (Python hashlib / OpenSSL).
    assert_eq!(
        empty_root(suite),
        h("1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b")
    );
    let leaves: Vec<Hash> = CT_LEAVES
        .iter()
        .map(|d| leaf_hash(suite, &hex::decode(d).unwrap()))
        .collect();
    assert_eq!(leaves[0], suite.hash(&[0x00]));
    // The CT leaves under SM3, computed independently (Python hashlib / OpenSSL SM3 and a
    // 10-line recursive MTH).
    let gm_roots = [
        "2daef60e7a0b8f5e024c81cd2ab3109f2b4f155cf83adeb2ae5532f74a157fdf",
        "0b990fe0c7ad70f1bf1a1262f2c7908ea48146b14253a6db99f2917ab1f5cc4d",
        "209ec96a210d662a964772680e8544d18cab7b88ffec3e00962220349b56ea56",
        "28e4e307ef6d2d0c62d84b11ef96e835efe490f35b93c8f024ecfe38c8dd4377",
        "bb10c996aeebbcdc69be3715fc847344de77442d37a5ab8213da9f41785b103b",
        "8723c1ab1f82ddfba4a3733ac0c80d936d9f4c208c7dbc8cc81ca9fff8584f66",
        "bd36c22a1ac6ff4308e0c3cc1a85bf0ffa30538ec60a55c70413ab15d45db4d2",
        "bc48ba7a709184b5f2a631e1adeb8dc2a0d4c018c1d6cc89b5664fe154c93b38",
    ];
    let mut acc = LogAccumulator::new(suite);
    for (n, leaf) in leaves.iter().enumerate() {
        acc.append(*leaf);
        assert_eq!(acc.root(), h(gm_roots[n]), "SM3 size {}", n + 1);
    }
    let mut pre = vec![0x01];
    pre.extend_from_slice(&leaves[0].0);
    pre.extend_from_slice(&leaves[1].0);
    assert_eq!(node_hash(suite, &leaves[0], &leaves[1]), suite.hash(&pre));
    assert_eq!(root_from_leaves(suite, &leaves[..2]), suite.hash(&pre));
}
