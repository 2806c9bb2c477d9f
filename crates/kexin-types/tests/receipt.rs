//! Receipts built by hand from `kexin_merkle` functions verify, and no tampering survives:
//! every single flipped byte of the binary form, every changed JSON field, short or forged
//! certificates, foreign genesis files; `BatchVerifier` agrees with `Receipt::verify`.

mod common;

use common::*;
use kexin_types::*;

/// A single-validator chain of three blocks with 1, 3 and 2 transactions of 1..=5 records.
fn small_chain(suite: Suite) -> TestChain {
    let mut chain = TestChain::new(suite, 1);
    let mut nonce = 0;
    let mut tx = |signer: u8, n: usize| {
        nonce += 1;
        let records = (0..n)
            .map(|i| {
                record(
                    suite,
                    format!("doc {signer}/{nonce}/{i}").as_bytes(),
                    "application/octet-stream",
                    &format!("doc-{nonce}-{i}"),
                    (i % 2 == 1).then_some("ref://x"),
                )
            })
            .collect();
        Transaction::sign(CHAIN_ID, &key(suite, signer), nonce, evidence(records))
    };
    let b1 = vec![tx(1, 3)];
    let b2 = vec![tx(2, 1), tx(1, 2), tx(3, 5)];
    let b3 = vec![tx(2, 4), tx(4, 1)];
    chain.push_block(b1);
    chain.push_block(b2);
    chain.push_block(b3);
    chain
}

/// Every `(height, tx_index, record_index)` of a chain.
fn positions(chain: &TestChain) -> Vec<(u64, usize, usize)> {
    let mut out = Vec::new();
    for b in &chain.blocks {
        for (t, tx) in b.transactions.iter().enumerate() {
            for r in 0..tx.records().len() {
                out.push((b.header.height, t, r));
            }
        }
    }
    out
}

fn other(suite: Suite) -> Suite {
    match suite {
        Suite::Gm => Suite::Intl,
        Suite::Intl => Suite::Gm,
    }
}

// ---------------------------------------------------------------------------------------------
// Valid receipts
// ---------------------------------------------------------------------------------------------

#[test]
fn every_record_of_a_chain_has_a_verifying_receipt() {
    for suite in SUITES {
        let chain = small_chain(suite);
        assert_eq!(chain.genesis.validators.len(), 1);
        let mut batch = BatchVerifier::new(&chain.genesis);
        for (h, t, r) in positions(&chain) {
            let receipt = chain.receipt(h, t, r);
            let block = chain.block(h);
            let tx = &block.transactions[t];
            let ok = receipt
                .verify(&chain.genesis)
                .unwrap_or_else(|e| panic!("{suite} ({h},{t},{r}): {e}"));
            assert_eq!(ok.digest, tx.records()[r].digest);
            assert_eq!(ok.tx_hash, tx.hash());
            assert_eq!(ok.height, h);
            assert_eq!(ok.block_hash, block.hash);
            assert_eq!(ok.timestamp_ms, block.header.timestamp_ms);
            assert_eq!(batch.verify(&receipt), Ok(ok.clone()));
            // The data check.
            assert_eq!(
                receipt.verify_data(&chain.genesis, &tx.records()[r].digest),
                Ok(ok.clone())
            );
            let wrong = suite.hash(b"other data");
            let e = receipt.verify_data(&chain.genesis, &wrong).unwrap_err();
            assert_eq!(e.code(), "digest_mismatch");
            // Binary and JSON forms carry the same receipt.
            let bytes = receipt.encode();
            assert_eq!(bytes, chain.receipt_bytes(h, t, r));
            assert_eq!(Receipt::decode(&bytes).unwrap(), receipt);
            let from_json = Receipt::from_json(&receipt.to_json()).unwrap();
            assert_eq!(from_json, receipt);
            assert_eq!(from_json.verify(&chain.genesis), Ok(ok));
        }
        // The chain links up: each header's parent is the previous block hash.
        let mut parent = chain.genesis.hash();
        for b in &chain.blocks {
            assert_eq!(b.header.parent_hash, parent);
            parent = b.hash;
        }
    }
}

