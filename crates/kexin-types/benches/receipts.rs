//! Offline receipt verification in a batch: every receipt's record proof, transaction hash and
//! signer signature, log proof and header hash are checked; each block's certificate once per
//! batch (`BatchVerifier`). Single-threaded, so the figure is per core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kexin_crypto::Suite;
use kexin_types::{BatchVerifier, Receipt};

#[path = "../tests/common/mod.rs"]
mod common;

/// 8 blocks × 8 transactions × 16 records = 1,024 receipts, one validator.
fn receipts(suite: Suite) -> (kexin_types::Genesis, Vec<Receipt>) {
    let mut chain = common::TestChain::new(suite, 1);
    let signers: Vec<_> = (0..8u8).map(|i| common::key(suite, 100 + i)).collect();
    for b in 0..8u64 {
        let txs = signers
            .iter()
            .enumerate()
            .map(|(s, key)| {
                let records = (0..16u64)
                    .map(|r| kexin_types::EvidenceRecord {
                        digest: suite.hash(&[b, s as u64, r].map(u64::to_be_bytes).concat()),
                        metadata: kexin_types::RecordMetadata {
                            salt: kexin_types::Salt([r as u8; 16]),
                            content_type: "application/pdf".into(),
                            label: format!("b{b}-s{s}-r{r}.pdf"),
                            external_ref: None,
                        },
                    })
                    .collect();
                kexin_types::Transaction::sign(
                    &chain.genesis.chain_id,
                    key,
                    b + 1,
                    common::evidence(records),
                )
            })
            .collect();
        chain.push_block(txs);
    }
    let mut out = Vec::new();
    for h in 1..=8u64 {
        for t in 0..8 {
            for r in 0..16 {
                out.push(chain.receipt(h, t, r));
            }
        }
    }
    (chain.genesis.clone(), out)
}

fn batch_verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("receipt_batch_verify");
    for suite in [Suite::Intl, Suite::Gm] {
        let (genesis, receipts) = receipts(suite);
        g.throughput(Throughput::Elements(receipts.len() as u64));
        g.bench_function(format!("{suite}/1024_receipts_8_blocks"), |b| {
            b.iter(|| {
                let mut v = BatchVerifier::new(&genesis);
                for r in &receipts {
                    v.verify(r).expect("receipt verifies");
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, batch_verify);
criterion_main!(benches);
