//! The ledger end to end, on both engines: blocks, receipts, proofs, indexes, reopening,
//! idempotency and refusals.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{Chain, T0, check_receipts, roots, scenario};
use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_ledger::{KvStore, Ledger, LedgerError, MemStore, RedbStore, Table, WriteBatch};
use kexin_merkle::{empty_root, verify_consistency, verify_state_proof};
use kexin_types::state::{EvidenceState, NonceState, RecordLocation, StateKey, value_hash};
use kexin_types::{CommitCertificate, Decode, Payload, Receipt, SealedTx, Transaction};

/// Runs the scenario, reopening after every block, and checks everything readable.
fn end_to_end(chain: &Chain, mut open_store: impl FnMut() -> Arc<dyn KvStore>) {
    let blocks = scenario(chain);
    let mut committed: Vec<common::Roots> = Vec::new();
    let mut all_txs: Vec<SealedTx> = Vec::new();
    {
        let ledger = Ledger::open(open_store(), chain.genesis.clone()).unwrap();
        assert_eq!(ledger.height(), 0);
        assert!(ledger.head().is_none());
        assert!(ledger.checkpoint().unwrap().is_none());
        assert_eq!(ledger.log_root_at(0).unwrap(), empty_root(chain.suite));
        committed.push(roots(&ledger));
    }
    for (txs, ts) in &blocks {
        // Reopen for every block: state, log and head must come back from the store.
        let ledger = Ledger::open(open_store(), chain.genesis.clone()).unwrap();
        assert_eq!(roots(&ledger), *committed.last().unwrap());
        let prepared = chain.commit(&ledger, txs, *ts).unwrap();
        assert_eq!(ledger.height(), prepared.height());
        assert_eq!(ledger.head().unwrap().hash, prepared.hash);
        committed.push(roots(&ledger));
        all_txs.extend(txs.iter().cloned());
    }

    let ledger = Ledger::open(open_store(), chain.genesis.clone()).unwrap();
    let last = committed.last().unwrap().clone();
    assert_eq!(roots(&ledger), last);
    assert_eq!(ledger.height(), blocks.len() as u64);
    assert!(ledger.storage_bytes() > 0);

    // Headers chain up to genesis and carry the roots seen at commit time.
    let mut parent = ledger.genesis_hash();
    for r in &committed[1..] {
        let (block, cert) = ledger.block(r.height).unwrap().unwrap();
        assert_eq!(block.header.parent_hash, parent);
        assert_eq!(block.header.hash(chain.suite), r.hash);
        assert_eq!(block.header.log_root, r.log_root);
        assert_eq!(block.header.state_root, r.state_root);
        assert_eq!(block.header.log_size, r.log_size);
        cert.verify(&chain.genesis, &r.hash).unwrap();
        let (by_hash, _) = ledger.block_by_hash(&r.hash).unwrap().unwrap();
        assert_eq!(by_hash, block);
        let (header, _) = ledger.header(r.height).unwrap().unwrap();
        assert_eq!(header, block.header);
        assert_eq!(ledger.log_root_at(r.log_size).unwrap(), r.log_root);
        parent = r.hash;
    }
    assert!(ledger.block(99).unwrap().is_none());
    assert!(ledger.block_by_hash(&Hash([7; 32])).unwrap().is_none());
    assert!(ledger.header(0).unwrap().is_none());

    // Checkpoint = head header + certificate.
    let cp = ledger.checkpoint().unwrap().unwrap();
    assert_eq!(cp.verify(&chain.genesis).unwrap(), last.hash);

    // Transactions and their locations.
    for (h, (txs, _)) in blocks.iter().enumerate() {
        let first = committed[h].log_size;
        for (i, stx) in txs.iter().enumerate() {
            let loc = ledger.tx_location(&stx.hash()).unwrap().unwrap();
            assert_eq!(
                (loc.height, loc.tx_index, loc.log_index),
                (h as u64 + 1, i as u32, first + i as u64)
            );
            let (tx, loc2) = ledger.transaction(&stx.hash()).unwrap().unwrap();
            assert_eq!(&tx, stx.tx());
            assert_eq!(loc2, loc);
        }
    }
    assert!(ledger.transaction(&Hash([1; 32])).unwrap().is_none());
    assert!(ledger.receipts(&Hash([1; 32])).unwrap().is_none());

    // Receipts verify offline; single receipts equal the batch ones.
    check_receipts(&ledger, &all_txs);
    let tx = &all_txs[all_txs.len() - 1];
    let receipts = ledger.receipts(&tx.hash()).unwrap().unwrap();
    assert_eq!(ledger.receipt(&tx.hash(), 3).unwrap().unwrap(), receipts[3]);
    assert!(
        ledger
            .receipt(&tx.hash(), receipts.len() as u32)
            .unwrap()
            .is_none()
    );
    tampering_breaks_receipt(&chain.genesis, &receipts[3]);

    // Consistency between every pair of committed log sizes.
    let sizes: Vec<u64> = committed.iter().map(|r| r.log_size).collect();
    for &old in &sizes {
        for &new in &sizes {
            if old > new {
                assert!(matches!(
                    ledger.consistency_proof(old, new),
                    Err(LedgerError::InvalidProofRequest(_))
                ));
                continue;
            }
            let p = ledger.consistency_proof(old, new).unwrap();
            let (old_root, new_root) = (
                ledger.log_root_at(old).unwrap(),
                ledger.log_root_at(new).unwrap(),
            );
            verify_consistency(chain.suite, &old_root, &new_root, &p)
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
            if old > 0 && old < new {
                let wrong = Hash([0xee; 32]);
                assert!(verify_consistency(chain.suite, &wrong, &new_root, &p).is_err());
            }
        }
    }
    // Every intermediate size too, not only block boundaries.
    for old in 0..=last.log_size {
        let p = ledger.consistency_proof(old, last.log_size).unwrap();
        verify_consistency(
            chain.suite,
            &ledger.log_root_at(old).unwrap(),
            &last.log_root,
            &p,
        )
        .unwrap();
    }
    let err = ledger.consistency_proof(0, last.log_size + 1).unwrap_err();
    assert_eq!(err.code(), "log_size_out_of_range");
    assert!(ledger.log_root_at(last.log_size + 1).is_err());

    // State: values and proofs, present and absent.
    let signer = StateKey::Nonce(chain.clients[0].public_key());
    let nonce = NonceState::decode(&ledger.state_get(&signer).unwrap().unwrap()).unwrap();
    assert_eq!(
        nonce,
        NonceState {
            last_nonce: 3,
            tx_count: 3
        }
    );
    let d1 = StateKey::Evidence(chain.digest(1));
    let ev = EvidenceState::decode(&ledger.state_get(&d1).unwrap().unwrap()).unwrap();
    assert_eq!(ev.count, 4);
    assert_eq!(
        ev.first,
        RecordLocation {
            height: 1,
            tx_index: 0,
            record_index: 0
        }
    );
    assert_eq!(
        ev.last,
        RecordLocation {
            height: 4,
            tx_index: 2,
            record_index: 0
        }
    );
    for key in [
        signer.clone(),
        d1.clone(),
        StateKey::Evidence(chain.digest(36)),
    ] {
        let p = ledger.state_proof(&key).unwrap();
        assert_eq!(p.state_root, last.state_root);
        assert_eq!(p.height, last.height);
        assert_eq!(p.key_hash, key.hash(chain.suite));
        let vh = value_hash(chain.suite, p.value.as_ref().unwrap());
        assert_eq!(p.value_hash, Some(vh));
        verify_state_proof(chain.suite, &p.state_root, &p.key_hash, Some(&vh), &p.proof).unwrap();
        assert!(
            verify_state_proof(chain.suite, &p.state_root, &p.key_hash, None, &p.proof).is_err()
        );
        let other = value_hash(chain.suite, b"another value");
        assert!(
            verify_state_proof(
                chain.suite,
                &p.state_root,
                &p.key_hash,
                Some(&other),
                &p.proof
            )
            .is_err()
        );
    }
    for absent in [
        StateKey::Evidence(chain.digest(1000)),
        StateKey::Nonce(
            SigningKey::from_seed(chain.suite, &[99; 32])
                .unwrap()
                .public_key(),
        ),
    ] {
        assert!(ledger.state_get(&absent).unwrap().is_none());
        let p = ledger.state_proof(&absent).unwrap();
        assert_eq!((p.value.as_ref(), p.value_hash), (None, None));
        verify_state_proof(chain.suite, &p.state_root, &p.key_hash, None, &p.proof).unwrap();
        let claimed = value_hash(chain.suite, b"x");
        assert!(
            verify_state_proof(
                chain.suite,
                &p.state_root,
                &p.key_hash,
                Some(&claimed),
                &p.proof
            )
            .is_err()
        );
    }

    // The evidence index lists every record with a digest, across blocks, in order.
    let locs = ledger.evidence(&chain.digest(1), 100).unwrap();
    let expect = vec![
        RecordLocation {
            height: 1,
            tx_index: 0,
            record_index: 0,
        },
        RecordLocation {
            height: 2,
            tx_index: 0,
            record_index: 0,
        },
        RecordLocation {
            height: 2,
            tx_index: 0,
            record_index: 2,
        },
        RecordLocation {
            height: 4,
            tx_index: 2,
            record_index: 0,
        },
    ];
    assert_eq!(locs, expect);
    assert_eq!(ledger.evidence(&chain.digest(1), 2).unwrap(), expect[..2]);
    assert_eq!(ledger.evidence(&chain.digest(4), 10).unwrap().len(), 2);
    assert!(ledger.evidence(&chain.digest(1000), 10).unwrap().is_empty());
    for loc in &locs {
        let (block, _) = ledger.block(loc.height).unwrap().unwrap();
        let rec = &block.transactions[loc.tx_index as usize].records()[loc.record_index as usize];
        assert_eq!(rec.digest, chain.digest(1));
    }
}