#[test]
fn single_validator_certificates_are_sign_single() {
    for suite in SUITES {
        let chain = small_chain(suite);
        let b = chain.block(2);
        let cert = CommitCertificate::sign_single(CHAIN_ID, 0, &chain.validator_keys[0], &b.hash);
        assert_eq!(cert, b.certificate);
        assert_eq!(cert.verify(&chain.genesis, &b.hash), Ok(()));
        // The certificate does not carry over to another block.
        assert_eq!(
            cert.verify(&chain.genesis, &chain.block(1).hash),
            Err(CertificateError::BadSignature(0))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Binary tampering
// ---------------------------------------------------------------------------------------------

/// Flips bytes of `bytes` with every mask in `masks`, expecting each to fail to decode or to
/// verify. Returns how many variants decoded (and then failed verification).
fn flip_all(suite: Suite, genesis: &Genesis, bytes: &[u8], masks: &[u8]) -> usize {
    let mut decoded = 0;
    for i in 0..bytes.len() {
        for &m in masks {
            let mut b = bytes.to_vec();
            b[i] ^= m;
            if let Ok(r) = Receipt::decode(&b) {
                decoded += 1;
                assert_eq!(
                    r.encode(),
                    b,
                    "{suite}: byte {i} ^ {m:#04x}: decoded non-canonically"
                );
                let res = r.verify(genesis);
                assert!(
                    res.is_err(),
                    "{suite}: byte {i} ^ {m:#04x} still verifies: {res:?}"
                );
                assert_eq!(
                    BatchVerifier::new(genesis).verify(&r),
                    res,
                    "{suite}: byte {i}: BatchVerifier disagrees"
                );
            }
        }
    }
    decoded
}

/// Every single-bit flip and the inversion of every byte.
const MASKS: [u8; 9] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff];

#[test]
fn every_flipped_byte_of_a_single_validator_receipt_is_refused() {
    for suite in SUITES {
        let chain = small_chain(suite);
        for (h, t, r) in [(1, 0, 0), (2, 2, 3), (3, 1, 0)] {
            let bytes = chain.receipt_bytes(h, t, r);
            let decoded = flip_all(suite, &chain.genesis, &bytes, &MASKS);
            assert!(
                decoded > bytes.len(),
                "most single-byte changes decode (and must then fail verification)"
            );
        }
    }
}

#[test]
fn every_flipped_byte_of_a_quorum_receipt_is_refused() {
    // Four validators, a certificate of three: flips in any signature or index must fail.
    // (Two masks per byte: each variant that decodes costs up to four signature checks.)
    for suite in SUITES {
        let chain = conformance_chain(suite);
        let bytes = chain.receipt_bytes(2, 0, 1);
        flip_all(suite, &chain.genesis, &bytes, &[0x01, 0x80]);
    }
}

// ---------------------------------------------------------------------------------------------
// JSON tampering
// ---------------------------------------------------------------------------------------------

/// Parses and verifies a JSON receipt; `Ok` only if it verifies.
fn json_verifies(json: &serde_json::Value, genesis: &Genesis) -> Result<VerifiedReceipt, String> {
    let r = Receipt::from_json(&json.to_string()).map_err(|e| e.to_string())?;
    r.verify(genesis).map_err(|e| e.to_string())
}

#[test]
fn every_changed_json_field_is_refused() {
    for suite in SUITES {
        for (chain, pos) in [
            (small_chain(suite), (2, 2, 3)),
            (small_chain(suite), (1, 0, 1)),
            (conformance_chain(suite), (2, 0, 1)),
        ] {
            let receipt = chain.receipt(pos.0, pos.1, pos.2);
            let json: serde_json::Value = serde_json::from_str(&receipt.to_json()).unwrap();
            json_verifies(&json, &chain.genesis).expect("unchanged receipt verifies");
            let mut paths = Vec::new();
            leaves(&json, String::new(), &mut paths);
            let mut hex_fields = 0;
            for p in &paths {
                let original = json.pointer(p).unwrap().clone();
                let mut variants: Vec<serde_json::Value> = Vec::new();
                match &original {
                    serde_json::Value::String(s)
                        if !s.is_empty()
                            && s.chars().all(|c| c.is_ascii_hexdigit())
                            && s.len() >= 64 =>
                    {
                        hex_fields += 1;
                        for i in [0, 1, s.len() / 2, s.len() - 2, s.len() - 1] {
                            variants.push(change_hex_digit(s, i).into());
                        }
                        variants.push(s[..s.len() - 2].to_string().into());
                        variants.push(format!("{s}00").into());
                        variants.push(serde_json::Value::Null);
                    }
                    serde_json::Value::String(s) => {
                        variants.push(format!("{s}x").into());
                        variants.push(String::new().into());
                        if s.len() > 1 {
                            variants.push(s[..s.len() - 1].to_string().into());
                        }
                    }
                    serde_json::Value::Number(n) => {
                        let n = n.as_u64().expect("unsigned numbers only");
                        variants.push((n + 1).into());
                        if n > 0 {
                            variants.push((n - 1).into());
                        }
                        variants.push((n ^ (1 << 40)).into());
                    }
                    other => panic!("unexpected JSON leaf {p}: {other}"),
                }
                for v in variants {
                    // tx_count above log_size would underflow in verify (see
                    // `json_tx_count_above_log_size_is_refused`), skip those variants here.
                    if p == "/header/tx_count" && v.as_u64().unwrap() > receipt.header.log_size {
                        continue;
                    }
                    let mut j = json.clone();
                    *j.pointer_mut(p).unwrap() = v.clone();
                    let res = json_verifies(&j, &chain.genesis);
                    assert!(res.is_err(), "{suite}: {p} = {v} still verifies: {res:?}");
                }
            }
            assert!(
                hex_fields >= 10,
                "{suite}: only {hex_fields} hex fields found"
            );
            // Removing or adding external_ref changes the record.
            let mut j = json.clone();
            let rec = j
                .pointer_mut("/record/metadata")
                .unwrap()
                .as_object_mut()
                .unwrap();
            if rec.remove("external_ref").is_none() {
                rec.insert("external_ref".into(), "ref://x".into());
            }
            assert!(json_verifies(&j, &chain.genesis).is_err());
            // Dropping or adding a path element changes the proof length.
            for proof in ["/record_proof/path", "/log_proof/path"] {
                let mut j = json.clone();
                let path = j.pointer_mut(proof).unwrap().as_array_mut().unwrap();
                if path.pop().is_some() {
                    assert!(
                        json_verifies(&j, &chain.genesis).is_err(),
                        "{proof} shortened"
                    );
                }
                let mut j = json.clone();
                let path = j.pointer_mut(proof).unwrap().as_array_mut().unwrap();
                path.push(Hash::ZERO.to_hex().into());
                assert!(
                    json_verifies(&j, &chain.genesis).is_err(),
                    "{proof} lengthened"
                );
            }
        }
    }
}

#[test]
fn json_reader_conventions() {
    let chain = small_chain(Suite::Intl);
    let receipt = chain.receipt(2, 1, 0);
    assert!(
        receipt
            .record
            .metadata
            .as_ref()
            .unwrap()
            .external_ref
            .is_none()
    );
    // Hex is written lowercase; parsing accepts uppercase, which denotes the same bytes.
    let upper = receipt.to_json().replace(
        &receipt.block_hash.to_hex(),
        &receipt.block_hash.to_hex().to_uppercase(),
    );
    assert_ne!(upper, receipt.to_json());
    assert_eq!(Receipt::from_json(&upper).unwrap(), receipt);
    // Unknown fields are ignored; a null external_ref is an absent one.
    let mut json: serde_json::Value = serde_json::from_str(&receipt.to_json()).unwrap();
    json["comment"] = "issued by node0".into();
    json["transaction"]["note"] = 1.into();
    json["record"]["metadata"]["external_ref"] = serde_json::Value::Null;
    let r = Receipt::from_json(&json.to_string()).unwrap();
    assert_eq!(r, receipt);
    assert!(r.verify(&chain.genesis).is_ok());
    // Hashes must be exactly 64 hex characters, signatures 128.
    let mut bad = json.clone();
    bad["block_hash"] = format!("0x{}", receipt.block_hash).into();
    assert_eq!(
        Receipt::from_json(&bad.to_string()).unwrap_err().code(),
        "malformed_receipt"
    );
}

#[test]
fn json_hashes_are_compared_with_the_recomputed_ones() {
    for suite in SUITES {
        let chain = small_chain(suite);
        let mut r = chain.receipt(2, 1, 1);
        r.transaction.hash.0[5] ^= 1;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "tx_hash_mismatch"
        );
        let mut r = chain.receipt(2, 1, 1);
        r.block_hash.0[31] ^= 1;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "block_hash_mismatch"
        );
    }
}

