//! Transaction decode + verify per suite: a 1-record transaction (signature-bound) and a full
//! 4,096-record batch (hash-bound: every record's leaf hash and the records root).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kexin_crypto::{SigningKey, Suite};
use kexin_types::{Encode, EvidenceRecord, Payload, SealedTx, Transaction, decode_transaction};

fn tx(suite: Suite, records: usize) -> Vec<u8> {
    let key = SigningKey::from_seed(suite, &[7; 32]).expect("valid seed");
    let records = (0..records)
        .map(|i| EvidenceRecord {
            digest: suite.hash(&(i as u64).to_be_bytes()),
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([i as u8; 16]),
                content_type: "application/pdf".into(),
                label: format!("contract-{i:06}.pdf"),
                external_ref: None,
            },
        })
        .collect();
    Transaction::sign("bench", &key, 1, Payload::Evidence { records }).encode()
}

fn decode_verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("tx_decode_verify");
    for suite in [Suite::Intl, Suite::Gm] {
        for records in [1usize, 4096] {
            let bytes = tx(suite, records);
            g.throughput(Throughput::Elements(records as u64));
            g.bench_function(format!("{suite}/{records}_records"), |b| {
                b.iter(|| {
                    let sealed = SealedTx::new(decode_transaction(&bytes).expect("decodes"));
                    sealed.verify("bench", suite).expect("verifies");
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decode_verify);
criterion_main!(benches);