/// Changing any byte the receipt's verification depends on makes it fail.
fn tampering_breaks_receipt(genesis: &kexin_types::Genesis, good: &Receipt) {
    good.verify(genesis).unwrap();
    let mut cases: Vec<(&str, Receipt)> = Vec::new();
    let flip = |h: &mut Hash| h.0[5] ^= 1;
    let mut r = good.clone();
    flip(&mut r.record.digest);
    cases.push(("record digest", r));
    let mut r = good.clone();
    r.record.metadata.as_mut().unwrap().label.push('x');
    cases.push(("record label", r));
    let mut r = good.clone();
    r.record.metadata.as_mut().unwrap().salt.0[3] ^= 1;
    cases.push(("record salt", r));
    let mut r = good.clone();
    flip(&mut r.record.metadata_hash);
    cases.push(("record metadata hash", r));
    let mut r = good.clone();
    flip(&mut r.record_proof.path[0]);
    cases.push(("record proof path", r));
    let mut r = good.clone();
    r.record_proof.leaf_index ^= 1;
    cases.push(("record proof index", r));
    let mut r = good.clone();
    r.transaction.signature.0[7] ^= 1;
    cases.push(("tx signature", r));
    let mut r = good.clone();
    r.transaction.summary.nonce += 1;
    cases.push(("tx nonce", r));
    let mut r = good.clone();
    flip(&mut r.log_proof.path[0]);
    cases.push(("log proof path", r));
    let mut r = good.clone();
    r.log_proof.leaf_index += 1;
    cases.push(("log proof index", r));
    let mut r = good.clone();
    flip(&mut r.header.log_root);
    cases.push(("header log root", r));
    let mut r = good.clone();
    flip(&mut r.header.state_root);
    r.block_hash = r.header.hash(genesis.suite);
    cases.push(("header state root, rehashed", r));
    let mut r = good.clone();
    r.header.timestamp_ms += 1;
    r.block_hash = r.header.hash(genesis.suite);
    cases.push(("header timestamp, rehashed", r));
    let mut r = good.clone();
    flip(&mut r.block_hash);
    cases.push(("block hash", r));
    let mut r = good.clone();
    let CommitCertificate::Signatures { signatures } = &mut r.certificate else {
        unreachable!("only one certificate kind")
    };
    signatures[0].signature.0[0] ^= 1;
    cases.push(("certificate signature", r));
    let mut r = good.clone();
    let CommitCertificate::Signatures { signatures } = &mut r.certificate else {
        unreachable!("only one certificate kind")
    };
    signatures[0].validator = 1;
    cases.push(("certificate validator", r));
    for (what, r) in cases {
        assert!(r.verify(genesis).is_err(), "tampered {what} still verifies");
    }
    // And through the binary encoding: flip each byte of the encoded receipt.
    let bytes = kexin_types::Encode::encode(good);
    let mut rejected = 0;
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        match Receipt::decode(&b) {
            Err(_) => rejected += 1,
            Ok(r) => {
                assert!(
                    r.verify(genesis).is_err(),
                    "byte {i} of {} flipped still verifies",
                    bytes.len()
                );
                rejected += 1;
            }
        }
    }
    assert_eq!(rejected, bytes.len());
}

