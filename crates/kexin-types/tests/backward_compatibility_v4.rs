//! Backward compatibility of format version 4: what the released v4 code wrote keeps decoding
//! and verifying.
//!
//! `tests/fixtures/frozen/v4/` holds what the released format v4 code (commit fb4f2a2) wrote:
//! two 4-validator networks (`intl` and `gm`) run with that release's `kexin` binary, every
//! payload kind and governance action, six consensus epochs and a validator change, a vote
//! included with a `failed` outcome, saved as the API served them (blocks, transactions with
//! their outcomes, the module event stream, genesis), as the CLI saved them (record and
//! transaction receipts of receipt version 5, proving the transaction's outcome) and as that
//! code's canonical binary encodings (`*.encoding.json`); an open chain per suite
//! (`open-intl`, `open-gm`: no organisations, no certificates); and copies of the generated
//! conformance fixtures of that release (`generated/`). See `frozen/README.md` for every file
//! and how it was made.
//!
//! Every test here reads those files with the CURRENT code. The files are never edited or
//! regenerated: a format change that breaks one of these tests breaks receipts already in
//! people's hands. `backward_compatibility.rs` does the same for format version 3; a new
//! format version adds its own `frozen/vN/` directory and tests, it never replaces these.

mod frozen;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use frozen::*;

use kexin_types::protocol::ProtocolSchedule;
use kexin_types::{
    Block, BlockHeader, Checkpoint, CommitCertificate, Decode, Encode, EpochChain, EpochLink,
    Genesis, GovAction, Hash, Outcome, Receipt, ReceiptError, SealedTx, Status, Transaction,
    TxReceipt, decode_block, decode_transaction, outcomes_root,
};
use serde_json::{Value, json};

const SUITES: [&str; 2] = ["intl", "gm"];
/// The format version the released code wrote into blocks, transactions and genesis files.
const V4: u8 = 4;
/// The receipt version of a version 4 block (signer section and proven outcome).
const RECEIPT_V5: u8 = 5;
/// Blocks per consensus epoch of the frozen networks (`kexin net up --epoch-length 8`).
const EPOCH_LENGTH: u64 = 8;

/// The frozen networks' height when they were saved.
fn height(suite: &str) -> u64 {
    match suite {
        "intl" => 43,
        "gm" => 42,
        other => panic!("no network {other}"),
    }
}

/// The vote each network included with a `failed` outcome (it came after the proposal passed).
fn failed_vote(suite: &str) -> &'static str {
    match suite {
        "intl" => "h0042-1-vote",
        "gm" => "h0041-2-vote",
        other => panic!("no network {other}"),
    }
}

fn v4() -> PathBuf {
    frozen_dir("v4")
}

fn genesis(suite: &str) -> Genesis {
    genesis_in(&v4().join(suite))
}

/// The outcome an API answer (`GET /v1/transactions/{h}`) reports, committed to by its block.
fn served_outcome(api: &Value, at: &str) -> Outcome {
    assert_eq!(api["outcome"]["committed"], true, "{at}: outcome committed");
    serde_json::from_value(api["outcome"].clone()).unwrap_or_else(|e| panic!("{at}: {e}"))
}

/// A frozen transaction: its file name stem, the API answer, the bytes and its outcome.
struct FrozenTx {
    stem: String,
    api: Value,
    tx: Transaction,
    bytes: Vec<u8>,
    outcome: Outcome,
}

