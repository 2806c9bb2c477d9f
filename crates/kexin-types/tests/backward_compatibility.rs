//! Backward compatibility: what released versions wrote keeps decoding and verifying.
//!
//! `tests/fixtures/frozen/v3/` holds what the released format v3 code (commit 181262c) wrote:
//! two 4-validator networks (`intl` and `gm`) run with the released `kexin` binary, every
//! payload kind and governance action, six consensus epochs and a validator change, saved
//! as the API served them (blocks, transactions, genesis), as the CLI saved them (record and
//! transaction receipts) and as that code's canonical binary encodings (`*.encoding.json`);
//! an open chain per suite (`open-intl`, `open-gm`: no organisations, no certificates); and
//! copies of the generated conformance fixtures of that release (`generated/`). See
//! `frozen/README.md` for every file and how it was made.
//!
//! Every test here reads those files with the CURRENT code. The files are never edited or
//! regenerated: a format change that breaks one of these tests breaks receipts already in
//! people's hands. A new format version adds its own `frozen/vN/` directory and tests; it
//! never replaces these.

mod frozen;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use frozen::*;

use kexin_types::{
    Block, BlockHeader, Checkpoint, CommitCertificate, Decode, Encode, EpochChain, EpochLink,
    Genesis, Hash, Receipt, SealedTx, Transaction, TxReceipt, decode_block, decode_transaction,
};
use serde_json::Value;

const SUITES: [&str; 2] = ["intl", "gm"];
/// The format version the released code wrote into blocks, transactions and genesis files.
const V3: u8 = 3;
/// Blocks per consensus epoch of the frozen networks (`kexin net up --epoch-length 8`).
const EPOCH_LENGTH: u64 = 8;
/// The frozen networks' height when they were saved.
const HEIGHT: u64 = 40;

fn v3() -> PathBuf {
    frozen_dir("v3")
}

fn genesis(suite: &str) -> Genesis {
    genesis_in(&v3().join(suite))
}

/// A frozen transaction: its file name stem, the API answer and the bytes.
struct FrozenTx {
    stem: String,
    api: Value,
    tx: Transaction,
    bytes: Vec<u8>,
}