/// A JSON receipt is not range-checked like a decoded one: `header.tx_count` above
/// `header.log_size` makes `log_size - tx_count` underflow in `Receipt::verify` (a panic in
/// debug builds, a wrapped value in release). Expected: a `bad_log_proof` or
/// `malformed_receipt` error.
#[test]
fn json_tx_count_above_log_size_is_refused() {
    let chain = small_chain(Suite::Intl);
    let receipt = chain.receipt(1, 0, 0);
    let mut json: serde_json::Value = serde_json::from_str(&receipt.to_json()).unwrap();
    *json.pointer_mut("/header/tx_count").unwrap() = 5.into();
    let r = Receipt::from_json(&json.to_string()).unwrap();
    let res = std::panic::catch_unwind(|| r.verify(&chain.genesis));
    assert!(
        matches!(res, Ok(Err(_))),
        "verify must return an error, not panic"
    );
}

// ---------------------------------------------------------------------------------------------
// Semantic checks
// ---------------------------------------------------------------------------------------------

#[test]
fn a_transaction_must_be_in_the_block_that_certifies_it() {
    // The log proof of block 1's transaction verifies against block 2's log root, but the
    // transaction is not in block 2: the receipt is refused.
    for suite in SUITES {
        let chain = small_chain(suite);
        let mut r = chain.receipt(1, 0, 0);
        let b2 = chain.block(2);
        r.log_proof = kexin_merkle::inclusion_proof_from_leaves(
            suite,
            &chain.log_leaves[..b2.header.log_size as usize],
            0,
        )
        .unwrap();
        r.header = b2.header.clone();
        r.block_hash = b2.hash;
        r.certificate = b2.certificate.clone();
        let e = r.verify(&chain.genesis).unwrap_err();
        assert_eq!(e.code(), "bad_log_proof");
        assert!(
            e.to_string()
                .contains("before this block's first transaction"),
            "{e}"
        );
    }
}

