//! Bad input for every decoder: truncation, trailing bytes, bad tags, versions, flags, UTF-8,
//! limits, chain ids, suites, points and certificate order; transaction verification errors;
//! and property tests (roundtrips, random bytes never panic).

mod common;

use common::*;
use kexin_types::limits::*;
use kexin_types::state::{EvidenceState, NonceState, RecordLocation};
use kexin_types::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn tx_bytes(suite: Suite) -> Vec<u8> {
    sample_tx(suite).encode()
}

fn block_bytes(suite: Suite) -> Vec<u8> {
    let chain = conformance_chain(suite);
    let b = chain.block(2);
    Block {
        header: b.header.clone(),
        transactions: b.transactions.clone(),
    }
    .encode()
}

fn receipt_bytes(suite: Suite) -> Vec<u8> {
    conformance_chain(suite).receipt_bytes(2, 0, 1)
}

fn certificate_bytes(suite: Suite) -> Vec<u8> {
    let chain = conformance_chain(suite);
    let b = chain.block(2);
    chain.certificate(&b.hash, &[0, 2, 3]).encode()
}

/// Offset of the first record in an encoded transaction of `suite` with chain id `CHAIN_ID`:
/// version, str8 chain id, suite tag, key, nonce, cert tag (0: none), payload kind, record
/// count.
fn first_record_offset(suite: Suite) -> usize {
    1 + 1 + CHAIN_ID.len() + 1 + PublicKey::len_for(suite) + 8 + 1 + 1 + 4
}

/// Offset of the first validator (after its `u32` count) in an encoded genesis.
fn first_validator_offset(g: &Genesis) -> usize {
    let orgs: usize = g.organisations.iter().map(|o| o.encode().len()).sum();
    1 + 1 + g.chain_id.len() + 1 + 8 + 4 + orgs + 4
}

/// Offset of the payload kind byte in an encoded transaction.
fn payload_kind_offset(suite: Suite) -> usize {
    first_record_offset(suite) - 5
}

fn assert_invalid(r: Result<impl std::fmt::Debug, DecodeError>, field: &str, needle: &str) {
    match r {
        Err(DecodeError::Invalid { field: f, reason }) => {
            assert_eq!(f, field, "field of {reason:?}");
            assert!(
                reason.contains(needle),
                "reason {reason:?} does not contain {needle:?}"
            );
        }
        other => panic!("expected Invalid({field}: ..{needle}..), got {other:?}"),
    }
}

fn assert_too_large(r: Result<impl std::fmt::Debug, DecodeError>, field: &str, limit: u64) {
    match r {
        Err(DecodeError::TooLarge {
            field: f, limit: l, ..
        }) => {
            assert_eq!((f, l), (field, limit));
        }
        other => panic!("expected TooLarge({field}, {limit}), got {other:?}"),
    }
}

/// A transaction encoding with the given records (unsigned: the signature is zeros).
fn tx_with_records(suite: Suite, records: Vec<EvidenceRecord>) -> Transaction {
    Transaction {
        version: FORMAT_VERSION,
        chain_id: CHAIN_ID.into(),
        signer: key(suite, 1).public_key(),
        nonce: 1,
        cert: None,
        payload: Payload::Evidence { records },
        attached_cert: None,
        signature: Signature([0; 64]),
    }
}

fn records_mut(tx: &mut Transaction) -> &mut Vec<EvidenceRecord> {
    let Payload::Evidence { records } = &mut tx.payload else {
        unreachable!("built as evidence")
    };
    records
}

fn small_record(suite: Suite) -> EvidenceRecord {
    record(suite, b"x", "text/plain", "x", None)
}

// ---------------------------------------------------------------------------------------------
// Truncation and trailing bytes
// ---------------------------------------------------------------------------------------------

/// Every proper prefix of a valid encoding is refused (and nothing panics); the full encoding
/// decodes; one more byte is `TrailingBytes(1)`.
fn check_prefixes_and_trailing<T: std::fmt::Debug>(
    what: &str,
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
) {
    for cut in 0..bytes.len() {
        let r = decode(&bytes[..cut]);
        assert!(r.is_err(), "{what}: prefix of {cut} bytes decoded: {r:?}");
    }
    decode(bytes).unwrap_or_else(|e| panic!("{what}: full encoding refused: {e}"));
    for extra in [0x00u8, 0x01, 0xff] {
        let mut long = bytes.to_vec();
        long.push(extra);
        match decode(&long) {
            Err(DecodeError::TrailingBytes(1)) => {}
            other => panic!("{what}: trailing byte gave {other:?}"),
        }
    }
}

#[test]
fn truncation_at_every_offset_and_trailing_bytes() {
    for suite in SUITES {
        let chain = conformance_chain(suite);
        check_prefixes_and_trailing("tx", &tx_bytes(suite), decode_transaction);
        check_prefixes_and_trailing("block", &block_bytes(suite), decode_block);
        check_prefixes_and_trailing("receipt", &receipt_bytes(suite), Receipt::decode);
        check_prefixes_and_trailing(
            "certificate",
            &certificate_bytes(suite),
            CommitCertificate::decode,
        );
        check_prefixes_and_trailing("summary", &sample_tx(suite).summary().encode(), |b| {
            TxSummary::decode(b)
        });
        check_prefixes_and_trailing(
            "header",
            &chain.block(1).header.encode(),
            BlockHeader::decode,
        );
        check_prefixes_and_trailing("genesis", &chain.genesis.encode(), Genesis::decode);
        let cp = Checkpoint {
            header: chain.block(2).header.clone(),
            certificate: chain.block(2).certificate.clone(),
        };
        check_prefixes_and_trailing("checkpoint", &cp.encode(), Checkpoint::decode);
        for rec in sample_records(suite) {
            check_prefixes_and_trailing("record", &rec.encode(), EvidenceRecord::decode);
        }
        let loc = RecordLocation {
            height: 1,
            tx_index: 2,
            record_index: 3,
        };
        check_prefixes_and_trailing("location", &loc.encode(), RecordLocation::decode);
        let ns = NonceState {
            last_nonce: 9,
            tx_count: 2,
        };
        check_prefixes_and_trailing("nonce state", &ns.encode(), NonceState::decode);
        let es = EvidenceState {
            count: 2,
            first: loc,
            last: loc,
            first_org: None,
        };
        // Protocol 5 appends the first recorder's organisation (a trailing `str8`), so the
        // encoding without it is the one prefix of the longer form that decodes; a stray
        // byte after either form is refused.
        let with_org = EvidenceState {
            first_org: Some("org1".into()),
            ..es.clone()
        };
        let short = es.encode();
        let bytes = with_org.encode();
        assert_eq!(bytes.len(), short.len() + 5);
        check_prefixes_and_trailing("evidence state with org", &bytes[short.len()..], |b| {
            let mut all = short.clone();
            all.extend_from_slice(b);
            match b.len() {
                // The boundary: the form without an organisation.
                0 => Err(DecodeError::Truncated {
                    field: "first_org",
                    needed: 1,
                }),
                _ => EvidenceState::decode(&all),
            }
        });
        for cut in 0..short.len() {
            assert!(EvidenceState::decode(&short[..cut]).is_err(), "cut {cut}");
        }
        assert_eq!(EvidenceState::decode(&short).unwrap(), es);
        assert_eq!(EvidenceState::decode(&bytes).unwrap(), with_org);
        for extra in [0x00u8, 0x01, 0xff] {
            let mut long = short.clone();
            long.push(extra);
            assert!(EvidenceState::decode(&long).is_err(), "stray {extra:#x}");
        }
    }
}