/// Every frozen transaction of `suite` (as the auditor saw it: nothing withheld), decoded
/// from the JSON the node served and checked equal to the frozen binary encoding.
fn transactions(suite: &str) -> BTreeMap<Hash, FrozenTx> {
    let dir = v3().join(suite).join("transactions");
    let mut out = BTreeMap::new();
    for path in files(&dir, ".api.json") {
        let api = json(&path);
        let tx: Transaction = serde_json::from_value(api["transaction"].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = name(&path).trim_end_matches(".api.json").to_owned();
        let bytes = encoding(&dir.join(format!("{stem}.encoding.json")));
        out.insert(
            hash(&api["hash"]),
            FrozenTx {
                stem,
                api,
                tx,
                bytes,
            },
        );
    }
    out
}

/// Every frozen block of `suite`, by height: the API answer and the bytes.
fn blocks(suite: &str) -> BTreeMap<u64, (Value, Vec<u8>)> {
    blocks_in(&v3().join(suite))
}

/// The epoch links the frozen nodes served (`GET /v1/epochs/{e}`), epochs 1 and later.
fn epoch_links(suite: &str) -> Vec<EpochLink> {
    epoch_links_in(&v3().join(suite))
}

#[test]
fn v3_genesis_decodes_and_hashes_forever() {
    for suite in SUITES {
        let dir = v3().join(suite);
        let g = genesis(suite);
        assert_eq!(g.version, V3);
        assert_eq!(g.chain_id, format!("kexin-frozen-v3-{suite}"));
        assert_eq!(g.suite.to_string(), suite);
        assert_eq!(g.epoch_length, EPOCH_LENGTH);
        assert_eq!(g.organisations.len(), 4);
        assert_eq!(g.validators.len(), 4);
        // The hash the node reported, and the one recorded with the encoding.
        let chain = json(&dir.join("chain.api.json"));
        assert_eq!(g.hash(), hash(&chain["genesis_hash"]), "{suite}");
        let frozen = json(&dir.join("genesis.encoding.json"));
        assert_eq!(g.hash(), hash(&frozen["hash"]), "{suite}");
        // The binary form decodes to the same genesis and re-encodes byte for byte.
        let bytes = encoding(&dir.join("genesis.encoding.json"));
        assert_eq!(bytes[0], V3);
        let decoded = Genesis::decode(&bytes).unwrap();
        assert_eq!(decoded, g, "{suite}");
        assert_eq!(decoded.encode(), bytes, "{suite}");
        // The node's /v1/chain answer carries the same genesis.
        let served: Genesis = serde_json::from_value(chain["genesis"].clone()).unwrap();
        assert_eq!(served, g);
        // A changed genesis has another hash.
        let mut other = g.clone();
        other.timestamp_ms += 1;
        assert_ne!(other.hash(), g.hash());
    }
}

#[test]
fn v3_transactions_decode_and_hash_forever() {
    let mut kinds = BTreeSet::new();
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        assert!(txs.len() >= 30, "{suite}: {} transactions", txs.len());
        for (h, f) in txs {
            let at = format!("{suite}/{}", f.stem);
            assert_eq!(f.api["status"], "committed", "{at}");
            // Binary: decodes (version byte 3), re-encodes byte for byte, equals the JSON form.
            assert_eq!(f.bytes[0], V3, "{at}");
            let decoded = decode_transaction(&f.bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(decoded.encode(), f.bytes, "{at}");
            assert_eq!(decoded, f.tx, "{at}: binary and JSON forms differ");
            // The hash the node reported and the one recorded with the encoding.
            assert_eq!(decoded.hash(), h, "{at}");
            let frozen = json(
                &v3()
                    .join(suite)
                    .join("transactions")
                    .join(format!("{}.encoding.json", f.stem)),
            );
            assert_eq!(hash(&frozen["hash"]), h, "{at}");
            // The signature verifies for the chain.
            SealedTx::new(decoded.clone())
                .verify(&g.chain_id, g.suite)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            // The payload is the kind the file is named after.
            let kind = kind_of(&f.stem);
            let payload = &f.api["transaction"]["payload"];
            assert_eq!(kind.split('-').next().unwrap(), payload["type"], "{at}");
            kinds.insert(kind.to_owned());
            // Each record's metadata hash, as the node served it, is the metadata's hash.
            for (i, r) in decoded.records().iter().enumerate() {
                assert_eq!(
                    r.metadata.hash(g.suite),
                    hash(&payload["records"][i]["metadata_hash"]),
                    "{at}: record {i}"
                );
            }
        }
    }
    let want: BTreeSet<String> = [
        "add_ca",
        "audit_note",
        "evidence",
        "propose-add_org",
        "propose-add_validator",
        "propose-remove_org",
        "propose-remove_validator",
        "propose-revoke_cert",
        "propose-set_param",
        "revoke_cert",
        "vote",
    ]
    .map(String::from)
    .into();
    assert_eq!(kinds, want, "every payload kind and governance action");
}

#[test]
fn v3_blocks_decode_hash_and_chain_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let blocks = blocks(suite);
        assert_eq!(
            blocks.keys().copied().collect::<Vec<_>>(),
            (1..=HEIGHT).collect::<Vec<_>>()
        );
        let mut parent = g.hash();
        let mut log_size = 0;
        let mut included = 0;
        for (height, (api, bytes)) in &blocks {
            let at = format!("{suite}/block {height}");
            // Binary: decodes (version byte 3), re-encodes byte for byte.
            assert_eq!(bytes[0], V3, "{at}");
            let block = decode_block(bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(Block::decode(bytes).unwrap(), block);
            assert_eq!(block.encode(), *bytes, "{at}");
            // The JSON form: the served header and the served transactions, in order.
            let header: BlockHeader = serde_json::from_value(api["header"].clone()).unwrap();
            let hashes: Vec<Hash> = serde_json::from_value(api["transactions"].clone()).unwrap();
            let from_json = Block {
                header: header.clone(),
                transactions: hashes.iter().map(|h| txs[h].tx.clone()).collect(),
            };
            assert_eq!(block, from_json, "{at}: binary and JSON forms differ");
            // The header's encoding opens the block's; each transaction's follows its length.
            let header_bytes = header.encode();
            assert!(bytes.starts_with(&header_bytes), "{at}");
            let mut rest = &bytes[header_bytes.len()..];
            for h in &hashes {
                let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
                assert_eq!(&rest[4..4 + len], txs[h].bytes.as_slice(), "{at}");
                rest = &rest[4 + len..];
            }
            assert!(rest.is_empty(), "{at}");
            // Hashes: the served one, the recorded one, and the chain of parents.
            let h = header.hash(g.suite);
            assert_eq!(h, hash(&api["hash"]), "{at}");
            let frozen = json(
                &v3()
                    .join(suite)
                    .join(format!("blocks/block-{height:04}.encoding.json")),
            );
            assert_eq!(h, hash(&frozen["hash"]), "{at}");
            assert_eq!(header.parent_hash, parent, "{at}: parent hash");
            parent = h;
            // The log grows by the block's transactions; the last block of each epoch names
            // the next epoch's validators, the others do not.
            assert_eq!(header.tx_count as usize, hashes.len(), "{at}");
            log_size += header.tx_count as u64;
            assert_eq!(header.log_size, log_size, "{at}");
            assert_eq!(
                !header.next_validators.is_zero(),
                (height + 1) % EPOCH_LENGTH == 0,
                "{at}: next_validators"
            );
            included += hashes.len();
        }
        assert_eq!(
            included,
            txs.len(),
            "{suite}: every frozen transaction is in a block"
        );
        let chain = json(&v3().join(suite).join("chain.api.json"));
        assert_eq!(chain["height"], HEIGHT);
    }
}