#[test]
fn proof_sizes_must_match_the_commitments() {
    for suite in SUITES {
        let chain = small_chain(suite);
        let base = chain.receipt(2, 2, 3);
        let mut r = base.clone();
        r.record_proof.tree_size += 1;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_record_proof"
        );
        let mut r = base.clone();
        r.record_proof.leaf_index = 2;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_record_proof"
        );
        let mut r = base.clone();
        r.log_proof.tree_size -= 1;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_log_proof"
        );
        let mut r = base.clone();
        r.log_proof.leaf_index -= 1;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_log_proof"
        );
        let mut r = base.clone();
        r.log_proof.path.swap(0, 1);
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_log_proof"
        );
        let mut r = base.clone();
        r.transaction.signature.0[0] ^= 1;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_signature"
        );
        let mut r = base.clone();
        r.version = RECEIPT_VERSION_5 + 1;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "malformed_receipt"
        );
        // Version 4 of a chain with organisations must carry the signer's certificate.
        assert!(chain.genesis.is_permissioned());
        let mut r = base.clone();
        r.version = RECEIPT_VERSION;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_signer_cert"
        );
        let mut r = base.clone();
        r.record.metadata.as_mut().unwrap().content_type = "x".repeat(128);
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "malformed_receipt"
        );
    }
}

