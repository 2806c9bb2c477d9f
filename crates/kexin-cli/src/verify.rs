//! `kexin verify`: offline verification of receipts and state proofs against a genesis file.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use kexin_client::{SignerIdentity, hash_file_with_progress, identify_signer};
use kexin_crypto::Hash;
use kexin_types::api::ChainInfo;
use kexin_types::state_receipt::{
    StateReceipt, StateReceiptError, VerifiedState, word_decimal, word_hex,
};
use kexin_types::{CommitCertificate, Genesis, Receipt, TxReceipt, VerifiedReceipt};
use serde::Serialize;

use crate::error::{describe, fail};
use crate::output::{bytes_progress, print_json, utc};

/// `kexin verify FILE --receipt R --genesis G`, `kexin verify --receipt R --genesis G` for
/// the receipt of a transaction (a vote, a proposal, an audit note, ...), or `kexin verify
/// --state-proof P --genesis G` for a state proof (a contract storage slot, ...).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The file an evidence receipt is for (or give --digest); not given for a transaction
    /// receipt.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// The digest (hex) the receipt is for, instead of a FILE.
    #[arg(long, value_name = "HEX", conflicts_with = "file")]
    digest: Option<String>,
    /// The receipt JSON: an evidence receipt written by `kexin attest`, or a transaction
    /// receipt written by `kexin tx --receipt`, `kexin gov ... --receipt` or `kexin audit
    /// note --receipt` (or served by the node).
    #[arg(long, value_name = "R", required_unless_present = "state_proof")]
    receipt: Option<PathBuf>,
    /// A state proof JSON instead of a receipt: the value of a contract storage slot (or its
    /// absence) at a finalized block, written by `kexin contract storage --out` (or served by
    /// the node at /v1/contracts/{address}/storage/{slot}).
    #[arg(
        long,
        value_name = "P",
        conflicts_with_all = ["receipt", "file", "digest"]
    )]
    state_proof: Option<PathBuf>,
    /// The chain's genesis.json (a saved `GET /v1/chain` answer is accepted too).
    #[arg(long, value_name = "G")]
    genesis: PathBuf,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    digest: Hash,
    hash: &'static str,
    chain_id: String,
    suite: kexin_crypto::Suite,
    genesis_hash: Hash,
    metadata_hash: Hash,
    /// The record's metadata, checked against `metadata_hash`; absent when the receipt
    /// does not carry it (served to someone who may not read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_ref: Option<String>,
    metadata: &'static str,
    record_index: u64,
    record_count: u64,
    tx_hash: Hash,
    signer: kexin_crypto::PublicKey,
    nonce: u64,
    log_index: u64,
    log_size: u64,
    block_hash: Hash,
    height: u64,
    timestamp_ms: u64,
    time: String,
    certificate_signatures: usize,
    certificate_kind: String,
    validators: usize,
    quorum: usize,
    /// The receipt format version.
    version: u8,
    /// Who signed, from the certificate a version 4 receipt carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    signer_certificate: Option<SignerIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert: Option<Hash>,
    /// Version 5: the transaction's proven outcome, with its events.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<kexin_types::Outcome>,
    checks: Vec<&'static str>,
}

/// What `kexin verify` established about a transaction receipt.
#[derive(Serialize)]
struct TxReport {
    ok: bool,
    receipt: &'static str,
    tx_hash: Hash,
    kind: &'static str,
    /// A description of the payload, when the receipt carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    payload_check: &'static str,
    signer: kexin_crypto::PublicKey,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert: Option<Hash>,
    nonce: u64,
    log_index: u64,
    log_size: u64,
    block_hash: Hash,
    height: u64,
    timestamp_ms: u64,
    time: String,
    chain_id: String,
    suite: kexin_crypto::Suite,
    genesis_hash: Hash,
    epoch: u64,
    certificate_signatures: usize,
    certificate_kind: String,
    validators: usize,
    quorum: usize,
    /// The receipt format version.
    version: u8,
    /// Who signed, from the certificate a version 4 receipt carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    signer_certificate: Option<SignerIdentity>,
    /// Version 5: the transaction's proven outcome, with its events.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<kexin_types::Outcome>,
    checks: Vec<&'static str>,
}

