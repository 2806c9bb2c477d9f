//! Kind 2 commit certificates: `simplex` finalization certificates, checked offline against the
//! genesis alone with no consensus code.
//!
//! Signers are indexed in [`Genesis::consensus_order`] (keys sorted by their bytes), not in
//! genesis file order; each signs [`finalize_signing_input`], the exact bytes commonware's
//! `simplex` signs for a finalize vote. These tests sign with `SigningKey::sign_raw` over that
//! input, for 4-validator chains of both suites.

mod common;

use common::*;
use kexin_crypto::{Domain, SigningKey};
use kexin_types::*;

/// The round of the certificates below: view 300 and parent view 298 have two-byte varints.
const EPOCH: u64 = 0;
const VIEW: u64 = 300;
const PARENT_VIEW: u64 = 298;

/// The validators' signing keys in consensus order (`result[i]` signs as index `i`).
fn consensus_keys<'k>(genesis: &Genesis, keys: &'k [SigningKey]) -> Vec<&'k SigningKey> {
    genesis
        .consensus_order()
        .iter()
        .map(|pk| {
            keys.iter()
                .find(|k| k.public_key() == *pk)
                .expect("every consensus key is a validator key")
        })
        .collect()
}

/// A finalization certificate with the votes of consensus indices `signers` (in the given
/// order), each signed by `sign(index)` over the finalize input of `round` and `block_hash`.
fn finalization_by(
    chain_id: &str,
    (epoch, view, parent_view): (u64, u64, u64),
    block_hash: &Hash,
    signers: &[u16],
    sign: impl Fn(u16) -> SigningKey,
) -> CommitCertificate {
    let input = finalize_signing_input(chain_id, epoch, view, parent_view, block_hash);
    CommitCertificate::Finalization {
        epoch,
        view,
        parent_view,
        signatures: signers
            .iter()
            .map(|&i| ValidatorSignature {
                validator: i,
                signature: sign(i).sign_raw(&input),
            })
            .collect(),
    }
}

/// A finalization certificate for `block_hash` in round ([`EPOCH`], [`VIEW`], [`PARENT_VIEW`])
/// by the validators at consensus indices `signers`.
fn finalization(
    genesis: &Genesis,
    keys: &[SigningKey],
    block_hash: &Hash,
    signers: &[u16],
) -> CommitCertificate {
    let ordered = consensus_keys(genesis, keys);
    finalization_by(
        &genesis.chain_id,
        (EPOCH, VIEW, PARENT_VIEW),
        block_hash,
        signers,
        |i| ordered[i as usize].clone(),
    )
}

/// The signatures of a finalization certificate, mutably.
fn signatures_mut(cert: &mut CommitCertificate) -> &mut Vec<ValidatorSignature> {
    match cert {
        CommitCertificate::Finalization { signatures, .. } => signatures,
        other => panic!("not a finalization certificate: {other:?}"),
    }
}

