//! Receipt format version 4: receipts that carry the signer's certificate, checked offline
//! against the organisation's CA in the genesis, or against a CA added after the genesis whose
//! organisation's CA set the receipt proves in the chain's state.
//!
//! The test builds one block by hand for each suite (genesis with organisation `org1` and its
//! CA `ca1`; block 1 holds an evidence transaction of `alice`, a writer certified by `ca1`, and
//! one of `bob`, a writer certified by `ca2`, a CA added to `org1` after the genesis) and pins:
//!
//! * `receipt-v4-genesis-{suite}.json`: the genesis;
//! * `receipt-v4-{suite}.json`: the evidence receipt of alice's record 0 (no CA-set proof);
//! * `tx-receipt-v4-{suite}.json`: the transaction receipt of bob's transaction, with the
//!   proof of `org1`'s CA set against the block's state root.
//!
//! in `crates/kexin-types/tests/fixtures/` (frozen: a difference fails the test; regenerate only
//! with a receipt version bump, `KEXIN_REGENERATE_FIXTURES=1 cargo test -p kexin-client --test
//! receipt_v4`). The pinned files verify from the files alone, and every tampering below is
//! refused with its documented code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kexin_client::{CaSource, identify_signer};
use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_merkle::SparseMerkleTree;
use kexin_pki::{Certificate, Terms};
use kexin_types::state::{StateKey, value_hash};
use kexin_types::*;

const CHAIN_ID: &str = "kexin-receipts-v4";
/// 2026-09-21T13:20:00Z: certificates are valid for a year from here.
const T0: u64 = 1_790_000_000_000;
const YEAR_MS: u64 = 365 * 86_400_000;
const SUITES: [Suite; 2] = [Suite::Intl, Suite::Gm];

fn key(suite: Suite, n: u8) -> SigningKey {
    SigningKey::from_seed(suite, &[n; 32]).unwrap()
}

fn terms(serial: u64) -> Terms {
    Terms {
        serial,
        not_before_ms: T0,
        not_after_ms: T0 + YEAR_MS,
    }
}

fn der(c: &Certificate) -> CertDer {
    CertDer(c.der().to_vec())
}

/// Everything of one suite's fixture chain.
struct Fixture {
    genesis: Genesis,
    receipt: Receipt,
    tx_receipt: TxReceipt,
    /// A CA of another organisation, and a writer it certified (for refusals).
    other_ca: Certificate,
    other_writer: Certificate,
    /// Alice's certificate and key, and a second certificate of org1 (carol's).
    carol: Certificate,
}

fn record(suite: Suite, text: &str, salt: u8) -> EvidenceRecord {
    EvidenceRecord {
        digest: suite.hash(text.as_bytes()),
        metadata: RecordMetadata {
            salt: Salt([salt; 16]),
            content_type: "text/plain".into(),
            label: format!("{text}.txt"),
            external_ref: None,
        },
    }
}

