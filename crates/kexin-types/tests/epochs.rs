//! Epoch links: each epoch's validator set, committed to by the last block of the epoch
//! before and certified by that epoch's validators, so an offline verifier learns every set
//! from the genesis alone. Any tampered or missing link is refused, and validators of an old
//! epoch cannot certify blocks of a later one.

use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_types::*;

const CHAIN: &str = "epochs";
const LEN: u64 = 4;

fn validator(key: &SigningKey, i: usize) -> Validator {
    Validator {
        name: format!("node{i}"),
        org: String::new(),
        public_key: key.public_key(),
        address: String::new(),
    }
}

fn header(height: u64, next: Hash) -> BlockHeader {
    BlockHeader {
        version: kexin_types::protocol::V3,
        outcomes_root: None,
        height,
        parent_hash: Hash([height as u8; 32]),
        timestamp_ms: 1_000 + height,
        proposer: SigningKey::from_seed(Suite::Intl, &[1; 32])
            .unwrap()
            .public_key(),
        tx_count: 0,
        log_size: 0,
        log_root: Hash([9; 32]),
        state_root: Hash([0x40 | height as u8; 32]),
        next_validators: next,
    }
}

/// A finalization of `hash` in `epoch` by the first `n` of `set` (consensus order).
fn finalize(
    set: &[(SigningKey, Validator)],
    epoch: u64,
    n: usize,
    hash: &Hash,
) -> CommitCertificate {
    let validators: Vec<Validator> = set.iter().map(|(_, v)| v.clone()).collect();
    let order = consensus_order(&validators);
    let input = finalize_signing_input(CHAIN, epoch, 3, 2, hash);
    CommitCertificate::Finalization {
        epoch,
        view: 3,
        parent_view: 2,
        signatures: (0..n)
            .map(|i| {
                let key = &set
                    .iter()
                    .find(|(_, v)| v.public_key == order[i])
                    .unwrap()
                    .0;
                ValidatorSignature {
                    validator: i as u16,
                    signature: key.sign_raw(&input),
                }
            })
            .collect(),
    }
}

struct Fixture {
    genesis: Genesis,
    /// Epoch 0: keys 0..4; epoch 1: keys 0..5 (one added); epoch 2: keys 1..5 (one removed).
    sets: Vec<Vec<(SigningKey, Validator)>>,
    links: Vec<EpochLink>,
}

fn fixture() -> Fixture {
    let keys: Vec<SigningKey> = (0..5)
        .map(|i| SigningKey::from_seed(Suite::Intl, &[10 + i as u8; 32]).unwrap())
        .collect();
    let member = |i: usize| (keys[i].clone(), validator(&keys[i], i));
    let sets: Vec<Vec<(SigningKey, Validator)>> = vec![
        (0..4).map(member).collect(),
        (0..5).map(member).collect(),
        (1..5).map(member).collect(),
    ];
    let genesis = Genesis {
        version: kexin_types::protocol::V3,
        chain_id: CHAIN.into(),
        suite: Suite::Intl,
        timestamp_ms: 0,
        organisations: vec![],
        validators: sets[0].iter().map(|(_, v)| v.clone()).collect(),
        epoch_length: LEN,
    };
    genesis.validate().unwrap();
    let mut links = Vec::new();
    for epoch in 1..=2u64 {
        let set = EpochSet {
            epoch,
            validators: sets[epoch as usize]
                .iter()
                .map(|(_, v)| v.clone())
                .collect(),
        };
        let header = header(genesis.epoch_last(epoch - 1), set.hash(Suite::Intl));
        let prev = &sets[epoch as usize - 1];
        let quorum = quorum_of(prev.len());
        let certificate = finalize(prev, epoch - 1, quorum, &header.hash(Suite::Intl));
        links.push(EpochLink {
            set,
            header,
            certificate,
        });
    }
    Fixture {
        genesis,
        sets,
        links,
    }
}