#[test]
fn foreign_genesis_files_are_refused() {
    for suite in SUITES {
        let chain = small_chain(suite);
        let r = chain.receipt(3, 0, 2);
        // Another chain id.
        let mut g = chain.genesis.clone();
        g.chain_id = "another-chain".into();
        let e = r.verify(&g).unwrap_err();
        assert_eq!(e.code(), "wrong_chain");
        // The chain is checked before the data (issue 13): with another chain's genesis and
        // data that is not the record's, the answer is still `wrong_chain`.
        let not_the_data = suite.hash(b"not the evidenced data");
        assert_eq!(
            r.verify_data(&g, &not_the_data).unwrap_err().code(),
            "wrong_chain"
        );
        assert_eq!(r.check_envelope(&g).unwrap_err().code(), "wrong_chain");
        let (g2, _) = genesis(other(suite), 1);
        assert_eq!(
            r.verify_data(&g2, &not_the_data).unwrap_err().code(),
            "wrong_suite"
        );
        assert_eq!(
            r.verify_data(&chain.genesis, &not_the_data)
                .unwrap_err()
                .code(),
            "digest_mismatch"
        );
        // The receipt's own chain id fields.
        let mut x = r.clone();
        x.chain_id = "another-chain".into();
        assert_eq!(x.verify(&chain.genesis).unwrap_err().code(), "wrong_chain");
        let mut x = r.clone();
        x.transaction.summary.chain_id = "another-chain".into();
        assert_eq!(x.verify(&chain.genesis).unwrap_err().code(), "wrong_chain");
        // Another suite.
        let (g2, _) = genesis(other(suite), 1);
        assert_eq!(r.verify(&g2).unwrap_err().code(), "wrong_suite");
        let mut x = r.clone();
        x.suite = other(suite);
        assert_eq!(x.verify(&chain.genesis).unwrap_err().code(), "wrong_suite");
        let mut x = r.clone();
        x.header.proposer = key(other(suite), 11).public_key();
        assert_eq!(x.verify(&chain.genesis).unwrap_err().code(), "wrong_suite");
        // Same chain id and suite, other validators.
        let mut g = chain.genesis.clone();
        g.validators[0].public_key = key(suite, 99).public_key();
        let e = r.verify(&g).unwrap_err();
        assert_eq!(
            e,
            ReceiptError::Certificate(CertificateError::BadSignature(0))
        );
        assert_eq!(e.code(), "bad_certificate");
    }
}

// ---------------------------------------------------------------------------------------------
// Quorum certificates
// ---------------------------------------------------------------------------------------------

