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
        version: FORMAT_VERSION,
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