#[test]
fn links_establish_each_epochs_validators_from_genesis() {
    let f = fixture();
    let chain = EpochChain::verify(&f.genesis, &f.links).unwrap();
    assert_eq!(chain.latest(), 2);
    // A block of epoch 2, certified by a quorum of epoch 2's validators (3 of 4).
    let block = header(2 * LEN + 1, Hash::ZERO);
    let hash = block.hash(Suite::Intl);
    let cert = finalize(&f.sets[2], 2, 3, &hash);
    assert_eq!(cert.check_epoch(&f.genesis, block.height), Ok(()));
    assert_eq!(cert.verify_in(&f.genesis, &chain, &hash), Ok(()));
    // The genesis alone does not know epoch 2.
    assert_eq!(
        cert.verify(&f.genesis, &hash),
        Err(CertificateError::UnknownEpoch(2))
    );
    // Two signatures are not a quorum of epoch 2; epoch 1's quorum of 5 is 4.
    let short = finalize(&f.sets[2], 2, 2, &hash);
    assert!(matches!(
        short.verify_in(&f.genesis, &chain, &hash),
        Err(CertificateError::NoQuorum { have: 2, need: 3 })
    ));
    assert_eq!(quorum_of(5), 4);
    // Links round-trip through their binary encoding.
    for link in &f.links {
        assert_eq!(&EpochLink::decode(&link.encode()).unwrap(), link);
    }
}

#[test]
fn old_validators_cannot_certify_a_later_epoch() {
    let f = fixture();
    let chain = EpochChain::verify(&f.genesis, &f.links).unwrap();
    let block = header(2 * LEN + 1, Hash::ZERO);
    let hash = block.hash(Suite::Intl);
    // Epoch 0's validators (including node0, removed in epoch 2) sign a certificate that
    // claims epoch 0 for a block of epoch 2: its signatures verify, its epoch does not.
    let forged = finalize(&f.sets[0], 0, 3, &hash);
    assert_eq!(forged.verify_in(&f.genesis, &chain, &hash), Ok(()));
    assert_eq!(
        forged.check_epoch(&f.genesis, block.height),
        Err(CertificateError::WrongEpoch {
            height: block.height,
            expected: 2,
            got: 0
        })
    );
    // Claiming epoch 2 with epoch 0's keys: the signer indices name other keys.
    let claimed = {
        let CommitCertificate::Finalization { signatures, .. } = finalize(&f.sets[0], 2, 3, &hash)
        else {
            unreachable!()
        };
        CommitCertificate::Finalization {
            epoch: 2,
            view: 3,
            parent_view: 2,
            signatures,
        }
    };
    assert!(matches!(
        claimed.verify_in(&f.genesis, &chain, &hash),
        Err(CertificateError::BadSignature(_))
    ));
}

#[test]
fn tampered_missing_or_misplaced_links_are_refused() {
    let f = fixture();
    let refused = |links: &[EpochLink]| EpochChain::verify(&f.genesis, links).unwrap_err();
    // A gap: epoch 2's link without epoch 1's.
    assert!(matches!(
        refused(&f.links[1..]),
        CertificateError::BadEpochLink { epoch: 2, .. }
    ));
    // Another set than the header commits to (a validator swapped in).
    let mut swapped = f.links.clone();
    swapped[1].set.validators[0] = f.sets[0][0].1.clone();
    assert!(matches!(
        refused(&swapped),
        CertificateError::BadEpochLink { epoch: 2, .. }
    ));
    // The header's commitment altered to match the swap: the certificate no longer covers it.
    let mut rehashed = swapped.clone();
    rehashed[1].header.next_validators = rehashed[1].set.hash(Suite::Intl);
    assert!(matches!(
        refused(&rehashed),
        CertificateError::BadSignature(_)
    ));
    // The header of another height.
    let mut moved = f.links.clone();
    moved[0].header.height += 1;
    assert!(matches!(
        refused(&moved),
        CertificateError::BadEpochLink { epoch: 1, .. }
    ));
    // Epoch 1's boundary certified in epoch 1 instead of epoch 0.
    let mut wrong_epoch = f.links.clone();
    wrong_epoch[0].certificate =
        finalize(&f.sets[1], 1, 4, &wrong_epoch[0].header.hash(Suite::Intl));
    assert!(matches!(
        refused(&wrong_epoch),
        CertificateError::WrongEpoch {
            expected: 0,
            got: 1,
            ..
        }
    ));
    // Any flipped byte of a link's encoding fails to decode or to verify.
    let bytes = f.links[0].encode();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        if let Ok(link) = EpochLink::decode(&b) {
            assert!(
                EpochChain::verify(&f.genesis, &[link, f.links[1].clone()]).is_err(),
                "byte {i}"
            );
        }
    }
    // The same epoch again must carry the same set.
    let mut chain = EpochChain::verify(&f.genesis, &f.links).unwrap();
    assert_eq!(chain.extend(&f.links[0]), Ok(()));
    assert!(chain.extend(&swapped[1]).is_err());
}