#[test]
fn four_validators_need_three_signatures() {
    for suite in SUITES {
        let chain = conformance_chain(suite);
        assert_eq!(chain.genesis.quorum(), 3);
        let base = chain.receipt(2, 0, 1);
        let hash = chain.block(2).hash;
        let with = |cert: CommitCertificate| {
            let mut r = base.clone();
            r.certificate = cert;
            r
        };
        // 3 of 4 and 4 of 4 pass, in any choice of validators.
        for set in [
            &[0u16, 1, 2][..],
            &[0, 1, 3],
            &[0, 2, 3],
            &[1, 2, 3],
            &[0, 1, 2, 3],
        ] {
            let r = with(chain.certificate(&hash, set));
            assert!(r.verify(&chain.genesis).is_ok(), "{suite} {set:?}");
            assert!(BatchVerifier::new(&chain.genesis).verify(&r).is_ok());
        }
        // 2 of 4 and 1 of 4 fail.
        for set in [&[0u16, 1][..], &[2, 3], &[3]] {
            let r = with(chain.certificate(&hash, set));
            let e = r.verify(&chain.genesis).unwrap_err();
            assert_eq!(
                e,
                ReceiptError::Certificate(CertificateError::NoQuorum {
                    have: set.len(),
                    need: 3
                }),
                "{suite} {set:?}"
            );
            assert_eq!(e.code(), "bad_certificate");
            assert_eq!(BatchVerifier::new(&chain.genesis).verify(&r), Err(e));
        }
        // A signature by a key that is not validator 2's, filed under index 2.
        let outsider = key(suite, 200);
        let mut cert = chain.certificate(&hash, &[0, 1, 2]);
        let CommitCertificate::Signatures { signatures } = &mut cert else {
            unreachable!()
        };
        signatures[2].signature = outsider.sign(
            &kexin_crypto::Domain::new(domains::COMMIT_SIGNATURE, CHAIN_ID),
            hash.as_bytes(),
        );
        let e = with(cert).verify(&chain.genesis).unwrap_err();
        assert_eq!(
            e,
            ReceiptError::Certificate(CertificateError::BadSignature(2))
        );
        // ...even when a quorum of good signatures is there as well.
        let mut cert = chain.certificate(&hash, &[0, 1, 2, 3]);
        let CommitCertificate::Signatures { signatures } = &mut cert else {
            unreachable!()
        };
        signatures[3].signature = signatures[0].signature;
        assert_eq!(
            with(cert).verify(&chain.genesis).unwrap_err(),
            ReceiptError::Certificate(CertificateError::BadSignature(3))
        );
        // A validator index outside the set.
        let mut cert = chain.certificate(&hash, &[0, 1, 2]);
        let CommitCertificate::Signatures { signatures } = &mut cert else {
            unreachable!()
        };
        signatures.push(ValidatorSignature {
            validator: 4,
            signature: outsider.sign(
                &kexin_crypto::Domain::new(domains::COMMIT_SIGNATURE, CHAIN_ID),
                hash.as_bytes(),
            ),
        });
        assert_eq!(
            with(cert).verify(&chain.genesis).unwrap_err(),
            ReceiptError::Certificate(CertificateError::UnknownValidator(4))
        );
        // Duplicates cannot pad a certificate to a quorum.
        let cert = chain.certificate(&hash, &[0, 1, 1]);
        assert_eq!(
            with(cert).verify(&chain.genesis).unwrap_err(),
            ReceiptError::Certificate(CertificateError::NotCanonical)
        );
        // Signatures in the wrong domain or over the wrong message.
        for (ns, chain_id, msg) in [
            (domains::TX_SIGNATURE, CHAIN_ID, hash),
            (domains::COMMIT_SIGNATURE, "another-chain", hash),
            (domains::COMMIT_SIGNATURE, CHAIN_ID, chain.block(1).hash),
        ] {
            let d = kexin_crypto::Domain::new(ns, chain_id);
            let cert = CommitCertificate::Signatures {
                signatures: (0..3u16)
                    .map(|i| ValidatorSignature {
                        validator: i,
                        signature: chain.validator_keys[i as usize].sign(&d, msg.as_bytes()),
                    })
                    .collect(),
            };
            assert_eq!(
                with(cert).verify(&chain.genesis).unwrap_err(),
                ReceiptError::Certificate(CertificateError::BadSignature(0))
            );
        }
    }
}

#[test]
fn batch_verifier_checks_a_forged_certificate_for_a_block_already_seen() {
    for suite in SUITES {
        let chain = conformance_chain(suite);
        let hash = chain.block(2).hash;
        let mut batch = BatchVerifier::new(&chain.genesis);
        // Block 2 is seen and certified through record 0.
        let good = chain.receipt(2, 0, 0);
        assert!(batch.verify(&good).is_ok());
        // A receipt for another record of the same block with a 2-of-4 certificate.
        let mut forged = chain.receipt(2, 0, 1);
        forged.certificate = chain.certificate(&hash, &[0, 1]);
        let e = batch.verify(&forged).unwrap_err();
        assert_eq!(e, forged.verify(&chain.genesis).unwrap_err());
        assert!(matches!(
            e,
            ReceiptError::Certificate(CertificateError::NoQuorum { have: 2, need: 3 })
        ));
        // One with a corrupted signature in an otherwise valid certificate.
        let mut forged = chain.receipt(2, 1, 0);
        forged.certificate = chain.certificate(&hash, &[1, 2, 3]);
        let CommitCertificate::Signatures { signatures } = &mut forged.certificate else {
            unreachable!()
        };
        signatures[1].signature.0[7] ^= 0x40;
        assert_eq!(
            batch.verify(&forged).unwrap_err(),
            ReceiptError::Certificate(CertificateError::BadSignature(2))
        );
        // A different but valid certificate for the same block is fine.
        let mut other_cert = chain.receipt(2, 0, 2);
        other_cert.certificate = chain.certificate(&hash, &[1, 2, 3]);
        assert!(batch.verify(&other_cert).is_ok());
        // And the good one still verifies from the cache.
        assert!(batch.verify(&good).is_ok());
    }
}