#[test]
fn end_to_end_mem_store() {
    let chain = Chain::new(Suite::Intl);
    let store: Arc<dyn KvStore> = Arc::new(MemStore::new());
    end_to_end(&chain, || store.clone());
}

#[test]
fn end_to_end_redb_store() {
    let chain = Chain::new(Suite::Intl);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    // Each call opens the file anew; the previous ledger (and store) is dropped by then.
    end_to_end(&chain, || -> Arc<dyn KvStore> {
        Arc::new(RedbStore::open(&path).unwrap())
    });
}

#[test]
fn end_to_end_gm_suite() {
    let chain = Chain::new(Suite::Gm);
    let store: Arc<dyn KvStore> = Arc::new(MemStore::new());
    end_to_end(&chain, || store.clone());
}

#[test]
fn both_engines_reach_identical_roots() {
    let chain = Chain::new(Suite::Intl);
    let dir = tempfile::tempdir().unwrap();
    let a = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    let b = Ledger::open(
        Arc::new(RedbStore::open(&dir.path().join("x.redb")).unwrap()),
        chain.genesis.clone(),
    )
    .unwrap();
    for (txs, ts) in scenario(&chain) {
        let pa = chain.commit(&a, &txs, ts).unwrap();
        let pb = chain.commit(&b, &txs, ts).unwrap();
        assert_eq!(pa.hash, pb.hash);
        assert_eq!(roots(&a), roots(&b));
    }
}

#[test]
fn commit_is_idempotent_by_height() {
    let chain = Chain::new(Suite::Intl);
    let ledger = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    let blocks = scenario(&chain);
    let p1 = chain.commit(&ledger, &blocks[0].0, blocks[0].1).unwrap();
    let cert1 = chain.certify(&p1);
    let before = roots(&ledger);
    ledger.commit(p1.clone(), &cert1).unwrap();
    assert_eq!(roots(&ledger), before);
    chain.commit(&ledger, &blocks[1].0, blocks[1].1).unwrap();
    // An old block re-delivered after the head moved on is still a no-op.
    let before = roots(&ledger);
    ledger.commit(p1, &cert1).unwrap();
    assert_eq!(roots(&ledger), before);
    check_receipts(&ledger, &blocks[0].0);
}

#[test]
fn conflicting_gapped_and_orphan_blocks_are_refused() {
    let chain = Chain::new(Suite::Intl);
    let blocks = scenario(&chain);
    let ledger = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    chain.commit(&ledger, &blocks[0].0, blocks[0].1).unwrap();

    // Two candidates for height 2; the second loses.
    let a = chain.prepare(&ledger, &blocks[1].0, T0 + 10_000).unwrap();
    let b = chain.prepare(&ledger, &blocks[1].0, T0 + 20_000).unwrap();
    assert_ne!(a.hash, b.hash);
    let (ca, cb) = (chain.certify(&a), chain.certify(&b));
    ledger.commit(a, &ca).unwrap();
    let before = roots(&ledger);
    let err = ledger.commit(b, &cb).unwrap_err();
    assert!(
        matches!(err, LedgerError::ConflictingBlock { height: 2, .. }),
        "{err}"
    );
    assert_eq!(err.code(), "conflicting_block");
    assert_eq!(roots(&ledger), before);

    // A ledger that is ahead makes a block with a gap for this one.
    let ahead = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    for (txs, ts) in &blocks[..3] {
        chain.commit(&ahead, txs, *ts).unwrap();
    }
    let p4 = chain.prepare(&ahead, &blocks[3].0, blocks[3].1).unwrap();
    let c4 = chain.certify(&p4);
    let err = ledger.commit(p4, &c4).unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::HeightGap {
                expected: 3,
                got: 4
            }
        ),
        "{err}"
    );

    // A block at the next height whose parent is another block 2.
    let fork = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    chain.commit(&fork, &blocks[0].0, blocks[0].1).unwrap();
    chain.commit(&fork, &blocks[1].0, T0 + 30_000).unwrap();
    let orphan = chain.prepare(&fork, &blocks[2].0, T0 + 40_000).unwrap();
    let co = chain.certify(&orphan);
    let err = ledger.commit(orphan, &co).unwrap_err();
    assert!(
        matches!(err, LedgerError::ParentMismatch { height: 3, .. }),
        "{err}"
    );
    assert_eq!(roots(&ledger), before);
}

