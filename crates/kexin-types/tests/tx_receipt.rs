//! Transaction receipts (`TxReceipt`): the receipt of a whole transaction of any kind (a
//! vote, a proposal, an audit note, an evidence batch) verifies from the genesis alone; a
//! withheld payload still verifies; no tampering survives, of the payload, of any JSON field
//! or of the certificate. Also the audit note payload's format rules.

mod common;

use common::*;
use kexin_types::*;

/// A 4-validator chain: block 1 an evidence batch, block 2 a proposal, a vote, an audit note
/// and a revocation.
fn gov_chain(suite: Suite) -> TestChain {
    let mut chain = TestChain::new(suite, 4);
    let records = vec![
        record(suite, b"a", "text/plain", "a", None),
        record(suite, b"b", "text/plain", "b", Some("ref://b")),
    ];
    chain.push_block(vec![Transaction::sign(
        CHAIN_ID,
        &key(suite, 1),
        1,
        evidence(records),
    )]);
    let propose = Transaction::sign(
        CHAIN_ID,
        &key(suite, 2),
        1,
        Payload::Propose {
            action: GovAction::SetParam {
                name: "gov.proposal_ttl_ms".into(),
                value: 86_400_000,
            },
        },
    );
    let vote = Transaction::sign(
        CHAIN_ID,
        &key(suite, 3),
        1,
        Payload::Vote {
            proposal: propose.hash(),
            approve: true,
        },
    );
    let note = Transaction::sign(
        CHAIN_ID,
        &key(suite, 4),
        1,
        Payload::AuditNote {
            subject: suite.hash(b"a"),
            text: "Checked against the filing of 2026-11-02.\nNo findings.".into(),
        },
    );
    let revoke = Transaction::sign(
        CHAIN_ID,
        &key(suite, 5),
        1,
        Payload::RevokeCert {
            cert: CertDer(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
            reason: RevocationReason::KeyCompromise,
        },
    );
    chain.push_block(vec![propose, vote, note, revoke]);
    chain
}

fn verify_json(json: &serde_json::Value, genesis: &Genesis) -> Result<VerifiedTx, String> {
    TxReceipt::from_json(&json.to_string())
        .and_then(|r| r.verify(genesis))
        .map_err(|e| e.to_string())
}

#[test]
fn every_transaction_of_every_kind_has_a_verifying_receipt() {
    for suite in SUITES {
        let chain = gov_chain(suite);
        let kinds = [(1, 0, "evidence"), (2, 0, "propose"), (2, 1, "vote")];
        let kinds = kinds
            .into_iter()
            .chain([(2, 2, "audit_note"), (2, 3, "revoke_cert")]);
        for (h, t, kind) in kinds {
            let r = chain.tx_receipt(h, t);
            let block = chain.block(h);
            let v = r
                .verify(&chain.genesis)
                .unwrap_or_else(|e| panic!("{suite} {kind}: {e}"));
            assert_eq!(v.kind, kind);
            assert_eq!(v.tx_hash, block.transactions[t].hash());
            assert_eq!(v.height, h);
            assert_eq!(v.block_hash, block.hash);
            assert_eq!(v.timestamp_ms, block.header.timestamp_ms);
            assert!(v.payload_checked);
            // JSON round trip.
            let back = TxReceipt::from_json(&r.to_json()).unwrap();
            assert_eq!(back, r);
            // Without the payload it still proves the transaction, not what it said.
            let w = r.clone().withheld();
            assert!(w.payload.is_none());
            let vw = w.verify(&chain.genesis).unwrap();
            assert!(!vw.payload_checked);
            assert_eq!(vw.tx_hash, v.tx_hash);
            let wj: serde_json::Value = serde_json::from_str(&w.to_json()).unwrap();
            assert!(wj.get("payload").is_none(), "{wj}");
            let rj: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
            assert_eq!(rj["payload"]["type"], kind);
        }
    }
}

#[test]
fn a_changed_payload_is_refused() {
    for suite in SUITES {
        let chain = gov_chain(suite);
        // The vote flipped from yes to no.
        let mut r = chain.tx_receipt(2, 1);
        let Some(Payload::Vote { approve, .. }) = &mut r.payload else {
            panic!("vote expected")
        };
        *approve = false;
        let e = r.verify(&chain.genesis).unwrap_err();
        assert_eq!(e.code(), "payload_mismatch", "{e}");
        // The note's text changed by one character.
        let mut r = chain.tx_receipt(2, 2);
        let Some(Payload::AuditNote { text, .. }) = &mut r.payload else {
            panic!("note expected")
        };
        text.push('!');
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "payload_mismatch"
        );
        // Another transaction's payload.
        let mut r = chain.tx_receipt(2, 1);
        r.payload = chain.tx_receipt(2, 0).payload;
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "payload_mismatch"
        );
        // An evidence batch with a record dropped.
        let mut r = chain.tx_receipt(1, 0);
        let Some(Payload::Evidence { records }) = &mut r.payload else {
            panic!("evidence expected")
        };
        records.pop();
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "payload_mismatch"
        );
        // A payload over the format limits is malformed, not merely mismatched.
        let mut r = chain.tx_receipt(2, 2);
        r.payload = Some(Payload::AuditNote {
            subject: Hash::ZERO,
            text: String::new(),
        });
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "malformed_receipt"
        );
    }
}