#[test]
fn truncated_input_reports_the_missing_field() {
    let bytes = tx_bytes(Suite::Intl);
    match decode_transaction(&bytes[..bytes.len() - 10]) {
        Err(e @ DecodeError::Truncated { field, needed }) => {
            assert_eq!((field, needed), ("signature", 10));
            assert_eq!(e.code(), "truncated");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decode_transaction(&[]),
        Err(DecodeError::Truncated {
            field: "version",
            needed: 1
        })
    ));
}

#[test]
fn error_codes_are_stable() {
    let trailing = DecodeError::TrailingBytes(3);
    assert_eq!(trailing.code(), "trailing_bytes");
    let mut long = tx_bytes(Suite::Gm);
    long.extend([0, 0, 0]);
    assert_eq!(decode_transaction(&long), Err(trailing));
    let mut big = tx_bytes(Suite::Gm);
    let at = payload_kind_offset(Suite::Gm) + 1;
    big[at..at + 4].copy_from_slice(&4097u32.to_be_bytes());
    assert_eq!(decode_transaction(&big).unwrap_err().code(), "too_large");
    big[at..at + 4].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(decode_transaction(&big).unwrap_err().code(), "malformed");
}

// ---------------------------------------------------------------------------------------------
// Tags, versions, flags, UTF-8
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_payload_kind_is_refused() {
    for suite in SUITES {
        for kind in [0u8, 10, 0x7f, 0xff] {
            let mut b = tx_bytes(suite);
            let at = payload_kind_offset(suite);
            assert_eq!(b[at], 1);
            b[at] = kind;
            assert_invalid(
                decode_transaction(&b),
                "payload kind",
                "unknown payload type",
            );
            // The same byte in a summary (the payload commitment).
            let mut s = sample_tx(suite).summary().encode();
            assert_eq!(s[at], 1);
            s[at] = kind;
            assert_invalid(
                TxSummary::decode(&s),
                "payload kind",
                "unknown payload type",
            );
            assert_invalid(
                PayloadCommitment::decode(&s[at..]),
                "payload kind",
                "unknown payload type",
            );
        }
    }
}

#[test]
fn wrong_versions_are_refused() {
    for suite in SUITES {
        for v in [0u8, 1, 2, 6, 0xff] {
            let mut b = tx_bytes(suite);
            b[0] = v;
            assert_invalid(decode_transaction(&b), "version", "unsupported version");
            let mut s = sample_tx(suite).summary().encode();
            s[0] = v;
            assert_invalid(TxSummary::decode(&s), "version", "unsupported version");
            let mut blk = block_bytes(suite);
            blk[0] = v;
            assert_invalid(decode_block(&blk), "header version", "unsupported version");
            let mut r = receipt_bytes(suite);
            // Receipts have versions 3 to 5 (5 is the receipt of blocks of version 4 and 5).
            r[0] = v;
            assert_invalid(
                Receipt::decode(&r),
                "receipt version",
                "unsupported version",
            );
            let mut g = conformance_chain(suite).genesis.encode();
            g[0] = v;
            assert_invalid(
                Genesis::decode(&g),
                "genesis version",
                "unsupported version",
            );
        }
    }
}

/// Transactions, headers and geneses of version 4 decode as version 4: a transaction keeps its
/// layout (its hash covers the version), a header adds its outcomes root.
#[test]
fn version_4_transactions_and_headers_decode() {
    for suite in SUITES {
        let mut b = tx_bytes(suite);
        b[0] = 4;
        let tx = decode_transaction(&b).unwrap();
        assert_eq!(tx.version, 4);
        assert_eq!(tx.encode(), b);
        assert_ne!(
            tx.hash(),
            decode_transaction(&tx_bytes(suite)).unwrap().hash()
        );
        let json = serde_json::to_value(&tx).unwrap();
        assert_eq!(json["version"], 4);
        assert_eq!(serde_json::from_value::<Transaction>(json).unwrap(), tx);
        let v3 = serde_json::to_value(decode_transaction(&tx_bytes(suite)).unwrap()).unwrap();
        assert!(v3.get("version").is_none(), "version 3 JSON has no version");
        let mut header = decode_block(&block_bytes(suite)).unwrap().header;
        header.version = 4;
        header.outcomes_root = Some(Hash([7; 32]));
        let bytes = header.encode();
        assert_eq!(
            bytes.len(),
            decode_block(&block_bytes(suite))
                .unwrap()
                .header
                .encode()
                .len()
                + 32
        );
        assert_eq!(BlockHeader::decode(&bytes).unwrap(), header);
        // A version 4 header without its outcomes root is truncated.
        assert!(BlockHeader::decode(&bytes[..bytes.len() - 32]).is_err());
    }
}

/// Receipts have their own version: 3 and 4 decode. A version 3 body relabelled 4 lacks the
/// signer section version 4 appends, and a version 4 receipt decodes only with it.
#[test]
fn receipt_versions_3_and_4() {
    for suite in SUITES {
        let v3 = receipt_bytes(suite);
        assert_eq!(v3[0], RECEIPT_VERSION_3);
        let r3 = Receipt::decode(&v3).unwrap();
        let mut relabelled = v3.clone();
        relabelled[0] = RECEIPT_VERSION;
        assert!(matches!(
            Receipt::decode(&relabelled),
            Err(DecodeError::Truncated { .. })
        ));
        // The same receipt as version 4 (no signer certificate: the byte 0).
        let mut v4 = relabelled;
        v4.push(0);
        let r4 = Receipt::decode(&v4).unwrap();
        assert_eq!(r4.version, RECEIPT_VERSION);
        assert_eq!(r4.signer_cert, None);
        assert_eq!(r4.encode(), v4);
        assert_eq!(Receipt { version: 3, ..r4 }, r3);
        // A signer section with a certificate and no CA-set proof round-trips.
        let with_cert = Receipt {
            outcome: None,
            version: RECEIPT_VERSION,
            signer_cert: Some(SignerCert {
                cert: CertDer(vec![0x30, 1, 0]),
                ca_set: None,
            }),
            ..r3.clone()
        };
        let bytes = with_cert.encode();
        assert_eq!(Receipt::decode(&bytes).unwrap(), with_cert);
        let mut bad_flag = bytes.clone();
        *bad_flag.last_mut().unwrap() = 2;
        assert!(Receipt::decode(&bad_flag).is_err());
    }
}