#[test]
fn invalid_blocks_and_certificates_are_refused() {
    let chain = Chain::new(Suite::Intl);
    let blocks = scenario(&chain);
    let ledger = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    let proposer = chain.validator.public_key();

    // Timestamps: after genesis for block 1, after the parent later.
    let err = ledger
        .prepare(vec![], BTreeMap::new(), T0, proposer)
        .unwrap_err();
    assert!(matches!(
        err,
        LedgerError::TimestampNotMonotonic {
            parent_ms: T0,
            proposed_ms: T0
        }
    ));
    chain.commit(&ledger, &blocks[0].0, blocks[0].1).unwrap();
    let err = ledger
        .prepare(vec![], BTreeMap::new(), blocks[0].1, proposer)
        .unwrap_err();
    assert_eq!(err.code(), "timestamp_not_monotonic");
    let ts = blocks[0].1 + 1;

    // Proposer must be a validator.
    let stranger = SigningKey::from_seed(Suite::Intl, &[77; 32]).unwrap();
    let err = ledger
        .prepare(vec![], BTreeMap::new(), ts, stranger.public_key())
        .unwrap_err();
    assert_eq!(err.code(), "invalid_proposer");

    // Transactions: committed already, repeated, other chain, other suite.
    let err = chain.prepare(&ledger, &blocks[0].0[..1], ts).unwrap_err();
    assert!(matches!(err, LedgerError::DuplicateTransaction(h) if h == blocks[0].0[0].hash()));
    let fresh = chain.tx(2, 50, &[500]);
    let err = chain
        .prepare(&ledger, &[fresh.clone(), fresh.clone()], ts)
        .unwrap_err();
    assert_eq!(err.code(), "duplicate_transaction");
    let other = Chain::with_chain_id(Suite::Intl, "other-chain").tx(0, 1, &[1]);
    let err = chain
        .prepare(&ledger, &[fresh.clone(), other], ts)
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::InvalidTransaction { index: 1, .. }),
        "{err}"
    );
    let gm = Chain::new(Suite::Gm).tx(0, 1, &[1]);
    let err = chain.prepare(&ledger, &[gm], ts).unwrap_err();
    assert_eq!(err.code(), "invalid_transaction");
    // Transactions that would make an undecodable block: no records, oversized metadata.
    let sign = |records| {
        SealedTx::new(Transaction::sign_versioned(
            chain.genesis.version,
            &chain.genesis.chain_id,
            &chain.clients[3],
            None,
            9,
            Payload::Evidence { records },
        ))
    };
    let err = chain.prepare(&ledger, &[sign(vec![])], ts).unwrap_err();
    assert!(
        matches!(err, LedgerError::InvalidTransaction { index: 0, .. }),
        "{err}"
    );
    let mut big = fresh.tx().records()[0].clone();
    big.metadata.content_type = "x".repeat(200);
    let err = chain
        .prepare(&ledger, &[fresh.clone(), sign(vec![big])], ts)
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::InvalidTransaction { index: 1, .. }),
        "{err}"
    );

    // Certificates: wrong signer, wrong block, no signature from the validator set.
    let p = chain
        .prepare(&ledger, std::slice::from_ref(&fresh), ts)
        .unwrap();
    let wrong_key = CommitCertificate::sign_single(&chain.genesis.chain_id, 0, &stranger, &p.hash);
    let err = ledger.commit(p.clone(), &wrong_key).unwrap_err();
    assert_eq!(err.code(), "invalid_certificate");
    let wrong_block = CommitCertificate::sign_single(
        &chain.genesis.chain_id,
        0,
        &chain.validator,
        &Hash([3; 32]),
    );
    assert!(ledger.commit(p.clone(), &wrong_block).is_err());
    let unknown =
        CommitCertificate::sign_single(&chain.genesis.chain_id, 5, &chain.validator, &p.hash);
    assert!(ledger.commit(p.clone(), &unknown).is_err());
    assert_eq!(ledger.height(), 1);

    // A prepared block altered after prepare.
    let cert = chain.certify(&p);
    let mut altered = p.clone();
    altered.block.header.timestamp_ms += 1;
    altered.hash = altered.block.header.hash(Suite::Intl);
    let c =
        CommitCertificate::sign_single(&chain.genesis.chain_id, 0, &chain.validator, &altered.hash);
    assert_eq!(
        ledger.commit(altered, &c).unwrap_err().code(),
        "invalid_prepared_block"
    );
    let mut altered = p.clone();
    altered.block.transactions[0].nonce += 1;
    assert_eq!(
        ledger.commit(altered, &cert).unwrap_err().code(),
        "invalid_prepared_block"
    );
    let mut altered = p.clone();
    altered.hash = Hash([1; 32]);
    assert_eq!(
        ledger.commit(altered, &cert).unwrap_err().code(),
        "invalid_prepared_block"
    );
    // A block prepared for another chain.
    let other_chain = Chain::with_chain_id(Suite::Intl, "other-chain");
    let other_ledger =
        Ledger::open(Arc::new(MemStore::new()), other_chain.genesis.clone()).unwrap();
    let foreign = other_chain.prepare(&other_ledger, &[], T0 + 1).unwrap();
    let fc = other_chain.certify(&foreign);
    assert_eq!(
        ledger.commit(foreign, &fc).unwrap_err().code(),
        "invalid_prepared_block"
    );

    assert_eq!(ledger.height(), 1);
    ledger.commit(p, &cert).unwrap();
    assert_eq!(ledger.height(), 2);
    check_receipts(&ledger, &[fresh]);
}

#[test]
fn genesis_mismatch_is_refused() {
    let chain = Chain::new(Suite::Intl);
    let store: Arc<dyn KvStore> = Arc::new(MemStore::new());
    Ledger::open(store.clone(), chain.genesis.clone()).unwrap();
    let mut other = chain.genesis.clone();
    other.timestamp_ms += 1;
    let err = Ledger::open(store.clone(), other.clone()).unwrap_err();
    assert!(
        matches!(err, LedgerError::GenesisMismatch { stored, given } if stored == chain.genesis.hash() && given == other.hash())
    );
    assert_eq!(err.code(), "genesis_mismatch");
    // The original still opens.
    Ledger::open(store, chain.genesis.clone()).unwrap();

    let mut invalid = chain.genesis.clone();
    invalid.validators.clear();
    let err = Ledger::open(Arc::new(MemStore::new()), invalid).unwrap_err();
    assert_eq!(err.code(), "invalid_genesis");
}