#[test]
fn every_changed_json_field_is_refused() {
    for suite in SUITES {
        let chain = gov_chain(suite);
        for (h, t) in [(2, 1), (2, 2), (1, 0)] {
            let r = chain.tx_receipt(h, t);
            let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
            verify_json(&json, &chain.genesis).expect("unchanged receipt verifies");
            let mut paths = Vec::new();
            leaves(&json, String::new(), &mut paths);
            let mut checked = 0;
            for p in &paths {
                let original = json.pointer(p).unwrap().clone();
                let variants: Vec<serde_json::Value> = match &original {
                    serde_json::Value::String(s)
                        if s.len() >= 2 && s.chars().all(|c| c.is_ascii_hexdigit()) =>
                    {
                        vec![
                            change_hex_digit(s, 0).into(),
                            change_hex_digit(s, s.len() - 1).into(),
                            s[..s.len() - 2].to_string().into(),
                        ]
                    }
                    serde_json::Value::String(s) => vec![format!("{s}x").into()],
                    serde_json::Value::Number(n) => {
                        let n = n.as_u64().expect("unsigned numbers only");
                        vec![(n + 1).into(), (n ^ (1 << 40)).into()]
                    }
                    serde_json::Value::Bool(b) => vec![(!b).into()],
                    serde_json::Value::Null => continue,
                    other => panic!("unexpected JSON leaf {p}: {other}"),
                };
                for v in variants {
                    if p == "/header/tx_count" && v.as_u64().unwrap() > r.header.log_size {
                        continue;
                    }
                    let mut j = json.clone();
                    *j.pointer_mut(p).unwrap() = v.clone();
                    let res = verify_json(&j, &chain.genesis);
                    assert!(res.is_err(), "{suite} ({h},{t}): {p} = {v} still verifies");
                    checked += 1;
                }
            }
            assert!(checked > 40, "{suite}: only {checked} variants checked");
        }
    }
}

#[test]
fn weak_certificates_and_foreign_genesis_are_refused() {
    for suite in SUITES {
        let chain = gov_chain(suite);
        let good = chain.tx_receipt(2, 1);
        // Below quorum: 2 of 4 signatures (quorum 3).
        let mut r = good.clone();
        r.certificate = chain.certificate(&good.block_hash, &[0, 1]);
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_certificate"
        );
        // Another block's certificate.
        let mut r = good.clone();
        r.certificate = chain.block(1).certificate.clone();
        assert_eq!(
            r.verify(&chain.genesis).unwrap_err().code(),
            "bad_certificate"
        );
        // A transaction moved into another block's header.
        let mut r = good.clone();
        r.header = chain.block(1).header.clone();
        r.block_hash = chain.block(1).hash;
        r.certificate = chain.block(1).certificate.clone();
        assert!(r.verify(&chain.genesis).is_err());
        // Another chain's genesis (same validators, other id).
        let mut other = chain.genesis.clone();
        other.chain_id = "another-chain".into();
        assert_eq!(good.verify(&other).unwrap_err().code(), "wrong_chain");
        // The other suite's genesis.
        let theirs = TestChain::new(
            if suite == Suite::Gm {
                Suite::Intl
            } else {
                Suite::Gm
            },
            4,
        );
        assert!(good.verify(&theirs.genesis).is_err());
        // The untouched receipt still verifies.
        good.verify(&chain.genesis).unwrap();
    }
}

#[test]
fn audit_notes_encode_decode_and_refuse_bad_text() {
    for suite in SUITES {
        let note = |text: &str| {
            Transaction::sign(
                CHAIN_ID,
                &key(suite, 4),
                7,
                Payload::AuditNote {
                    subject: suite.hash(b"subject"),
                    text: text.into(),
                },
            )
        };
        let tx = note("Finding 3: the filing was late.\n\tSee the 2026 report.");
        tx.validate().unwrap();
        let bytes = tx.encode();
        let back = decode_transaction(&bytes).unwrap();
        assert_eq!(back, tx);
        assert_eq!(back.payload.kind(), 6);
        assert_eq!(back.payload.kind_name(), "audit_note");
        assert_eq!(tx.summary().payload.kind_name(), "audit_note");
        SealedTx::new(back).verify(CHAIN_ID, suite).unwrap();

        let too_long = "x".repeat(limits::MAX_NOTE_BYTES + 1);
        let max = "x".repeat(limits::MAX_NOTE_BYTES);
        note(&max).validate().unwrap();
        for (bad, what) in [
            ("", "empty"),
            ("  \n ", "blank"),
            (too_long.as_str(), "too long"),
            ("bell\u{7}", "control character"),
            ("nul\u{0}", "control character"),
            ("esc\u{1b}[31m", "control character"),
        ] {
            let tx = note(bad);
            assert!(tx.validate().is_err(), "{what}: validate accepted {bad:?}");
            // Encoded anyway (by a faulty or hostile client): the decoder refuses it too.
            let bytes = tx.encode();
            assert!(
                decode_transaction(&bytes).is_err(),
                "{what}: decoder accepted {bad:?}"
            );
        }
    }
}
