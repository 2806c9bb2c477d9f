//! Kind 3 commit certificates: a block finalized as the ancestor of a later certified block,
//! proven by the chain of headers after it and the later block's finalization certificate.

mod common;

use common::*;
use kexin_crypto::SigningKey;
use kexin_types::*;

fn header(height: u64, parent_hash: Hash, proposer: PublicKey) -> BlockHeader {
    BlockHeader {
        version: kexin_types::protocol::V3,
        outcomes_root: None,
        height,
        parent_hash,
        timestamp_ms: 1_000 + height,
        proposer,
        tx_count: 1,
        log_size: height,
        log_root: Hash([height as u8; 32]),
        state_root: Hash([0x40 | height as u8; 32]),
        next_validators: Hash::ZERO,
    }
}

/// A finalization of `hash` by consensus indices 0..3.
fn finalization(genesis: &Genesis, keys: &[SigningKey], hash: &Hash) -> CommitCertificate {
    let order = genesis.consensus_order();
    let input = finalize_signing_input(&genesis.chain_id, 0, 9, 8, hash);
    CommitCertificate::Finalization {
        epoch: 0,
        view: 9,
        parent_view: 8,
        signatures: (0..3u16)
            .map(|i| {
                let key = keys
                    .iter()
                    .find(|k| k.public_key() == order[i as usize])
                    .expect("validator key");
                ValidatorSignature {
                    validator: i,
                    signature: key.sign_raw(&input),
                }
            })
            .collect(),
    }
}

/// Block 5 (hash `target`), headers of 6 and 7, and block 7's finalization.
fn chain(suite: Suite) -> (Genesis, Hash, CommitCertificate) {
    let (genesis, keys) = genesis(suite, 4);
    let proposer = keys[0].public_key();
    let target = Hash([5; 32]);
    let h6 = header(6, target, proposer);
    let h7 = header(7, h6.hash(suite), proposer);
    let cert = finalization(&genesis, &keys, &h7.hash(suite));
    (
        genesis,
        target,
        CommitCertificate::Ancestor {
            headers: vec![h6, h7],
            certificate: Box::new(cert),
        },
    )
}

fn headers_mut(cert: &mut CommitCertificate) -> &mut Vec<BlockHeader> {
    match cert {
        CommitCertificate::Ancestor { headers, .. } => headers,
        other => panic!("not an ancestor certificate: {other:?}"),
    }
}

#[test]
fn a_linked_chain_with_a_quorum_verifies_in_both_suites() {
    for suite in [Suite::Intl, Suite::Gm] {
        let (genesis, target, cert) = chain(suite);
        cert.verify(&genesis, &target)
            .expect("valid ancestor certificate");
        // Another block at the same height is not proven.
        assert!(cert.verify(&genesis, &Hash([6; 32])).is_err());
    }
}

#[test]
fn any_change_to_the_headers_breaks_the_link() {
    let suite = Suite::Intl;
    let (genesis, target, cert) = chain(suite);
    type Mutation = Box<dyn Fn(&mut Vec<BlockHeader>)>;
    let mutations: Vec<Mutation> = vec![
        Box::new(|h| h[0].state_root.0[0] ^= 1),
        Box::new(|h| h[1].state_root.0[31] ^= 1),
        Box::new(|h| h[0].timestamp_ms += 1),
        Box::new(|h| h[1].height += 1),
        Box::new(|h| h[0].parent_hash.0[3] ^= 0x80),
        Box::new(|h| h.swap(0, 1)),
        Box::new(|h| {
            h.remove(0);
        }),
        Box::new(|h| {
            h.pop();
        }),
        Box::new(|h| h.clear()),
    ];
    for (i, mutate) in mutations.iter().enumerate() {
        let mut bad = cert.clone();
        mutate(headers_mut(&mut bad));
        assert!(
            bad.verify(&genesis, &target).is_err(),
            "mutation {i} still verifies"
        );
    }
}

#[test]
fn a_gap_in_heights_is_refused_even_if_hashes_link() {
    let suite = Suite::Intl;
    let (genesis, keys) = genesis(suite, 4);
    let p = keys[0].public_key();
    let target = Hash([5; 32]);
    let h6 = header(6, target, p);
    let h8 = header(8, h6.hash(suite), p);
    let cert = CommitCertificate::Ancestor {
        certificate: Box::new(finalization(&genesis, &keys, &h8.hash(suite))),
        headers: vec![h6, h8],
    };
    let err = cert.verify(&genesis, &target).unwrap_err();
    assert!(matches!(err, CertificateError::BadLink(_)), "{err}");
}

#[test]
fn a_sub_quorum_inner_certificate_fails() {
    let (genesis, target, mut cert) = chain(Suite::Gm);
    if let CommitCertificate::Ancestor { certificate, .. } = &mut cert
        && let CommitCertificate::Finalization { signatures, .. } = certificate.as_mut()
    {
        signatures.pop();
    }
    let err = cert.verify(&genesis, &target).unwrap_err();
    assert!(matches!(err, CertificateError::NoQuorum { .. }), "{err}");
}

#[test]
fn binary_and_json_round_trip_and_nesting_is_refused() {
    let (genesis, target, cert) = chain(Suite::Intl);
    let bytes = cert.encode();
    assert_eq!(bytes[0], 3);
    let back = CommitCertificate::decode(&bytes).expect("decodes");
    assert_eq!(back, cert);
    back.verify(&genesis, &target).expect("still verifies");
    for cut in 0..bytes.len() {
        assert!(
            CommitCertificate::decode(&bytes[..cut]).is_err(),
            "prefix {cut}"
        );
    }
    let json = serde_json::to_string(&cert).expect("json");
    assert!(json.contains("\"kind\":\"ancestor\""), "{json}");
    let from_json: CommitCertificate = serde_json::from_str(&json).expect("json back");
    assert_eq!(from_json, cert);

    // Nested: encode by hand (the type allows building it) and check both paths refuse it.
    let nested = CommitCertificate::Ancestor {
        headers: vec![header(6, target, genesis.validators[0].public_key)],
        certificate: Box::new(cert.clone()),
    };
    assert!(CommitCertificate::decode(&nested.encode()).is_err());
    assert!(nested.verify(&genesis, &target).is_err());

    // Zero headers.
    let mut empty = vec![3u8, 0, 0];
    empty.extend(cert_inner(&cert).encode());
    assert!(CommitCertificate::decode(&empty).is_err());
}

fn cert_inner(cert: &CommitCertificate) -> CommitCertificate {
    match cert {
        CommitCertificate::Ancestor { certificate, .. } => (**certificate).clone(),
        other => other.clone(),
    }
}