fn build(suite: Suite) -> Fixture {
    let ca1_key = key(suite, 1);
    let ca2_key = key(suite, 2);
    let ca1 = kexin_pki::self_signed_ca("org1", &ca1_key, &terms(1)).unwrap();
    let ca2 = kexin_pki::self_signed_ca("org1", &ca2_key, &terms(2)).unwrap();
    let alice_key = key(suite, 3);
    let bob_key = key(suite, 4);
    let alice = kexin_pki::issue(
        &ca1,
        &ca1_key,
        "alice",
        Role::Writer,
        &alice_key.public_key(),
        &terms(10),
    )
    .unwrap();
    let bob = kexin_pki::issue(
        &ca2,
        &ca2_key,
        "bob",
        Role::Writer,
        &bob_key.public_key(),
        &terms(11),
    )
    .unwrap();
    let carol = kexin_pki::issue(
        &ca1,
        &ca1_key,
        "carol",
        Role::Auditor,
        &key(suite, 5).public_key(),
        &terms(12),
    )
    .unwrap();
    let other_key = key(suite, 6);
    let other_ca = kexin_pki::self_signed_ca("org2", &other_key, &terms(1)).unwrap();
    let other_writer = kexin_pki::issue(
        &other_ca,
        &other_key,
        "mallory",
        Role::Writer,
        &alice_key.public_key(),
        &terms(13),
    )
    .unwrap();
    let validator = key(suite, 9);
    let genesis = Genesis {
        version: protocol::V3,
        chain_id: CHAIN_ID.into(),
        suite,
        timestamp_ms: T0,
        organisations: vec![Organisation {
            name: "org1".into(),
            ca_certs: vec![der(&ca1)],
        }],
        validators: vec![Validator {
            name: "node0".into(),
            org: "org1".into(),
            public_key: validator.public_key(),
            address: String::new(),
        }],
        epoch_length: 1000,
    };
    genesis.validate().unwrap();

    // Block 1: alice's evidence (two records, certificate attached), bob's (one record).
    let alice_tx = Transaction::sign_versioned(
        protocol::V3,
        CHAIN_ID,
        &alice_key,
        Some((&der(&alice), true)),
        1,
        Payload::Evidence {
            records: vec![
                record(suite, "contract", 0x11),
                record(suite, "annex", 0x22),
            ],
        },
    );
    let bob_tx = Transaction::sign_versioned(
        protocol::V3,
        CHAIN_ID,
        &bob_key,
        Some((&der(&bob), true)),
        1,
        Payload::Evidence {
            records: vec![record(suite, "invoice", 0x33)],
        },
    );
    let leaves: Vec<Hash> = [&alice_tx, &bob_tx]
        .iter()
        .map(|t| log_leaf_hash(suite, &t.hash(), &t.signature))
        .collect();
    // The state after block 1, as far as the receipts need it: org1's CA set with ca2 added
    // (by an add_ca in an earlier block of a real chain; here written directly).
    let org_state = OrgState {
        org: Organisation {
            name: "org1".into(),
            ca_certs: vec![der(&ca1), der(&ca2)],
        },
        updated_at: 1,
    };
    let org_key = StateKey::Org("org1".into()).hash(suite);
    let mut changes = BTreeMap::new();
    changes.insert(org_key, Some(value_hash(suite, &org_state.encode())));
    let smt = SparseMerkleTree::new(suite).apply(&changes);
    let header = BlockHeader {
        version: protocol::V3,
        outcomes_root: None,
        height: 1,
        parent_hash: genesis.hash(),
        timestamp_ms: T0 + 60_000,
        proposer: validator.public_key(),
        tx_count: 2,
        log_size: 2,
        log_root: kexin_merkle::root_from_leaves(suite, &leaves),
        state_root: smt.root(),
        next_validators: Hash::ZERO,
    };
    let block_hash = header.hash(suite);
    let certificate = CommitCertificate::sign_single(CHAIN_ID, 0, &validator, &block_hash);

    let records = alice_tx.records();
    let record_leaves: Vec<Hash> = records.iter().map(|r| r.leaf_hash(suite)).collect();
    let receipt = Receipt {
        outcome: None,
        version: RECEIPT_VERSION,
        chain_id: CHAIN_ID.into(),
        suite,
        record: records[0].disclosed(suite),
        record_proof: kexin_merkle::inclusion_proof_from_leaves(suite, &record_leaves, 0).unwrap(),
        transaction: ReceiptTx {
            hash: alice_tx.hash(),
            summary: alice_tx.summary(),
            signature: alice_tx.signature,
        },
        log_proof: kexin_merkle::inclusion_proof_from_leaves(suite, &leaves, 0).unwrap(),
        block_hash,
        header: header.clone(),
        certificate: certificate.clone(),
        epochs: vec![],
        signer_cert: Some(SignerCert {
            cert: der(&alice),
            ca_set: None,
        }),
    };
    let tx_receipt = TxReceipt {
        outcome: None,
        version: RECEIPT_VERSION,
        chain_id: CHAIN_ID.into(),
        suite,
        transaction: ReceiptTx {
            hash: bob_tx.hash(),
            summary: bob_tx.summary(),
            signature: bob_tx.signature,
        },
        payload: Some(bob_tx.payload.clone()),
        log_proof: kexin_merkle::inclusion_proof_from_leaves(suite, &leaves, 1).unwrap(),
        block_hash,
        header: header.clone(),
        certificate: certificate.clone(),
        epochs: vec![],
        signer_cert: Some(SignerCert {
            cert: der(&bob),
            ca_set: Some(CaSetProof {
                org_state,
                proof: smt.prove(&org_key),
                header,
                certificate,
            }),
        }),
    };
    Fixture {
        genesis,
        receipt,
        tx_receipt,
        other_ca,
        other_writer,
        carol,
    }
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kexin-types/tests/fixtures")
}