/// Every frozen transaction of `suite` (as the auditor saw it: nothing withheld), decoded
/// from the JSON the node served and checked equal to the frozen binary encoding.
fn transactions(suite: &str) -> BTreeMap<Hash, FrozenTx> {
    let dir = v4().join(suite).join("transactions");
    let mut out = BTreeMap::new();
    for path in files(&dir, ".api.json") {
        let api = json(&path);
        let tx: Transaction = serde_json::from_value(api["transaction"].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = name(&path).trim_end_matches(".api.json").to_owned();
        let bytes = encoding(&dir.join(format!("{stem}.encoding.json")));
        let outcome = served_outcome(&api, &stem);
        out.insert(
            hash(&api["hash"]),
            FrozenTx {
                stem,
                api,
                tx,
                bytes,
                outcome,
            },
        );
    }
    out
}

/// Every frozen block of `suite`, by height: the API answer and the bytes.
fn blocks(suite: &str) -> BTreeMap<u64, (Value, Vec<u8>)> {
    blocks_in(&v4().join(suite))
}

/// The epoch links the frozen nodes served (`GET /v1/epochs/{e}`), epochs 1 and later.
fn epoch_links(suite: &str) -> Vec<EpochLink> {
    epoch_links_in(&v4().join(suite))
}

/// The outcomes of a served block's transactions, in block order, with their hashes.
fn block_outcomes(api: &Value, txs: &BTreeMap<Hash, FrozenTx>) -> Vec<(Hash, Outcome)> {
    let hashes: Vec<Hash> = serde_json::from_value(api["transactions"].clone()).unwrap();
    hashes
        .iter()
        .map(|h| (*h, txs[h].outcome.clone()))
        .collect()
}

/// Asserts that `r` fails with `code`.
fn refused<T: std::fmt::Debug>(r: Result<T, ReceiptError>, code: &str, at: &str) {
    match r {
        Ok(v) => panic!("{at}: verified: {v:?}"),
        Err(e) => assert_eq!(e.code(), code, "{at}: {e}"),
    }
}

#[test]
fn v4_genesis_decodes_and_hashes_forever() {
    for suite in SUITES {
        let dir = v4().join(suite);
        let g = genesis(suite);
        assert_eq!(g.version, V4);
        assert_eq!(g.chain_id, format!("kexin-frozen-v4-{suite}"));
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
        assert_eq!(bytes[0], V4);
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
fn v4_transactions_decode_and_hash_forever() {
    let mut kinds = BTreeSet::new();
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        assert!(txs.len() >= 30, "{suite}: {} transactions", txs.len());
        let mut failed = Vec::new();
        for (h, f) in &txs {
            let at = format!("{suite}/{}", f.stem);
            assert_eq!(f.api["status"], "committed", "{at}");
            // Binary: decodes (version byte 4), re-encodes byte for byte, equals the JSON form.
            assert_eq!(f.bytes[0], V4, "{at}");
            assert_eq!(f.api["transaction"]["version"], V4, "{at}");
            let decoded = decode_transaction(&f.bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(decoded.encode(), f.bytes, "{at}");
            assert_eq!(decoded, f.tx, "{at}: binary and JSON forms differ");
            // The hash the node reported and the one recorded with the encoding.
            assert_eq!(decoded.hash(), *h, "{at}");
            let frozen = json(
                &v4()
                    .join(suite)
                    .join("transactions")
                    .join(format!("{}.encoding.json", f.stem)),
            );
            assert_eq!(hash(&frozen["hash"]), *h, "{at}");
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
            // The outcome: valid, re-encodes; an evidence batch reports its records.
            f.outcome.validate().unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(Outcome::decode(&f.outcome.encode()).unwrap(), f.outcome);
            if f.outcome.status == Status::Failed {
                failed.push(f.stem.clone());
                assert!(f.outcome.events.is_empty(), "{at}");
            } else if kind == "evidence" {
                let e = f
                    .outcome
                    .events
                    .iter()
                    .find(|e| e.module == "evidence" && e.topic == "records_attested")
                    .unwrap_or_else(|| panic!("{at}: no evidence/records_attested event"));
                assert_eq!(
                    e.attribute("count"),
                    Some(decoded.records().len().to_string().as_str()),
                    "{at}"
                );
            }

            // The same transaction as anyone gets it: the outcome too, metadata and note
            // text withheld, everything else the same.
            let public = json(
                &v4()
                    .join(suite)
                    .join("public-transactions")
                    .join(format!("{}.api.json", f.stem)),
            );
            assert_eq!(hash(&public["hash"]), *h, "{at}");
            assert_eq!(served_outcome(&public, &at), f.outcome, "{at}");
            let (mut mine, mut theirs) =
                (f.api["transaction"].clone(), public["transaction"].clone());
            match kind {
                "evidence" => {
                    for (i, rec) in decoded.records().iter().enumerate() {
                        let served = &theirs["payload"]["records"][i];
                        assert_eq!(served["metadata"], "withheld", "{at}");
                        assert_eq!(hash(&served["digest"]), rec.digest, "{at}");
                        mine["payload"]["records"][i]["metadata"] = json!("withheld");
                    }
                }
                "audit_note" => {
                    assert_eq!(theirs["payload"]["text"], "withheld", "{at}");
                    theirs["payload"]["text"] = mine["payload"]["text"].clone();
                }
                _ => {}
            }
            assert_eq!(mine, theirs, "{at}: the public view");
        }
        assert_eq!(failed, [failed_vote(suite)], "{suite}: the failed vote");
        let f = txs.values().find(|f| f.stem == failed_vote(suite)).unwrap();
        assert_eq!(f.outcome.code.as_deref(), Some("proposal_closed"));
        assert!(f.outcome.message.as_deref().unwrap().contains("is closed"));
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
fn v4_blocks_decode_hash_and_chain_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let blocks = blocks(suite);
        assert_eq!(
            blocks.keys().copied().collect::<Vec<_>>(),
            (1..=height(suite)).collect::<Vec<_>>()
        );
        let mut parent = g.hash();
        let mut log_size = 0;
        let mut included = 0;
        for (height, (api, bytes)) in &blocks {
            let at = format!("{suite}/block {height}");
            // Binary: decodes (version byte 4), re-encodes byte for byte.
            assert_eq!(bytes[0], V4, "{at}");
            let block = decode_block(bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(Block::decode(bytes).unwrap(), block);
            assert_eq!(block.encode(), *bytes, "{at}");
            // The JSON form: the served header and the served transactions, in order.
            let header: BlockHeader = serde_json::from_value(api["header"].clone()).unwrap();
            assert_eq!(header.version, V4, "{at}");
            assert_eq!(api["header"]["version"], V4, "{at}");
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
            // The outcomes root: recomputed from the served transactions' outcomes; another
            // outcome (a changed cost) gives another root.
            let outcomes = block_outcomes(api, &txs);
            let root = outcomes_root(g.suite, &outcomes);
            assert_eq!(header.outcomes_root, Some(root), "{at}: outcomes root");
            if let Some((_, first)) = outcomes.first() {
                let mut changed = outcomes.clone();
                changed[0].1.cost = first.cost + 1;
                assert_ne!(outcomes_root(g.suite, &changed), root, "{at}");
            }
            // Hashes: the served one, the recorded one, and the chain of parents.
            let h = header.hash(g.suite);
            assert_eq!(h, hash(&api["hash"]), "{at}");
            let frozen = json(
                &v4()
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
            // Each transaction's answer names this block and its place in it.
            for (i, h) in hashes.iter().enumerate() {
                assert_eq!(txs[h].api["height"], *height, "{at}");
                assert_eq!(txs[h].api["tx_index"], i, "{at}");
            }
            included += hashes.len();
        }
        assert_eq!(
            included,
            txs.len(),
            "{suite}: every frozen transaction is in a block"
        );
        let chain = json(&v4().join(suite).join("chain.api.json"));
        assert_eq!(chain["height"], height(suite));
    }
}

#[test]
fn v4_block_certificates_verify_across_epochs() {
    for suite in SUITES {
        let g = genesis(suite);
        let links = epoch_links(suite);
        assert_eq!(links.len() as u64, height(suite) / EPOCH_LENGTH, "{suite}");
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
            let other = hash(&blocks[&(height % blocks.len() as u64 + 1)].0["hash"]);
            assert!(cert.verify_in(&g, &epochs, &other).is_err(), "{at}");
        }
    }
}

/// Every record receipt `kexin attest` saved on the frozen networks (version 5: signer
/// certificate and, for CAs added after genesis, a CA-set proof; epoch links from block 8 on;
/// the transaction's outcome, a success naming `evidence/records_attested`), and the
/// generated version 5 fixture of the release.
#[test]
fn v4_record_receipts_verify_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let blocks = blocks(suite);
        let dir = v4().join(suite).join("record-receipts");
        let paths = files(&dir, ".receipt.json");
        assert_eq!(paths.len(), 9, "{suite}");
        let mut with_links = 0;
        let mut with_ca_set = 0;
        for path in paths {
            let at = format!("{suite}/{}", name(&path));
            let r = Receipt::from_json(&read(&path)).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(r.version, RECEIPT_V5, "{at}");
            let v = r.verify(&g).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(v.metadata_checked, "{at}");
            // The record is in the frozen transaction and block the receipt names.
            let f = &txs[&v.tx_hash];
            let tx = &f.tx;
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
            // The proven outcome: the one the node served, a success naming the records.
            let outcome = v.outcome.expect("a version 5 receipt proves the outcome");
            assert_eq!(outcome, f.outcome, "{at}");
            assert!(outcome.is_success(), "{at}");
            let event = outcome
                .events
                .iter()
                .find(|e| e.module == "evidence" && e.topic == "records_attested")
                .unwrap_or_else(|| panic!("{at}: no evidence/records_attested event"));
            assert_eq!(
                event.attribute("count"),
                Some(tx.records().len().to_string().as_str()),
                "{at}"
            );
            // The frozen binary form decodes to the same receipt, and re-encodes byte for byte.
            let bytes = encoding_next_to(&path);
            assert_eq!(bytes[0], RECEIPT_V5, "{at}");
            let decoded = Receipt::decode(&bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(decoded, r, "{at}");
            assert_eq!(decoded.encode(), bytes, "{at}");
        }
        assert!(with_links >= 3, "{suite}: receipts with epoch links");
        assert!(
            with_ca_set >= 2,
            "{suite}: receipts proving a CA added by add_ca"
        );

        // The generated fixture of the release: version 5 against the conformance genesis.
        let generated = v4().join("generated");
        let g4 =
            Genesis::from_json(&read(&generated.join(format!("genesis-v4-{suite}.json")))).unwrap();
        assert_eq!(g4.version, V4);
        let r5 =
            Receipt::from_json(&read(&generated.join(format!("receipt-v5-{suite}.json")))).unwrap();
        assert_eq!(r5.version, RECEIPT_V5);
        let v = r5.verify(&g4).unwrap();
        assert!(v.outcome.unwrap().is_success());
        assert_eq!(Receipt::decode(&r5.encode()).unwrap(), r5);
        // A receipt does not verify against another chain's genesis.
        assert!(r5.verify(&g).is_err());
    }
}

/// Every transaction receipt (`kexin tx H --receipt`, version 5): one per payload kind and
/// governance action, the failed vote's (proving its `failed` outcome) and the last block's.
#[test]
fn v4_tx_receipts_verify_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let blocks = blocks(suite);
        let mut kinds = BTreeSet::new();
        let mut failed = Vec::new();
        for path in files(&v4().join(suite).join("tx-receipts"), ".receipt.json") {
            let at = format!("{suite}/{}", name(&path));
            let r = TxReceipt::from_json(&read(&path)).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(r.version, RECEIPT_V5, "{at}");
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
            // The proven outcome is the one the node served.
            let outcome = v.outcome.expect("a version 5 receipt proves the outcome");
            assert_eq!(outcome, f.outcome, "{at}");
            if !outcome.is_success() {
                failed.push(stem.to_owned());
                assert_eq!(outcome.code.as_deref(), Some("proposal_closed"), "{at}");
            }
            kinds.insert(kind.to_owned());
        }
        assert_eq!(
            kinds.len(),
            11,
            "{suite}: every payload kind and action: {kinds:?}"
        );
        assert_eq!(failed, [failed_vote(suite)], "{suite}");
    }
}

/// What anyone gets without an identity: the metadata and the note's text withheld. These
/// receipts verify too (the commitments and the outcome stay), and the withheld views name
/// the same hashes.
#[test]
fn v4_withheld_receipts_verify_forever() {
    for suite in SUITES {
        let g = genesis(suite);
        let txs = transactions(suite);
        let dir = v4().join(suite).join("withheld");

        let answer = json(&dir.join("evidence-3.receipts.api.json"));
        let receipts = answer["receipts"].as_array().unwrap();
        assert_eq!(receipts.len(), 3);
        let full = &txs[&hash(&answer["tx_hash"])];
        for (i, r) in receipts.iter().enumerate() {
            assert_eq!(r["record"]["metadata"], "withheld");
            let r: Receipt = serde_json::from_value(r.clone()).unwrap();
            assert_eq!(r.version, RECEIPT_V5);
            let v = r
                .verify(&g)
                .unwrap_or_else(|e| panic!("{suite} record {i}: {e}"));
            assert!(!v.metadata_checked);
            assert_eq!(v.digest, full.tx.records()[i].digest);
            assert_eq!(v.outcome.as_ref(), Some(&full.outcome));
            assert_eq!(Receipt::decode(&r.encode()).unwrap(), r);
        }

        for (file, kind) in [
            ("evidence-3.receipt.api.json", "evidence"),
            ("audit-note.receipt.api.json", "audit_note"),
        ] {
            let r: TxReceipt = serde_json::from_value(json(&dir.join(file))).unwrap();
            assert!(r.payload.is_none(), "{suite}/{file}");
            assert_eq!(r.version, RECEIPT_V5);
            let v = r
                .verify(&g)
                .unwrap_or_else(|e| panic!("{suite}/{file}: {e}"));
            assert!(!v.payload_checked);
            assert_eq!(v.kind, kind);
            assert_eq!(v.outcome.as_ref(), Some(&txs[&v.tx_hash].outcome));
        }

        let view = json(&dir.join("evidence-3.tx.api.json"));
        let full = &txs[&hash(&view["hash"])];
        for (i, rec) in full.tx.records().iter().enumerate() {
            let served = &view["transaction"]["payload"]["records"][i];
            assert_eq!(served["metadata"], "withheld");
            assert_eq!(hash(&served["digest"]), rec.digest);
            assert_eq!(hash(&served["metadata_hash"]), rec.metadata.hash(g.suite));
        }
        assert_eq!(served_outcome(&view, suite), full.outcome);
        let note = json(&dir.join("audit-note.tx.api.json"));
        assert_eq!(note["transaction"]["payload"]["text"], "withheld");
        assert_eq!(
            served_outcome(&note, suite),
            txs[&hash(&note["hash"])].outcome
        );
    }
}

/// The module events the node streamed (`GET /v1/events?from_height=1&types=event`): for
/// every block, in order, one event per event of each transaction's outcome, naming the
/// transaction, its height and index; they cover every module's kinds of event.
#[test]
fn v4_module_events_match_the_outcomes_forever() {
    for suite in ["intl", "gm", "open-intl", "open-gm"] {
        let dir = v4().join(suite);
        let txs = transactions(suite);
        let blocks = blocks(suite);
        let streamed: Vec<Value> = read(&dir.join("events/events.data.jsonl"))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{suite}: {l}: {e}")))
            .collect();
        let mut expected = Vec::new();
        for (height, (api, _)) in &blocks {
            for (i, (h, outcome)) in block_outcomes(api, &txs).into_iter().enumerate() {
                for e in &outcome.events {
                    expected.push(json!({
                        "tx_hash": h.to_hex(),
                        "height": height,
                        "tx_index": i,
                        "module": e.module,
                        "topic": e.topic,
                        "attributes": e.attributes,
                    }));
                }
            }
        }
        // The signer's organisation: one of the genesis members on a chain of organisations,
        // none on an open chain.
        let g = genesis(suite);
        for e in &streamed {
            match e.get("org").and_then(Value::as_str) {
                Some(org) => assert!(
                    g.organisations.iter().any(|o| o.name == org),
                    "{suite}: {e}"
                ),
                None => assert!(g.organisations.is_empty(), "{suite}: {e}"),
            }
        }
        let without_org: Vec<Value> = streamed
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.as_object_mut().unwrap().remove("org");
                e
            })
            .collect();
        assert_eq!(without_org, expected, "{suite}");
        let topics: BTreeSet<String> = streamed
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e["module"].as_str().unwrap(),
                    e["topic"].as_str().unwrap()
                )
            })
            .collect();
        if suite.starts_with("open") {
            assert_eq!(
                topics,
                BTreeSet::from(["evidence/records_attested".to_owned()])
            );
        } else {
            for t in [
                "audit/note_added",
                "epoch/validator_added",
                "epoch/validator_removed",
                "evidence/records_attested",
                "governance/org_added",
                "governance/org_removed",
                "governance/param_set",
                "governance/proposal_passed",
                "governance/proposal_submitted",
                "governance/vote_cast",
                "identity/ca_added",
                "identity/certificate_registered",
                "identity/certificate_revoked",
            ] {
                assert!(topics.contains(t), "{suite}: no {t} event: {topics:?}");
            }
        }
    }
}