fn overwrite(store: &MemStore, table: Table, key: &[u8], value: Option<&[u8]>) {
    let mut b = WriteBatch::new();
    match value {
        Some(v) => b.put(table, key.to_vec(), v.to_vec()),
        None => b.delete(table, key.to_vec()),
    }
    store.commit(b).unwrap();
}

#[test]
fn corrupt_data_is_an_error_not_a_panic() {
    let chain = Chain::new(Suite::Intl);
    let blocks = scenario(&chain);
    let build = || {
        let store = Arc::new(MemStore::new());
        let ledger = Ledger::open(store.clone(), chain.genesis.clone()).unwrap();
        for (txs, ts) in &blocks {
            chain.commit(&ledger, txs, *ts).unwrap();
        }
        (store, ledger)
    };
    let tx = blocks[0].0[1].hash();
    let is_corrupt = |r: Result<(), LedgerError>| {
        let e = r.expect_err("corruption must be reported");
        assert_eq!(e.code(), "ledger_corrupt", "{e}");
    };

    // A garbled block.
    let (store, ledger) = build();
    overwrite(&store, Table::Blocks, &1u64.to_be_bytes(), Some(b"garbage"));
    is_corrupt(ledger.block(1).map(drop));
    is_corrupt(ledger.header(1).map(drop));
    is_corrupt(ledger.transaction(&tx).map(drop));
    is_corrupt(ledger.receipts(&tx).map(drop));

    // A block swapped for another one.
    let (store, ledger) = build();
    let b2 = store
        .get(Table::Blocks, &2u64.to_be_bytes())
        .unwrap()
        .unwrap();
    overwrite(&store, Table::Blocks, &1u64.to_be_bytes(), Some(&b2));
    is_corrupt(ledger.block(1).map(drop));
    is_corrupt(ledger.receipts(&tx).map(drop));

    // A missing certificate, a bad tx location, a missing log node, a bad evidence key.
    let (store, ledger) = build();
    overwrite(&store, Table::Certificates, &1u64.to_be_bytes(), None);
    is_corrupt(ledger.block(1).map(drop));
    overwrite(&store, Table::Txs, tx.as_bytes(), Some(&[0; 19]));
    is_corrupt(ledger.tx_location(&tx).map(drop));
    let mut loc = [0u8; 20];
    loc[..8].copy_from_slice(&1u64.to_be_bytes());
    loc[8..12].copy_from_slice(&9u32.to_be_bytes());
    overwrite(&store, Table::Txs, tx.as_bytes(), Some(&loc));
    is_corrupt(ledger.transaction(&tx).map(drop));
    overwrite(&store, Table::LogNodes, &[0, 0, 0, 0, 0, 0, 0, 0, 0], None);
    is_corrupt(ledger.log_root_at(1).map(drop));
    let d = chain.digest(1);
    overwrite(
        &store,
        Table::EvidenceIndex,
        &[d.as_bytes().as_slice(), b"short"].concat(),
        Some(b""),
    );
    is_corrupt(ledger.evidence(&d, 10).map(drop));

    // A state value changed behind the tree's back: proofs refuse, reopening refuses.
    let (store, ledger) = build();
    let key = StateKey::Evidence(chain.digest(2));
    overwrite(
        &store,
        Table::State,
        key.hash(Suite::Intl).as_bytes(),
        Some(b"forged"),
    );
    is_corrupt(ledger.state_proof(&key).map(drop));
    drop(ledger);
    is_corrupt(Ledger::open(store.clone(), chain.genesis.clone()).map(drop));

    // A garbled head, log frontier or hash index: opening refuses.
    for (table, key, value) in [
        (Table::Meta, &b"head"[..], &b"junk"[..]),
        (Table::Meta, b"log", &[0, 0, 0, 0, 0, 0, 0, 9]),
        (Table::Meta, b"schema", &[9]),
        (Table::Meta, b"genesis_hash", &[1, 2, 3]),
    ] {
        let (store, ledger) = build();
        drop(ledger);
        overwrite(&store, table, key, Some(value));
        is_corrupt(Ledger::open(store.clone(), chain.genesis.clone()).map(drop));
    }
    let (store, ledger) = build();
    let head = ledger.head().unwrap();
    drop(ledger);
    overwrite(&store, Table::BlockHashes, head.hash.as_bytes(), None);
    is_corrupt(Ledger::open(store.clone(), chain.genesis.clone()).map(drop));
}

