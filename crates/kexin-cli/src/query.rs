//! `kexin tx`, `kexin block`, `kexin evidence`, `kexin receipts`: read-only queries.
//!
//! On a chain with organisations the node shows a record's private metadata (content type,
//! label, external reference) only to a signed request of a reader of the organisation that
//! recorded it, or of an auditor: `--identity DIR` signs the requests (`docs/pki.md`, "Signed
//! reads"). Without it, digests, metadata hashes and proofs are shown, and the metadata is
//! "withheld".

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use kexin_client::{BlockId, Client, check_chain_info};
use kexin_crypto::Hash;
use kexin_types::api::TxState;
use kexin_types::{CommitCertificate, Genesis, RecordView};

use crate::Cli;
use crate::error::fail;
use crate::output::{print_json, utc};

/// How many records of a transaction are listed in human output.
const MAX_LISTED: usize = 20;

/// `kexin tx HASH`
#[derive(Debug, Args)]
pub struct TxArgs {
    /// The transaction hash (hex).
    #[arg(value_name = "HASH")]
    hash: String,
    /// Sign the request as the identity in DIR (cert.pem + key.pem): a reader of the
    /// recording organisation, or an auditor, sees the records' metadata.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
    /// Write the transaction's own receipt (any kind: vote, proposal, revocation, audit note,
    /// evidence batch) to FILE, after verifying it; `kexin verify --receipt FILE --genesis G`
    /// checks it offline.
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Verify the receipt against this genesis file instead of the one the node reports.
    #[arg(long, value_name = "G", requires = "receipt")]
    genesis: Option<PathBuf>,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

/// `kexin block HEIGHT|HASH|latest`
#[derive(Debug, Args)]
pub struct BlockArgs {
    /// A height, a block hash (hex), or `latest`.
    #[arg(value_name = "HEIGHT|HASH|latest")]
    id: BlockId,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

/// `kexin evidence DIGEST`
#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// The digest (hex).
    #[arg(value_name = "DIGEST")]
    digest: String,
    /// Sign the request as the identity in DIR (cert.pem + key.pem): a reader of the
    /// recording organisation, or an auditor, sees the records' metadata.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

/// `kexin receipts HASH`
#[derive(Debug, Args)]
pub struct ReceiptsArgs {
    /// The transaction hash (hex).
    #[arg(value_name = "HASH")]
    hash: String,
    /// Sign the request as the identity in DIR (cert.pem + key.pem): the receipts then carry
    /// the records' metadata if the identity may read it.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
    /// Verify against this genesis file instead of the one the node reports (a saved
    /// `GET /v1/chain` answer is accepted too).
    #[arg(long, value_name = "G")]
    genesis: Option<PathBuf>,
    /// Write each receipt to DIR/<digest>-<record index>.receipt.json (the form `kexin verify`
    /// reads).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the receipts as JSON.
    #[arg(long)]
    json: bool,
}

/// A client of the node given by `--node`, signing its requests as the identity in
/// `identity` when given. Refuses an identity on an open chain (every record's metadata is
/// public there, and the node has no CA to check it against) and one of the wrong suite.
pub async fn reader_client(cli: &Cli, identity: Option<&Path>) -> anyhow::Result<Client> {
    let client = Client::new(cli.node_url())?;
    let Some(dir) = identity else {
        return Ok(client);
    };
    let info = client.chain().await?;
    check_chain_info(&info)?;
    if !info.genesis.is_permissioned() {
        return Err(fail(
            "no_organisations",
            format!(
                "chain {} has no organisations: every record's metadata is public there; drop \
                 --identity",
                info.chain_id
            ),
        ));
    }
    let id = crate::attest::load_identity(&info, dir)?;
    tracing::debug!(org = %id.org(), name = %id.name(), role = %id.role(), "signing reads");
    Ok(client.with_identity(&id, &info.chain_id))
}

/// One line describing a record's metadata, or that it is withheld.
fn describe_metadata(r: &RecordView) -> String {
    match &r.metadata {
        Some(m) => {
            let mut s = format!("{:?} {:?}", m.content_type, m.label);
            if let Some(x) = &m.external_ref {
                s.push_str(&format!(" {x:?}"));
            }
            s
        }
        None => format!("metadata withheld (hash {})", r.metadata_hash),
    }
}

/// The hint printed under output that withheld metadata.
fn withheld_hint(signed: bool) {
    if signed {
        println!(
            "  (metadata withheld: this identity may not read it; readers see their own organisation's records, auditors everyone's)"
        );
    } else {
        println!(
            "  (metadata withheld: sign the request with --identity DIR of a reader of the recording organisation, or of an auditor)"
        );
    }
}

fn parse_hash(what: &str, s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(&s.trim().to_ascii_lowercase())
        .map_err(|e| fail("bad_hash", format!("{what} {s:?}: {e}")))
}

/// Runs `kexin tx`.
pub async fn tx(cli: &Cli, args: &TxArgs) -> anyhow::Result<()> {
    let hash = parse_hash("transaction hash", &args.hash)?;
    let client = reader_client(cli, args.identity.as_deref()).await?;
    let r = client.transaction(&hash).await?;
    if let Some(path) = &args.receipt {
        let genesis: Genesis = match &args.genesis {
            Some(g) => crate::verify::read_genesis(g)?,
            None => {
                let info = client.chain().await?;
                check_chain_info(&info)?;
                info.genesis
            }
        };
        let v = crate::verify::save_tx_receipt(&client, &genesis, &hash, path).await?;
        if !args.json {
            eprintln!(
                "receipt of {} ({}, height {}) verified and written to {}",
                v.tx_hash,
                v.kind,
                v.height,
                path.display()
            );
        }
    }
    if args.json {
        return print_json(&r);
    }
    let t = &r.transaction;
    println!("transaction {}", r.status.hash);
    match r.status.status {
        TxState::Committed => {
            println!("  status      committed");
            if let Some(h) = r.status.height {
                println!("  height      {h}");
            }
            if let Some(i) = r.status.tx_index {
                println!("  tx index    {i}");
            }
            if let Some(i) = r.status.log_index {
                println!("  log index   {i}");
            }
        }
        TxState::Pending => println!("  status      pending (in the mempool)"),
        state @ (TxState::Rejected | TxState::Dropped) => {
            let why = r
                .status
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_default();
            let what = if state == TxState::Rejected {
                "rejected"
            } else {
                "dropped"
            };
            println!("  status      {what} ({why})");
        }
    }
    println!("  chain       {}", t.chain_id);
    println!("  signer      {} ({})", t.signer, t.signer.scheme());
    println!("  nonce       {}", t.nonce);
    if let Some(cert) = &t.cert {
        println!("  certificate {cert}");
    }
    println!("  signature   {}", t.signature.to_hex());
    let records = t.records();
    match &t.payload {
        kexin_types::api::PayloadView::Other(kexin_types::Payload::AuditNote { subject, text }) => {
            println!("  payload     audit note about {subject}");
            println!("  note        {text}");
        }
        kexin_types::api::PayloadView::Other(p) => println!("  payload     {}", p.kind_name()),
        kexin_types::api::PayloadView::Evidence { .. } => {
            println!("  payload     evidence, {} record(s)", records.len());
        }
        kexin_types::api::PayloadView::WithheldNote { subject } => {
            println!("  payload     audit note about {subject}");
            println!("  note withheld");
            withheld_hint(client.signs_requests());
        }
    }
    for (i, rec) in records.iter().enumerate().take(MAX_LISTED) {
        println!("    [{i}] {} {}", rec.digest, describe_metadata(rec));
    }
    if records.len() > MAX_LISTED {
        println!(
            "    ... and {} more (use --json)",
            records.len() - MAX_LISTED
        );
    }
    if records.iter().any(RecordView::is_withheld) {
        withheld_hint(client.signs_requests());
    }
    Ok(())
}

/// Runs `kexin block`.
pub async fn block(cli: &Cli, args: &BlockArgs) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let b = client.block(args.id).await?;
    if args.json {
        return print_json(&b);
    }
    let h = &b.header;
    println!("block {} {}", h.height, b.hash);
    println!("  parent       {}", h.parent_hash);
    println!(
        "  time         {} ({} ms)",
        utc(h.timestamp_ms),
        h.timestamp_ms
    );
    println!("  proposer     {}", h.proposer);
    println!("  txs          {}", h.tx_count);
    println!("  log size     {}", h.log_size);
    println!("  log root     {}", h.log_root);
    println!("  state root   {}", h.state_root);
    // The quorum is counted among the validators of the epoch that signed (the node tells
    // them); without them the signer count alone is shown.
    let validators = client
        .epoch(certificate_epoch(&b.certificate))
        .await
        .ok()
        .map(|e| e.validators.len());
    for line in describe_certificate(&b.certificate, h.height, validators) {
        println!("  {line}");
    }
    if !b.transactions.is_empty() {
        println!("  transactions");
        for t in b.transactions.iter().take(MAX_LISTED) {
            println!("    {t}");
        }
        if b.transactions.len() > MAX_LISTED {
            println!(
                "    ... and {} more (use --json)",
                b.transactions.len() - MAX_LISTED
            );
        }
    }
    Ok(())
}

/// The consensus epoch whose validators signed `cert` (the genesis's, epoch 0, for kind 1).
fn certificate_epoch(cert: &CommitCertificate) -> u64 {
    match cert {
        CommitCertificate::Finalization { epoch, .. } => *epoch,
        CommitCertificate::Ancestor { certificate, .. } => certificate_epoch(certificate),
        _ => 0,
    }
}

/// `N of M validator(s) signed (quorum Q)`, or `N signature(s)` when the epoch's validator
/// count is not known.
fn signer_count(count: usize, validators: Option<usize>) -> String {
    match validators {
        Some(n) => format!(
            "{count} of {n} validator(s) signed (quorum {})",
            kexin_types::quorum_of(n)
        ),
        None => format!("{count} signature(s)"),
    }
}

/// The lines `kexin block` prints for the certificate of the block at `height`; `validators`
/// is the size of the signing epoch's validator set, if known.
fn describe_certificate(
    cert: &CommitCertificate,
    height: u64,
    validators: Option<usize>,
) -> Vec<String> {
    match cert {
        CommitCertificate::Ancestor {
            headers,
            certificate,
        } => {
            let last = headers.last().map_or(height, |h| h.height);
            let mut lines = vec![format!(
                "certificate  ancestor of block {last}: {} header(s), heights {}..={last}, link \
                 this block to it",
                headers.len(),
                height + 1
            )];
            let (what, signers) = describe_signed(certificate, validators);
            lines.push(format!("  block {last}'s certificate  {what}"));
            lines.extend(signers.map(|s| format!("  {s}")));
            lines
        }
        other => {
            let (what, signers) = describe_signed(other, validators);
            let mut lines = vec![format!("certificate  {what}")];
            lines.extend(signers);
            lines
        }
    }
}

/// A certificate made of signatures (kind 1 or 2): what it is, and the line naming its
/// signers.
fn describe_signed(
    cert: &CommitCertificate,
    validators: Option<usize>,
) -> (String, Option<String>) {
    let who = |signatures: &[kexin_types::ValidatorSignature], order: &str| {
        let list: Vec<String> = signatures.iter().map(|s| s.validator.to_string()).collect();
        Some(format!(
            "  signers    validator(s) {} ({order} order)",
            list.join(", ")
        ))
    };
    match cert {
        CommitCertificate::Finalization {
            epoch,
            view,
            parent_view,
            signatures,
        } => (
            format!(
                "finalization, epoch {epoch}, view {view} (parent view {parent_view}): {}",
                signer_count(signatures.len(), validators)
            ),
            who(signatures, "consensus"),
        ),
        CommitCertificate::Signatures { signatures } => (
            format!(
                "signatures of the genesis validators: {}",
                signer_count(signatures.len(), validators)
            ),
            who(signatures, "genesis"),
        ),
        CommitCertificate::Ancestor { .. } => ("ancestor (nested, which is invalid)".into(), None),
        _ => (
            "of a kind not known to this version (use --json)".into(),
            None,
        ),
    }
}

/// Runs `kexin evidence`.
pub async fn evidence(cli: &Cli, args: &EvidenceArgs) -> anyhow::Result<()> {
    let digest = parse_hash("digest", &args.digest)?;
    let client = reader_client(cli, args.identity.as_deref()).await?;
    let r = client.evidence(&digest).await?;
    if args.json {
        return print_json(&r);
    }
    println!("digest {}: {} record(s)", r.digest, r.records.len());
    for (i, e) in r.records.iter().enumerate() {
        println!(
            "  [{}] height {} tx {} (tx index {}, record {})",
            i + 1,
            e.location.height,
            e.tx_hash,
            e.location.tx_index,
            e.location.record_index
        );
        println!("      time          {}", utc(e.timestamp_ms));
        println!("      signer        {}", e.signer);
        match &e.record.metadata {
            Some(m) => {
                println!("      label         {:?}", m.label);
                println!("      content type  {:?}", m.content_type);
                if let Some(r) = &m.external_ref {
                    println!("      external ref  {r:?}");
                }
            }
            None => println!(
                "      metadata      withheld (hash {})",
                e.record.metadata_hash
            ),
        }
    }
    if r.records.iter().any(|e| e.record.is_withheld()) {
        withheld_hint(client.signs_requests());
    }
    Ok(())
}

/// One verified receipt, as `kexin receipts` reports it.
struct ReceiptLine {
    record_index: u64,
    record: RecordView,
    height: u64,
    file: Option<String>,
}

/// Runs `kexin receipts`: fetches a transaction's receipts, verifies each offline against the
/// genesis, and prints or saves them.
pub async fn receipts(cli: &Cli, args: &ReceiptsArgs) -> anyhow::Result<()> {
    let hash = parse_hash("transaction hash", &args.hash)?;
    let client = reader_client(cli, args.identity.as_deref()).await?;
    let genesis: Genesis = match &args.genesis {
        Some(path) => crate::verify::read_genesis(path)?,
        None => {
            let info = client.chain().await?;
            check_chain_info(&info)?;
            info.genesis
        }
    };
    let r = client.receipts(&hash).await?;
    if r.tx_hash != hash {
        return Err(fail(
            "bad_receipt",
            format!(
                "asked for the receipts of {hash}, got those of {}",
                r.tx_hash
            ),
        ));
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut lines = Vec::with_capacity(r.receipts.len());
    let mut batch = kexin_types::BatchVerifier::new(&genesis);
    for receipt in &r.receipts {
        let v = batch.verify(receipt).with_context(|| {
            format!(
                "receipt of record {} of {hash} does not verify",
                receipt.record_proof.leaf_index
            )
        })?;
        if receipt.transaction.hash != hash {
            return Err(fail(
                "bad_receipt",
                format!("a receipt is for transaction {}", receipt.transaction.hash),
            ));
        }
        let file = match &args.out {
            None => None,
            Some(dir) => {
                let path = dir.join(format!(
                    "{}-{}.receipt.json",
                    v.digest, receipt.record_proof.leaf_index
                ));
                std::fs::write(&path, receipt.to_json() + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Some(path.display().to_string())
            }
        };
        lines.push(ReceiptLine {
            record_index: receipt.record_proof.leaf_index,
            record: receipt.record.clone(),
            height: v.height,
            file,
        });
    }
    if args.json {
        return print_json(&r);
    }
    println!(
        "transaction {hash}: {} receipt(s), verified against genesis {}",
        lines.len(),
        genesis.hash()
    );
    for l in &lines {
        println!(
            "  [{}] {} {} (height {})",
            l.record_index,
            l.record.digest,
            describe_metadata(&l.record),
            l.height
        );
        if let Some(f) = &l.file {
            println!("      saved {f}");
        }
    }
    if lines.iter().any(|l| l.record.is_withheld()) {
        withheld_hint(client.signs_requests());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_types::{BlockHeader, Signature, ValidatorSignature};

    fn signed_by(validators: &[u16]) -> Vec<ValidatorSignature> {
        validators
            .iter()
            .map(|&validator| ValidatorSignature {
                validator,
                signature: Signature([7; 64]),
            })
            .collect()
    }

    #[test]
    fn finalization_certificates_name_epoch_view_and_quorum() {
        let cert = CommitCertificate::Finalization {
            epoch: 2,
            view: 41,
            parent_view: 39,
            signatures: signed_by(&[0, 1, 3]),
        };
        let lines = describe_certificate(&cert, 2005, Some(4));
        assert_eq!(
            lines,
            [
                "certificate  finalization, epoch 2, view 41 (parent view 39): 3 of 4 \
                 validator(s) signed (quorum 3)",
                "  signers    validator(s) 0, 1, 3 (consensus order)"
            ]
        );
        assert_eq!(certificate_epoch(&cert), 2);
        // Without the epoch's validators the count alone is shown.
        let lines = describe_certificate(&cert, 2005, None);
        assert!(
            lines[0].ends_with("(parent view 39): 3 signature(s)"),
            "{lines:?}"
        );
    }

    #[test]
    fn ancestor_certificates_name_the_block_that_carries_finality() {
        let proposer = kexin_crypto::SigningKey::generate(kexin_crypto::Suite::Intl).public_key();
        let header = |height| BlockHeader {
            version: kexin_types::protocol::V4,
            outcomes_root: Some(Hash::ZERO),
            height,
            parent_hash: Hash::ZERO,
            timestamp_ms: 0,
            proposer,
            tx_count: 0,
            log_size: 0,
            log_root: Hash::ZERO,
            state_root: Hash::ZERO,
            next_validators: Hash::ZERO,
        };
        let cert = CommitCertificate::Ancestor {
            headers: vec![header(11), header(12)],
            certificate: Box::new(CommitCertificate::Finalization {
                epoch: 0,
                view: 13,
                parent_view: 12,
                signatures: signed_by(&[1, 2, 3]),
            }),
        };
        assert_eq!(certificate_epoch(&cert), 0);
        let lines = describe_certificate(&cert, 10, Some(4));
        assert_eq!(
            lines,
            [
                "certificate  ancestor of block 12: 2 header(s), heights 11..=12, link this \
                 block to it",
                "  block 12's certificate  finalization, epoch 0, view 13 (parent view 12): 3 \
                 of 4 validator(s) signed (quorum 3)",
                "    signers    validator(s) 1, 2, 3 (consensus order)"
            ]
        );
        let kind1 = CommitCertificate::Signatures {
            signatures: signed_by(&[0]),
        };
        assert_eq!(
            describe_certificate(&kind1, 1, Some(1))[0],
            "certificate  signatures of the genesis validators: 1 of 1 validator(s) signed \
             (quorum 1)"
        );
    }
}
