//! Evidence-ingest benchmark: prepare + certify + commit of one block on redb in a temporary
//! directory (fsync per block), intl suite. Throughput is in evidence records per second.
//!
//! `cargo bench -p kexin-ledger --bench ledger`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kexin_crypto::{SigningKey, Suite};
use kexin_ledger::{Ledger, RedbStore};
use kexin_types::state::{EvidenceState, NonceState, RecordLocation, StateKey};
use kexin_types::{
    CommitCertificate, Encode, EvidenceRecord, Genesis, Payload, SealedTx, Transaction, Validator,
};

const CHAIN: &str = "bench";
const T0: u64 = 1_700_000_000_000;

struct Bench {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    validator: SigningKey,
    clients: Vec<SigningKey>,
    next_digest: u64,
    next_nonce: u64,
}

impl Bench {
    fn new() -> Bench {
        let suite = Suite::Intl;
        let validator = SigningKey::generate(suite);
        let genesis = Genesis {
            version: kexin_types::FORMAT_VERSION,
            epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
            chain_id: CHAIN.into(),
            suite,
            timestamp_ms: T0,
            organisations: vec![],
            validators: vec![Validator {
                name: "node0".into(),
                org: String::new(),
                public_key: validator.public_key(),
                address: String::new(),
            }],
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RedbStore::open(&dir.path().join("ledger.redb")).expect("open redb");
        let ledger = Ledger::open(Arc::new(store), genesis).expect("open ledger");
        Bench {
            _dir: dir,
            ledger,
            validator,
            clients: (0..256).map(|_| SigningKey::generate(suite)).collect(),
            next_digest: 0,
            next_nonce: 0,
        }
    }

    /// `txs` fresh transactions of `records` records each, with the state writes the executor
    /// would make (one nonce record per signer, one evidence entry per new digest).
    fn block_input(
        &mut self,
        txs: usize,
        records: usize,
    ) -> (Vec<SealedTx>, BTreeMap<kexin_types::state::Key, Vec<u8>>) {
        let height = self.ledger.height() + 1;
        self.next_nonce += 1;
        let mut out = Vec::with_capacity(txs);
        let mut writes = BTreeMap::new();
        for t in 0..txs {
            let recs: Vec<EvidenceRecord> = (0..records)
                .map(|_| {
                    self.next_digest += 1;
                    EvidenceRecord {
                        digest: Suite::Intl.hash(&self.next_digest.to_be_bytes()),
                        metadata: kexin_types::RecordMetadata {
                            salt: kexin_types::Salt([7; 16]),
                            content_type: "application/pdf".into(),
                            label: format!("contract-{:010}.pdf", self.next_digest),
                            external_ref: Some(format!("s3://evidence/{:016x}", self.next_digest)),
                        },
                    }
                })
                .collect();
            for (j, r) in recs.iter().enumerate() {
                let loc = RecordLocation {
                    height,
                    tx_index: t as u32,
                    record_index: j as u32,
                };
                let st = EvidenceState {
                    count: 1,
                    first: loc,
                    last: loc,
                    first_org: None,
                };
                writes.insert(StateKey::Evidence(r.digest).to_key(), st.encode());
            }
            let key = &self.clients[t];
            let nonce = NonceState {
                last_nonce: self.next_nonce,
                tx_count: self.next_nonce,
            };
            writes.insert(StateKey::Nonce(key.public_key()).to_key(), nonce.encode());
            out.push(SealedTx::new(Transaction::sign(
                CHAIN,
                key,
                self.next_nonce,
                Payload::Evidence { records: recs },
            )));
        }
        (out, writes)
    }

    fn commit(&self, txs: Vec<SealedTx>, writes: BTreeMap<kexin_types::state::Key, Vec<u8>>) {
        let ts = self.ledger.head().map_or(T0, |h| h.header.timestamp_ms) + 1;
        let prepared = self
            .ledger
            .prepare(txs, writes, ts, self.validator.public_key())
            .expect("prepare");
        let cert = CommitCertificate::sign_single(CHAIN, 0, &self.validator, &prepared.hash);
        self.ledger.commit(prepared, &cert).expect("commit");
    }
}

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ledger_commit_redb");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));
    for (txs, records) in [(1usize, 4096usize), (256, 16)] {
        let bench = std::cell::RefCell::new(Bench::new());
        group.throughput(Throughput::Elements((txs * records) as u64));
        group.bench_function(format!("{txs}tx_x_{records}rec"), |b| {
            b.iter_batched(
                || bench.borrow_mut().block_input(txs, records),
                |(t, w)| bench.borrow().commit(t, w),
                BatchSize::PerIteration,
            )
        });
        let bench = bench.borrow();
        eprintln!(
            "{txs} tx x {records} records: {} blocks committed, store {} MiB",
            bench.ledger.height(),
            bench.ledger.storage_bytes() / (1024 * 1024)
        );
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