/// Readers on other threads during commits always get self-consistent answers.
#[test]
fn readers_see_consistent_snapshots_during_commits() {
    let chain = Chain::new(Suite::Intl);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(
        Ledger::open(
            Arc::new(RedbStore::open(&dir.path().join("c.redb")).unwrap()),
            chain.genesis.clone(),
        )
        .unwrap(),
    );
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let ledger = ledger.clone();
            let done = done.clone();
            let chain = Chain::new(Suite::Intl);
            std::thread::spawn(move || {
                let mut n = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) || n == 0 {
                    let key = StateKey::Nonce(chain.clients[0].public_key());
                    let p = ledger.state_proof(&key).unwrap();
                    verify_state_proof(
                        Suite::Intl,
                        &p.state_root,
                        &p.key_hash,
                        p.value_hash.as_ref(),
                        &p.proof,
                    )
                    .unwrap();
                    if p.height > 0 {
                        let (header, _) = ledger.header(p.height).unwrap().unwrap();
                        assert_eq!(header.state_root, p.state_root);
                    }
                    if let Some(cp) = ledger.checkpoint().unwrap() {
                        cp.verify(&chain.genesis).unwrap();
                        let (size, _) = (cp.header.log_size, ());
                        assert_eq!(ledger.log_root_at(size).unwrap(), cp.header.log_root);
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    for i in 0..40u64 {
        let tx = chain.tx(0, i + 1, &[i, i + 1000]);
        chain.commit(&ledger, &[tx], T0 + 1 + i).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}

#[test]
fn end_to_end_fjall_store() {
    let chain = Chain::new(Suite::Intl);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fj");
    end_to_end(&chain, || -> Arc<dyn KvStore> {
        Arc::new(kexin_ledger::FjallStore::open(&path).unwrap())
    });
}

/// Registry keys (organisations, certificates) written by a block are listed after it commits,
/// survive reopening, and other state keys are not listed.
#[test]
fn registry_keys_are_indexed_on_commit() {
    let chain = Chain::new(Suite::Intl);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.redb");
    let ids: Vec<Hash> = [b"b".as_slice(), b"a", b"c"]
        .iter()
        .map(|d| Suite::Intl.hash(d))
        .collect();
    {
        let ledger = Ledger::open(
            Arc::new(RedbStore::open(&path).unwrap()),
            chain.genesis.clone(),
        )
        .unwrap();
        assert!(ledger.registry_keys(4, 10).unwrap().is_empty());
        let txs = vec![chain.tx(0, 1, &[1])];
        let mut writes = common::exec_writes(&ledger, &txs).unwrap();
        for id in &ids {
            writes.insert(StateKey::Cert(*id).to_key(), vec![1, 2, 3]);
        }
        writes.insert(StateKey::Org("org7".into()).to_key(), vec![4]);
        let prepared = ledger
            .prepare(txs, writes, T0 + 1, chain.validator.public_key())
            .unwrap();
        // Nothing is listed before the commit.
        assert!(ledger.registry_keys(4, 10).unwrap().is_empty());
        let cert = chain.certify(&prepared);
        ledger.commit(prepared, &cert).unwrap();
    }
    let ledger = Ledger::open(
        Arc::new(RedbStore::open(&path).unwrap()),
        chain.genesis.clone(),
    )
    .unwrap();
    let mut sorted = ids.clone();
    sorted.sort();
    let certs = ledger.registry_keys(4, 10).unwrap();
    assert_eq!(
        certs,
        sorted
            .iter()
            .map(|h| StateKey::Cert(*h))
            .collect::<Vec<_>>()
    );
    assert_eq!(ledger.registry_keys(4, 2).unwrap().len(), 2);
    assert_eq!(
        ledger.registry_keys(3, 10).unwrap(),
        vec![StateKey::Org("org7".into())]
    );
    assert!(ledger.registry_keys(1, 10).unwrap().is_empty());
    assert_eq!(
        ledger.state_get(&StateKey::Cert(ids[0])).unwrap(),
        Some(vec![1, 2, 3])
    );
}

#[test]
fn audit_notes_are_indexed_and_every_transaction_has_a_receipt() {
    for suite in [Suite::Intl, Suite::Gm] {
        let chain = Chain::new(suite);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.redb");
        let (a, b) = (suite.hash(b"record a"), suite.hash(b"record b"));
        let note = |client: usize, nonce: u64, subject: Hash, text: &str| {
            SealedTx::new(Transaction::sign_versioned(
                chain.genesis.version,
                &chain.genesis.chain_id,
                &chain.clients[client],
                None,
                nonce,
                Payload::AuditNote {
                    subject,
                    text: text.into(),
                },
            ))
        };
        let b1 = vec![
            chain.tx(0, 1, &[1, 2]),
            note(1, 1, a, "first note on a"),
            note(2, 1, b, "note on b"),
        ];
        let b2 = vec![note(1, 2, a, "second note on a")];
        {
            let ledger = Ledger::open(
                Arc::new(RedbStore::open(&path).unwrap()),
                chain.genesis.clone(),
            )
            .unwrap();
            let prepared = chain.prepare(&ledger, &b1, T0 + 1).unwrap();
            // Nothing is indexed before the commit.
            assert!(ledger.audit_notes(&a, 10).unwrap().is_empty());
            let cert = chain.certify(&prepared);
            ledger.commit(prepared, &cert).unwrap();
            chain.commit(&ledger, &b2, T0 + 2).unwrap();
        }
        // Reopened: the index is on disk.
        let ledger = Ledger::open(
            Arc::new(RedbStore::open(&path).unwrap()),
            chain.genesis.clone(),
        )
        .unwrap();
        let on_a = ledger.audit_notes(&a, 10).unwrap();
        assert_eq!(
            on_a.iter()
                .map(|n| (n.tx_hash, n.height, n.tx_index))
                .collect::<Vec<_>>(),
            vec![(b1[1].hash(), 1, 1), (b2[0].hash(), 2, 0)]
        );
        assert_eq!(ledger.audit_notes(&a, 1).unwrap().len(), 1);
        assert_eq!(ledger.audit_notes(&b, 10).unwrap()[0].tx_hash, b1[2].hash());
        // The evidence digests are not note subjects.
        assert!(ledger.audit_notes(&chain.digest(1), 10).unwrap().is_empty());

        // Every transaction, of either kind, has a receipt that verifies from the genesis.
        for (tx, height, kind) in [
            (&b1[0], 1, "evidence"),
            (&b1[1], 1, "audit_note"),
            (&b1[2], 1, "audit_note"),
            (&b2[0], 2, "audit_note"),
        ] {
            let r = ledger.tx_receipt(&tx.hash()).unwrap().expect("committed");
            assert_eq!(r.payload.as_ref(), Some(&tx.tx().payload));
            let v = r.verify(&chain.genesis).unwrap();
            assert_eq!((v.tx_hash, v.height, v.kind), (tx.hash(), height, kind));
            assert!(v.payload_checked);
            // Not valid for another chain.
            let other = Chain::with_chain_id(suite, "other-chain");
            assert!(r.verify(&other.genesis).is_err());
        }
        assert!(
            ledger
                .tx_receipt(&suite.hash(b"no such tx"))
                .unwrap()
                .is_none()
        );
    }
}

/// Protocol version 4: the header commits to the block's outcomes, which are stored with the
/// block (on redb, so they survive a reopen) and read back per transaction.
#[test]
fn version_4_blocks_commit_to_their_outcomes_and_store_them() {
    use kexin_ledger::BlockEffects;
    use kexin_types::{Event, Outcome};
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::new(Suite::Intl);
    chain.genesis.version = kexin_types::protocol::V4;
    let open = || {
        let store: Arc<dyn KvStore> =
            Arc::new(RedbStore::open(&dir.path().join("l.redb")).unwrap());
        Ledger::open(store, chain.genesis.clone()).unwrap()
    };
    let ledger = open();
    let txs = vec![chain.tx(0, 1, &[1, 2]), chain.tx(1, 1, &[3])];
    let writes = common::exec_writes(&ledger, &txs).unwrap();
    let outcomes = vec![
        Outcome::success(
            12,
            vec![Event::new("evidence", "records_attested").with("count", 2)],
        ),
        Outcome::failed("cert_revoked", "revoked", 11),
    ];
    // A version 4 block needs one outcome per transaction, and cannot be version 3 on a chain
    // that started at 4.
    let short = BlockEffects {
        version: 4,
        writes: writes.clone(),
        outcomes: outcomes[..1].to_vec(),
    };
    assert!(matches!(
        ledger.prepare(txs.clone(), short, T0 + 1, chain.validator.public_key()),
        Err(LedgerError::InvalidPreparedBlock(m)) if m.contains("one outcome per transaction")
    ));
    assert!(matches!(
        ledger.prepare(txs.clone(), writes.clone(), T0 + 1, chain.validator.public_key()),
        Err(LedgerError::InvalidPreparedBlock(m)) if m.contains("started at version 4")
    ));
    let effects = BlockEffects {
        version: 4,
        writes,
        outcomes: outcomes.clone(),
    };
    let prepared = ledger
        .prepare(txs.clone(), effects, T0 + 1, chain.validator.public_key())
        .unwrap();
    let header = prepared.header().clone();
    assert_eq!(header.version, 4);
    let pairs: Vec<(Hash, Outcome)> = txs
        .iter()
        .map(|t| t.hash())
        .zip(outcomes.iter().cloned())
        .collect();
    assert_eq!(
        header.outcomes_root,
        Some(kexin_types::outcomes_root(Suite::Intl, &pairs))
    );
    let cert = chain.certify(&prepared);
    ledger.commit(prepared, &cert).unwrap();
    drop(ledger);
    let ledger = open();
    assert_eq!(ledger.block_outcomes(1).unwrap(), outcomes);
    let (o, committed) = ledger.tx_outcome(&txs[1].hash()).unwrap().unwrap();
    assert_eq!((o, committed), (outcomes[1].clone(), true));
    assert_eq!(ledger.tx_outcome(&Hash([9; 32])).unwrap(), None);
    // The stored block decodes as version 4 with its root.
    let (stored, _) = ledger.header(1).unwrap().unwrap();
    assert_eq!(stored, header);

    // Version 5 receipts prove each outcome. The successful transaction's records have
    // receipts; the failed one's have none, and its digests are not indexed as evidence.
    let g = &chain.genesis;
    let ok = ledger.tx_receipt(&txs[0].hash()).unwrap().unwrap();
    assert_eq!(ok.version, kexin_types::RECEIPT_VERSION_5);
    assert_eq!(ok.verify(g).unwrap().outcome, Some(outcomes[0].clone()));
    let failed = ledger.tx_receipt(&txs[1].hash()).unwrap().unwrap();
    assert_eq!(failed.verify(g).unwrap().outcome, Some(outcomes[1].clone()));
    let records = ledger.receipts(&txs[0].hash()).unwrap().unwrap();
    assert_eq!(records.len(), 2);
    for r in &records {
        let v = r.verify(g).unwrap();
        assert!(v.outcome.unwrap().is_success());
        let back = Receipt::decode(&kexin_types::Encode::encode(r)).unwrap();
        assert_eq!(&back, r, "the binary form carries the outcome");
    }
    assert!(ledger.receipts(&txs[1].hash()).unwrap().unwrap().is_empty());
    let digest3 = txs[1].tx().records()[0].digest;
    assert!(ledger.evidence(&digest3, 10).unwrap().is_empty());
    // A forged outcome, a stripped one, or a failure relabelled a success is refused.
    let mut forged = failed.clone();
    let o = forged.outcome.as_mut().unwrap();
    o.outcome = Outcome::success(11, Vec::new());
    assert_eq!(forged.verify(g).unwrap_err().code(), "bad_outcome_proof");
    let mut forged = ok.clone();
    forged.outcome.as_mut().unwrap().outcome.events[0]
        .attributes
        .insert("count".into(), "3".into());
    assert_eq!(forged.verify(g).unwrap_err().code(), "bad_outcome_proof");
    let mut stripped = ok.clone();
    stripped.outcome = None;
    assert_eq!(stripped.verify(g).unwrap_err().code(), "bad_outcome_proof");
    let mut relabelled = ok.clone();
    relabelled.version = kexin_types::RECEIPT_VERSION;
    assert_eq!(
        relabelled.verify(g).unwrap_err().code(),
        "malformed_receipt"
    );
    let mut moved = records[0].clone();
    moved.outcome.as_mut().unwrap().proof.leaf_index = 1;
    assert_eq!(moved.verify(g).unwrap_err().code(), "bad_outcome_proof");
    // A record receipt built on the failed transaction's outcome is refused as failed.
    let mut on_failed = records[0].clone();
    on_failed.outcome = failed.outcome.clone();
    assert!(on_failed.verify(g).is_err());
}

/// A version 3 block refuses a transaction signed in a later format.
#[test]
fn a_version_3_block_refuses_a_version_4_transaction() {
    let chain = Chain::new(Suite::Intl);
    let ledger = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    let tx = SealedTx::new(Transaction::sign_versioned(
        4,
        &chain.genesis.chain_id,
        &chain.clients[0],
        None,
        1,
        chain.tx(0, 1, &[1]).tx().payload.clone(),
    ));
    let writes = common::exec_writes(&ledger, std::slice::from_ref(&tx)).unwrap();
    match ledger.prepare(vec![tx], writes, T0 + 1, chain.validator.public_key()) {
        Err(LedgerError::InvalidTransaction { index: 0, reason }) => {
            assert!(reason.contains("unsupported_version"), "{reason}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|p| p.hash)),
    }
}

/// The contract index lists the transactions that deployed or called each contract, newest
/// first and in pages by height; a failed deployment indexes nothing; and a ledger written
/// before the index existed (no marker, no entries) is indexed when it opens.
#[test]
fn contract_transactions_are_indexed_newest_first_and_backfilled_at_open() {
    use kexin_ledger::BlockEffects;
    use kexin_types::{ContractAddress, Outcome};
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain::new(Suite::Intl);
    chain.genesis.version = kexin_types::protocol::V5;
    let path = dir.path().join("l.redb");
    let open = || {
        let store: Arc<dyn KvStore> = Arc::new(RedbStore::open(&path).unwrap());
        (
            Ledger::open(store.clone(), chain.genesis.clone()).unwrap(),
            store,
        )
    };
    let (a, b) = (ContractAddress([0xaa; 20]), ContractAddress([0xbb; 20]));
    let tx = |client: usize, nonce: u64, payload: Payload| {
        SealedTx::new(Transaction::sign_versioned(
            5,
            &chain.genesis.chain_id,
            &chain.clients[client],
            None,
            nonce,
            payload,
        ))
    };
    let deploy = |abi: Option<&str>| Payload::ContractDeploy {
        gas_limit: 100_000,
        code: vec![0x60, 0x00],
        abi: abi.map(str::to_owned),
    };
    let call = |c: ContractAddress| Payload::ContractCall {
        contract: c,
        gas_limit: 100_000,
        input: vec![1, 2, 3, 4],
    };
    let ok = |ret: Vec<u8>| Outcome::success(10, vec![]).with_contract(21_000, ret, vec![]);
    let blocks = [
        vec![
            (tx(0, 1, deploy(Some("[]"))), ok(a.0.to_vec())),
            (
                tx(1, 1, deploy(None)),
                Outcome::failed("out_of_gas", "out of gas", 10).in_version(5),
            ),
            (tx(2, 1, call(a)), ok(vec![])),
        ],
        vec![
            (tx(0, 2, call(a)), ok(vec![])),
            (
                tx(1, 2, call(b)),
                Outcome::failed("no_contract", "no code", 10).in_version(5),
            ),
            (
                SealedTx::new(Transaction::sign_versioned(
                    5,
                    &chain.genesis.chain_id,
                    &chain.clients[3],
                    None,
                    1,
                    chain.tx(3, 1, &[1]).into_tx().payload,
                )),
                Outcome::success(11, vec![]).in_version(5),
            ),
        ],
    ];
    let (ledger, store) = open();
    let mut hashes = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let txs: Vec<SealedTx> = block.iter().map(|(t, _)| t.clone()).collect();
        hashes.push(txs.iter().map(SealedTx::hash).collect::<Vec<_>>());
        let effects = BlockEffects {
            version: 5,
            writes: BTreeMap::new(),
            outcomes: block.iter().map(|(_, o)| o.clone()).collect(),
        };
        let prepared = ledger
            .prepare(
                txs,
                effects,
                T0 + 1 + i as u64,
                chain.validator.public_key(),
            )
            .unwrap();
        let cert = chain.certify(&prepared);
        ledger.commit(prepared, &cert).unwrap();
    }
    let check = |ledger: &Ledger| {
        let listed = ledger.contract_txs(&a, None, 10).unwrap();
        let got: Vec<(Hash, u64, u32, u8)> = listed
            .iter()
            .map(|t| (t.tx_hash, t.height, t.tx_index, t.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (hashes[1][0], 2, 0, 8),
                (hashes[0][2], 1, 2, 8),
                (hashes[0][0], 1, 0, 9),
            ]
        );
        assert_eq!(ledger.contract_txs(&a, Some(2), 10).unwrap(), listed[1..]);
        assert_eq!(ledger.contract_txs(&a, None, 1).unwrap(), listed[..1]);
        assert_eq!(ledger.contract_txs(&a, Some(1), 10).unwrap(), vec![]);
        assert_eq!(ledger.contract_txs(&a, Some(0), 10).unwrap(), vec![]);
        assert_eq!(
            ledger.contract_deployment(&a).unwrap(),
            Some(listed[2]),
            "the deployment is found in one read"
        );
        // A call to an address without code is still a call to it; nothing deployed it.
        let to_b = ledger.contract_txs(&b, None, 10).unwrap();
        assert_eq!(to_b.len(), 1);
        assert_eq!(to_b[0].tx_hash, hashes[1][1]);
        assert_eq!(ledger.contract_deployment(&b).unwrap(), None);
        assert_eq!(
            ledger
                .contract_txs(&ContractAddress([0xcc; 20]), None, 10)
                .unwrap(),
            vec![]
        );
    };
    check(&ledger);
    // Forget the index, as a ledger written by a build before it: reopening rebuilds it.
    let mut forget = WriteBatch::new();
    let mut entries = 0;
    store
        .for_each(Table::ContractIndex, &mut |k, _| {
            forget.delete(Table::ContractIndex, k.to_vec());
            entries += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        entries, 5,
        "4 transactions, the deployment also under its own key"
    );
    forget.delete(Table::Meta, b"contract_index".to_vec());
    store.commit(forget).unwrap();
    drop((ledger, store));
    let (ledger, store) = open();
    check(&ledger);
    assert!(store.get(Table::Meta, b"contract_index").unwrap().is_some());
}