#[test]
fn batch_verifier_agrees_with_verify() {
    for suite in SUITES {
        let chain = small_chain(suite);
        let mut batch = BatchVerifier::new(&chain.genesis);
        for (i, (h, t, r)) in positions(&chain).into_iter().enumerate() {
            let mut receipt = chain.receipt(h, t, r);
            // Tamper with every third receipt in a rotating way.
            match i % 6 {
                1 => receipt.record.metadata.as_mut().unwrap().label.push('x'),
                3 => receipt.header.timestamp_ms += 1,
                5 => {
                    let CommitCertificate::Signatures { signatures } = &mut receipt.certificate
                    else {
                        unreachable!()
                    };
                    signatures[0].signature.0[63] ^= 0x01;
                }
                _ => {}
            }
            assert_eq!(
                batch.verify(&receipt),
                receipt.verify(&chain.genesis),
                "{suite} receipt {i} ({h},{t},{r})"
            );
        }
    }
}

#[test]
fn receipt_error_codes_are_stable() {
    let codes = [
        (
            ReceiptError::WrongChain {
                expected: "a".into(),
                actual: "b".into(),
            },
            "wrong_chain",
        ),
        (
            ReceiptError::WrongSuite {
                expected: Suite::Gm,
                actual: Suite::Intl,
            },
            "wrong_suite",
        ),
        (ReceiptError::Malformed(String::new()), "malformed_receipt"),
        (
            ReceiptError::DigestMismatch {
                hash: "SM3",
                expected: Hash::ZERO,
                actual: Hash::ZERO,
            },
            "digest_mismatch",
        ),
        (ReceiptError::RecordProof(String::new()), "bad_record_proof"),
        (
            ReceiptError::MetadataMismatch(String::new()),
            "metadata_mismatch",
        ),
        (
            ReceiptError::TxHashMismatch {
                claimed: Hash::ZERO,
                computed: Hash::ZERO,
            },
            "tx_hash_mismatch",
        ),
        (ReceiptError::TxSignature(String::new()), "bad_signature"),
        (ReceiptError::LogProof(String::new()), "bad_log_proof"),
        (
            ReceiptError::BlockHashMismatch {
                claimed: Hash::ZERO,
                computed: Hash::ZERO,
            },
            "block_hash_mismatch",
        ),
        (
            ReceiptError::Certificate(CertificateError::NotCanonical),
            "bad_certificate",
        ),
    ];
    for (e, code) in codes {
        assert_eq!(e.code(), code, "{e}");
    }
    assert_eq!(
        Receipt::from_json("{}").unwrap_err().code(),
        "malformed_receipt"
    );
}

// ---------------------------------------------------------------------------------------------
// Metadata: withheld or disclosed
// ---------------------------------------------------------------------------------------------

#[test]
fn receipts_without_metadata_verify_and_say_so() {
    for suite in SUITES {
        let chain = small_chain(suite);
        for (h, t, r) in positions(&chain) {
            let full = chain.receipt(h, t, r);
            let rec = &chain.block(h).transactions[t].records()[r];
            assert_eq!(full.record, rec.disclosed(suite));
            let ok = full.verify(&chain.genesis).unwrap();
            assert!(ok.metadata_checked);
            assert_eq!(ok.metadata_hash, rec.metadata.hash(suite));

            let bare = full.clone().withheld();
            assert_eq!(bare.record, rec.withheld(suite));
            assert!(bare.record.is_withheld());
            let bytes = chain.receipt_bytes_with(h, t, r, false);
            assert_eq!(bare.encode(), bytes);
            assert_eq!(Receipt::decode(&bytes).unwrap(), bare);
            let checked = bare.verify(&chain.genesis).unwrap();
            assert!(!checked.metadata_checked);
            assert_eq!(
                VerifiedReceipt {
                    outcome: None,
                    metadata_checked: true,
                    ..checked.clone()
                },
                ok
            );
            assert_eq!(
                BatchVerifier::new(&chain.genesis).verify(&bare),
                Ok(checked)
            );
            // JSON says so, and reads back (a null or missing field is withheld too).
            let mut json: serde_json::Value = serde_json::from_str(&bare.to_json()).unwrap();
            assert_eq!(json["record"]["metadata"], "withheld");
            assert_eq!(Receipt::from_json(&json.to_string()).unwrap(), bare);
            json["record"]["metadata"] = serde_json::Value::Null;
            assert_eq!(Receipt::from_json(&json.to_string()).unwrap(), bare);
            json["record"].as_object_mut().unwrap().remove("metadata");
            assert_eq!(Receipt::from_json(&json.to_string()).unwrap(), bare);
            json["record"]["metadata"] = "hidden".into();
            assert_eq!(
                Receipt::from_json(&json.to_string()).unwrap_err().code(),
                "malformed_receipt"
            );
        }
    }
}