#[test]
fn v3_block_certificates_verify_across_epochs() {
    for suite in SUITES {
        let g = genesis(suite);
        let links = epoch_links(suite);
        assert_eq!(links.len() as u64, HEIGHT / EPOCH_LENGTH, "{suite}");
        let epochs = EpochChain::verify(&g, &links).unwrap_or_else(|e| panic!("{suite}: {e}"));
        // The validator change by vote: five validators in one epoch, four before and after.
        let sizes: Vec<usize> = links.iter().map(|l| l.set.validators.len()).collect();
        assert!(
            sizes.contains(&5) && sizes.last() == Some(&4),
            "{suite}: {sizes:?}"
        );
        let blocks = blocks(suite);
        for (height, (api, _)) in &blocks {
            let at = format!("{suite}/block {height}");
            let cert: CommitCertificate =
                serde_json::from_value(api["certificate"].clone()).unwrap();
            let h = hash(&api["hash"]);
            // The binary form of the certificate round-trips too.
            let cert_bytes = cert.encode();
            assert_eq!(
                CommitCertificate::decode(&cert_bytes).unwrap(),
                cert,
                "{at}"
            );
            cert.check_epoch(&g, *height)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            cert.verify_in(&g, &epochs, &h)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            if *height < EPOCH_LENGTH {
                cert.verify(&g, &h).unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            // The certificate does not certify another block.
            let other = hash(&blocks[&(height % HEIGHT + 1)].0["hash"]);
            assert!(cert.verify_in(&g, &epochs, &other).is_err(), "{at}");
        }
    }
}

/// Every record receipt: the ones `kexin attest` saved on the frozen networks (version 4,
/// signer certificate and, for CAs added after genesis, a CA-set proof; epoch links from
/// block 8 on), and the generated version 3 and 4 fixtures of the release.
#[test]
fn v3_record_receipts_verify_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let blocks = blocks(suite);
        let dir = v3().join(suite).join("record-receipts");
        let paths = files(&dir, ".receipt.json");
        assert_eq!(paths.len(), 9, "{suite}");
        let mut with_links = 0;
        let mut with_ca_set = 0;
        for path in paths {
            let at = format!("{suite}/{}", name(&path));
            let r = Receipt::from_json(&read(&path)).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(r.version, 4, "{at}");
            let v = r.verify(&g).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(v.metadata_checked, "{at}");
            // The record is in the frozen transaction and block the receipt names.
            let tx = &txs[&v.tx_hash].tx;
            assert!(
                tx.records()
                    .iter()
                    .any(|rec| rec.digest == v.digest
                        && rec.metadata.hash(g.suite) == v.metadata_hash),
                "{at}"
            );
            assert_eq!(v.block_hash, hash(&blocks[&v.height].0["hash"]), "{at}");
            let signer = v.signer.expect("a receipt of a chain with organisations");
            assert_eq!(Some(signer.cert_id), tx.cert, "{at}");
            assert_eq!(signer.signer, tx.signer, "{at}");
            with_links += usize::from(!r.epochs.is_empty());
            with_ca_set += usize::from(r.signer_cert.as_ref().unwrap().ca_set.is_some());
            // The frozen binary form decodes to the same receipt, and re-encodes byte for byte.
            let bytes = encoding(&PathBuf::from(
                path.to_str()
                    .unwrap()
                    .replace(".receipt.json", ".encoding.json"),
            ));
            assert_eq!(bytes[0], 4, "{at}");
            let decoded = Receipt::decode(&bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(decoded, r, "{at}");
            assert_eq!(decoded.encode(), bytes, "{at}");
        }
        assert!(with_links >= 3, "{suite}: receipts with epoch links");
        assert!(
            with_ca_set >= 2,
            "{suite}: receipts proving a CA added by add_ca"
        );

        // The generated fixtures of the release: version 3 against the conformance genesis,
        // version 4 against its own.
        let generated = v3().join("generated");
        let g3 =
            Genesis::from_json(&read(&generated.join(format!("genesis-v3-{suite}.json")))).unwrap();
        let r3 =
            Receipt::from_json(&read(&generated.join(format!("receipt-v3-{suite}.json")))).unwrap();
        assert_eq!(r3.version, 3);
        let v = r3.verify(&g3).unwrap();
        assert!(v.signer.is_none());
        let g4 = Genesis::from_json(&read(
            &generated.join(format!("receipt-v4-genesis-{suite}.json")),
        ))
        .unwrap();
        let r4 =
            Receipt::from_json(&read(&generated.join(format!("receipt-v4-{suite}.json")))).unwrap();
        assert_eq!(r4.version, 4);
        assert!(r4.verify(&g4).unwrap().signer.is_some());
        assert_eq!(Receipt::decode(&r4.encode()).unwrap(), r4);
        // A receipt does not verify against another chain's genesis.
        assert!(r3.verify(&g).is_err());
    }
}

