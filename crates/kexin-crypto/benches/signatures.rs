//! Signing, verification and hashing per suite.
//!
//! Run with `cargo bench -p kexin-crypto` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kexin_crypto::{Domain, SigningKey, Suite};

const SUITES: [Suite; 2] = [Suite::Gm, Suite::Intl];

fn label(suite: Suite) -> String {
    format!("{suite} ({})", suite.signature_name())
}

fn signatures(c: &mut Criterion) {
    let domain = Domain::new("kexin/tx", "bench-chain");
    // A transaction id: what Kexin actually signs is a 32-byte digest.
    let msg = [0x5au8; 32];

    let mut group = c.benchmark_group("sign");
    for suite in SUITES {
        let key = SigningKey::from_seed(suite, &[0x11; 32]).expect("valid seed");
        group.bench_function(BenchmarkId::from_parameter(label(suite)), |b| {
            b.iter(|| key.sign(black_box(&domain), black_box(&msg)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("verify");
    for suite in SUITES {
        let key = SigningKey::from_seed(suite, &[0x11; 32]).expect("valid seed");
        let public = key.public_key();
        let sig = key.sign(&domain, &msg);
        group.bench_function(BenchmarkId::from_parameter(label(suite)), |b| {
            b.iter(|| {
                public
                    .verify(black_box(&domain), black_box(&msg), black_box(&sig))
                    .expect("valid signature")
            })
        });
    }
    group.finish();
}

fn hashes(c: &mut Criterion) {
    for size in [64usize, 4096] {
        let data = vec![0xa5u8; size];
        let mut group = c.benchmark_group(format!("hash/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));
        for suite in SUITES {
            group.bench_function(
                BenchmarkId::from_parameter(format!("{suite} ({})", suite.hash_name())),
                |b| b.iter(|| suite.hash(black_box(&data))),
            );
        }
        group.finish();
    }
}

criterion_group!(benches, signatures, hashes);
criterion_main!(benches);
