//! State proof documents from a real ledger: a contract storage slot proven at the head,
//! offline from the genesis alone, before and after it changes, its absence, and the same
//! while blocks are being committed.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Chain, T0, exec_writes};
use kexin_crypto::Suite;
use kexin_ledger::{Ledger, MemStore, RedbStore};
use kexin_types::ContractAddress;
use kexin_types::state::{Key, StateKey};
use kexin_types::state_receipt::{StateReceipt, contract_storage_key};

const TOKEN: ContractAddress = ContractAddress([0x42; 20]);

fn slot(n: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[31] = n;
    s
}

fn word(n: u64) -> Vec<u8> {
    let mut w = vec![0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

/// Commits block `ledger.height() + 1` with one evidence transaction of client 0 and the
/// given storage writes (as the contract module would write them).
fn commit_with_storage(chain: &Chain, ledger: &Ledger, writes: &[(u8, u64)]) {
    let height = ledger.height() + 1;
    let txs = [chain.tx(0, height, &[height])];
    let mut effects = exec_writes(ledger, &txs).unwrap();
    for (s, v) in writes {
        effects.insert(contract_storage_key(&TOKEN, &slot(*s)), word(*v));
    }
    let prepared = ledger
        .prepare(
            txs.to_vec(),
            effects,
            T0 + 1_000 * height,
            chain.validator.public_key(),
        )
        .unwrap();
    let cert = chain.certify(&prepared);
    ledger.commit(prepared, &cert).unwrap();
}

#[test]
fn a_storage_slot_is_proven_at_the_head_from_the_genesis_alone() {
    for suite in [Suite::Intl, Suite::Gm] {
        let chain = Chain::new(suite);
        let ledger = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
        let k = contract_storage_key(&TOKEN, &slot(3));
        // Before block 1 there is no header to prove anything against.
        assert_eq!(ledger.state_receipt(&k).unwrap(), None);

        commit_with_storage(&chain, &ledger, &[(3, 5), (4, 9)]);
        let at1 = ledger.state_receipt(&k).unwrap().unwrap();
        let v = StateReceipt::from_json(&at1.to_json())
            .unwrap()
            .verify(&chain.genesis)
            .unwrap();
        assert_eq!(v.height, 1);
        assert_eq!(v.storage, Some((TOKEN, slot(3))));
        assert_eq!(v.value, Some(word(5)));
        assert_eq!(v.block_hash, ledger.head().unwrap().hash);

        // A slot never written is proven empty.
        let empty = ledger
            .state_receipt(&contract_storage_key(&TOKEN, &slot(7)))
            .unwrap()
            .unwrap();
        let v = empty.verify(&chain.genesis).unwrap();
        assert_eq!(v.value, None);
        assert_eq!(v.word(), Some([0; 32]));

        // The slot changes in block 2; a block 3 leaves it. The old document still proves the
        // old value at height 1, the new one the new value at the head.
        commit_with_storage(&chain, &ledger, &[(3, 6)]);
        commit_with_storage(&chain, &ledger, &[(4, 10)]);
        at1.verify(&chain.genesis).unwrap();
        let at3 = ledger.state_receipt(&k).unwrap().unwrap();
        let v = at3.verify(&chain.genesis).unwrap();
        assert_eq!((v.height, v.value), (3, Some(word(6))));

        // The old value is no longer under the new root.
        let mut stale = at3.clone();
        stale.value_hex = at1.value_hex.clone();
        assert_eq!(
            stale.verify(&chain.genesis).unwrap_err().code(),
            "bad_state_proof"
        );
        // Nor is the new proof under the old header.
        let mut mixed = at3;
        mixed.header = at1.header.clone();
        mixed.block_hash = at1.block_hash;
        mixed.certificate = at1.certificate.clone();
        assert_eq!(
            mixed.verify(&chain.genesis).unwrap_err().code(),
            "bad_state_proof"
        );
    }
}

#[test]
fn the_generic_proof_is_the_typed_one() {
    let chain = Chain::new(Suite::Intl);
    let ledger = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    commit_with_storage(&chain, &ledger, &[(1, 1)]);
    let typed = StateKey::Nonce(chain.clients[0].public_key());
    let a = ledger.state_proof(&typed).unwrap();
    let b = ledger.key_state_proof(&Key::from(&typed)).unwrap();
    assert_eq!(a, b);
    assert!(a.value.is_some());
    // A nonce record as a state proof document, too.
    let doc = ledger.state_receipt(&typed.to_key()).unwrap().unwrap();
    assert_eq!(doc.contract, None);
    let v = doc.verify(&chain.genesis).unwrap();
    assert_eq!(v.value, a.value);
    assert_eq!(v.key_hash, a.key_hash);
}

/// Documents taken while blocks are committed verify: the proof and the header always come
/// from the same head.
#[test]
fn documents_taken_during_commits_are_consistent() {
    let chain = Chain::new(Suite::Intl);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(
        Ledger::open(
            Arc::new(RedbStore::open(&dir.path().join("c.redb")).unwrap()),
            chain.genesis.clone(),
        )
        .unwrap(),
    );
    commit_with_storage(&chain, &ledger, &[(0, 0)]);
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let ledger = ledger.clone();
            let done = done.clone();
            let genesis = chain.genesis.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                let k = contract_storage_key(&TOKEN, &slot(0));
                while !done.load(Ordering::Relaxed) || n == 0 {
                    let doc = ledger.state_receipt(&k).unwrap().unwrap();
                    let v = doc.verify(&genesis).unwrap_or_else(|e| panic!("{e}"));
                    // Block h writes slot 0 = h - 1.
                    assert_eq!(v.value, Some(word(v.height - 1)), "at {}", v.height);
                    n += 1;
                }
                n
            })
        })
        .collect();
    for h in 2..=30u64 {
        commit_with_storage(&chain, &ledger, &[(0, h - 1)]);
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}