/// Every transaction receipt (`kexin tx H --receipt`): one per payload kind and governance
/// action, and the generated version 4 fixture of the release.
#[test]
fn v3_tx_receipts_verify_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let blocks = blocks(suite);
        let mut kinds = BTreeSet::new();
        for path in files(&v3().join(suite).join("tx-receipts"), ".receipt.json") {
            let at = format!("{suite}/{}", name(&path));
            let r = TxReceipt::from_json(&read(&path)).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(r.version, 4, "{at}");
            let v = r.verify(&g).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(v.payload_checked, "{at}");
            // The receipt is of the frozen transaction of the same name, in its block.
            let stem = name(&path).trim_end_matches(".receipt.json");
            let f = &txs[&v.tx_hash];
            assert_eq!(f.stem, stem, "{at}");
            assert_eq!(r.payload.as_ref(), Some(&f.tx.payload), "{at}");
            let kind = kind_of(stem);
            assert_eq!(v.kind, kind.split('-').next().unwrap(), "{at}");
            assert_eq!(v.block_hash, hash(&blocks[&v.height].0["hash"]), "{at}");
            assert_eq!(v.signer.unwrap().cert_id, f.tx.cert.unwrap(), "{at}");
            kinds.insert(kind.to_owned());
        }
        assert_eq!(
            kinds.len(),
            11,
            "{suite}: every payload kind and action: {kinds:?}"
        );

        let generated = v3().join("generated");
        let g4 = Genesis::from_json(&read(
            &generated.join(format!("receipt-v4-genesis-{suite}.json")),
        ))
        .unwrap();
        let t = TxReceipt::from_json(&read(
            &generated.join(format!("tx-receipt-v4-{suite}.json")),
        ))
        .unwrap();
        let v = t.verify(&g4).unwrap();
        assert_eq!(v.signer.unwrap().proven_at, Some(1));
    }
}