/// The generated conformance vectors of the release (`generated/conformance-v4-*.json`):
/// every encoding of a block, header, transaction, outcome, certificate, checkpoint, genesis,
/// governance action, protocol schedule and receipt still decodes, re-encodes byte for byte
/// and hashes as pinned; each block's outcomes root is the root over its outcomes.
#[test]
fn v4_conformance_vectors_decode_forever() {
    for suite in SUITES {
        let doc = json(&v4().join(format!("generated/conformance-v4-{suite}.json")));
        assert_eq!(doc["format_version"], 4);
        let v = &doc["vectors"];
        let bytes = |key: &str| {
            hex::decode(
                v[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{suite}: no {key}")),
            )
            .unwrap()
        };
        let g = Genesis::decode(&bytes("genesis.encoding")).unwrap();
        assert_eq!(g.version, V4);
        assert_eq!(g.encode(), bytes("genesis.encoding"));
        assert_eq!(g.hash(), hash(&v["genesis.hash"]));
        let from_json = Genesis::from_json(&read(
            &v4().join(format!("generated/genesis-v4-{suite}.json")),
        ))
        .unwrap();
        assert_eq!(from_json, g);
        let mut parent = g.hash();
        for b in 1..=2 {
            let block = decode_block(&bytes(&format!("block.{b}.encoding"))).unwrap();
            assert_eq!(block.encode(), bytes(&format!("block.{b}.encoding")));
            let header =
                BlockHeader::decode(&bytes(&format!("block.{b}.header.encoding"))).unwrap();
            assert_eq!(header, block.header);
            assert_eq!(header.version, V4);
            assert_eq!(header.hash(g.suite), hash(&v[format!("block.{b}.hash")]));
            assert_eq!(header.parent_hash, parent);
            parent = header.hash(g.suite);
            let cert =
                CommitCertificate::decode(&bytes(&format!("block.{b}.certificate.encoding")))
                    .unwrap();
            cert.verify(&g, &parent).unwrap();
            let mut outcomes = Vec::new();
            for (i, tx) in block.transactions.iter().enumerate() {
                let key = format!("block.{b}.tx.{i}");
                let decoded = decode_transaction(&bytes(&format!("{key}.encoding"))).unwrap();
                assert_eq!(&decoded, tx);
                assert_eq!(decoded.hash(), hash(&v[format!("{key}.hash")]));
                let ob = bytes(&format!("{key}.outcome.encoding"));
                let outcome = Outcome::decode(&ob).unwrap();
                assert_eq!(outcome.encode(), ob);
                assert_eq!(
                    outcome.leaf_hash(g.suite, &decoded.hash()),
                    hash(&v[format!("{key}.outcome.leaf_hash")])
                );
                outcomes.push((decoded.hash(), outcome));
            }
            let root = outcomes_root(g.suite, &outcomes);
            assert_eq!(root, hash(&v[format!("block.{b}.outcomes_root")]));
            assert_eq!(header.outcomes_root, Some(root));
        }
        for key in ["outcome.success.encoding", "outcome.failed.encoding"] {
            let o = Outcome::decode(&bytes(key)).unwrap();
            assert_eq!(o.encode(), bytes(key), "{suite} {key}");
            assert_eq!(o.is_success(), key == "outcome.success.encoding");
        }
        let a = GovAction::decode(&bytes("gov.protocol_upgrade.encoding")).unwrap();
        assert_eq!(a.encode(), bytes("gov.protocol_upgrade.encoding"));
        let s = ProtocolSchedule::decode(&bytes("protocol.schedule.encoding")).unwrap();
        assert_eq!(s.encode(), bytes("protocol.schedule.encoding"));
        for key in ["tx", "gov.propose_tx", "gov.vote_tx", "identity.revoke_tx"] {
            let b = bytes(&format!("{key}.encoding"));
            assert_eq!(b[0], V4, "{suite} {key}");
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
            assert_eq!(r.version, RECEIPT_V5);
            assert_eq!(r.encode(), bytes(key));
            let ok = r.verify(&g).unwrap();
            assert_eq!(ok.tx_hash, hash(&v["receipt.tx_hash"]));
            assert_eq!(ok.block_hash, hash(&v["receipt.block_hash"]));
            assert!(ok.outcome.unwrap().is_success());
        }
        let r5 = Receipt::from_json(&read(
            &v4().join(format!("generated/receipt-v5-{suite}.json")),
        ))
        .unwrap();
        assert_eq!(r5, Receipt::decode(&bytes("receipt.encoding")).unwrap());
    }
}

/// Tampered copies of frozen files are refused: one hex digit of a digest, a signature, a
/// header's state root, a payload, a certificate signature.
#[test]
fn v4_tampered_copies_are_refused() {
    for suite in SUITES {
        let g = genesis(suite);
        let dir = v4().join(suite);

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
            "/header/outcomes_root",
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

        // Transaction receipts: their payloads, signatures, headers and epoch links.
        let last = format!("h{:04}-0-evidence.receipt.json", height(suite));
        for (file, pointer) in [
            ("h0008-0-vote.receipt.json", "/payload/proposal"),
            ("h0002-0-audit_note.receipt.json", "/payload/subject"),
            ("h0005-0-add_ca.receipt.json", "/transaction/signature"),
            ("h0005-0-add_ca.receipt.json", "/header/state_root"),
            ("h0005-0-add_ca.receipt.json", "/header/outcomes_root"),
            (last.as_str(), "/payload/records/0/digest"),
            (
                last.as_str(),
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

        // A block: a byte of the header's state root (followed in the v4 header by the 32
        // bytes of next_validators and the 32 of outcomes_root) changes its hash, so that the
        // next block's parent no longer matches; so does a byte of the outcomes root; an
        // unknown version byte is refused, not panicked on.
        let blocks = blocks(suite);
        let (api, bytes) = &blocks[&5];
        let header = decode_block(bytes).unwrap().header;
        let len = header.encode().len();
        for (at, what) in [(len - 96, "state root"), (len - 32, "outcomes root")] {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            let block = decode_block(&bad).unwrap();
            assert_ne!(block.header, header, "{suite}: {what}");
            let bad_hash = block.header.hash(g.suite);
            assert_ne!(bad_hash, hash(&api["hash"]), "{suite}: {what}");
            assert_ne!(bad_hash, hash(&blocks[&6].0["header"]["parent_hash"]));
        }
        let mut bad = bytes.clone();
        bad[len - 96] ^= 1;
        assert_ne!(
            decode_block(&bad).unwrap().header.state_root,
            header.state_root
        );
        let mut bad = bytes.clone();
        bad[0] = 0xff;
        assert!(decode_block(&bad).is_err());
        assert!(decode_transaction(&[0xff]).is_err());
    }
}

/// A version 5 receipt proves its transaction's outcome: a changed cost, status or event
/// attribute, a changed outcome proof, or a removed outcome fails with `bad_outcome_proof`,
/// in the JSON form and in the binary form.
#[test]
fn v4_tampered_outcomes_are_refused() {
    for suite in SUITES {
        let g = genesis(suite);
        let dir = v4().join(suite);

        // A record receipt (a success naming evidence/records_attested).
        let path = files(&dir.join("record-receipts"), ".receipt.json")
            .into_iter()
            .find(|p| name(p).starts_with("evidence-bob-"))
            .unwrap();
        let good = json(&path);
        let ok: Receipt = serde_json::from_value(good.clone()).unwrap();
        ok.verify(&g).unwrap();
        let cost = good["outcome"]["cost"].as_u64().unwrap();
        let ev = good["outcome"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["topic"] == "records_attested")
            .expect("an evidence/records_attested event");
        let count = good["outcome"]["events"][ev]["attributes"]["count"]
            .as_str()
            .unwrap()
            .to_owned();
        let failed = {
            let mut v = good.clone();
            let o = v["outcome"].as_object_mut().unwrap();
            o.insert("status".into(), json!("failed"));
            o.insert("code".into(), json!("cert_revoked"));
            o.insert("message".into(), json!("the certificate was revoked"));
            o.insert("events".into(), json!([]));
            v
        };
        let removed = {
            let mut v = good.clone();
            v.as_object_mut().unwrap().remove("outcome");
            v
        };
        let cases = [
            ("cost", with(&good, "/outcome/cost", json!(cost + 1))),
            ("status", failed),
            (
                "event attribute",
                with(
                    &good,
                    &format!("/outcome/events/{ev}/attributes/count"),
                    json!(format!("{count}0")),
                ),
            ),
            (
                "event topic",
                with(
                    &good,
                    &format!("/outcome/events/{ev}/topic"),
                    json!("records_erased"),
                ),
            ),
            ("removed", removed),
        ];
        for (what, bad) in cases {
            let bad: Receipt =
                serde_json::from_value(bad).unwrap_or_else(|e| panic!("{suite} {what}: {e}"));
            let at = format!("{suite}: record receipt, outcome {what}");
            refused(bad.verify(&g), "bad_outcome_proof", &at);
            // The binary form carries the same outcome (or none) and is refused alike.
            let decoded = Receipt::decode(&bad.encode()).unwrap();
            assert_eq!(decoded, bad, "{at}");
            refused(decoded.verify(&g), "bad_outcome_proof", &at);
        }
        // A byte of the outcome's cost in the frozen binary form.
        let bytes = encoding_next_to(&path);
        let cost_bytes = cost.to_be_bytes();
        let at = bytes
            .windows(8)
            .rposition(|w| w == cost_bytes)
            .expect("the cost in the encoding");
        let mut bad = bytes.clone();
        bad[at + 7] ^= 1;
        let bad = Receipt::decode(&bad).unwrap();
        assert_eq!(bad.outcome.as_ref().unwrap().outcome.cost, cost ^ 1);
        refused(
            bad.verify(&g),
            "bad_outcome_proof",
            &format!("{suite}: binary cost"),
        );
        // A version 5 receipt relabelled version 4 (no outcome section) is refused.
        let relabelled: Receipt =
            serde_json::from_value(with(&good, "/version", json!(4))).unwrap();
        assert!(relabelled.verify(&g).is_err(), "{suite}: relabelled");

        // The failed vote's transaction receipt: its outcome turned into a success, another
        // proof path or leaf, a removed outcome.
        let path = dir
            .join("tx-receipts")
            .join(format!("{}.receipt.json", failed_vote(suite)));
        let good = json(&path);
        let ok: TxReceipt = serde_json::from_value(good.clone()).unwrap();
        let v = ok.verify(&g).unwrap();
        assert_eq!(v.outcome.as_ref().unwrap().status, Status::Failed);
        assert!(good["outcome"]["proof"]["tree_size"].as_u64().unwrap() >= 2);
        let success = {
            let mut v = good.clone();
            let o = v["outcome"].as_object_mut().unwrap();
            o.insert("status".into(), json!("success"));
            o.remove("code");
            o.remove("message");
            v
        };
        let removed = {
            let mut v = good.clone();
            v.as_object_mut().unwrap().remove("outcome");
            v
        };
        let leaf = good["outcome"]["proof"]["leaf_index"].as_u64().unwrap();
        let cases = [
            ("status", success),
            ("cost", with(&good, "/outcome/cost", json!(0))),
            ("code", with(&good, "/outcome/code", json!("cert_revoked"))),
            ("proof path", tamper(&good, "/outcome/proof/path/0")),
            (
                "proof leaf",
                with(&good, "/outcome/proof/leaf_index", json!(leaf ^ 1)),
            ),
            ("removed", removed),
        ];
        for (what, bad) in cases {
            let bad: TxReceipt =
                serde_json::from_value(bad).unwrap_or_else(|e| panic!("{suite} {what}: {e}"));
            refused(
                bad.verify(&g),
                "bad_outcome_proof",
                &format!("{suite}: failed vote's receipt, outcome {what}"),
            );
        }

        // An evidence transaction receipt: an event attribute.
        let last = dir
            .join("tx-receipts")
            .join(format!("h{:04}-0-evidence.receipt.json", height(suite)));
        let good = json(&last);
        let ok: TxReceipt = serde_json::from_value(good.clone()).unwrap();
        ok.verify(&g).unwrap();
        let ev = good["outcome"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["topic"] == "records_attested")
            .expect("an evidence/records_attested event");
        let root = good["outcome"]["events"][ev]["attributes"]["records_root"]
            .as_str()
            .unwrap()
            .to_owned();
        let bad: TxReceipt = serde_json::from_value(with(
            &good,
            &format!("/outcome/events/{ev}/attributes/records_root"),
            json!(flip_hex(&root, 3)),
        ))
        .unwrap();
        refused(
            bad.verify(&g),
            "bad_outcome_proof",
            &format!("{suite}: evidence tx receipt, event attribute"),
        );
    }
}

/// The open chains (no organisations, `kexin net up --open --nodes 1`): transactions without a
/// certificate, blocks of one validator, version 5 receipts without a signer certificate.
#[test]
fn v4_open_chain_blocks_transactions_and_receipts_verify_forever() {
    for suite in ["open-intl", "open-gm"] {
        let dir = v4().join(suite);
        let g = genesis(suite);
        assert_eq!(g.version, V4);
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
            assert_eq!(f.bytes[0], V4, "{at}");
            let tx = decode_transaction(&f.bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(tx.encode(), f.bytes, "{at}");
            assert_eq!(tx, f.tx, "{at}");
            assert_eq!(tx.hash(), *h, "{at}");
            assert!(tx.cert.is_none(), "{at}");
            SealedTx::new(tx).verify(&g.chain_id, g.suite).unwrap();
            assert!(f.outcome.is_success(), "{at}");
        }

        let mut parent = g.hash();
        for (height, (api, bytes)) in blocks(suite) {
            let at = format!("{suite}/block {height}");
            let block = decode_block(&bytes).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(block.encode(), bytes, "{at}");
            assert_eq!(block.header.version, V4, "{at}");
            let header: BlockHeader = serde_json::from_value(api["header"].clone()).unwrap();
            let hashes: Vec<Hash> = serde_json::from_value(api["transactions"].clone()).unwrap();
            let from_json = Block {
                header,
                transactions: hashes.iter().map(|h| txs[h].tx.clone()).collect(),
            };
            assert_eq!(block, from_json, "{at}");
            assert_eq!(
                block.header.outcomes_root,
                Some(outcomes_root(g.suite, &block_outcomes(&api, &txs))),
                "{at}: outcomes root"
            );
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
            assert_eq!(r.version, RECEIPT_V5, "{at}");
            assert!(r.signer_cert.is_none(), "{at}");
            let v = r.verify(&g).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(v.metadata_checked && v.signer.is_none(), "{at}");
            assert_eq!(v.outcome.as_ref(), Some(&txs[&v.tx_hash].outcome), "{at}");
            let bytes = encoding_next_to(&path);
            assert_eq!(bytes[0], RECEIPT_V5, "{at}");
            assert_eq!(Receipt::decode(&bytes).unwrap(), r, "{at}");
            assert_eq!(r.encode(), bytes, "{at}");
            let bad: Receipt =
                serde_json::from_value(tamper(&json(&path), "/record/digest")).unwrap();
            assert!(bad.verify(&g).is_err(), "{at}: tampered digest");
            let bad: Receipt = serde_json::from_value(with(
                &json(&path),
                "/outcome/cost",
                json!(v.outcome.as_ref().unwrap().cost + 1),
            ))
            .unwrap();
            refused(
                bad.verify(&g),
                "bad_outcome_proof",
                &format!("{at}: outcome cost"),
            );
        }
        for path in files(&dir.join("tx-receipts"), ".receipt.json") {
            let at = format!("{suite}/{}", name(&path));
            let r = TxReceipt::from_json(&read(&path)).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(r.version, RECEIPT_V5, "{at}");
            let v = r.verify(&g).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(v.kind, "evidence", "{at}");
            assert!(v.payload_checked && v.signer.is_none(), "{at}");
            assert_eq!(v.outcome.as_ref(), Some(&txs[&v.tx_hash].outcome), "{at}");
            let bad: TxReceipt =
                serde_json::from_value(tamper(&json(&path), "/transaction/signature")).unwrap();
            assert!(bad.verify(&g).is_err(), "{at}: tampered signature");
        }
    }
}