fn files(suite: Suite, f: &Fixture) -> Vec<(PathBuf, String)> {
    let dir = fixtures_dir();
    let s = suite.name();
    vec![
        (
            dir.join(format!("receipt-v4-genesis-{s}.json")),
            f.genesis.to_json() + "\n",
        ),
        (
            dir.join(format!("receipt-v4-{s}.json")),
            f.receipt.to_json() + "\n",
        ),
        (
            dir.join(format!("tx-receipt-v4-{s}.json")),
            f.tx_receipt.to_json() + "\n",
        ),
    ]
}

/// The computed fixtures equal the pinned files (or rewrite them with
/// `KEXIN_REGENERATE_FIXTURES=1`).
#[test]
fn fixtures_are_frozen() {
    let regenerate = std::env::var_os("KEXIN_REGENERATE_FIXTURES").is_some();
    for suite in SUITES {
        for (path, text) in files(suite, &build(suite)) {
            if regenerate {
                std::fs::write(&path, &text).unwrap();
            }
            let pinned = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                pinned,
                text,
                "{} differs from the computed fixture: a format change needs a receipt \
                 version bump",
                path.display()
            );
        }
    }
}

fn pinned(suite: Suite) -> (Genesis, Receipt, TxReceipt) {
    let dir = fixtures_dir();
    let s = suite.name();
    let read = |name: String| std::fs::read_to_string(dir.join(name)).unwrap();
    (
        Genesis::from_json(&read(format!("receipt-v4-genesis-{s}.json"))).unwrap(),
        Receipt::from_json(&read(format!("receipt-v4-{s}.json"))).unwrap(),
        TxReceipt::from_json(&read(format!("tx-receipt-v4-{s}.json"))).unwrap(),
    )
}

/// The pinned files alone prove who signed: organisation, role and subject.
#[test]
fn pinned_v4_receipts_name_their_signers() {
    for suite in SUITES {
        let (genesis, receipt, tx_receipt) = pinned(suite);
        assert_eq!(receipt.version, 4);
        let v = receipt.verify(&genesis).unwrap();
        let who = identify_signer(&genesis, v.signer.as_ref().unwrap()).unwrap();
        assert_eq!(who.organisation, "org1");
        assert_eq!(who.role, Role::Writer);
        assert_eq!(who.name, "alice");
        assert_eq!(who.subject, "CN=alice,OU=writer,O=org1", "{suite}");
        assert_eq!(who.ca, CaSource::Genesis);
        assert_eq!(who.ca_id, genesis.organisations[0].ca_certs[0].id(suite));
        assert_eq!(Some(who.cert_id), receipt.transaction.summary.cert);
        // The binary form carries the same and round-trips.
        let bin = Receipt::decode(&receipt.encode()).unwrap();
        assert_eq!(bin, receipt);
        // A batch verifier establishes the same signer.
        let b = BatchVerifier::new(&genesis).verify(&receipt).unwrap();
        assert_eq!(b, v);

        let t = tx_receipt.verify(&genesis).unwrap();
        let who = identify_signer(&genesis, t.signer.as_ref().unwrap()).unwrap();
        assert_eq!(
            (who.organisation.as_str(), who.role, who.name.as_str()),
            ("org1", Role::Writer, "bob")
        );
        assert_eq!(who.ca, CaSource::State { height: 1 });
        let ca2 = &tx_receipt
            .signer_cert
            .as_ref()
            .unwrap()
            .ca_set
            .as_ref()
            .unwrap()
            .org_state
            .org
            .ca_certs[1];
        assert_eq!(who.ca_id, ca2.id(suite));
    }
}