/// What anyone gets without an identity: the metadata and the note's text withheld. These
/// receipts verify too (the commitments stay), and the withheld views name the same hashes.
#[test]
fn v3_withheld_receipts_verify_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let dir = v3().join(suite).join("withheld");

        let answer = json(&dir.join("evidence-3.receipts.api.json"));
        let receipts = answer["receipts"].as_array().unwrap();
        assert_eq!(receipts.len(), 3);
        let full = &txs[&hash(&answer["tx_hash"])].tx;
        for (i, r) in receipts.iter().enumerate() {
            assert_eq!(r["record"]["metadata"], "withheld");
            let r: Receipt = serde_json::from_value(r.clone()).unwrap();
            let v = r
                .verify(&g)
                .unwrap_or_else(|e| panic!("{suite} record {i}: {e}"));
            assert!(!v.metadata_checked);
            assert_eq!(v.digest, full.records()[i].digest);
            assert_eq!(Receipt::decode(&r.encode()).unwrap(), r);
        }

        for (file, kind) in [
            ("evidence-3.receipt.api.json", "evidence"),
            ("audit-note.receipt.api.json", "audit_note"),
        ] {
            let r: TxReceipt = serde_json::from_value(json(&dir.join(file))).unwrap();
            assert!(r.payload.is_none(), "{suite}/{file}");
            let v = r
                .verify(&g)
                .unwrap_or_else(|e| panic!("{suite}/{file}: {e}"));
            assert!(!v.payload_checked);
            assert_eq!(v.kind, kind);
            assert!(txs.contains_key(&v.tx_hash));
        }

        let view = json(&dir.join("evidence-3.tx.api.json"));
        let full = &txs[&hash(&view["hash"])];
        for (i, rec) in full.tx.records().iter().enumerate() {
            let served = &view["transaction"]["payload"]["records"][i];
            assert_eq!(served["metadata"], "withheld");
            assert_eq!(hash(&served["digest"]), rec.digest);
            assert_eq!(hash(&served["metadata_hash"]), rec.metadata.hash(g.suite));
        }
        let note = json(&dir.join("audit-note.tx.api.json"));
        assert_eq!(note["transaction"]["payload"]["text"], "withheld");
        assert!(txs.contains_key(&hash(&note["hash"])));
    }
}