/// An evidence receipt (version 4, open chain [`fixture`]) for the one transaction of a block at
/// `height`, proposed by `proposer`, with `certificate` and `links`.
fn receipt_at(
    height: u64,
    proposer: &SigningKey,
    certificate: impl FnOnce(&Hash) -> CommitCertificate,
    links: &[EpochLink],
) -> Receipt {
    let suite = Suite::Intl;
    let signer = SigningKey::from_seed(suite, &[77; 32]).unwrap();
    let record = EvidenceRecord {
        digest: suite.hash(b"forged document"),
        metadata: RecordMetadata {
            salt: Salt([5; 16]),
            content_type: "text/plain".into(),
            label: "forged.txt".into(),
            external_ref: None,
        },
    };
    let tx = Transaction::sign_versioned(
        kexin_types::protocol::V3,
        CHAIN,
        &signer,
        None,
        1,
        Payload::Evidence {
            records: vec![record.clone()],
        },
    );
    let summary = tx.summary();
    let log_leaf = log_leaf_hash(suite, &tx.hash(), &tx.signature);
    let mut header = header(height, Hash::ZERO);
    header.proposer = proposer.public_key();
    header.tx_count = 1;
    header.log_size = 1;
    header.log_root = log_leaf;
    let block_hash = header.hash(suite);
    let proof = InclusionProof {
        leaf_index: 0,
        tree_size: 1,
        path: vec![],
    };
    Receipt {
        outcome: None,
        version: RECEIPT_VERSION,
        chain_id: CHAIN.into(),
        suite,
        record: record.disclosed(suite),
        record_proof: proof.clone(),
        transaction: ReceiptTx {
            hash: tx.hash(),
            summary,
            signature: tx.signature,
        },
        log_proof: proof,
        block_hash,
        header,
        certificate: certificate(&block_hash),
        epochs: links.to_vec(),
        signer_cert: None,
    }
}

/// Kind 1 signatures of the genesis validators at `indices` (genesis file order).
fn genesis_signatures(f: &Fixture, indices: &[usize], hash: &Hash) -> CommitCertificate {
    let domain = kexin_crypto::Domain::new(domains::COMMIT_SIGNATURE, CHAIN);
    CommitCertificate::Signatures {
        signatures: indices
            .iter()
            .map(|&i| ValidatorSignature {
                validator: i as u16,
                signature: f.sets[0][i].0.sign(&domain, hash.as_bytes()),
            })
            .collect(),
    }
}

fn refusal(r: &Receipt, genesis: &Genesis) -> ReceiptError {
    let err = r.verify(genesis).unwrap_err();
    // The batch verifier refuses it the same way.
    assert_eq!(BatchVerifier::new(genesis).verify(r).unwrap_err(), err);
    err
}