/// What `kexin verify --state-proof` (and `kexin contract storage`) established.
#[derive(Serialize)]
pub struct StateReport {
    ok: bool,
    proof: &'static str,
    chain_id: String,
    suite: kexin_crypto::Suite,
    pub(crate) genesis_hash: Hash,
    namespace: u8,
    key_hex: String,
    key_hash: Hash,
    /// Namespace 11: the contract and the slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    contract: Option<kexin_types::ContractAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slot: Option<String>,
    /// The value: for a storage slot the word (`0x` hex), else the bytes in hex; null when
    /// the key was absent.
    value: Option<String>,
    /// Namespace 11: the word in decimal ("0" for an empty slot).
    #[serde(skip_serializing_if = "Option::is_none")]
    value_decimal: Option<String>,
    /// The key was absent (for a storage slot: never written; it reads as zero).
    empty: bool,
    height: u64,
    block_hash: Hash,
    timestamp_ms: u64,
    time: String,
    state_root: Hash,
    epoch: u64,
    certificate_signatures: usize,
    certificate_kind: String,
    validators: usize,
    quorum: usize,
    version: u32,
    checks: Vec<&'static str>,
    /// Where `kexin contract storage --out` wrote the proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) proof_file: Option<String>,
}

/// The report of a verified state proof.
pub fn state_report(genesis: &Genesis, doc: &StateReceipt, v: &VerifiedState) -> StateReport {
    let (signatures, certificate_kind) = describe_certificate(&doc.certificate);
    let word = v.word();
    let (contract, slot) = match v.storage {
        Some((c, s)) => (Some(c), Some(word_hex(&s))),
        None => (None, None),
    };
    StateReport {
        ok: true,
        proof: "state",
        chain_id: genesis.chain_id.clone(),
        suite: genesis.suite,
        genesis_hash: genesis.hash(),
        namespace: v.namespace,
        key_hex: hex::encode(&v.key),
        key_hash: v.key_hash,
        contract,
        slot,
        value: v.value.as_ref().map(|bytes| match &word {
            Some(w) => word_hex(w),
            None => hex::encode(bytes),
        }),
        value_decimal: word.as_ref().map(word_decimal),
        empty: v.value.is_none(),
        height: v.height,
        block_hash: v.block_hash,
        timestamp_ms: v.timestamp_ms,
        time: utc(v.timestamp_ms),
        state_root: v.state_root,
        epoch: v.epoch,
        certificate_signatures: signatures,
        certificate_kind,
        validators: v.validators,
        quorum: kexin_types::quorum_of(v.validators),
        version: doc.version,
        checks: vec![
            "key",
            "state_proof",
            "header",
            "epoch_links",
            "certificate_quorum",
            "proposer",
        ],
        proof_file: None,
    }
}

/// The value of a state report in words: the word and its decimal, or "empty".
pub fn describe_value(r: &StateReport) -> String {
    match (&r.value, &r.value_decimal) {
        (None, Some(_)) => "empty (never written: it reads as 0)".to_owned(),
        (None, None) => "absent".to_owned(),
        (Some(v), Some(d)) => format!("{v} ({d})"),
        (Some(v), None) => v.clone(),
    }
}

/// The outcome of `kexin verify` for each kind of document.
enum Outcome {
    Record(Box<Report>),
    Tx(Box<TxReport>),
    State(Box<StateReport>),
}

#[derive(Serialize)]
struct Failure {
    ok: bool,
    code: String,
    message: String,
}

/// Reads a genesis document, or the genesis inside a saved `/v1/chain` answer.
pub fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read genesis {}", path.display()))?;
    match Genesis::from_json(&text) {
        Ok(g) => Ok(g),
        Err(e) => match serde_json::from_str::<ChainInfo>(&text) {
            Ok(info) => {
                kexin_client::check_chain_info(&info)
                    .map_err(|e| fail("bad_genesis", format!("{}: {e}", path.display())))?;
                Ok(info.genesis)
            }
            Err(_) => Err(fail("bad_genesis", format!("{}: {e}", path.display()))),
        },
    }
}