/// All subsets of `0..4` with at least `min` members, ascending.
fn subsets(min: usize) -> Vec<Vec<u16>> {
    (0u16..16)
        .map(|mask| {
            (0..4)
                .filter(|i| mask & (1 << i) != 0)
                .collect::<Vec<u16>>()
        })
        .filter(|s| s.len() >= min)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The signed input and the signer order
// ---------------------------------------------------------------------------------------------

#[test]
fn finalize_signing_input_layout() {
    let hash = Hash([0xab; 32]);
    let input = finalize_signing_input("kexin-conformance", 1, 300, 299, &hash);
    let fns = b"kexin/simplex/kexin-conformance_FINALIZE";
    assert_eq!(fns.len(), 40);
    let mut expected = vec![40u8];
    expected.extend_from_slice(fns);
    expected.extend_from_slice(&[0x01, 0xac, 0x02, 0xab, 0x02]);
    expected.extend_from_slice(&[0xab; 32]);
    assert_eq!(input, expected);

    assert_eq!(
        simplex_namespace("kexin-conformance"),
        b"kexin/simplex/kexin-conformance".to_vec()
    );
    assert_eq!(domains::SIMPLEX_NAMESPACE_PREFIX, "kexin/simplex/");
    // The namespace length is a varint too: the longest chain id (64 bytes) still fits in one
    // byte, since 14 + 64 + 9 = 87 < 128.
    let long = "a".repeat(64);
    let input = finalize_signing_input(&long, 0, 0, 0, &hash);
    assert_eq!(input[0], 87);
    assert_eq!(input.len(), 1 + 87 + 3 + 32);
}

/// Unsigned LEB128 vectors, read back out of the signing input's epoch, view and parent view.
#[test]
fn varint_vectors() {
    let vectors: [(u64, &[u8]); 8] = [
        (0, &[0x00]),
        (1, &[0x01]),
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (300, &[0xac, 0x02]),
        (16_384, &[0x80, 0x80, 0x01]),
        (u32::MAX as u64, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        (
            u64::MAX,
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
    ];
    let hash = Hash([0x5a; 32]);
    let prefix = 1 + simplex_namespace(CHAIN_ID).len() + b"_FINALIZE".len();
    for (value, bytes) in vectors {
        for position in 0..3 {
            let mut round = [0u64; 3];
            round[position] = value;
            let input = finalize_signing_input(CHAIN_ID, round[0], round[1], round[2], &hash);
            let mut expected = vec![0x00; 3];
            expected.splice(position..position + 1, bytes.iter().copied());
            expected.extend_from_slice(hash.as_bytes());
            assert_eq!(&input[prefix..], &expected[..], "{value} at {position}");
        }
    }
}

#[test]
fn consensus_order_sorts_keys_by_their_bytes() {
    for suite in SUITES {
        let (genesis, _) = genesis(suite, 4);
        let order = genesis.consensus_order();
        assert_eq!(order.len(), 4);
        for w in order.windows(2) {
            assert!(w[0].as_bytes() < w[1].as_bytes(), "{suite}: {order:?}");
        }
        let mut file: Vec<PublicKey> = genesis.validators.iter().map(|v| v.public_key).collect();
        file.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(order, file, "{suite}");
        // Reordering the genesis file does not change the consensus order.
        let mut reversed = genesis.clone();
        reversed.validators.reverse();
        assert_eq!(reversed.consensus_order(), order, "{suite}");
    }
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

#[test]
fn every_quorum_verifies_and_smaller_sets_do_not() {
    for suite in SUITES {
        let (genesis, keys) = genesis(suite, 4);
        assert_eq!(genesis.quorum(), 3);
        let hash = suite.hash(b"a block");
        for signers in subsets(1) {
            let cert = finalization(&genesis, &keys, &hash, &signers);
            let result = cert.verify(&genesis, &hash);
            if signers.len() >= 3 {
                assert_eq!(result, Ok(()), "{suite} {signers:?}");
            } else {
                assert_eq!(
                    result,
                    Err(CertificateError::NoQuorum {
                        have: signers.len(),
                        need: 3
                    }),
                    "{suite} {signers:?}"
                );
            }
        }
    }
}

#[test]
fn signer_indices_follow_consensus_order_not_file_order() {
    for suite in SUITES {
        let (genesis, keys) = genesis(suite, 4);
        let hash = suite.hash(b"a block");
        // A genesis whose file order is the reverse of the consensus order.
        let mut shuffled = genesis.clone();
        shuffled
            .validators
            .sort_by(|a, b| b.public_key.as_bytes().cmp(a.public_key.as_bytes()));
        assert_ne!(
            shuffled
                .validators
                .iter()
                .map(|v| v.public_key)
                .collect::<Vec<_>>(),
            shuffled.consensus_order()
        );
        // The same certificate verifies under both files: only the key set matters.
        let cert = finalization(&genesis, &keys, &hash, &[0, 1, 2]);
        assert_eq!(cert.verify(&genesis, &hash), Ok(()), "{suite}");
        assert_eq!(cert.verify(&shuffled, &hash), Ok(()), "{suite}");
        // Signing as the file-order index of `shuffled` is wrong: its validator 0 is consensus
        // index 3.
        let by_file_order = finalization_by(
            CHAIN_ID,
            (EPOCH, VIEW, PARENT_VIEW),
            &hash,
            &[0, 1, 2],
            |i| {
                let pk = shuffled.validators[i as usize].public_key;
                keys.iter().find(|k| k.public_key() == pk).unwrap().clone()
            },
        );
        assert_eq!(
            by_file_order.verify(&shuffled, &hash),
            Err(CertificateError::BadSignature(0)),
            "{suite}"
        );
    }
}

#[test]
fn outsiders_and_unknown_indices_are_refused() {
    for suite in SUITES {
        let (genesis, keys) = genesis(suite, 4);
        let hash = suite.hash(b"a block");
        let outsider = key(suite, 200);
        let input = finalize_signing_input(CHAIN_ID, EPOCH, VIEW, PARENT_VIEW, &hash);
        // An outsider's vote filed under each index, with a quorum of good votes around it.
        for index in 0..4u16 {
            let mut cert = finalization(&genesis, &keys, &hash, &[0, 1, 2, 3]);
            signatures_mut(&mut cert)[index as usize].signature = outsider.sign_raw(&input);
            assert_eq!(
                cert.verify(&genesis, &hash),
                Err(CertificateError::BadSignature(index)),
                "{suite} {index}"
            );
        }
        // Index 4 of a 4-validator set, and the largest index.
        for index in [4u16, u16::MAX] {
            let mut cert = finalization(&genesis, &keys, &hash, &[0, 1, 2]);
            signatures_mut(&mut cert).push(ValidatorSignature {
                validator: index,
                signature: outsider.sign_raw(&input),
            });
            assert_eq!(
                cert.verify(&genesis, &hash),
                Err(CertificateError::UnknownValidator(index)),
                "{suite} {index}"
            );
        }
        // An empty certificate (built without decoding) has no quorum.
        let empty = CommitCertificate::Finalization {
            epoch: EPOCH,
            view: VIEW,
            parent_view: PARENT_VIEW,
            signatures: vec![],
        };
        assert_eq!(
            empty.verify(&genesis, &hash),
            Err(CertificateError::NoQuorum { have: 0, need: 3 })
        );
    }
}

#[test]
fn no_tampering_survives() {
    for suite in SUITES {
        let (genesis, keys) = genesis(suite, 4);
        let hash = suite.hash(b"a block");
        let good = finalization(&genesis, &keys, &hash, &[0, 2, 3]);
        assert_eq!(good.verify(&genesis, &hash), Ok(()));

        // Every bit flip in every byte of every signature.
        for s in 0..3 {
            for byte in 0..64 {
                for bit in [0x01u8, 0x80] {
                    let mut cert = good.clone();
                    let sig = &mut signatures_mut(&mut cert)[s];
                    sig.signature.0[byte] ^= bit;
                    let index = sig.validator;
                    assert_eq!(
                        cert.verify(&genesis, &hash),
                        Err(CertificateError::BadSignature(index)),
                        "{suite} signature {s} byte {byte} ^ {bit:#04x}"
                    );
                }
            }
        }

        // The round.
        let CommitCertificate::Finalization { signatures, .. } = &good else {
            unreachable!()
        };
        for (epoch, view, parent_view) in [
            (EPOCH + 1, VIEW, PARENT_VIEW),
            (EPOCH, VIEW + 1, PARENT_VIEW),
            (EPOCH, VIEW - 1, PARENT_VIEW),
            (EPOCH, VIEW, PARENT_VIEW + 1),
            (EPOCH, VIEW, PARENT_VIEW - 1),
            (EPOCH, PARENT_VIEW, VIEW),
            (VIEW, EPOCH, PARENT_VIEW),
            (EPOCH, VIEW | 1 << 40, PARENT_VIEW),
        ] {
            let cert = CommitCertificate::Finalization {
                epoch,
                view,
                parent_view,
                signatures: signatures.clone(),
            };
            // Another epoch's validators are not known to the genesis alone.
            let expected = if epoch == EPOCH {
                CertificateError::BadSignature(0)
            } else {
                CertificateError::UnknownEpoch(epoch)
            };
            assert_eq!(
                cert.verify(&genesis, &hash),
                Err(expected),
                "{suite} ({epoch}, {view}, {parent_view})"
            );
        }

        // Every bit of the block hash.
        for byte in 0..32 {
            let mut other = hash;
            other.0[byte] ^= 0x01;
            assert_eq!(
                good.verify(&genesis, &other),
                Err(CertificateError::BadSignature(0)),
                "{suite} hash byte {byte}"
            );
        }

        // Another chain's genesis with the same validators.
        let mut other_chain = genesis.clone();
        other_chain.chain_id = "another-chain".into();
        assert_eq!(
            good.verify(&other_chain, &hash),
            Err(CertificateError::BadSignature(0))
        );

        // Votes of the right validators over the wrong bytes: a kind 1 commit signature, a
        // notarize vote, the finalize message without its namespace.
        let ordered = consensus_keys(&genesis, &keys);
        let commit = Domain::new(domains::COMMIT_SIGNATURE, CHAIN_ID);
        let mut notarize_ns = simplex_namespace(CHAIN_ID);
        notarize_ns.extend_from_slice(b"_NOTARIZE");
        let finalize = finalize_signing_input(CHAIN_ID, EPOCH, VIEW, PARENT_VIEW, &hash);
        let message = finalize[1 + finalize[0] as usize..].to_vec();
        let mut notarize = vec![notarize_ns.len() as u8];
        notarize.extend_from_slice(&notarize_ns);
        notarize.extend_from_slice(&message);
        let sign = |n: usize, k: &SigningKey| match n {
            0 => k.sign(&commit, hash.as_bytes()),
            1 => k.sign_raw(&notarize),
            _ => k.sign_raw(&message),
        };
        for n in 0..3 {
            let cert = CommitCertificate::Finalization {
                epoch: EPOCH,
                view: VIEW,
                parent_view: PARENT_VIEW,
                signatures: (0..3u16)
                    .map(|i| ValidatorSignature {
                        validator: i,
                        signature: sign(n, ordered[i as usize]),
                    })
                    .collect(),
            };
            assert_eq!(
                cert.verify(&genesis, &hash),
                Err(CertificateError::BadSignature(0)),
                "{suite} wrong input {n}"
            );
        }

        // A kind 1 certificate made of the same signatures does not verify either (different
        // input, and different index meaning).
        let as_kind_1 = CommitCertificate::Signatures {
            signatures: signatures.clone(),
        };
        assert!(matches!(
            as_kind_1.verify(&genesis, &hash),
            Err(CertificateError::BadSignature(_))
        ));
    }
}

#[test]
fn unsorted_signatures_are_not_canonical() {
    for suite in SUITES {
        let (genesis, keys) = genesis(suite, 4);
        let hash = suite.hash(b"a block");
        assert!(
            CommitCertificate::decode(&finalization(&genesis, &keys, &hash, &[0, 1, 3]).encode())
                .is_ok()
        );
        for bad in [
            &[1u16, 0, 2][..],
            &[0, 0, 1],
            &[0, 2, 1],
            &[3, 2, 1, 0],
            &[2, 2],
        ] {
            let cert = finalization(&genesis, &keys, &hash, bad);
            let e = CommitCertificate::decode(&cert.encode()).unwrap_err();
            assert!(
                matches!(
                    &e,
                    DecodeError::Invalid { field: "validator index", reason }
                        if reason.contains("strictly ascending")
                ),
                "{suite} {bad:?}: {e:?}"
            );
            assert_eq!(e.code(), "malformed");
            // Built without decoding, verification refuses it as well.
            assert_eq!(
                cert.verify(&genesis, &hash),
                Err(CertificateError::NotCanonical),
                "{suite} {bad:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------------------------

#[test]
fn binary_layout_and_round_trip() {
    for suite in SUITES {
        let (genesis, keys) = genesis(suite, 4);
        let hash = suite.hash(b"a block");
        for signers in subsets(1) {
            let mut cert = finalization(&genesis, &keys, &hash, &signers);
            if let CommitCertificate::Finalization {
                epoch, parent_view, ..
            } = &mut cert
            {
                // Large values, to tell the fixed-width fields from varints.
                *epoch = 0x0102_0304_0506_0708;
                *parent_view = u64::MAX;
            }
            let bytes = cert.encode();
            let mut expected = vec![2u8];
            expected.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
            expected.extend_from_slice(&VIEW.to_be_bytes());
            expected.extend_from_slice(&u64::MAX.to_be_bytes());
            expected.extend_from_slice(&(signers.len() as u16).to_be_bytes());
            for s in signatures_mut(&mut cert.clone()).iter() {
                expected.extend_from_slice(&s.validator.to_be_bytes());
                expected.extend_from_slice(&s.signature.0);
            }
            assert_eq!(bytes, expected, "{suite} {signers:?}");
            assert_eq!(bytes.len(), 27 + 66 * signers.len());
            assert_eq!(CommitCertificate::decode(&bytes).unwrap(), cert);
            // Every truncation fails; so does a trailing byte.
            for n in 0..bytes.len() {
                let e = CommitCertificate::decode(&bytes[..n]).unwrap_err();
                assert_eq!(e.code(), "truncated", "{suite} {signers:?} at {n}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                CommitCertificate::decode(&longer),
                Err(DecodeError::TrailingBytes(1))
            );
        }
    }
}

#[test]
fn signature_count_limits() {
    let head = |count: u16| {
        let mut b = vec![2u8];
        b.extend_from_slice(&[0; 24]);
        b.extend_from_slice(&count.to_be_bytes());
        b
    };
    let e = CommitCertificate::decode(&head(0)).unwrap_err();
    assert!(
        matches!(&e, DecodeError::Invalid { field: "signature count", reason } if reason.contains("must not be empty")),
        "{e:?}"
    );
    for count in [101u16, u16::MAX] {
        assert_eq!(
            CommitCertificate::decode(&head(count)).unwrap_err(),
            DecodeError::TooLarge {
                field: "signature count",
                limit: 100,
                actual: count as u64
            }
        );
    }
    // 100 signatures of validators 0..100 decode (verification is another matter).
    let mut b = head(100);
    for i in 0..100u16 {
        b.extend_from_slice(&i.to_be_bytes());
        b.extend_from_slice(&[0x11; 64]);
    }
    let cert = CommitCertificate::decode(&b).unwrap();
    assert_eq!(cert.encode(), b);
}

#[test]
fn json_round_trip() {
    for suite in SUITES {
        let (genesis, keys) = genesis(suite, 4);
        let hash = suite.hash(b"a block");
        let cert = finalization(&genesis, &keys, &hash, &[1, 2, 3]);
        let value = serde_json::to_value(&cert).unwrap();
        let sigs = match &cert {
            CommitCertificate::Finalization { signatures, .. } => signatures,
            _ => unreachable!(),
        };
        assert_eq!(
            value,
            serde_json::json!({
                "kind": "finalization",
                "epoch": EPOCH,
                "view": VIEW,
                "parent_view": PARENT_VIEW,
                "signatures": sigs.iter().map(|s| serde_json::json!({
                    "validator": s.validator,
                    "signature": s.signature.to_hex(),
                })).collect::<Vec<_>>(),
            })
        );
        let back: CommitCertificate =
            serde_json::from_str(&serde_json::to_string(&cert).unwrap()).unwrap();
        assert_eq!(back, cert);
        assert_eq!(back.verify(&genesis, &hash), Ok(()));
        // Kind 1 keeps its tag.
        let kind_1 = CommitCertificate::sign_single(CHAIN_ID, 0, &keys[0], &hash);
        assert_eq!(serde_json::to_value(&kind_1).unwrap()["kind"], "signatures");
    }
}

// ---------------------------------------------------------------------------------------------
// Receipts
// ---------------------------------------------------------------------------------------------

#[test]
fn receipts_with_a_finalization_certificate_verify() {
    for suite in SUITES {
        let chain = conformance_chain(suite);
        let block = chain.block(2);
        let original = chain.receipt(2, 0, 1);
        let expected = original.verify(&chain.genesis).unwrap();

        let mut receipt = original.clone();
        receipt.certificate = finalization(
            &chain.genesis,
            &chain.validator_keys,
            &block.hash,
            &[0, 1, 3],
        );
        assert_eq!(receipt.verify(&chain.genesis), Ok(expected.clone()));
        assert_eq!(
            receipt.verify_data(&chain.genesis, &block.transactions[0].records()[1].digest),
            Ok(expected.clone())
        );
        assert_eq!(
            BatchVerifier::new(&chain.genesis).verify(&receipt),
            Ok(expected.clone())
        );

        // Binary: the certificate is the receipt's tail, before its (empty) epoch links.
        let bytes = receipt.encode();
        let cert_bytes = receipt.certificate.encode();
        assert!(bytes[..bytes.len() - 4].ends_with(&cert_bytes));
        assert_eq!(bytes[bytes.len() - 4..], [0, 0, 0, 0]);
        assert_eq!(
            bytes.len(),
            original.encode().len() - original.certificate.encode().len() + cert_bytes.len()
        );
        let decoded = Receipt::decode(&bytes).unwrap();
        assert_eq!(decoded, receipt);
        assert_eq!(decoded.verify(&chain.genesis), Ok(expected.clone()));

        // JSON.
        let json = receipt.to_json();
        assert!(json.contains("\"kind\": \"finalization\""), "{json}");
        let from_json = Receipt::from_json(&json).unwrap();
        assert_eq!(from_json, receipt);
        assert_eq!(from_json.verify(&chain.genesis), Ok(expected.clone()));

        // A certificate for another block, or a short one, is `bad_certificate`.
        let mut other = receipt.clone();
        other.certificate = finalization(
            &chain.genesis,
            &chain.validator_keys,
            &chain.block(1).hash,
            &[0, 1, 3],
        );
        let e = other.verify(&chain.genesis).unwrap_err();
        assert_eq!(
            e,
            ReceiptError::Certificate(CertificateError::BadSignature(0))
        );
        assert_eq!(e.code(), "bad_certificate");
        let mut short = receipt.clone();
        short.certificate =
            finalization(&chain.genesis, &chain.validator_keys, &block.hash, &[0, 3]);
        assert_eq!(
            short.verify(&chain.genesis),
            Err(ReceiptError::Certificate(CertificateError::NoQuorum {
                have: 2,
                need: 3
            }))
        );

        // Every single-bit flip in the certificate bytes of the binary receipt fails to decode
        // or to verify (through `verify` and `BatchVerifier` alike).
        let start = bytes.len() - cert_bytes.len();
        for i in start..bytes.len() {
            for mask in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= mask;
                let Ok(r) = Receipt::decode(&b) else {
                    continue;
                };
                let result = r.verify(&chain.genesis);
                assert!(result.is_err(), "{suite}: byte {i} ^ {mask:#04x} verifies");
                assert_eq!(
                    BatchVerifier::new(&chain.genesis).verify(&r),
                    result,
                    "{suite}: byte {i}"
                );
            }
        }

        // A tampered header no longer matches the block hash the votes are for.
        let mut tampered = receipt.clone();
        tampered.header.timestamp_ms += 1;
        tampered.block_hash = tampered.header.hash(suite);
        assert_eq!(
            tampered.verify(&chain.genesis),
            Err(ReceiptError::Certificate(CertificateError::BadSignature(0)))
        );

        // A batch verifier that has seen the block with a good certificate still checks a
        // forged finalization certificate for it.
        let mut batch = BatchVerifier::new(&chain.genesis);
        assert!(batch.verify(&receipt).is_ok());
        let mut forged = chain.receipt(2, 1, 0);
        forged.certificate = finalization(
            &chain.genesis,
            &chain.validator_keys,
            &block.hash,
            &[0, 1, 2],
        );
        signatures_mut(&mut forged.certificate)[2].signature.0[0] ^= 0x01;
        assert_eq!(
            batch.verify(&forged),
            Err(ReceiptError::Certificate(CertificateError::BadSignature(2)))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The worked example of docs/formats.md §4.7
// ---------------------------------------------------------------------------------------------

/// The certificate of `docs/formats.md`: block 2 of the conformance chain, finalized in epoch 0,
/// view 300 with parent view 298 by consensus indices 0, 1 and 3. Both signature schemes sign
/// deterministically, so the bytes are pinned. Run with `--nocapture` to print them.
#[test]
fn worked_example() {
    for suite in SUITES {
        let chain = conformance_chain(suite);
        let hash = chain.block(2).hash;
        let order = chain.genesis.consensus_order();
        let input = finalize_signing_input(CHAIN_ID, EPOCH, VIEW, PARENT_VIEW, &hash);
        let cert = finalization(&chain.genesis, &chain.validator_keys, &hash, &[0, 1, 3]);
        assert_eq!(cert.verify(&chain.genesis, &hash), Ok(()));
        let encoding = cert.encode();

        println!("suite {suite}");
        for (i, v) in chain.genesis.validators.iter().enumerate() {
            let c = order.iter().position(|k| *k == v.public_key).unwrap();
            println!(
                "  genesis validator {i} ({}) = consensus index {c}: {}",
                v.name, v.public_key
            );
        }
        println!("  block hash    {hash}");
        println!("  signing input {}", hex(&input));
        println!("  certificate   {}", hex(&encoding));

        let (expected_input, expected_encoding) = match suite {
            Suite::Intl => (INTL_INPUT, INTL_CERTIFICATE),
            Suite::Gm => (GM_INPUT, GM_CERTIFICATE),
        };
        assert_eq!(hex(&input), expected_input, "{suite} signing input");
        assert_eq!(hex(&encoding), expected_encoding, "{suite} certificate");
    }
}

const INTL_INPUT: &str = "286b6578696e2f73696d706c65782f6b6578696e2d636f6e666f726d616e63655f46494e414c495a4500ac02aa02dac36b04bc8c7aa570ff937a8338c28a17750323300200eb33c873264c5ad0bf";
const INTL_CERTIFICATE: &str = "020000000000000000000000000000012c000000000000012a00030000e249c376a613635567bba500499ced5779207552b82ae9edd11971b1561705fbf0e78bfd80cf434cc9914244f518081c7a04be1e0c41cea5f36d9a563ff8310f000128804983f53d57a9fcc00fc3a1796a70564c67bbd370bd25857dccdf853f031bfc1d5904487d3b70e1e44d1a7bc264bb7007caa1ddcb66df7e07785ff5a5be0800038150235096b12847ad7088e48b549657a11af8716ee79faeeca22dc47f814f43bc7f7b05403d8484da86968edddc0c399bad8d2e6359069905e22defc299470d";
const GM_INPUT: &str = "286b6578696e2f73696d706c65782f6b6578696e2d636f6e666f726d616e63655f46494e414c495a4500ac02aa02469ebf0f85f24b38634d4ea281eecdb14489bbb1ded334c0392c815c8a3967e1";
const GM_CERTIFICATE: &str = "020000000000000000000000000000012c000000000000012a00030000a7fc6e97ba7f7dfa12c642490b37e486b6d2d8c9912690101979cdd139905c432a85a091a7c17c32d0c5c5feb200291111ae9f084a1d449419a3b10f716fb6d00001815ad59ed609cab1b65e20779fef83c9edb09b412341ae75c09da1a6427a2e27b59b9728f0e3cb0a5faf8aa5539476ab852963593ed61083adbef0c0292855820003ed5e3b538f6800239e33cd964a9cb805e75757af06d3ffa2aef880b9e548530be1315ec21dc1c101414037f07a8191d681fad5eb48fdf43aae4705725af93a80";