/// The v3 fixtures (no signer certificate) keep verifying next to v4.
#[test]
fn v3_receipts_still_verify() {
    for suite in SUITES {
        let dir = fixtures_dir();
        let s = suite.name();
        let genesis = Genesis::from_json(
            &std::fs::read_to_string(dir.join(format!("genesis-v3-{s}.json"))).unwrap(),
        )
        .unwrap();
        let r = Receipt::from_json(
            &std::fs::read_to_string(dir.join(format!("receipt-v3-{s}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(r.version, 3);
        let v = r.verify(&genesis).unwrap();
        assert_eq!(v.signer, None);
    }
}

fn code_of(r: Result<impl std::fmt::Debug, ReceiptError>) -> (&'static str, String) {
    let e = r.unwrap_err();
    (e.code(), e.to_string())
}

/// Each way of naming a signer the chain did not accept is refused.
#[test]
fn forged_signer_certificates_are_refused() {
    for suite in SUITES {
        let f = build(suite);
        let g = &f.genesis;
        let full = |r: &Receipt| {
            r.verify(g)
                .and_then(|v| identify_signer(g, v.signer.as_ref().unwrap()))
        };
        assert!(full(&f.receipt).is_ok());

        // Another certificate of org1 (carol's, an auditor): not the one the transaction names.
        let mut r = f.receipt.clone();
        r.signer_cert.as_mut().unwrap().cert = der(&f.carol);
        let (code, msg) = code_of(r.verify(g));
        assert_eq!(code, "bad_signer_cert");
        assert!(msg.contains("the transaction names"), "{msg}");

        // No certificate in a version 4 receipt of a chain with organisations.
        let mut r = f.receipt.clone();
        r.signer_cert = None;
        assert_eq!(code_of(r.verify(g)).0, "bad_signer_cert");
        // A version 3 receipt carries none.
        let mut r = f.receipt.clone();
        r.version = 3;
        assert_eq!(code_of(r.verify(g)).0, "malformed_receipt");

        // The signer named a certificate of another organisation's CA: the X.509 check fails
        // (here the transaction is re-signed to name it, so only the CA check can catch it).
        let evidence = SignerEvidence {
            cert_id: der(&f.other_writer).id(suite),
            cert: der(&f.other_writer),
            proven_org: None,
            proven_at: None,
            signer: key(suite, 3).public_key(),
            at_ms: f.receipt.header.timestamp_ms,
        };
        let (code, msg) = code_of(identify_signer(g, &evidence));
        assert_eq!(code, "bad_signer_cert");
        assert!(msg.contains("org2"), "{msg}");
        // ... even if the receipt "proves" org2's CA set under the name org1.
        let bogus = SignerEvidence {
            proven_org: Some(Organisation {
                name: "org1".into(),
                ca_certs: vec![der(&f.other_ca)],
            }),
            proven_at: Some(1),
            ..evidence.clone()
        };
        let (code, msg) = code_of(identify_signer(g, &bogus));
        assert_eq!(code, "bad_signer_cert");
        assert!(msg.contains("organisation org2"), "{msg}");

        // A certificate that certifies another key than the signer's.
        let wrong_key = SignerEvidence {
            cert_id: der(&f.carol).id(suite),
            cert: der(&f.carol),
            signer: key(suite, 3).public_key(),
            ..evidence.clone()
        };
        let (code, msg) = code_of(identify_signer(g, &wrong_key));
        assert_eq!(code, "bad_signer_cert");
        assert!(msg.contains("certifies key"), "{msg}");

        // The block's time outside the certificate's validity.
        let late = SignerEvidence {
            cert_id: f.receipt.transaction.summary.cert.unwrap(),
            cert: f.receipt.signer_cert.as_ref().unwrap().cert.clone(),
            at_ms: T0 + 2 * YEAR_MS,
            ..evidence.clone()
        };
        let (code, msg) = code_of(identify_signer(g, &late));
        assert_eq!(code, "bad_signer_cert");
        assert!(msg.contains("cert_expired"), "{msg}");

        // A CA added after the genesis, without the CA-set proof: the genesis CA does not
        // issue bob's certificate.
        let mut t = f.tx_receipt.clone();
        t.signer_cert.as_mut().unwrap().ca_set = None;
        let v = t.verify(g).unwrap();
        let (code, msg) = code_of(identify_signer(g, v.signer.as_ref().unwrap()));
        assert_eq!(code, "bad_signer_cert");
        assert!(
            msg.contains("cert_wrong_ca") || msg.contains("cert_bad_signature"),
            "{msg}"
        );

        // A CA-set proof whose entry was altered (the other organisation's CA slipped in).
        let mut t = f.tx_receipt.clone();
        let p = t.signer_cert.as_mut().unwrap().ca_set.as_mut().unwrap();
        p.org_state.org.ca_certs.push(der(&f.other_ca));
        assert_eq!(code_of(t.verify(g)).0, "bad_ca_proof");
        // ... or proven against a header below the receipt's block.
        let mut t = f.tx_receipt.clone();
        let p = t.signer_cert.as_mut().unwrap().ca_set.as_mut().unwrap();
        p.header.height = 0;
        let (code, msg) = code_of(t.verify(g));
        assert_eq!(code, "bad_ca_proof");
        assert!(msg.contains("before the receipt's block"), "{msg}");
        // ... or against a header whose certificate does not cover it.
        let mut t = f.tx_receipt.clone();
        let p = t.signer_cert.as_mut().unwrap().ca_set.as_mut().unwrap();
        p.header.state_root = Hash([7; 32]);
        assert_eq!(code_of(t.verify(g)).0, "bad_ca_proof");
    }
}