#[test]
fn every_changed_byte_of_the_metadata_or_salt_is_refused() {
    for suite in SUITES {
        let chain = conformance_chain(suite);
        // Record 1 of the main transaction: salt, content type, a non-ASCII label, an
        // external reference.
        let bytes = chain.receipt_bytes(2, 0, 1);
        let receipt = Receipt::decode(&bytes).unwrap();
        let metadata = receipt.record.metadata.clone().unwrap().encode();
        // version, suite, chain id, digest, metadata hash, tag, then the metadata.
        let start = 2 + 1 + CHAIN_ID.len() + 32 + 32 + 1;
        assert_eq!(&bytes[start..start + metadata.len()], &metadata[..]);
        let mut mismatches = 0;
        for i in start..start + metadata.len() {
            for m in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= m;
                // A changed length or tag may not decode; whatever decodes must not verify.
                if let Ok(r) = Receipt::decode(&b) {
                    let e = r.verify(&chain.genesis).unwrap_err();
                    assert_eq!(
                        e.code(),
                        "metadata_mismatch",
                        "{suite}: byte {i} ^ {m:#x}: {e}"
                    );
                    mismatches += 1;
                }
            }
        }
        // Every salt byte decodes when changed, and so is caught by the hash.
        assert!(mismatches >= 2 * 16, "{suite}: {mismatches}");

        // Field by field, in memory.
        let tamper = |f: &dyn Fn(&mut RecordMetadata)| {
            let mut r = receipt.clone();
            f(r.record.metadata.as_mut().unwrap());
            r.verify(&chain.genesis).unwrap_err().code()
        };
        for i in 0..16 {
            assert_eq!(tamper(&|m| m.salt.0[i] ^= 1), "metadata_mismatch");
        }
        assert_eq!(tamper(&|m| m.label.push('x')), "metadata_mismatch");
        assert_eq!(tamper(&|m| m.label.clear()), "metadata_mismatch");
        assert_eq!(
            tamper(&|m| m.content_type = "image/jpeg".into()),
            "metadata_mismatch"
        );
        assert_eq!(tamper(&|m| m.external_ref = None), "metadata_mismatch");
        assert_eq!(
            tamper(&|m| m.external_ref = Some(String::new())),
            "metadata_mismatch"
        );
        // Another record's metadata does not fit.
        let other = chain.block(2).transactions[0].records()[0].metadata.clone();
        assert_eq!(tamper(&|m| *m = other.clone()), "metadata_mismatch");
        // The metadata hash itself is what the record proof covers.
        for withheld in [false, true] {
            let mut r = receipt.clone();
            if withheld {
                r.record.withhold();
            }
            r.record.metadata_hash.0[0] ^= 1;
            let want = if withheld {
                "bad_record_proof"
            } else {
                "metadata_mismatch"
            };
            assert_eq!(r.verify(&chain.genesis).unwrap_err().code(), want);
        }
        // And in JSON: a different salt digit.
        let mut json: serde_json::Value = serde_json::from_str(&receipt.to_json()).unwrap();
        let salt = json["record"]["metadata"]["salt"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(salt.len(), 32);
        for i in [0, 15, 31] {
            json["record"]["metadata"]["salt"] = change_hex_digit(&salt, i).into();
            let e = json_verifies(&json, &chain.genesis).unwrap_err();
            assert!(e.contains("metadata does not match"), "{e}");
        }
    }
}

#[test]
fn every_flipped_byte_of_a_receipt_without_metadata_is_refused() {
    for suite in SUITES {
        let chain = small_chain(suite);
        let bytes = chain.receipt_bytes_with(2, 2, 3, false);
        let decoded = flip_all(suite, &chain.genesis, &bytes, &MASKS);
        assert!(decoded > bytes.len());
    }
}
