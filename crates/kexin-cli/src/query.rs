//! `kexin tx`, `kexin block`, `kexin evidence`: read-only queries.

use clap::Args;
use kexin_client::{BlockId, Client};
use kexin_crypto::Hash;
use kexin_types::api::TxState;
use kexin_types::{CommitCertificate, RecordView};

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
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
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
fn withheld_hint() {
    println!("  (metadata withheld: this node does not show it to this request)");
}

fn parse_hash(what: &str, s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(&s.trim().to_ascii_lowercase())
        .map_err(|e| fail("bad_hash", format!("{what} {s:?}: {e}")))
}

/// Runs `kexin tx`.
pub async fn tx(cli: &Cli, args: &TxArgs) -> anyhow::Result<()> {
    let hash = parse_hash("transaction hash", &args.hash)?;
    let client = Client::new(cli.node_url())?;
    let r = client.transaction(&hash).await?;
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
        TxState::Rejected => {
            let why = r
                .status
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_default();
            println!("  status      rejected ({why})");
        }
    }
    println!("  chain       {}", t.chain_id);
    println!(
        "  signer      {} ({})",
        t.signer,
        t.signer.suite().signature_name()
    );
    println!("  nonce       {}", t.nonce);
    if let Some(cert) = &t.cert {
        println!("  certificate {cert}");
    }
    println!("  signature   {}", t.signature.to_hex());
    let records = t.records();
    match &t.payload {
        kexin_types::api::PayloadView::Other(p) => println!("  payload     {}", p.kind_name()),
        kexin_types::api::PayloadView::Evidence { .. } => {
            println!("  payload     evidence, {} record(s)", records.len());
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
        withheld_hint();
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
    match &b.certificate {
        CommitCertificate::Signatures { signatures } => {
            let who: Vec<String> = signatures.iter().map(|s| s.validator.to_string()).collect();
            println!(
                "  certificate  {} signature(s) from validator(s) {}",
                signatures.len(),
                who.join(", ")
            );
        }
        #[allow(unreachable_patterns)]
        _ => println!("  certificate  (kind not known to this version)"),
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

/// Runs `kexin evidence`.
pub async fn evidence(cli: &Cli, args: &EvidenceArgs) -> anyhow::Result<()> {
    let digest = parse_hash("digest", &args.digest)?;
    let client = Client::new(cli.node_url())?;
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
        withheld_hint();
    }
    Ok(())
}