/// Runs `kexin verify`.
pub async fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let result = verify(args).await;
    match result {
        Ok(Outcome::Record(report)) => {
            if args.json {
                print_json(&report)?;
            } else {
                print_human(&report);
            }
            Ok(())
        }
        Ok(Outcome::Tx(report)) => {
            if args.json {
                print_json(&report)?;
            } else {
                print_tx_human(&report);
            }
            Ok(())
        }
        Ok(Outcome::State(report)) => {
            if args.json {
                print_json(&report)?;
            } else {
                print_state_human(&report);
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                let (code, message) = describe(&e);
                print_json(&Failure {
                    ok: false,
                    code,
                    message,
                })?;
            }
            Err(e)
        }
    }
}

/// The validator count of the epoch of `height`, from the receipt's epoch links (the
/// genesis set for epoch 0); the links were checked by the receipt's verification.
fn epoch_validators(genesis: &Genesis, epochs: &[kexin_types::EpochLink], height: u64) -> usize {
    use kexin_types::ValidatorSets as _;
    kexin_types::EpochChain::verify(genesis, epochs)
        .ok()
        .and_then(|c| c.epoch_keys(genesis.epoch_of(height)))
        .map_or(genesis.validators.len(), |k| k.len())
}

async fn verify(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let genesis = read_genesis(&args.genesis)?;
    if let Some(path) = &args.state_proof {
        return verify_state(&genesis, path).map(|r| Outcome::State(Box::new(r)));
    }
    let Some(receipt_path) = &args.receipt else {
        return Err(fail("usage", "give --receipt R or --state-proof P"));
    };
    let text = std::fs::read_to_string(receipt_path)
        .with_context(|| format!("cannot read receipt {}", receipt_path.display()))?;
    // An evidence receipt names its record; a transaction receipt does not.
    let json = serde_json::from_str::<serde_json::Value>(&text).ok();
    if json
        .as_ref()
        .is_some_and(|v| v["format"] == kexin_types::state_receipt::STATE_PROOF_FORMAT)
    {
        return Err(fail(
            "usage",
            format!(
                "{} is a state proof, not a receipt: give it with --state-proof",
                receipt_path.display()
            ),
        ));
    }
    let is_record = json.is_none_or(|v| v.get("record").is_some());
    if !is_record {
        if args.file.is_some() || args.digest.is_some() {
            return Err(fail(
                "usage",
                format!(
                    "{} is a transaction receipt, which is not for a file or digest: \
                     give only --receipt and --genesis",
                    receipt_path.display()
                ),
            ));
        }
        return verify_tx(&genesis, &text).map(|r| Outcome::Tx(Box::new(r)));
    }
    let receipt = Receipt::from_json(&text)?;
    // Chain, suite and version before the file is hashed: a receipt of another chain is
    // `wrong_chain`, not a digest mismatch.
    receipt.check_envelope(&genesis)?;
    let suite = genesis.suite;
    let digest = match (&args.file, &args.digest) {
        (_, Some(hex)) => Hash::from_hex(hex.trim().to_ascii_lowercase().as_str())
            .map_err(|e| fail("bad_digest", format!("--digest {hex:?}: {e}")))?,
        (Some(file), None) => {
            let file = file.clone();
            let size = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            tokio::task::spawn_blocking(move || {
                let bar = bytes_progress(size, &format!("hashing ({})", suite.hash_name()));
                let h = hash_file_with_progress(suite, &file, |n| bar.inc(n));
                bar.finish_and_clear();
                h
            })
            .await??
        }
        (None, None) => {
            return Err(fail(
                "usage",
                "an evidence receipt is for a file: give FILE or --digest",
            ));
        }
    };
    let v: VerifiedReceipt = receipt.verify_data(&genesis, &digest)?;
    let signer_certificate = v
        .signer
        .as_ref()
        .map(|e| identify_signer(&genesis, e))
        .transpose()?;
    let (signatures, certificate_kind) = describe_certificate(&receipt.certificate);
    let meta = receipt.record.metadata.as_ref();
    let mut checks = vec!["digest"];
    if meta.is_some() {
        checks.push("metadata");
    }
    checks.extend([
        "record_proof",
        "tx_hash",
        "tx_signature",
        "log_proof",
        "header",
        "certificate_quorum",
        "proposer",
    ]);
    if signer_certificate.is_some() {
        checks.push("signer_cert");
    }
    if v.outcome.is_some() {
        checks.push("outcome");
    }
    let validators = epoch_validators(&genesis, &receipt.epochs, v.height);
    Ok(Outcome::Record(Box::new(Report {
        ok: true,
        outcome: v.outcome.clone(),
        file: args.file.as_ref().map(|f| f.display().to_string()),
        digest: v.digest,
        hash: suite.hash_name(),
        chain_id: genesis.chain_id.clone(),
        suite,
        genesis_hash: genesis.hash(),
        metadata_hash: v.metadata_hash,
        label: meta.map(|m| m.label.clone()),
        content_type: meta.map(|m| m.content_type.clone()),
        external_ref: meta.and_then(|m| m.external_ref.clone()),
        metadata: if meta.is_some() {
            "checked"
        } else {
            "withheld"
        },
        record_index: receipt.record_proof.leaf_index,
        record_count: receipt.record_proof.tree_size,
        tx_hash: v.tx_hash,
        signer: receipt.transaction.summary.signer,
        nonce: receipt.transaction.summary.nonce,
        log_index: receipt.log_proof.leaf_index,
        log_size: receipt.log_proof.tree_size,
        block_hash: v.block_hash,
        height: v.height,
        timestamp_ms: v.timestamp_ms,
        time: utc(v.timestamp_ms),
        certificate_signatures: signatures,
        certificate_kind,
        validators,
        quorum: kexin_types::quorum_of(validators),
        version: receipt.version,
        signer_certificate,
        cert: receipt.transaction.summary.cert,
        checks,
    })))
}