/// The generated conformance vectors of the release (`generated/conformance-v3-*.json`):
/// every encoding of a block, header, transaction, certificate, checkpoint, genesis and
/// receipt still decodes, re-encodes byte for byte and hashes as pinned.
#[test]
fn v3_conformance_vectors_decode_forever() {
    for suite in SUITES {
        let doc = json(&v3().join(format!("generated/conformance-v3-{suite}.json")));
        assert_eq!(doc["format_version"], 3);
        let v = &doc["vectors"];
        let bytes = |key: &str| hex::decode(v[key].as_str().unwrap()).unwrap();
        let g = Genesis::decode(&bytes("genesis.encoding")).unwrap();
        assert_eq!(g.encode(), bytes("genesis.encoding"));
        assert_eq!(g.hash(), hash(&v["genesis.hash"]));
        let mut parent = g.hash();
        for b in 1..=2 {
            let block = decode_block(&bytes(&format!("block.{b}.encoding"))).unwrap();
            assert_eq!(block.encode(), bytes(&format!("block.{b}.encoding")));
            let header =
                BlockHeader::decode(&bytes(&format!("block.{b}.header.encoding"))).unwrap();
            assert_eq!(header, block.header);
            assert_eq!(header.hash(g.suite), hash(&v[format!("block.{b}.hash")]));
            assert_eq!(header.parent_hash, parent);
            parent = header.hash(g.suite);
            let cert =
                CommitCertificate::decode(&bytes(&format!("block.{b}.certificate.encoding")))
                    .unwrap();
            cert.verify(&g, &parent).unwrap();
            for (i, tx) in block.transactions.iter().enumerate() {
                let key = format!("block.{b}.tx.{i}");
                let decoded = decode_transaction(&bytes(&format!("{key}.encoding"))).unwrap();
                assert_eq!(&decoded, tx);
                assert_eq!(decoded.hash(), hash(&v[format!("{key}.hash")]));
            }
        }
        for key in ["tx", "gov.propose_tx", "gov.vote_tx", "identity.revoke_tx"] {
            let b = bytes(&format!("{key}.encoding"));
            let tx = decode_transaction(&b).unwrap_or_else(|e| panic!("{suite} {key}: {e}"));
            assert_eq!(tx.encode(), b, "{suite} {key}");
            assert_eq!(tx.hash(), hash(&v[format!("{key}.hash")]), "{suite} {key}");
            SealedTx::new(tx).verify(&g.chain_id, g.suite).unwrap();
        }
        let cp = Checkpoint::decode(&bytes("checkpoint.encoding")).unwrap();
        assert_eq!(cp.encode(), bytes("checkpoint.encoding"));
        assert_eq!(cp.verify(&g).unwrap(), hash(&v["block.2.hash"]));
        for key in ["receipt.encoding", "receipt.withheld.encoding"] {
            let r = Receipt::decode(&bytes(key)).unwrap();
            assert_eq!(r.version, 3);
            assert_eq!(r.encode(), bytes(key));
            let ok = r.verify(&g).unwrap();
            assert_eq!(ok.tx_hash, hash(&v["receipt.tx_hash"]));
            assert_eq!(ok.block_hash, hash(&v["receipt.block_hash"]));
        }
    }
}