/// Issue 13: genesis validator keys (of validators removed since, or leaked) cannot forge a
/// receipt for a block of a later epoch with a kind 1 certificate, with or without the epoch
/// links; the honest kind 2 receipt of the same block verifies.
#[test]
fn genesis_keys_cannot_forge_receipts_of_later_epochs() {
    let f = fixture();
    let height = 2 * LEN + 1;
    let proposer = &f.sets[2][0].0;
    // The honest receipt: finalized by epoch 2's validators.
    let honest = receipt_at(
        height,
        proposer,
        |h| finalize(&f.sets[2], 2, 3, h),
        &f.links,
    );
    let ok = honest.verify(&f.genesis).unwrap();
    assert_eq!(ok.height, height);
    assert_eq!(BatchVerifier::new(&f.genesis).verify(&honest), Ok(ok));

    // Every genesis validator signs (kind 1) the same block, with the links: refused, the
    // validators of epoch 2 are not the genesis validators.
    let all = [0, 1, 2, 3];
    let forged = receipt_at(
        height,
        proposer,
        |h| genesis_signatures(&f, &all, h),
        &f.links,
    );
    let err = refusal(&forged, &f.genesis);
    assert_eq!(err.code(), "bad_certificate");
    assert_eq!(
        err,
        ReceiptError::Certificate(CertificateError::GenesisSignaturesOutOfEpoch { epoch: 2 })
    );
    // Without links, for block 1,000,000: the epoch's validators are not established, so
    // nothing shows they are the genesis validators.
    let far = receipt_at(
        1_000_000,
        proposer,
        |h| genesis_signatures(&f, &all, h),
        &[],
    );
    assert_eq!(
        refusal(&far, &f.genesis),
        ReceiptError::Certificate(CertificateError::UnknownEpoch(1_000_000 / LEN))
    );
    // An ancestor certificate ending in kind 1 signatures is refused the same way.
    let mut next = header(height + 1, Hash::ZERO);
    next.parent_hash = forged.block_hash;
    let next_hash = next.hash(Suite::Intl);
    let mut via_ancestor = forged.clone();
    via_ancestor.certificate = CommitCertificate::Ancestor {
        headers: vec![next],
        certificate: Box::new(genesis_signatures(&f, &all, &next_hash)),
    };
    assert_eq!(
        refusal(&via_ancestor, &f.genesis),
        ReceiptError::Certificate(CertificateError::GenesisSignaturesOutOfEpoch { epoch: 2 })
    );
    // In epoch 0 kind 1 still certifies (the single-validator ledger's certificates).
    let early = receipt_at(
        1,
        &f.sets[0][0].0,
        |h| genesis_signatures(&f, &[0, 1, 2], h),
        &[],
    );
    early.verify(&f.genesis).unwrap();
}

/// Kind 1 stays valid in a later epoch whose validators are exactly the genesis validators.
#[test]
fn genesis_signatures_certify_epochs_with_the_genesis_validators() {
    let f = fixture();
    // Epoch 1 keeps the genesis set.
    let set = EpochSet {
        epoch: 1,
        validators: f.genesis.validators.clone(),
    };
    let header1 = header(f.genesis.epoch_last(0), set.hash(Suite::Intl));
    let cert = finalize(&f.sets[0], 0, 3, &header1.hash(Suite::Intl));
    let links = vec![EpochLink {
        set,
        header: header1,
        certificate: cert,
    }];
    let r = receipt_at(
        LEN + 1,
        &f.sets[0][1].0,
        |h| genesis_signatures(&f, &[0, 1, 2], h),
        &links,
    );
    r.verify(&f.genesis).unwrap();
    BatchVerifier::new(&f.genesis).verify(&r).unwrap();
}

/// The header's proposer must be a validator of the block's epoch.
#[test]
fn the_proposer_must_be_a_validator_of_the_epoch() {
    let f = fixture();
    let height = 2 * LEN + 1;
    let fin = |h: &Hash| finalize(&f.sets[2], 2, 3, h);
    // node0 validated epochs 0 and 1 but was removed in epoch 2.
    let removed = receipt_at(height, &f.sets[0][0].0, fin, &f.links);
    let err = refusal(&removed, &f.genesis);
    assert_eq!(err.code(), "unknown_proposer");
    assert!(err.to_string().contains("epoch 2"), "{err}");
    // A key that never validated.
    let stranger = SigningKey::from_seed(Suite::Intl, &[99; 32]).unwrap();
    let r = receipt_at(height, &stranger, fin, &f.links);
    assert_eq!(refusal(&r, &f.genesis).code(), "unknown_proposer");
    // Links beyond the block's epoch are allowed: a block of epoch 1 with the links of
    // epochs 1 and 2 (as a receipt whose CA-set proof is at an epoch 2 header carries them).
    let r = receipt_at(
        LEN + 1,
        &f.sets[1][4].0,
        |h| finalize(&f.sets[1], 1, 4, h),
        &f.links,
    );
    r.verify(&f.genesis).unwrap();
    // node4, added in epoch 1, proposes in epoch 2: accepted.
    let r = receipt_at(height, &f.sets[2][3].0, fin, &f.links);
    r.verify(&f.genesis).unwrap();
}
