//! Benchmarks of the transaction log and the state tree, for both suites.
//!
//! `cargo bench -p kexin-merkle` (add `-- --quick` for a fast pass).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kexin_merkle::*;

const LOG_SIZE: u64 = 1_000_000;
const STATE_SIZE: u32 = 100_000;
const BATCH: u32 = 4096;
/// Entries of the stored state tree benchmarks (and of the in-memory tree they compare with).
const STORED_SIZE: u32 = 1_000_000;

fn suites() -> [Suite; 2] {
    [Suite::Intl, Suite::Gm]
}

/// A log of `n` leaves with every perfect-subtree node in memory (a `Vec` per level).
fn build_log(suite: Suite, n: u64) -> MemoryLog {
    let mut log = MemoryLog::new(suite);
    for i in 0..n {
        log.append(leaf_hash(suite, &i.to_le_bytes()));
    }
    log
}

/// A cheap deterministic sequence of indices in `0..n`.
fn spread(i: u64, n: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % n
}

fn log_benches(c: &mut Criterion) {
    for suite in suites() {
        let mut g = c.benchmark_group(format!("log/{suite}"));

        g.throughput(Throughput::Elements(1));
        let mut acc = LogAccumulator::new(suite);
        let leaf = leaf_hash(suite, b"transaction");
        g.bench_function("append_per_leaf", |b| {
            b.iter(|| black_box(acc.append(black_box(leaf))))
        });

        let log = build_log(suite, LOG_SIZE);
        let (n, root) = (log.size(), log.root());
        let mut i = 0u64;
        g.bench_function("prove_inclusion/1M", |b| {
            b.iter(|| {
                i += 1;
                black_box(log.prove_inclusion(spread(i, n), n).unwrap())
            })
        });
        let proofs: Vec<(Hash, InclusionProof)> = (0..1024)
            .map(|j| {
                let m = spread(j, n);
                (log.leaf(m).unwrap(), log.prove_inclusion(m, n).unwrap())
            })
            .collect();
        let mut j = 0usize;
        g.bench_function("verify_inclusion/1M", |b| {
            b.iter(|| {
                j = (j + 1) % proofs.len();
                let (leaf, proof) = &proofs[j];
                verify_inclusion(suite, leaf, proof, &root).unwrap()
            })
        });
        g.bench_function("prove_and_verify_inclusion/1M", |b| {
            b.iter(|| {
                i += 1;
                let m = spread(i, n);
                let proof = log.prove_inclusion(m, n).unwrap();
                verify_inclusion(suite, &log.leaf(m).unwrap(), &proof, &root).unwrap()
            })
        });
        let old_roots: Vec<(u64, Hash)> = (0..1024)
            .map(|j| {
                let m = 1 + spread(j, n - 1);
                (m, log.root_at(m).unwrap())
            })
            .collect();
        g.bench_function("prove_and_verify_consistency/1M", |b| {
            b.iter(|| {
                j = (j + 1) % old_roots.len();
                let (m, old_root) = &old_roots[j];
                let proof = log.prove_consistency(*m, n).unwrap();
                verify_consistency(suite, old_root, &root, &proof).unwrap()
            })
        });
        g.bench_function("root_at/1M", |b| {
            b.iter(|| {
                i += 1;
                black_box(log.root_at(1 + spread(i, n)).unwrap())
            })
        });
        g.finish();
    }
}

fn key(suite: Suite, i: u32) -> Hash {
    suite.hash(&i.to_le_bytes())
}

fn smt_benches(c: &mut Criterion) {
    for suite in suites() {
        let mut g = c.benchmark_group(format!("smt/{suite}"));
        let base: BTreeMap<Hash, Option<Hash>> = (0..STATE_SIZE)
            .map(|i| (key(suite, i), Some(suite.hash(&i.to_be_bytes()))))
            .collect();
        let tree = SparseMerkleTree::new(suite).apply(&base);
        // Half updates of existing keys, half inserts of new ones.
        let batch: BTreeMap<Hash, Option<Hash>> = (0..BATCH)
            .map(|i| {
                let k = if i % 2 == 0 {
                    key(suite, (i * 24) % STATE_SIZE)
                } else {
                    key(suite, STATE_SIZE + i)
                };
                (k, Some(suite.hash(&[b'n', i as u8])))
            })
            .collect();
        g.throughput(Throughput::Elements(u64::from(BATCH)));
        g.bench_function("apply_4096_onto_100k", |b| {
            b.iter_with_large_drop(|| tree.apply(&batch))
        });

        g.throughput(Throughput::Elements(1));
        let root = tree.root();
        let mut i = 0u32;
        g.bench_function("prove_and_verify/100k", |b| {
            b.iter(|| {
                i = (i + 7919) % STATE_SIZE;
                let k = key(suite, i);
                let proof = tree.prove(&k);
                let v = tree.get(&k);
                verify_state_proof(suite, &root, &k, v.as_ref(), &proof).unwrap()
            })
        });
        g.finish();
    }
}

/// The stored state tree over [`MemNodes`] against the in-memory tree, both holding 1M entries:
/// what applying a block's batch and proving cost when every node is looked up by its key in a
/// `BTreeMap` instead of followed through an `Arc` (a disk store's reads cost more; writing the
/// new nodes is not included).
fn smt_store_benches(c: &mut Criterion) {
    for suite in suites() {
        let mut g = c.benchmark_group(format!("smt_store/{suite}"));
        g.sample_size(20);
        let base: BTreeMap<Hash, Option<Hash>> = (0..STORED_SIZE)
            .map(|i| (key(suite, i), Some(suite.hash(&i.to_be_bytes()))))
            .collect();
        let mem = SparseMerkleTree::new(suite).apply(&base);
        let mut nodes = MemNodes::new();
        let first = PersistedTree::empty(suite)
            .apply(&nodes, 1, &base)
            .expect("an empty tree reads no node");
        nodes.write(&first);
        drop(base);
        let tree = first.tree();
        assert_eq!(tree.root_hash(), mem.root());
        // 4,096 random keys: half updates of existing keys, half inserts of new ones.
        let batch: BTreeMap<Hash, Option<Hash>> = (0..BATCH)
            .map(|i| {
                let k = if i % 2 == 0 {
                    key(suite, spread(u64::from(i), u64::from(STORED_SIZE)) as u32)
                } else {
                    key(suite, STORED_SIZE + i)
                };
                (k, Some(suite.hash(&[b'n', i as u8])))
            })
            .collect();
        g.throughput(Throughput::Elements(u64::from(BATCH)));
        g.bench_function("memory_apply_4096_onto_1m", |b| {
            b.iter_with_large_drop(|| mem.apply(&batch))
        });
        g.bench_function("stored_apply_4096_onto_1m", |b| {
            b.iter_with_large_drop(|| tree.apply(&nodes, 2, &batch).unwrap())
        });

        g.throughput(Throughput::Elements(1));
        let mut i = 0u64;
        g.bench_function("stored_prove/1m", |b| {
            b.iter(|| {
                i += 1;
                let k = key(suite, spread(i, u64::from(STORED_SIZE)) as u32);
                black_box(tree.prove(&nodes, &k).unwrap())
            })
        });
        g.finish();
    }
}

criterion_group!(benches, log_benches, smt_benches, smt_store_benches);
criterion_main!(benches);