/// Largest state proof file `kexin verify --state-proof` reads (its epoch links grow with the
/// chain's epochs, a few kilobytes each).
const MAX_STATE_PROOF_FILE: u64 = 256 * 1024 * 1024;

fn verify_state(genesis: &Genesis, path: &Path) -> anyhow::Result<StateReport> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read state proof {}", path.display()))?
        .len();
    if size > MAX_STATE_PROOF_FILE {
        return Err(fail(
            "malformed_receipt",
            format!(
                "{} is {size} bytes, larger than any state proof (at most {MAX_STATE_PROOF_FILE})",
                path.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read state proof {}", path.display()))?;
    let state_err = |e: StateReceiptError| fail(e.code(), format!("{}: {e}", path.display()));
    let doc = StateReceipt::from_json(&text).map_err(state_err)?;
    let v = doc.verify(genesis).map_err(state_err)?;
    Ok(state_report(genesis, &doc, &v))
}

fn print_state_human(r: &StateReport) {
    let what = match (&r.contract, &r.slot) {
        (Some(c), Some(s)) => format!("slot {s} of contract {c}"),
        _ => format!("state key {} of namespace {}", r.key_hex, r.namespace),
    };
    if r.empty {
        println!(
            "OK: the proof shows {what} was empty at height {} on chain {} ({})",
            r.height, r.chain_id, r.time
        );
    } else {
        println!(
            "OK: the proof shows {what} held {} at height {} on chain {} ({})",
            describe_value(r),
            r.height,
            r.chain_id,
            r.time
        );
    }
    if let (Some(c), Some(s)) = (&r.contract, &r.slot) {
        println!("  contract            {c}");
        println!("  slot                {s}");
    }
    println!("  value               {}", describe_value(r));
    println!(
        "  key             ok  namespace {}, key hash {}",
        r.namespace, r.key_hash
    );
    println!(
        "  state proof     ok  {} under the block's state root {}",
        if r.empty { "absence" } else { "value" },
        r.state_root
    );
    println!("  header          ok  block hash {}", r.block_hash);
    println!(
        "  certificate     ok  {}: {} of {} validator signatures (epoch {}), quorum {}",
        r.certificate_kind, r.certificate_signatures, r.validators, r.epoch, r.quorum
    );
    println!("  height              {}", r.height);
    println!("  time                {} ({} ms)", r.time, r.timestamp_ms);
    println!(
        "  genesis             {} ({}, {})",
        r.genesis_hash, r.chain_id, r.suite
    );
}

fn verify_tx(genesis: &Genesis, text: &str) -> anyhow::Result<TxReport> {
    let receipt = TxReceipt::from_json(text)?;
    let v = receipt.verify(genesis)?;
    let signer_certificate = v
        .signer
        .as_ref()
        .map(|e| identify_signer(genesis, e))
        .transpose()?;
    let (signatures, certificate_kind) = describe_certificate(&receipt.certificate);
    let mut checks = Vec::new();
    if v.payload_checked {
        checks.push("payload");
    }
    checks.extend([
        "tx_hash",
        "tx_signature",
        "log_proof",
        "header",
        "certificate_quorum",
        "proposer",
    ]);
    if signer_certificate.is_some() {
        checks.push("signer_cert");
    }
    if v.outcome.is_some() {
        checks.push("outcome");
    }
    let validators = epoch_validators(genesis, &receipt.epochs, v.height);
    let summary = &receipt.transaction.summary;
    Ok(TxReport {
        ok: true,
        outcome: v.outcome.clone(),
        receipt: "transaction",
        tx_hash: v.tx_hash,
        kind: v.kind,
        payload: receipt
            .payload
            .as_ref()
            .map(|p| kexin_exec::describe(p, genesis.suite)),
        payload_check: if v.payload_checked {
            "checked"
        } else {
            "withheld"
        },
        signer: summary.signer,
        cert: summary.cert,
        nonce: summary.nonce,
        log_index: receipt.log_proof.leaf_index,
        log_size: receipt.log_proof.tree_size,
        block_hash: v.block_hash,
        height: v.height,
        timestamp_ms: v.timestamp_ms,
        time: utc(v.timestamp_ms),
        chain_id: genesis.chain_id.clone(),
        suite: genesis.suite,
        genesis_hash: genesis.hash(),
        epoch: genesis.epoch_of(v.height),
        certificate_signatures: signatures,
        certificate_kind,
        validators,
        quorum: kexin_types::quorum_of(validators),
        version: receipt.version,
        signer_certificate,
        checks,
    })
}

/// The lines about the signer's certificate: organisation, role and subject for a version 4
/// receipt; for an older one, only the certificate id it names.
fn print_signer(version: u8, cert: Option<&Hash>, signer: Option<&SignerIdentity>) {
    match (signer, cert) {
        (Some(s), _) => {
            let ca = match s.ca {
                kexin_client::CaSource::Genesis => "a CA of the genesis".to_owned(),
                kexin_client::CaSource::State { height } => {
                    format!("a CA proven in the chain's state at height {height}")
                }
            };
            println!(
                "  signer cert     ok  certificate {} (serial {}) issued by {ca} ({})",
                s.cert_id, s.serial, s.ca_id
            );
            println!("  organisation        {}", s.organisation);
            println!("  role                {}", s.role);
            println!("  subject             {}", s.subject);
        }
        (None, Some(id)) => {
            println!("  certificate id      {id}");
            println!(
                "  organisation        not shown: a version {version} receipt names the \
                 signer's certificate but does not carry it"
            );
        }
        (None, None) => {}
    }
}

/// One line about a payload.
/// The lines about a version 5 receipt's outcome: its status and cost, and each event.
fn print_outcome(outcome: Option<&kexin_types::Outcome>) {
    let Some(o) = outcome else {
        return;
    };
    match (&o.code, &o.message) {
        (Some(code), Some(message)) => println!(
            "  outcome         ok  FAILED {code}: {message} (cost {}; it changed nothing but its nonce)",
            o.cost
        ),
        _ => println!("  outcome         ok  success (cost {})", o.cost),
    }
    for e in &o.events {
        let attrs: Vec<String> = e
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "  event               {}/{} {}",
            e.module,
            e.topic,
            attrs.join(" ")
        );
    }
}

fn print_tx_human(r: &TxReport) {
    let failed = r.outcome.as_ref().is_some_and(|o| !o.is_success());
    println!(
        "OK: the receipt proves transaction {} ({}) was final on chain {} at {}{}",
        r.tx_hash,
        r.kind,
        r.chain_id,
        r.time,
        if failed { ", and that it failed" } else { "" }
    );
    match &r.payload {
        Some(p) => println!("  payload         ok  {p}"),
        None => println!(
            "  payload             withheld: the receipt carries only the transaction's \
             commitment to it"
        ),
    }
    println!(
        "  tx signature    ok  tx {} signed by {} (nonce {})",
        r.tx_hash, r.signer, r.nonce
    );
    print_signer(r.version, r.cert.as_ref(), r.signer_certificate.as_ref());
    println!(
        "  log proof       ok  log entry {} of {} under the block's log root",
        r.log_index, r.log_size
    );
    print_outcome(r.outcome.as_ref());
    println!("  header          ok  block hash {}", r.block_hash);
    println!(
        "  certificate     ok  {}: {} of {} validator signatures (epoch {}), quorum {}",
        r.certificate_kind, r.certificate_signatures, r.validators, r.epoch, r.quorum
    );
    println!("  height              {}", r.height);
    println!("  time                {} ({} ms)", r.time, r.timestamp_ms);
    println!(
        "  genesis             {} ({}, {})",
        r.genesis_hash, r.chain_id, r.suite
    );
}

/// Fetches the receipt of transaction `hash` from the node, verifies it against `genesis`
/// and writes it to `path` (the form `kexin verify --receipt` reads).
pub async fn save_tx_receipt(
    client: &kexin_client::Client,
    genesis: &Genesis,
    hash: &Hash,
    path: &Path,
) -> anyhow::Result<kexin_types::VerifiedTx> {
    let receipt = client.tx_receipt(hash).await?;
    let v = receipt
        .verify(genesis)
        .with_context(|| format!("the node's receipt of transaction {hash} does not verify"))?;
    if v.tx_hash != *hash {
        return Err(fail(
            "bad_receipt",
            format!("asked for the receipt of {hash}, got that of {}", v.tx_hash),
        ));
    }
    crate::output::write_json_file(path, &receipt.to_json())?;
    Ok(v)
}

fn print_human(r: &Report) {
    let what = r
        .file
        .as_deref()
        .map_or_else(|| "the digest".to_owned(), |f| f.to_owned());
    println!(
        "OK: the receipt proves {what} was recorded on chain {} at {}",
        r.chain_id, r.time
    );
    println!(
        "  digest          ok  {} {} matches the record",
        r.hash, r.digest
    );
    match (&r.label, &r.content_type) {
        (Some(label), Some(content_type)) => {
            let ext = r
                .external_ref
                .as_ref()
                .map(|x| format!(", external ref {x:?}"))
                .unwrap_or_default();
            println!(
                "  metadata        ok  label {label:?}, content type {content_type:?}{ext} \
                 (hash {})",
                r.metadata_hash
            );
        }
        _ => println!(
            "  metadata            withheld: the receipt carries only its hash {}",
            r.metadata_hash
        ),
    }
    println!(
        "  record proof    ok  record {} of {} in the transaction's record tree",
        r.record_index, r.record_count
    );
    println!(
        "  tx signature    ok  tx {} signed by {} (nonce {})",
        r.tx_hash, r.signer, r.nonce
    );
    print_signer(r.version, r.cert.as_ref(), r.signer_certificate.as_ref());
    println!(
        "  log proof       ok  log entry {} of {} under the block's log root",
        r.log_index, r.log_size
    );
    print_outcome(r.outcome.as_ref());
    println!("  header          ok  block hash {}", r.block_hash);
    println!(
        "  certificate     ok  {}: {} of {} validator signatures, quorum {}",
        r.certificate_kind, r.certificate_signatures, r.validators, r.quorum
    );
    println!("  height              {}", r.height);
    println!("  time                {} ({} ms)", r.time, r.timestamp_ms);
    println!(
        "  genesis             {} ({}, {})",
        r.genesis_hash, r.chain_id, r.suite
    );
}

/// The signature count and a description of a certificate.
fn describe_certificate(certificate: &CommitCertificate) -> (usize, String) {
    match certificate {
        CommitCertificate::Signatures { signatures } => {
            (signatures.len(), "commit signatures".into())
        }
        CommitCertificate::Finalization {
            view, signatures, ..
        } => (signatures.len(), format!("BFT finalization in view {view}")),
        CommitCertificate::Ancestor {
            headers,
            certificate,
        } => {
            let (n, inner) = describe_certificate(certificate);
            (
                n,
                format!(
                    "ancestor of a block {} later, by its {inner}",
                    headers.len()
                ),
            )
        }
        #[allow(unreachable_patterns)]
        _ => (0, "unknown".into()),
    }
}