#[test]
fn flags_must_be_zero_or_one() {
    for suite in SUITES {
        let rec = small_record(suite);
        let mut b = rec.encode();
        let last = b.len() - 1;
        assert_eq!(b[last], 0);
        for t in [2u8, 0x80, 0xff] {
            b[last] = t;
            assert_invalid(
                EvidenceRecord::decode(&b),
                "external_ref tag",
                "must be 0 or 1",
            );
        }
        // Inside a transaction too.
        let tx = tx_with_records(suite, vec![rec]);
        let mut t = tx.encode();
        // ... external_ref tag, attached cert tag, signature.
        let at = t.len() - 64 - 2;
        assert_eq!(t[at], 0);
        t[at] = 2;
        assert_invalid(decode_transaction(&t), "external_ref tag", "must be 0 or 1");
        let mut t = tx.encode();
        let at = t.len() - 64 - 1;
        assert_eq!(t[at], 0);
        t[at] = 2;
        assert_invalid(
            decode_transaction(&t),
            "attached cert tag",
            "must be 0 or 1",
        );
        // The cert tag in the header.
        let mut t = tx.encode();
        let at = first_record_offset(suite) - 6;
        assert_eq!(t[at], 0);
        t[at] = 2;
        assert_invalid(decode_transaction(&t), "cert tag", "must be 0 or 1");
    }
}

#[test]
fn invalid_utf8_is_refused() {
    let suite = Suite::Intl;
    let rec = record(suite, b"x", "ab", "cd", Some("ef"));
    let enc = rec.encode();
    // After the digest (32) and the salt (16): content_type at 49..51, label at 53..55,
    // external_ref at 58..60.
    for (at, field) in [(49, "content_type"), (53, "label"), (58, "external_ref")] {
        for bad in [0xffu8, 0xc0, 0x80] {
            let mut b = enc.clone();
            b[at] = bad;
            assert_invalid(EvidenceRecord::decode(&b), field, "not valid UTF-8");
        }
    }
    // A truncated multi-byte sequence.
    let mut b = enc.clone();
    b[54] = 0xe7;
    assert_invalid(EvidenceRecord::decode(&b), "label", "not valid UTF-8");
    // Chain id bytes that are not UTF-8.
    let mut t = tx_bytes(suite);
    t[2] = 0xff;
    assert_invalid(decode_transaction(&t), "chain_id", "not valid UTF-8");
    // Validator names.
    let genesis = conformance_chain(suite).genesis;
    let mut g = genesis.encode();
    let name_at = first_validator_offset(&genesis) + 1;
    assert_eq!(&g[name_at..name_at + 5], b"node0");
    g[name_at] = 0xfe;
    assert_invalid(Genesis::decode(&g), "validator name", "not valid UTF-8");
}

#[test]
fn unknown_suite_and_key_scheme_tags_are_refused() {
    for suite in SUITES {
        for tag in [0u8, 3, 0xff] {
            let at = 2 + CHAIN_ID.len();
            let mut r = receipt_bytes(suite);
            r[1] = tag;
            assert_invalid(Receipt::decode(&r), "suite", "unknown suite tag");
            let mut g = conformance_chain(suite).genesis.encode();
            g[at] = tag;
            assert_invalid(Genesis::decode(&g), "suite", "unknown suite tag");
        }
        // Keys carry a scheme tag: 1 and 2 (the suite tags of gm and intl) and 3 (P-256).
        for tag in [0u8, 4, 0xff] {
            let mut t = tx_bytes(suite);
            let at = 2 + CHAIN_ID.len();
            assert_eq!(t[at], suite.tag());
            t[at] = tag;
            assert_invalid(decode_transaction(&t), "signer", "unknown key scheme tag");
            let mut h = conformance_chain(suite).block(1).header.encode();
            let at = 1 + 8 + 32 + 8;
            assert_eq!(h[at], suite.tag());
            h[at] = tag;
            assert_invalid(
                BlockHeader::decode(&h),
                "proposer",
                "unknown key scheme tag",
            );
        }
    }
}

#[test]
fn suite_tag_selects_the_key_length() {
    // An intl key relabelled gm reads 33 bytes and fails (on the point or on what follows).
    let mut t = tx_bytes(Suite::Intl);
    t[2 + CHAIN_ID.len()] = Suite::Gm.tag();
    assert!(decode_transaction(&t).is_err());
    let mut t = tx_bytes(Suite::Gm);
    t[2 + CHAIN_ID.len()] = Suite::Intl.tag();
    assert!(decode_transaction(&t).is_err());
    // Relabelled P-256 (tag 3), either key reads 65 bytes: an 0x04-prefixed point that is not
    // one, or (for Ed25519 keys, whose first byte is rarely 0x04) not uncompressed at all.
    for suite in SUITES {
        let mut t = tx_bytes(suite);
        t[2 + CHAIN_ID.len()] = 3;
        assert!(decode_transaction(&t).is_err(), "{suite}");
    }
}