/// Tampered copies of frozen files are refused: one hex digit of a digest, a signature, a
/// header's state root, a payload, a certificate signature.
#[test]
fn v3_tampered_copies_are_refused() {
    for suite in SUITES {
        let g = genesis(suite);
        let dir = v3().join(suite);

        // A record receipt with epoch links and a CA-set proof.
        let path = files(&dir.join("record-receipts"), ".receipt.json")
            .into_iter()
            .find(|p| name(p).starts_with("evidence-bob-"))
            .unwrap();
        let good = json(&path);
        let ok: Receipt = serde_json::from_value(good.clone()).unwrap();
        ok.verify(&g).unwrap();
        for pointer in [
            "/record/digest",
            "/record/metadata_hash",
            "/transaction/signature",
            "/transaction/hash",
            "/header/state_root",
            "/header/log_root",
            "/block_hash",
            "/certificate/signatures/0/signature",
            "/log_proof/path/0",
        ] {
            let bad: Receipt = serde_json::from_value(tamper(&good, pointer))
                .unwrap_or_else(|e| panic!("{suite} {pointer}: {e}"));
            assert!(
                bad.verify(&g).is_err(),
                "{suite}: record receipt, {pointer}"
            );
        }
        let mut bad = ok.clone();
        bad.record.metadata.as_mut().unwrap().label.push('x');
        assert!(bad.verify(&g).is_err(), "{suite}: record receipt, label");

        // A transaction receipt of each of a vote and an audit note: their payloads.
        for (file, pointer) in [
            ("h0008-0-vote.receipt.json", "/payload/proposal"),
            ("h0002-0-audit_note.receipt.json", "/payload/subject"),
            ("h0005-0-add_ca.receipt.json", "/transaction/signature"),
            ("h0005-0-add_ca.receipt.json", "/header/state_root"),
            ("h0040-0-evidence.receipt.json", "/payload/records/0/digest"),
            (
                "h0040-0-evidence.receipt.json",
                "/epochs/0/certificate/signatures/0/signature",
            ),
        ] {
            let good = json(&dir.join("tx-receipts").join(file));
            let ok: TxReceipt = serde_json::from_value(good.clone()).unwrap();
            ok.verify(&g).unwrap();
            let bad: TxReceipt = serde_json::from_value(tamper(&good, pointer)).unwrap();
            assert!(bad.verify(&g).is_err(), "{suite}: {file}, {pointer}");
        }
        let good: TxReceipt =
            serde_json::from_value(json(&dir.join("tx-receipts/h0008-0-vote.receipt.json")))
                .unwrap();
        let mut bad_json = serde_json::to_value(&good).unwrap();
        bad_json["payload"]["approve"] = Value::Bool(false);
        let bad: TxReceipt = serde_json::from_value(bad_json).unwrap();
        assert!(bad.verify(&g).is_err(), "{suite}: vote turned to no");

        // A transaction (a vote without an attached certificate, so that its encoding ends
        // with the payload, the attached-certificate tag 0 and the 64-byte signature): a
        // signature byte breaks the signature, a payload byte (the vote's yes) the hash.
        let txs = transactions(suite);
        let (h, f) = txs
            .iter()
            .find(|(_, f)| f.stem.ends_with("-vote") && f.tx.attached_cert.is_none())
            .unwrap();
        let mut bytes = f.bytes.clone();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tx = decode_transaction(&bytes).unwrap();
        assert_eq!(tx.hash(), *h, "{suite}: the signature is not hashed");
        assert!(
            SealedTx::new(tx).verify(&g.chain_id, g.suite).is_err(),
            "{suite}: signature"
        );
        let mut bytes = f.bytes.clone();
        let approve_at = bytes.len() - 64 - 1 - 1;
        assert_eq!(bytes[approve_at], 1, "{suite}: a yes vote");
        bytes[approve_at] = 0;
        let tx = decode_transaction(&bytes).unwrap();
        assert_ne!(tx.hash(), *h, "{suite}: payload");
        assert!(
            SealedTx::new(tx).verify(&g.chain_id, g.suite).is_err(),
            "{suite}: payload"
        );

        // A block: a byte of the header's state root (followed in the v3 header by the 32
        // bytes of next_validators) changes its hash, so that the next block's parent no
        // longer matches; an unknown version byte is refused, not panicked on.
        let blocks = blocks(suite);
        let (api, bytes) = &blocks[&5];
        let header = decode_block(bytes).unwrap().header;
        let root_at = header.encode().len() - 64;
        let mut bad = bytes.clone();
        bad[root_at] ^= 1;
        let block = decode_block(&bad).unwrap();
        assert_ne!(block.header.state_root, header.state_root);
        let bad_hash = block.header.hash(g.suite);
        assert_ne!(bad_hash, hash(&api["hash"]));
        assert_ne!(bad_hash, hash(&blocks[&6].0["header"]["parent_hash"]));
        let mut bad = bytes.clone();
        bad[0] = 0xff;
        assert!(decode_block(&bad).is_err());
        assert!(decode_transaction(&[0xff]).is_err());
    }
}