#[test]
fn invalid_points_are_refused() {
    let key_at = 2 + CHAIN_ID.len() + 1;
    // Ed25519: y = 2 is not the y coordinate of a curve point.
    let mut t = tx_bytes(Suite::Intl);
    let mut y2 = [0u8; 32];
    y2[0] = 2;
    t[key_at..key_at + 32].copy_from_slice(&y2);
    assert_invalid(
        decode_transaction(&t),
        "signer",
        "not a valid Ed25519 point",
    );
    // SM2: x = 2 is not the x coordinate of a curve point; 0x04 is not a compressed prefix.
    let mut t = tx_bytes(Suite::Gm);
    let mut x2 = [0u8; 33];
    x2[0] = 0x02;
    x2[32] = 2;
    t[key_at..key_at + 33].copy_from_slice(&x2);
    assert_invalid(
        decode_transaction(&t),
        "signer",
        "not a point on the SM2 curve",
    );
    for prefix in [0x00u8, 0x04, 0x05, 0xff] {
        let mut t = tx_bytes(Suite::Gm);
        t[key_at] = prefix;
        assert_invalid(decode_transaction(&t), "signer", "compressed SEC1");
    }
    // The same checks guard the genesis and the header.
    let genesis = conformance_chain(Suite::Gm).genesis;
    let mut g = genesis.encode();
    // str8 "node0", str8 "org1", then the suite tag.
    let vkey = first_validator_offset(&genesis) + 6 + 5 + 1;
    g[vkey..vkey + 33].copy_from_slice(&x2);
    assert_invalid(Genesis::decode(&g), "validator key", "not a point");
    let mut h = conformance_chain(Suite::Intl).block(1).header.encode();
    let pk = 1 + 8 + 32 + 8 + 1;
    h[pk..pk + 32].copy_from_slice(&y2);
    assert_invalid(
        BlockHeader::decode(&h),
        "proposer",
        "not a valid Ed25519 point",
    );
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

#[test]
fn record_count_limits() {
    for suite in SUITES {
        let at = payload_kind_offset(suite) + 1;
        let mut b = tx_bytes(suite);
        b[at..at + 4].copy_from_slice(&(MAX_RECORDS_PER_TX + 1).to_be_bytes());
        assert_too_large(decode_transaction(&b), "record count", 4096);
        b[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_too_large(decode_transaction(&b), "record count", 4096);
        b[at..at + 4].copy_from_slice(&0u32.to_be_bytes());
        assert_invalid(decode_transaction(&b), "record count", "must not be empty");
        // The commitment's record count.
        let mut s = sample_tx(suite).summary().encode();
        s[at..at + 4].copy_from_slice(&4097u32.to_be_bytes());
        assert_too_large(TxSummary::decode(&s), "record_count", 4096);
        s[at..at + 4].copy_from_slice(&0u32.to_be_bytes());
        assert_invalid(TxSummary::decode(&s), "record_count", "must not be empty");
    }
}

#[test]
fn empty_record_list_is_refused() {
    for suite in SUITES {
        let tx = tx_with_records(suite, vec![]);
        assert_invalid(
            decode_transaction(&tx.encode()),
            "record count",
            "must not be empty",
        );
    }
}

#[test]
fn max_records_decode() {
    let suite = Suite::Intl;
    let records = vec![small_record(suite); MAX_RECORDS_PER_TX as usize];
    let tx = tx_with_records(suite, records);
    let back = decode_transaction(&tx.encode()).unwrap();
    assert_eq!(back, tx);
}

#[test]
fn metadata_limits() {
    let suite = Suite::Gm;
    let d = suite.hash(b"d");
    let mk = |ct: usize, label: usize, ext: Option<usize>| EvidenceRecord {
        digest: d,
        metadata: RecordMetadata {
            salt: Salt([7; 16]),
            content_type: "c".repeat(ct),
            label: "l".repeat(label),
            external_ref: ext.map(|n| "e".repeat(n)),
        },
    };
    // Exactly at the limits.
    for rec in [
        mk(127, 0, None),
        mk(0, 1024, None),
        mk(0, 0, Some(1024)),
        mk(127, 800, Some(97)),
        mk(0, 0, Some(0)),
    ] {
        assert_eq!(rec.validate(), Ok(()));
        assert_eq!(EvidenceRecord::decode(&rec.encode()).unwrap(), rec);
    }
    // content_type over 127.
    assert_too_large(
        EvidenceRecord::decode(&mk(128, 0, None).encode()),
        "content_type",
        127,
    );
    assert_too_large(
        EvidenceRecord::decode(&mk(255, 0, None).encode()),
        "content_type",
        127,
    );
    // One field over 1 KiB.
    assert_too_large(
        EvidenceRecord::decode(&mk(0, 1025, None).encode()),
        "label",
        1024,
    );
    assert_too_large(
        EvidenceRecord::decode(&mk(0, 0, Some(1025)).encode()),
        "external_ref",
        1024,
    );
    // The sum over 1 KiB.
    for rec in [
        mk(127, 800, Some(98)),
        mk(1, 1024, None),
        mk(0, 512, Some(513)),
    ] {
        assert_eq!(rec.metadata.len(), 1025);
        assert_too_large(
            EvidenceRecord::decode(&rec.encode()),
            "record metadata",
            1024,
        );
        assert!(rec.validate().is_err());
        let tx = tx_with_records(suite, vec![small_record(suite), rec]);
        assert_too_large(decode_transaction(&tx.encode()), "record metadata", 1024);
    }
}

#[test]
fn chain_id_rules() {
    for good in ["a", "0", "kexin-main", "a.b_c-d", &"z".repeat(64)] {
        assert_eq!(validate_chain_id(good), Ok(()), "{good}");
        let tx = Transaction {
            version: FORMAT_VERSION,
            chain_id: good.to_string(),
            ..tx_with_records(Suite::Intl, vec![small_record(Suite::Intl)])
        };
        assert_eq!(decode_transaction(&tx.encode()).unwrap(), tx);
    }
    for bad in [
        "",
        "-a",
        ".a",
        "_a",
        "A",
        "kexin main",
        "kexin/main",
        "é",
        "a\0",
    ] {
        assert!(validate_chain_id(bad).is_err(), "{bad:?}");
        let tx = Transaction {
            version: FORMAT_VERSION,
            chain_id: bad.to_string(),
            ..tx_with_records(Suite::Intl, vec![small_record(Suite::Intl)])
        };
        assert_invalid(
            decode_transaction(&tx.encode()),
            "chain_id",
            "must be 1..=64 bytes",
        );
        let mut r = receipt_bytes(Suite::Intl);
        // Replace the receipt's chain id (u8 length at offset 2).
        let old = 1 + CHAIN_ID.len();
        let mut b = vec![r[0], r[1], bad.len() as u8];
        b.extend_from_slice(bad.as_bytes());
        b.extend_from_slice(&r.split_off(2 + old));
        assert_invalid(Receipt::decode(&b), "chain_id", "must be 1..=64 bytes");
    }
    // 65 bytes is refused by the length check before anything else.
    let tx = Transaction {
        version: FORMAT_VERSION,
        chain_id: "a".repeat(65),
        ..tx_with_records(Suite::Intl, vec![small_record(Suite::Intl)])
    };
    assert_too_large(decode_transaction(&tx.encode()), "chain_id", 64);
    assert!(validate_chain_id(&"a".repeat(65)).is_err());
}

#[test]
fn oversized_transactions_and_blocks_are_refused_before_decoding() {
    let huge = vec![0u8; MAX_TX_BYTES + 1];
    assert_too_large(
        decode_transaction(&huge),
        "transaction",
        MAX_TX_BYTES as u64,
    );
    // A block whose transaction length prefix exceeds the limit.
    let chain = conformance_chain(Suite::Intl);
    let mut b = chain.block(1).header.encode();
    b.extend_from_slice(&((MAX_TX_BYTES + 1) as u32).to_be_bytes());
    assert_too_large(decode_block(&b), "transaction", MAX_TX_BYTES as u64);
    // A block over the block limit is refused by length alone.
    let huge = vec![0u8; MAX_BLOCK_BYTES + 1];
    assert_too_large(decode_block(&huge), "block", MAX_BLOCK_BYTES as u64);
}

#[test]
fn block_transaction_framing() {
    let suite = Suite::Intl;
    let good = block_bytes(suite);
    let header_len = conformance_chain(suite).block(2).header.encode().len();
    // A length prefix one byte longer than the transaction: the inner decode sees a trailing
    // byte taken from the next frame.
    let mut b = good.clone();
    let len = u32::from_be_bytes(b[header_len..header_len + 4].try_into().unwrap());
    b[header_len..header_len + 4].copy_from_slice(&(len + 1).to_be_bytes());
    assert!(matches!(
        decode_block(&b),
        Err(DecodeError::TrailingBytes(1))
    ));
    b[header_len..header_len + 4].copy_from_slice(&(len - 1).to_be_bytes());
    assert!(matches!(
        decode_block(&b),
        Err(DecodeError::Truncated { .. })
    ));
    // Fewer transactions than tx_count.
    let chain = conformance_chain(suite);
    let mut short = chain.block(2).header.encode();
    short.extend_from_slice(&good[header_len..header_len + 4 + len as usize]);
    assert!(matches!(
        decode_block(&short),
        Err(DecodeError::Truncated {
            field: "transaction length",
            ..
        })
    ));
}

#[test]
fn header_rules() {
    let suite = Suite::Gm;
    let chain = conformance_chain(suite);
    let h = chain.block(2).header.clone();
    let mut zero = h.clone();
    zero.height = 0;
    assert_invalid(
        BlockHeader::decode(&zero.encode()),
        "height",
        "blocks start at height 1",
    );
    let mut small_log = h.clone();
    small_log.log_size = 1;
    assert_invalid(
        BlockHeader::decode(&small_log.encode()),
        "log_size",
        "smaller than",
    );
    let mut many = h.clone();
    many.tx_count = MAX_BLOCK_TXS + 1;
    many.log_size = u64::MAX;
    assert_too_large(
        BlockHeader::decode(&many.encode()),
        "tx_count",
        MAX_BLOCK_TXS as u64,
    );
    let mut empty = h.clone();
    empty.tx_count = 0;
    assert_eq!(BlockHeader::decode(&empty.encode()).unwrap(), empty);
    let b = Block {
        header: empty.clone(),
        transactions: vec![],
    };
    assert_eq!(decode_block(&b.encode()).unwrap(), b);
}

#[test]
fn receipt_proof_path_limit() {
    let suite = Suite::Intl;
    let r = receipt_bytes(suite);
    // The record proof's path length byte follows version, suite, chain id, the record view
    // (digest, metadata hash, tag, metadata) and 16 bytes.
    let rec_len = sample_records(suite)[1].disclosed(suite).encode().len();
    assert_eq!(rec_len, sample_records(suite)[1].encode().len() + 32 + 1);
    let at = 2 + 1 + CHAIN_ID.len() + rec_len + 16;
    assert_eq!(r[at], 2);
    let mut b = r.clone();
    b[at] = 65;
    assert_too_large(Receipt::decode(&b), "record proof", 64);
    b[at] = 0xff;
    assert_too_large(Receipt::decode(&b), "record proof", 64);
}

// ---------------------------------------------------------------------------------------------
// Certificates and genesis
// ---------------------------------------------------------------------------------------------

#[test]
fn certificate_rules() {
    for suite in SUITES {
        let chain = conformance_chain(suite);
        let hash = chain.block(2).hash;
        let sig = |c: &CommitCertificate| match c {
            CommitCertificate::Signatures { signatures } => signatures.clone(),
            _ => unreachable!(),
        };
        let sigs = sig(&chain.certificate(&hash, &[0, 1, 2, 3]));
        let cert = |order: &[usize]| CommitCertificate::Signatures {
            signatures: order.iter().map(|&i| sigs[i]).collect(),
        };
        assert!(CommitCertificate::decode(&cert(&[0, 1, 3]).encode()).is_ok());
        for bad in [&[1usize, 0][..], &[0, 0], &[0, 2, 1], &[3, 3]] {
            let c = cert(bad);
            assert_invalid(
                CommitCertificate::decode(&c.encode()),
                "validator index",
                "strictly ascending",
            );
            // Built without decoding, verification refuses it as well.
            assert_eq!(
                c.verify(&chain.genesis, &hash),
                Err(CertificateError::NotCanonical)
            );
        }
        // Signature count 0 and over the limit.
        assert_invalid(
            CommitCertificate::decode(&[1, 0, 0]),
            "signature count",
            "must not be empty",
        );
        assert_eq!(
            CommitCertificate::decode(&[1, 0, 101]).unwrap_err(),
            DecodeError::TooLarge {
                field: "signature count",
                limit: 100,
                actual: 101
            }
        );
        // Unknown kind (1 is signatures, 2 a simplex finalization, 3 an ancestor link).
        let mut b = cert(&[0]).encode();
        b[0] = 4;
        assert_invalid(
            CommitCertificate::decode(&b),
            "certificate kind",
            "unknown kind",
        );
    }
}

#[test]
fn genesis_rules() {
    for suite in SUITES {
        let (g, _) = genesis(suite, 4);
        assert_eq!(Genesis::decode(&g.encode()).unwrap(), g);
        let mut none = g.clone();
        none.validators.clear();
        assert_invalid(
            Genesis::decode(&none.encode()),
            "validators",
            "must not be empty",
        );
        let mut dup = g.clone();
        dup.validators[3].public_key = dup.validators[1].public_key;
        assert_invalid(
            Genesis::decode(&dup.encode()),
            "validator key",
            "repeats a key",
        );
        let mut other = g.clone();
        let other_suite = if suite == Suite::Gm {
            Suite::Intl
        } else {
            Suite::Gm
        };
        other.validators[2].public_key = key(other_suite, 11).public_key();
        assert_invalid(
            Genesis::decode(&other.encode()),
            "validator key",
            "key on a",
        );
        let mut unnamed = g.clone();
        unnamed.validators[0].name.clear();
        assert_invalid(
            Genesis::decode(&unnamed.encode()),
            "validator name",
            "1..=64",
        );
        let mut long = g.clone();
        long.validators[0].name = "n".repeat(65);
        assert_too_large(Genesis::decode(&long.encode()), "validator name", 64);
        let mut bad_chain = g.clone();
        bad_chain.chain_id = "Main".into();
        assert_invalid(Genesis::decode(&bad_chain.encode()), "chain_id", "must be");
        let mut many = g.encode();
        let at = first_validator_offset(&g) - 4;
        many[at..at + 4].copy_from_slice(&(MAX_VALIDATORS + 1).to_be_bytes());
        assert_too_large(Genesis::decode(&many), "validators", 100);
        let mut many_orgs = g.encode();
        let at = 1 + 1 + CHAIN_ID.len() + 1 + 8;
        many_orgs[at..at + 4].copy_from_slice(&(MAX_ORGS + 1).to_be_bytes());
        assert_too_large(Genesis::decode(&many_orgs), "organisations", 100);
        // Organisations: each validator names one, names are unique and valid, CAs present.
        let mut stray = g.clone();
        stray.validators[1].org = "org9".into();
        assert_invalid(
            Genesis::decode(&stray.encode()),
            "validator org",
            "does not list",
        );
        let mut open = g.clone();
        open.organisations.clear();
        assert_invalid(
            Genesis::decode(&open.encode()),
            "validator org",
            "lists none",
        );
        let mut twice = g.clone();
        twice.organisations.push(twice.organisations[0].clone());
        assert_invalid(
            Genesis::decode(&twice.encode()),
            "organisation name",
            "listed twice",
        );
        let mut bad_name = g.clone();
        bad_name.organisations[0].name = "org 1".into();
        assert_invalid(
            Genesis::decode(&bad_name.encode()),
            "organisation name",
            "[A-Za-z0-9._-]",
        );
        let mut no_ca = g.clone();
        no_ca.organisations[0].ca_certs.clear();
        assert_invalid(
            Genesis::decode(&no_ca.encode()),
            "organisation CAs",
            "needs 1..=4",
        );
        // JSON is validated the same way.
        assert!(Genesis::from_json(&dup.to_json()).is_err());
        assert_eq!(Genesis::from_json(&g.to_json()).unwrap(), g);
    }
}

#[test]
fn quorum_sizes() {
    for (n, q) in [
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 3),
        (5, 4),
        (6, 5),
        (7, 5),
        (10, 7),
        (100, 67),
    ] {
        let (g, _) = genesis(Suite::Intl, n);
        assert_eq!(g.quorum(), q, "n = {n}");
    }
}

#[test]
fn evidence_state_count_is_positive() {
    let loc = RecordLocation {
        height: 1,
        tx_index: 0,
        record_index: 0,
    };
    let es = EvidenceState {
        count: 0,
        first: loc,
        last: loc,
        first_org: None,
    };
    assert_invalid(EvidenceState::decode(&es.encode()), "count", "at least one");
    let mut empty_org = EvidenceState { count: 1, ..es }.encode();
    empty_org.push(0);
    assert_invalid(EvidenceState::decode(&empty_org), "first_org", "not empty");
}

// ---------------------------------------------------------------------------------------------
// Transaction verification
// ---------------------------------------------------------------------------------------------

#[test]
fn tx_verify_errors() {
    for suite in SUITES {
        let other = if suite == Suite::Gm {
            Suite::Intl
        } else {
            Suite::Gm
        };
        let tx = sample_tx(suite);
        let sealed = SealedTx::new(tx.clone());
        assert_eq!(sealed.verify(CHAIN_ID, suite), Ok(()));

        let e = sealed.verify("other-chain", suite).unwrap_err();
        assert_eq!(e.code(), "wrong_chain");
        assert!(matches!(e, TxError::WrongChain { .. }));
        let e = sealed.verify(CHAIN_ID, other).unwrap_err();
        assert_eq!(e.code(), "wrong_suite");

        // A transaction signed for another chain id and relabelled does not verify.
        let foreign = Transaction::sign("other-chain", &key(suite, 1), 42, tx.payload.clone());
        let relabelled = Transaction {
            version: FORMAT_VERSION,
            chain_id: CHAIN_ID.into(),
            ..foreign
        };
        assert_eq!(
            SealedTx::new(relabelled).verify(CHAIN_ID, suite),
            Err(TxError::BadSignature)
        );

        let mut t = tx.clone();
        t.signature.0[10] ^= 1;
        let e = SealedTx::new(t).verify(CHAIN_ID, suite).unwrap_err();
        assert_eq!(
            (e.clone(), e.code()),
            (TxError::BadSignature, "bad_signature")
        );

        let mut t = tx.clone();
        t.nonce += 1;
        assert_eq!(
            SealedTx::new(t).verify(CHAIN_ID, suite),
            Err(TxError::BadSignature)
        );

        for i in 0..3 {
            let mut t = tx.clone();
            let records = records_mut(&mut t);
            records[i].metadata.label.push('!');
            assert_eq!(
                SealedTx::new(t.clone()).verify(CHAIN_ID, suite),
                Err(TxError::BadSignature)
            );
            let records = records_mut(&mut t);
            records[i].metadata.label.pop();
            records[i].metadata.salt.0[15] ^= 0x01;
            assert_eq!(
                SealedTx::new(t.clone()).verify(CHAIN_ID, suite),
                Err(TxError::BadSignature),
                "the salt is signed"
            );
            let records = records_mut(&mut t);
            records[i].metadata.salt.0[15] ^= 0x01;
            records[i].digest.0[0] ^= 0x80;
            assert_eq!(
                SealedTx::new(t).verify(CHAIN_ID, suite),
                Err(TxError::BadSignature)
            );
        }
        // Reordering or dropping records changes the records root.
        let mut t = tx.clone();
        let records = records_mut(&mut t);
        records.swap(0, 2);
        assert_eq!(
            SealedTx::new(t.clone()).verify(CHAIN_ID, suite),
            Err(TxError::BadSignature)
        );
        let records = records_mut(&mut t);
        records.pop();
        assert_eq!(
            SealedTx::new(t).verify(CHAIN_ID, suite),
            Err(TxError::BadSignature)
        );
        // Another signer's key.
        let mut t = tx.clone();
        t.signer = key(suite, 2).public_key();
        assert_eq!(
            SealedTx::new(t).verify(CHAIN_ID, suite),
            Err(TxError::BadSignature)
        );
        // Every single flipped byte of the encoding either fails to decode or to verify.
        let bytes = tx.encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            if let Ok(t) = decode_transaction(&b) {
                assert!(
                    SealedTx::new(t).verify(CHAIN_ID, suite).is_err(),
                    "{suite}: flipped byte {i} still verifies"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

fn arb_suite() -> impl Strategy<Value = Suite> {
    prop_oneof![Just(Suite::Intl), Just(Suite::Gm)]
}

fn arb_hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

fn arb_record() -> impl Strategy<Value = EvidenceRecord> {
    (
        arb_hash(),
        any::<[u8; 16]>(),
        "[a-z]{0,20}(/[a-z0-9.+-]{0,30})?",
        ".{0,60}",
        proptest::option::of(".{0,80}"),
    )
        .prop_map(
            |(digest, salt, content_type, label, external_ref)| EvidenceRecord {
                digest,
                metadata: RecordMetadata {
                    salt: Salt(salt),
                    content_type,
                    label,
                    external_ref,
                },
            },
        )
        .prop_filter("within the metadata limits", |r| r.validate().is_ok())
}

fn arb_chain_id() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._-]{0,63}"
}

prop_compose! {
    fn arb_tx()(
        suite in arb_suite(),
        seed in 1u8..=8,
        chain_id in arb_chain_id(),
        nonce in any::<u64>(),
        records in proptest::collection::vec(arb_record(), 1..12),
        sig in proptest::collection::vec(any::<u8>(), 64),
    ) -> Transaction {
        Transaction {
            version: FORMAT_VERSION,
            chain_id,
            signer: key(suite, seed).public_key(),
            nonce,
            cert: None,
            payload: Payload::Evidence { records },
            attached_cert: None,
            signature: Signature(sig.try_into().unwrap()),
        }
    }
}

/// Runs every decoder over `bytes`; none may panic.
fn decode_everything(bytes: &[u8]) {
    let _ = decode_transaction(bytes);
    let _ = decode_block(bytes);
    let _ = Receipt::decode(bytes);
    let _ = TxSummary::decode(bytes);
    let _ = PayloadCommitment::decode(bytes);
    let _ = EvidenceRecord::decode(bytes);
    let _ = BlockHeader::decode(bytes);
    let _ = CommitCertificate::decode(bytes);
    let _ = Checkpoint::decode(bytes);
    let _ = Genesis::decode(bytes);
    let _ = RecordLocation::decode(bytes);
    let _ = NonceState::decode(bytes);
    let _ = EvidenceState::decode(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn records_roundtrip(rec in arb_record()) {
        let bytes = rec.encode();
        prop_assert_eq!(EvidenceRecord::decode(&bytes).unwrap(), rec);
    }

    #[test]
    fn transactions_roundtrip(tx in arb_tx()) {
        let bytes = tx.encode();
        let back = decode_transaction(&bytes).unwrap();
        prop_assert_eq!(back.encode(), bytes);
        prop_assert_eq!(back.summary(), tx.summary());
        prop_assert_eq!(&back, &tx);
        let s = tx.summary();
        prop_assert_eq!(TxSummary::decode(&s.encode()).unwrap(), s);
    }

    #[test]
    fn signed_transactions_verify_after_roundtrip(
        suite in arb_suite(),
        seed in 1u8..=8,
        nonce in any::<u64>(),
        chain_id in arb_chain_id(),
        records in proptest::collection::vec(arb_record(), 1..5),
    ) {
        let tx = Transaction::sign(&chain_id, &key(suite, seed), nonce, Payload::Evidence { records });
        let back = decode_transaction(&tx.encode()).unwrap();
        prop_assert_eq!(SealedTx::new(back).verify(&chain_id, suite), Ok(()));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_everything(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_prefix_never_panic(
        suite in arb_suite(),
        cut in 0usize..400,
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        for seed in [tx_bytes(suite), receipt_bytes(suite), block_bytes(suite)] {
            let mut b = seed[..cut.min(seed.len())].to_vec();
            b.extend_from_slice(&tail);
            decode_everything(&b);
        }
    }

    #[test]
    fn mutated_encodings_never_panic_and_stay_canonical(
        suite in arb_suite(),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        for seed in [tx_bytes(suite), receipt_bytes(suite), block_bytes(suite), certificate_bytes(suite)] {
            let mut b = seed.clone();
            let i = at.index(b.len());
            b[i] = value;
            decode_everything(&b);
            if let Ok(t) = decode_transaction(&b) { prop_assert_eq!(t.encode(), b.clone()); }
            if let Ok(r) = Receipt::decode(&b) { prop_assert_eq!(r.encode(), b.clone()); }
            if let Ok(k) = decode_block(&b) { prop_assert_eq!(k.encode(), b.clone()); }
            if let Ok(c) = CommitCertificate::decode(&b) { prop_assert_eq!(c.encode(), b.clone()); }
        }
    }
}

#[test]
fn identity_payloads_and_attached_certificates() {
    for suite in SUITES {
        let cert = CertDer(b"opaque certificate".to_vec());
        let other = CertDer(b"another certificate".to_vec());
        let k = key(suite, 3);
        // Round trips, with and without the attached certificate.
        for (payload, attach) in [
            (
                Payload::RevokeCert {
                    cert: other.clone(),
                    reason: RevocationReason::Superseded,
                },
                true,
            ),
            (
                Payload::AddCa {
                    cert: other.clone(),
                },
                false,
            ),
        ] {
            let tx = Transaction::sign_as(CHAIN_ID, &k, Some((&cert, attach)), 5, payload);
            let enc = tx.encode();
            assert_eq!(decode_transaction(&enc).unwrap(), tx);
            assert_eq!(tx.cert, Some(cert.id(suite)));
            assert_eq!(tx.attached_cert.is_some(), attach);
            assert!(tx.records().is_empty());
            SealedTx::new(tx.clone()).verify(CHAIN_ID, suite).unwrap();
            assert_eq!(
                TxSummary::decode(&tx.summary().encode()).unwrap(),
                tx.summary()
            );
        }
        // An unknown RFC 5280 reason (6 is certificateHold, not supported).
        let tx = Transaction::sign_as(
            CHAIN_ID,
            &k,
            Some((&cert, false)),
            5,
            Payload::RevokeCert {
                cert: other.clone(),
                reason: RevocationReason::KeyCompromise,
            },
        );
        let mut b = tx.encode();
        let at = b.len() - 64 - 1 - 1;
        assert_eq!(b[at], 1);
        b[at] = 6;
        assert_invalid(decode_transaction(&b), "revocation reason", "unknown");
        // A certificate larger than the limit, and an empty one.
        let big = Transaction::sign_as(
            CHAIN_ID,
            &k,
            Some((&cert, false)),
            5,
            Payload::AddCa {
                cert: CertDer(vec![0x30; MAX_CERT_BYTES + 1]),
            },
        );
        assert_too_large(
            decode_transaction(&big.encode()),
            "CA certificate",
            MAX_CERT_BYTES as u64,
        );
        assert!(big.validate().is_err());
        let empty = Transaction::sign_as(
            CHAIN_ID,
            &k,
            Some((&cert, false)),
            5,
            Payload::AddCa {
                cert: CertDer(Vec::new()),
            },
        );
        assert_invalid(
            decode_transaction(&empty.encode()),
            "CA certificate",
            "must not be empty",
        );
        // A certificate attached to a transaction that names none.
        let mut bare = tx_with_records(suite, vec![small_record(suite)]);
        bare.attached_cert = Some(cert.clone());
        assert_invalid(
            decode_transaction(&bare.encode()),
            "attached cert",
            "names no certificate id",
        );
        assert_invalid(bare.validate(), "attached cert", "names no certificate id");
        // An attached certificate that is not the one signed for.
        let mut swapped = Transaction::sign_as(
            CHAIN_ID,
            &k,
            Some((&cert, true)),
            5,
            evidence(vec![small_record(suite)]),
        );
        swapped.attached_cert = Some(other.clone());
        let sealed = SealedTx::new(decode_transaction(&swapped.encode()).unwrap());
        assert_eq!(
            sealed.verify(CHAIN_ID, suite).unwrap_err().code(),
            "cert_id_mismatch"
        );
        // Swapping the certificate id breaks the signature.
        let mut reassigned = Transaction::sign_as(
            CHAIN_ID,
            &k,
            Some((&cert, false)),
            5,
            evidence(vec![small_record(suite)]),
        );
        reassigned.cert = Some(other.id(suite));
        assert_eq!(
            SealedTx::new(reassigned)
                .verify(CHAIN_ID, suite)
                .unwrap_err()
                .code(),
            "bad_signature"
        );
    }
}

/// Contract payloads (kinds 7 and 8) decode in transactions of version 5 only, within their
/// limits, and a version 4 transaction or summary that claims one is refused.
#[test]
fn contract_payloads_need_version_5_and_respect_their_limits() {
    let key = kexin_crypto::SigningKey::from_seed(Suite::Intl, &[4; 32]).unwrap();
    let deploy = Payload::ContractDeploy {
        gas_limit: 3_000_000,
        code: vec![0x60, 0x80, 0x60, 0x40],
        abi: None,
    };
    let call = Payload::ContractCall {
        contract: ContractAddress([0xab; 20]),
        gas_limit: 100_000,
        input: vec![0xa9, 0x05, 0x9c, 0xbb],
    };
    for payload in [deploy.clone(), call.clone()] {
        let tx = Transaction::sign_versioned(5, "kexin-demo", &key, None, 7, payload.clone());
        tx.validate().unwrap();
        let bytes = tx.encode();
        let back = decode_transaction(&bytes).unwrap();
        assert_eq!(back, tx);
        assert_eq!(
            TxSummary::decode(&tx.summary().encode()).unwrap(),
            tx.summary()
        );
        // JSON round trip (hex bytes, 0x addresses).
        let json = serde_json::to_value(&tx).unwrap();
        assert_eq!(
            serde_json::from_value::<Transaction>(json.clone()).unwrap(),
            tx
        );
        // The same payload in a version 4 transaction.
        let old = Transaction::sign_versioned(4, "kexin-demo", &key, None, 7, payload.clone());
        assert_invalid(
            old.validate(),
            "payload kind",
            "needs transaction version 5",
        );
        assert_invalid(
            decode_transaction(&old.encode()),
            "payload kind",
            "needs transaction version 5",
        );
        assert_invalid(
            TxSummary::decode(&old.summary().encode()),
            "payload kind",
            "needs transaction version 5",
        );
    }
    let json = serde_json::to_value(&call).unwrap();
    assert_eq!(json["type"], "contract_call");
    assert_eq!(
        json["contract"],
        "0xabababababababababababababababababababab"
    );
    assert_eq!(json["input"], "0xa9059cbb");
    // Limits: a zero gas limit, empty or oversized init code, oversized calldata.
    let bad = [
        Payload::ContractDeploy {
            gas_limit: 0,
            code: vec![1],
            abi: None,
        },
        Payload::ContractDeploy {
            gas_limit: 1,
            code: vec![],
            abi: None,
        },
        Payload::ContractDeploy {
            gas_limit: 1,
            code: vec![0; kexin_types::contract::MAX_INITCODE_BYTES + 1],
            abi: None,
        },
        Payload::ContractDeploy {
            gas_limit: kexin_types::contract::MAX_TX_GAS + 1,
            code: vec![1],
            abi: None,
        },
        Payload::ContractCall {
            contract: ContractAddress::default(),
            gas_limit: 1,
            input: vec![0; kexin_types::contract::MAX_CALLDATA_BYTES + 1],
        },
    ];
    for payload in bad {
        assert!(payload.validate().is_err(), "{payload:?}");
        let tx = Transaction::sign_versioned(5, "kexin-demo", &key, None, 7, payload.clone());
        assert!(
            decode_transaction(&tx.encode()).is_err(),
            "{payload:?} decodes"
        );
    }
}

/// A deployment that publishes its ABI is payload kind 9: it round-trips (binary, JSON, the
/// summary's commitment differs from the same deployment without it), needs version 5, and
/// an ABI that is not a JSON array of typed entries, not UTF-8, or over the bound is refused.
#[test]
fn deployments_with_an_abi_are_kind_9_and_check_it() {
    let key = kexin_crypto::SigningKey::from_seed(Suite::Intl, &[4; 32]).unwrap();
    let abi = r#"[{"type":"function","name":"inc","inputs":[],"outputs":[],"stateMutability":"nonpayable"}]"#;
    let with = Payload::ContractDeploy {
        gas_limit: 3_000_000,
        code: vec![0x60, 0x80],
        abi: Some(abi.into()),
    };
    let without = Payload::ContractDeploy {
        gas_limit: 3_000_000,
        code: vec![0x60, 0x80],
        abi: None,
    };
    assert_eq!((with.kind(), without.kind()), (9, 7));
    assert_eq!(with.kind_name(), "contract_deploy");
    let tx = Transaction::sign_versioned(5, "kexin-demo", &key, None, 7, with.clone());
    let back = decode_transaction(&tx.encode()).unwrap();
    assert_eq!(back, tx);
    assert_eq!(
        serde_json::from_value::<Transaction>(serde_json::to_value(&tx).unwrap()).unwrap(),
        tx
    );
    let json = serde_json::to_value(&with).unwrap();
    assert_eq!(json["type"], "contract_deploy");
    assert_eq!(json["abi"], abi);
    assert!(serde_json::to_value(&without).unwrap().get("abi").is_none());
    assert_ne!(
        with.commitment(Suite::Intl),
        without.commitment(Suite::Intl)
    );
    assert_eq!(with.commitment(Suite::Intl).kind(), 9);
    let old = Transaction::sign_versioned(4, "kexin-demo", &key, None, 7, with.clone());
    assert_invalid(
        decode_transaction(&old.encode()),
        "payload kind",
        "needs transaction version 5",
    );
    // Truncations and trailing bytes are refused.
    let mut body = Vec::new();
    body.push(9u8);
    body.extend(3_000_000u64.to_be_bytes());
    body.extend(2u32.to_be_bytes());
    body.extend([0x60, 0x80]);
    body.extend((abi.len() as u32).to_be_bytes());
    body.extend(abi.as_bytes());
    let encoded = tx.encode();
    let at = encoded
        .windows(body.len())
        .position(|w| w == body.as_slice())
        .expect("the payload is in the transaction as formats.md says");
    for cut in [1, 4, abi.len() / 2] {
        let mut short = encoded[..at + body.len() - cut].to_vec();
        short.extend(&encoded[at + body.len()..]);
        assert!(decode_transaction(&short).is_err(), "cut {cut}");
    }
    for bad in [
        "".to_string(),
        "{}".into(),
        "[1]".into(),
        r#"[{"name":"x"}]"#.into(),
        r#"[{"type":7}]"#.into(),
        "[".into(),
        format!(
            "[{}]",
            vec![r#"{"type":"event"}"#; kexin_types::contract::MAX_ABI_BYTES / 16].join(",")
        ),
    ] {
        let payload = Payload::ContractDeploy {
            gas_limit: 1,
            code: vec![1],
            abi: Some(bad.clone()),
        };
        assert!(payload.validate().is_err(), "{bad:.40}");
        let tx = Transaction::sign_versioned(5, "kexin-demo", &key, None, 7, payload);
        assert!(
            decode_transaction(&tx.encode()).is_err(),
            "{bad:.40} decodes"
        );
    }
    // Not UTF-8: patch a byte of the encoded ABI.
    let mut bytes = encoded.clone();
    bytes[at + body.len() - 3] = 0xff;
    assert_invalid(decode_transaction(&bytes), "ABI", "not UTF-8");
}

/// Governance actions on contracts (kinds 8 to 10) round-trip; an upgrade's code must be
/// non-empty, within the format's bound and not start with 0xef (EIP-3541).
#[test]
fn contract_governance_actions_round_trip_and_refuse_bad_code() {
    let contract = ContractAddress([0x42; 20]);
    for action in [
        GovAction::FreezeContract { contract },
        GovAction::UnfreezeContract { contract },
        GovAction::UpgradeContract {
            contract,
            code: vec![0x5f, 0x5f, 0xfd],
        },
        GovAction::NameContract {
            name: "scf-2".into(),
            contract,
        },
    ] {
        let bytes = action.encode();
        assert_eq!(GovAction::decode(&bytes).unwrap(), action);
        check_prefixes_and_trailing(action.kind_name(), &bytes, GovAction::decode);
    }
    for (code, needle) in [(vec![0xef, 0x00], "EIP-3541"), (Vec::new(), "1..=")] {
        let action = GovAction::UpgradeContract { contract, code };
        assert_invalid(action.validate().map(|_| ()), "contract code", needle);
        let bytes = action.encode();
        assert!(GovAction::decode(&bytes).is_err(), "{needle}");
    }
    // Names: a-z, 0-9 and '-', starting with a letter, 1..=32 bytes.
    for bad in [
        "",
        "Scf",
        "1scf",
        "-scf",
        "s c f",
        "scf_2",
        "资金",
        &"a".repeat(33),
    ] {
        let action = GovAction::NameContract {
            name: bad.into(),
            contract,
        };
        assert_invalid(
            action.validate().map(|_| ()),
            "contract name",
            "a contract name is",
        );
        assert!(GovAction::decode(&action.encode()).is_err(), "{bad:?}");
    }
    assert_eq!(
        GovAction::NameContract {
            name: "scf".into(),
            contract,
        }
        .encode()
        .len(),
        22 + 3,
        "the size formats.md gives"
    );
}