/// The open chains (no organisations, `kexin net up --open --nodes 1`): transactions without a
/// certificate, blocks of one validator, version 4 receipts without a signer certificate.
#[test]
fn v3_open_chain_blocks_transactions_and_receipts_verify_forever() {
    for suite in ["open-intl", "open-gm"] {
        let dir = v3().join(suite);
        let g = genesis(suite);
        assert!(g.organisations.is_empty(), "{suite}");
        assert_eq!(g.validators.len(), 1);
        assert_eq!(
            g.hash(),
            hash(&json(&dir.join("chain.api.json"))["genesis_hash"])
        );
        let bytes = encoding(&dir.join("genesis.encoding.json"));
        assert_eq!(Genesis::decode(&bytes).unwrap(), g);
        assert_eq!(g.encode(), bytes);

        let txs = transactions(suite);
        assert_eq!(txs.len(), 2, "{suite}");
        for (h, f) in &txs {
            let at = format!("{suite}/{}", f.stem);
            assert_eq!(f.bytes[0], V3, "{at}");
            let tx = decode_transaction(&f.bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(tx.encode(), f.bytes, "{at}");
            assert_eq!(tx, f.tx, "{at}");
            assert_eq!(tx.hash(), *h, "{at}");
            assert!(tx.cert.is_none(), "{at}");
            SealedTx::new(tx).verify(&g.chain_id, g.suite).unwrap();
        }

        let mut parent = g.hash();
        for (height, (api, bytes)) in blocks(suite) {
            let at = format!("{suite}/block {height}");
            let block = decode_block(&bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(block.encode(), bytes, "{at}");
            let header: BlockHeader = serde_json::from_value(api["header"].clone()).unwrap();
            let hashes: Vec<Hash> = serde_json::from_value(api["transactions"].clone()).unwrap();
            let from_json = Block {
                header,
                transactions: hashes.iter().map(|h| txs[h].tx.clone()).collect(),
            };
            assert_eq!(block, from_json, "{at}");
            let h = block.header.hash(g.suite);
            assert_eq!(h, hash(&api["hash"]), "{at}");
            assert_eq!(block.header.parent_hash, parent, "{at}");
            parent = h;
            let cert: CommitCertificate =
                serde_json::from_value(api["certificate"].clone()).unwrap();
            cert.verify(&g, &h).unwrap_or_else(|e| panic!("{at}: {e}"));
        }

        let paths = files(&dir.join("record-receipts"), ".receipt.json");
        assert_eq!(paths.len(), 3, "{suite}");
        for path in paths {
            let at = format!("{suite}/{}", name(&path));
            let r = Receipt::from_json(&read(&path)).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(r.version, 4, "{at}");
            assert!(r.signer_cert.is_none(), "{at}");
            let v = r.verify(&g).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(v.metadata_checked && v.signer.is_none(), "{at}");
            assert!(txs.contains_key(&v.tx_hash), "{at}");
            let bytes = encoding(&PathBuf::from(
                path.to_str()
                    .unwrap()
                    .replace(".receipt.json", ".encoding.json"),
            ));
            assert_eq!(Receipt::decode(&bytes).unwrap(), r, "{at}");
            assert_eq!(r.encode(), bytes, "{at}");
            let bad: Receipt =
                serde_json::from_value(tamper(&json(&path), "/record/digest")).unwrap();
            assert!(bad.verify(&g).is_err(), "{at}: tampered digest");
        }
        for path in files(&dir.join("tx-receipts"), ".receipt.json") {
            let at = format!("{suite}/{}", name(&path));
            let r = TxReceipt::from_json(&read(&path)).unwrap_or_else(|e| panic!("{at}: {e}"));
            let v = r.verify(&g).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(v.kind, "evidence", "{at}");
            assert!(v.payload_checked && v.signer.is_none(), "{at}");
            assert!(txs.contains_key(&v.tx_hash), "{at}");
            let bad: TxReceipt =
                serde_json::from_value(tamper(&json(&path), "/transaction/signature")).unwrap();
            assert!(bad.verify(&g).is_err(), "{at}: tampered signature");
        }
    }
}
